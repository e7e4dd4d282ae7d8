"""``GET /openapi.json``, generated from the route registry and the pydantic models."""

from __future__ import annotations

import re
from typing import Any, cast

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from chalicelib.api.http import (
    HEADER_SCHEMAS,
    IDEMPOTENCY_HEADER,
    ROUTE_DOCS,
    Access,
    Call,
    RouteDoc,
    endpoint,
)

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
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


# Pydantic's names for numeric constraints, and JSON Schema's.
JSON_SCHEMA_BOUNDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}


# What pydantic's schema generator walks: a type's core schema, or a model's field.
SchemaNode = (
    CoreSchema
    | core_schema.ModelField
    | core_schema.DataclassField
    | core_schema.TypedDictField
    | core_schema.ComputedField
)


class StandardJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, with every bound in JSON Schema's words.

    A bound pydantic cannot set on the type itself (``ge=1`` on ``Integer | None``: the
    integer is behind a before-validator inside the union) is checked by a validator it
    wraps around the type, and pydantic 2 publishes that bound under its Python name
    (``{"ge": 1}``), which no JSON Schema reader knows: the document would accept what the
    API refuses. Such bounds are renamed here, for every model of the document."""

    def generate_inner(self, schema: SchemaNode) -> JsonSchemaValue:
        """The schema of one node, its pydantic-named bounds renamed."""
        metadata: dict[str, Any] = dict(schema.get("metadata") or {})
        updates: dict[str, Any] = metadata.get("pydantic_js_updates") or {}
        if any(key in JSON_SCHEMA_BOUNDS for key in updates):
            metadata["pydantic_js_updates"] = {
                JSON_SCHEMA_BOUNDS.get(key, key): value for key, value in updates.items()
            }
            schema = cast("SchemaNode", {**schema, "metadata": metadata})
        return super().generate_inner(schema)


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(
        ref_template="#/components/schemas/{model}", schema_generator=StandardJsonSchema
    )
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: ``X | None`` is ``X`` there."""
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    if len(variants) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**variants[0], **rest}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """``node`` with each ``{"$ref": "#/$defs/<name>"}`` replaced by that definition."""
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        target = definitions[reference.removeprefix("#/$defs/")]
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return _inlined({**target, **rest}, definitions)
    return {key: _inlined(value, definitions) for key, value in node.items()}


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """One query parameter per field of the route's query model, by its public name; a
    model with rules spanning its fields (exactly one of several, say) is one exploded
    object parameter instead, so that the rule is in the document too."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True, schema_generator=StandardJsonSchema)
    # A parameter's schema stands alone: what its fields name in ``$defs`` (an enum of its
    # own, say) is written in place, or the document would point at nothing.
    schema = _inlined(schema, schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    if any(keyword in schema for keyword in SPANNING_KEYWORDS):
        object_schema = {
            key: value for key, value in schema.items() if key not in ("title", "description")
        }
        object_schema["properties"] = {
            name: _without_null(prop) for name, prop in schema.get("properties", {}).items()
        }
        return [
            {
                "name": model.__name__,
                "in": "query",
                "required": bool(required) or _demands_a_field(schema),
                "style": "form",
                "explode": True,
                "description": schema.get("description", ""),
                "schema": object_schema,
            }
        ]
    declared = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(
                {k: v for k, v in field_schema.items() if k not in ("title", "description")}
            ),
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        declared.append(parameter)
    return declared


def _demands_a_field(schema: dict[str, Any]) -> bool:
    """Whether an object schema refuses ``{}``: a minimum of properties, or only branches
    that each require a field (exactly one of several, say)."""
    if schema.get("minProperties", 0) >= 1:
        return True
    for keyword in ("oneOf", "anyOf"):
        branches = schema.get(keyword)
        if branches and all(branch.get("required") for branch in branches):
            return True
    return False


# Keywords of a query model's schema that tie its fields together.
SPANNING_KEYWORDS = ("anyOf", "oneOf", "allOf", "minProperties", "maxProperties")

STATUS_DESCRIPTIONS = {
    400: "Malformed request (the body is not JSON)",
    401: "No valid credentials",
    403: "The credentials may not do this",
    404: "Unknown id (or not yours to see)",
    409: "The state of the resource forbids it",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "Invalid fields, each named",
    429: "Locked against guessing, or too many requests at once; try again after Retry-After",
    503: "A service this depends on is unavailable; try again",
}
# What a route that takes an Idempotency-Key may answer besides (API.md, Conventions).
KEYED_STATUS_DESCRIPTIONS = {
    409: "The state of the resource forbids it, or a request with this Idempotency-Key is "
    "still in progress",
    422: "Invalid fields, each named, or an Idempotency-Key already used with another body "
    "(naming Idempotency-Key)",
}


def takes_idempotency_key(doc: RouteDoc) -> bool:
    """Whether the route takes an ``Idempotency-Key`` header, required or not."""
    return IDEMPOTENCY_HEADER in (*doc.headers, *doc.optional_headers)


def error_statuses(doc: RouteDoc) -> list[int]:
    """Every error status the route can answer, derived from how it is registered: its
    keys, path ids, body, query and headers, plus what the route itself says it may
    answer (``RouteDoc.errors``)."""
    statuses = set(doc.errors)
    if doc.roles:
        statuses |= {401, 403}
    if "{" in doc.path:
        statuses.add(404)
    if doc.request is not None:
        statuses |= {400, 413, 415, 422}
    if doc.query is not None or any(
        header in HEADER_SCHEMAS for header in (*doc.headers, *doc.optional_headers)
    ):
        statuses.add(422)
    if takes_idempotency_key(doc):
        # A key reused with another body, and one whose first request is still running.
        statuses |= {409, 422}
    return sorted(statuses)


def _header_parameters(doc: RouteDoc) -> list[dict[str, Any]]:
    return [
        {
            "name": header,
            "in": "header",
            "required": required,
            "schema": HEADER_SCHEMAS.get(header, {"type": "string"}),
        }
        for headers, required in ((doc.headers, True), (doc.optional_headers, False))
        for header in headers
    ]


def _operation(doc: RouteDoc, components: dict[str, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operation: dict[str, Any] = {
        "summary": doc.summary,
        "tags": [doc.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", doc.path)
        ]
        + _header_parameters(doc)
        + _query_parameters(doc.query),
        "responses": {},
    }
    if doc.roles:
        operation["security"] = [{"bearer": []}]
        operation["description"] = "Roles: " + ", ".join(doc.roles)
    else:
        operation["security"] = []
    descriptions = STATUS_DESCRIPTIONS | (
        KEYED_STATUS_DESCRIPTIONS if takes_idempotency_key(doc) else {}
    )
    for status in error_statuses(doc):
        response: dict[str, Any] = {
            "description": descriptions.get(status, "Error"),
            "content": problem,
        }
        if status == 404 and doc.html:
            # A browser that follows a dead customer link reads a page, not a problem.
            response["content"] = problem | {"text/html": {"schema": {"type": "string"}}}
        if status == 401 and doc.roles:
            response["headers"] = {
                "WWW-Authenticate": {"required": True, "schema": {"type": "string"}}
            }
        if status == 429:
            response["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}
            }
        operation["responses"][str(status)] = response
    if doc.request is not None:
        media = "application/x-www-form-urlencoded" if doc.form else "application/json"
        operation["requestBody"] = {
            "required": not doc.optional_body,
            "content": {media: {"schema": _schema_ref(doc.request, components)}},
        }
    content: dict[str, Any] = {}
    if doc.response is not None:
        content["application/json"] = {"schema": _schema_ref(doc.response, components)}
    if doc.html:
        content["text/html"] = {"schema": {"type": "string"}}
    success: dict[str, Any] = {"description": "Success", "content": content}
    if doc.status == 303:
        # A form's answer: back to the page, which shows how it went.
        success = {
            "description": "See the page",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
        }
    operation["responses"][str(doc.status)] = success
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
