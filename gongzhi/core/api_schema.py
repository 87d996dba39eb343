"""Post-processing of the OpenAPI document so that it says what the server does (checked by schemathesis in
core/tests/test_openapi_truth.py)."""

from __future__ import annotations

from gongzhi.core.api import GENERIC

TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def truthful(result, generator, request, public):
    """- A list taking a `cursor` answers 400 to one that is not ours: say so where it is not said yet.
    - Times of day are written "13:00:00" (local, no offset); JSON Schema's "time" format demands an offset, so
      they are described by a pattern instead."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            names = {p.get("name") for p in operation.get("parameters", [])}
            if "cursor" in names and "400" not in operation["responses"]:
                operation["responses"]["400"] = {
                    "content": {"application/json": {"schema": _ERROR_REF}},
                    "description": f"{GENERIC[400][0]} / {GENERIC[400][1]}",
                }
    for node in _walk(result):
        if node.get("type") == "string" and node.get("format") == "time":
            node.pop("format")
            node["pattern"] = TIME_PATTERN
    return result
