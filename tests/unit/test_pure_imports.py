"""Contract: the pure core imports neither flask nor sqlalchemy (STYLE "The shape").

Each module is imported in a fresh interpreter. The ``scheduler`` package itself is the
application factory (``create_app`` imports Flask by design), so the probe stands in an
empty package object for it and lets every other module, subpackages included, load
for real: what is checked is what the pure module and its own imports pull in.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy")

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

PURE = [
    "scheduler.pathways.states",
    "scheduler.pathways.policy",
    "scheduler.access",
    "scheduler.errors",
    "scheduler.vocabulary",
    # Uses marshmallow to validate documents; marshmallow is allowed, the web stack is not.
    "scheduler.pathways.policy_document",
    "scheduler.invites",
    "scheduler.invites.vtimezone",
    "scheduler.invites.ics",
    "scheduler.invites.mail",
]


def forbidden_imports(module: str) -> list[str]:
    completed = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-c", PROBE, str(ROOT / "scheduler"), module, ",".join(FORBIDDEN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_neither_flask_nor_sqlalchemy(module: str) -> None:
    assert forbidden_imports(module) == []


@pytest.mark.parametrize(
    ("module", "expected"),
    [("scheduler.db", "sqlalchemy"), ("scheduler.api", "flask")],
)
def test_probe_detects_the_web_stack_in_modules_that_use_it(module: str, expected: str) -> None:
    found = forbidden_imports(module)
    assert expected in found
