"""OpenAPI 3 description of `/api/v1`, generated from the same pydantic models that validate.

Other modules describe their `/api/v1` endpoints with `document(...)`; the spec is built
once per process on first request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from bot.api.schemas import ErrorBody, EventResults, ShopEvent

_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    summary: str
    responses: dict[str, type[BaseModel] | None]
    request: Any = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    auth: bool = True


_OPERATIONS: list[Operation] = []
_cached: dict[str, Any] | None = None


def document(operation: Operation) -> None:
    """Add an endpoint to the spec (call at import time of the module that serves it)."""
    global _cached
    _OPERATIONS.append(operation)
    _cached = None


def _schema(components: dict[str, Any], annotation: Any) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    if "title" in schema and "properties" in schema:
        name = schema["title"]
        components[name] = schema
        return {"$ref": _REF.format(model=name)}
    return schema


def build_spec() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for op in _OPERATIONS:
        responses: dict[str, Any] = {}
        for code, model in op.responses.items():
            entry: dict[str, Any] = {"description": f"HTTP {code}"}
            if model is not None:
                entry["content"] = {"application/json": {"schema": _schema(components, model)}}
            responses[code] = entry
        operation: dict[str, Any] = {"summary": op.summary, "responses": responses}
        if op.parameters:
            operation["parameters"] = op.parameters
        if op.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(components, op.request)}},
            }
        if op.auth:
            operation["security"] = [{"shopKey": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nudge API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"shopKey": {"type": "http", "scheme": "bearer"}},
        },
    }


class EventsBatchBody(BaseModel):
    events: list[ShopEvent]


document(
    Operation(
        path="/api/v1/events",
        method="POST",
        summary="Send one shop event or a batch; each is accepted, duplicate or rejected.",
        request=ShopEvent | EventsBatchBody,
        responses={
            "202": EventResults,
            "400": ErrorBody,
            "401": ErrorBody,
            "413": ErrorBody,
            "422": ErrorBody,
        },
    )
)


async def get_openapi(request: web.Request) -> web.Response:
    global _cached
    if _cached is None:
        _cached = build_spec()
    return web.json_response(_cached)
