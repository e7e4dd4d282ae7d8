"""GET /openapi.json describes exactly the routes the app serves."""

from __future__ import annotations

from typing import Any

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def _served(stack: Any) -> set[tuple[str, str]]:
    return {
        (path, method.lower())
        for path, methods in stack.app_module.app.routes.items()
        for method in methods
    }


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def test_document_is_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert document["info"]["version"]


def test_document_covers_every_route_and_nothing_else(document: dict[str, Any], stack: Any) -> None:
    served = _served(stack)
    assert ("/orders", "post") in served

    assert _documented(document) == served


def _request_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    assert "requestBody" in operation, (method, path)
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(document, schema)


# Routes API.md gives a JSON body, and the fields it names for each.
CONTRACT_BODIES = {
    ("/orders", "post"): {"channel", "store_id", "customer", "lines", "payment", "consent"},
    ("/orders/{order_id}/returns", "post"): {"lines", "reason", "channel", "location_id"},
    ("/returns/{return_id}/receive", "post"): {"location_id"},
    ("/fulfillments/{fulfillment_id}/collect", "post"): {"pickup_code"},
    ("/carriers/{carrier}/events", "post"): {"event_id", "tracking_number", "type", "occurred_at"},
    ("/customers", "post"): {"email", "phone", "loyalty_id", "name", "locale"},
}


def test_every_write_route_documents_a_json_request_schema(
    document: dict[str, Any], stack: Any
) -> None:
    writes = sorted(route for route in _served(stack) if route[1] in ("post", "put", "patch"))
    assert writes
    for path, method in writes:
        assert _request_schema(document, path, method).get("type") == "object", (method, path)


def test_contract_request_bodies_document_their_fields(document: dict[str, Any]) -> None:
    for (path, method), fields in CONTRACT_BODIES.items():
        properties = set(_request_schema(document, path, method).get("properties", {}))
        assert fields <= properties, (method, path, fields - properties)


def test_place_order_schema_matches_the_contract(document: dict[str, Any]) -> None:
    operation = document["paths"]["/orders"]["post"]
    schema = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])

    assert {"channel", "lines", "payment", "consent"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert "202" in operation["responses"]
    assert "422" in operation["responses"]


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


def test_problem_schema_is_published(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]

    assert set(problem["required"]) == {"type", "title", "status", "detail", "errors"}


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        ("/customers", {"email", "phone", "loyalty_id"}),
        ("/customers/{customer_id}", {"limit", "cursor"}),
        ("/ops/alerts", {"order_id", "status", "limit"}),
        ("/ops/executions", {"status", "limit"}),
        ("/ops/outbox", {"limit"}),
        ("/ops/sla", {"from", "to", "days"}),
    ],
)
def test_query_parameters_are_declared_with_their_rules(
    document: dict[str, Any], path: str, parameters: set[str]
) -> None:
    declared = {
        p["name"]: p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "query"
    }
    assert set(declared) == parameters
    assert not any(p["required"] for p in declared.values())
    if "limit" in declared:
        assert declared["limit"]["schema"]["minimum"] == 1
    if path == "/ops/executions":
        assert "RUNNING" in declared["status"]["schema"]["enum"]
    if path == "/ops/alerts":
        statuses = declared["status"]["schema"]["anyOf"][0]["enum"]
        assert statuses == ["open", "resolved"]
        assert "pattern" in declared["order_id"]["schema"]["anyOf"][0]
