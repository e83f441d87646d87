"""The layer order of README's "Layout", as pyproject.toml's import-linter contracts say it.

``make lint`` checks the imports against the contracts. These tests keep the contracts
honest: every module of the package stands in exactly one layer (a new module cannot slip
past them), the pure core is the same list everywhere, and a pure module really loads
neither Flask nor SQLAlchemy when imported on its own (what a static check cannot see).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scheduler"
FORBIDDEN = ("flask", "sqlalchemy")


@cache
def contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def layers() -> list[list[str]]:
    """Each layer's modules, top (faces) to bottom (pure core)."""
    found = []
    for layer in contracts()["layers"]["layers"]:
        separator = "|" if "|" in layer else ":"
        found.append([name.strip() for name in layer.split(separator)])
    return found


def modules() -> set[str]:
    """Every module of the package that is not a package itself (nor the app factory)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.add(".".join(parts))
    return found


def declared(module: str) -> list[int]:
    """The layers a module belongs to (itself, or a package that contains it)."""
    return [
        index
        for index, members in enumerate(layers())
        for member in members
        if module == member or module.startswith(member + ".")
    ]


PURE = sorted(contracts()["pure-core"]["source_modules"])


@pytest.mark.parametrize("module", sorted(modules()))
def test_every_module_stands_in_exactly_one_layer(module: str) -> None:
    assert len(declared(module)) == 1, f"{module}: add it to one layer in pyproject.toml"


def test_the_pure_core_is_the_bottom_layer_and_nothing_else() -> None:
    assert sorted(layers()[-1]) == PURE


def _says_it_is_pure(path: Path) -> bool:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return "Pure module" in docstring


def test_the_modules_that_say_they_are_pure_are_the_pure_core() -> None:
    saying = {m for m in modules() if _says_it_is_pure(ROOT / (m.replace(".", "/") + ".py"))}
    assert saying == set(PURE)


PROBE = """
import importlib, sys, types
package = types.ModuleType("scheduler")
package.__path__ = [sys.argv[1]]
sys.modules["scheduler"] = package
importlib.import_module(sys.argv[2])
assert sys.argv[2] in sys.modules
for name in sorted(sys.modules):
    if name.startswith(tuple(sys.argv[3].split(","))):
        print(name)
"""


def loaded(module: str) -> list[str]:
    """The web-stack and database modules importing ``module`` loads, in a fresh interpreter.

    The ``scheduler`` package itself is the application factory (it imports Flask by
    design), so the probe stands an empty package in for it.
    """
    completed = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-c", PROBE, str(PACKAGE), module, ",".join(FORBIDDEN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_loads_neither_flask_nor_sqlalchemy(module: str) -> None:
    assert loaded(module) == []


@pytest.mark.parametrize(
    ("module", "expected"), [("scheduler.db", "sqlalchemy"), ("scheduler.api", "flask")]
)
def test_the_probe_sees_the_web_stack_where_it_is(module: str, expected: str) -> None:
    assert expected in loaded(module)


def test_every_package_with_models_is_registered_for_the_metadata() -> None:
    from scheduler.models import PACKAGES

    on_disk = {path.parent.name for path in PACKAGE.glob("*/models.py")}
    registered = {module.__name__.split(".")[1] for module in PACKAGES}
    assert registered == on_disk
