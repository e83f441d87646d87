"""The API reference page at ``/api/v1/docs``, rendered from the OpenAPI document.

Served by the app itself with no external scripts or fonts, so it works offline and
inside clinic networks that block CDNs.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, render_template

blp = Blueprint("docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or [""])[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []) + item.get("parameters", []),
                    "body": body["schema"] if body else None,
                    "responses": sorted(operation.get("responses", {}).items()),
                }
            )
    return operations


@blp.get("/api/v1/docs")
def api_docs() -> str:
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template(
        "docs.html",
        spec=spec,
        operations=_operations(spec),
        schemas=spec.get("components", {}).get("schemas", {}),
        dumps=lambda value: json.dumps(value, indent=2),
    )
