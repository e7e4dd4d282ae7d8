"""``GET /openapi.json``, generated from the route registry and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import BaseModel

from chalicelib.api.http import ROUTE_DOCS, Access, Call, RouteDoc, endpoint

openapi = Blueprint(__name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """One query parameter per field of the route's query model, by its public name."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    declared = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in field_schema.items() if k not in ("title", "description")},
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        declared.append(parameter)
    return declared


def _operation(doc: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operation: dict[str, Any] = {
        "summary": doc.summary,
        "tags": [doc.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", doc.path)
        ]
        + [
            {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}
            for header in doc.headers
        ]
        + _query_parameters(doc.query),
        "responses": {
            "400": {"description": "Malformed request", "content": problem},
            "422": {"description": "Invalid fields, each named", "content": problem},
        },
    }
    if doc.roles:
        operation["security"] = [{"bearer": []}]
        operation["description"] = "Roles: " + ", ".join(doc.roles)
        operation["responses"]["401"] = {"description": "No valid key", "content": problem}
        operation["responses"]["403"] = {"description": "Role not allowed", "content": problem}
    if "{" in doc.path:
        operation["responses"]["404"] = {"description": "Unknown id", "content": problem}
    if doc.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_ref(doc.request, components)}},
        }
    content: dict[str, Any] = {}
    if doc.response is not None:
        content["application/json"] = {"schema": _schema_ref(doc.response, components)}
    if doc.html:
        content["text/html"] = {"schema": {"type": "string"}}
    operation["responses"][str(doc.status)] = {"description": "Success", "content": content}
    return operation


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document for every registered route."""
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for doc in ROUTE_DOCS:
        paths.setdefault(doc.path, {})[doc.method.lower()] = _operation(doc, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Orquesta",
            "version": "1.0.0",
            "description": "Order orchestration for retailers selling in stores and online.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@endpoint(openapi, "/openapi.json", "GET", summary="This document", tag="ops", access=Access.PUBLIC)
def openapi_document(call: Call) -> dict[str, Any]:
    """Generated on each call from the same registry the routes were made from."""
    return build_document()
