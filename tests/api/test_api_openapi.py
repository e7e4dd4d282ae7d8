"""GET /openapi.json describes exactly the routes the app serves, every status each can
answer, and every rule JSON Schema can express. That the schema refuses what the API refuses
is in ``test_api_openapi_refusals.py``."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from chalicelib.api.http import RouteDoc
from chalicelib.api.openapi import error_statuses
from tests.support import order_body
from tests.support.api import get_order, place_order

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


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
    content = operation["requestBody"]["content"]
    # JSON everywhere but the customer pages' plain HTML forms (api/track_forms.py, the
    # survey's form).
    plain_form = "/forms/" in path or path == "/surveys/{token}/form"
    media = "application/x-www-form-urlencoded" if plain_form else "application/json"
    assert list(content) == [media], (method, path, list(content))
    return _resolve(document, content[media]["schema"])


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


def test_the_page_s_forms_declare_their_form_bodies_and_the_303_back(
    document: dict[str, Any],
) -> None:
    forms = sorted(path for path in document["paths"] if "/forms/" in path)
    assert forms == [
        f"/track/{{token}}/forms/{action}" for action in ("cancel", "payment", "returns", "tickets")
    ]
    for path in forms:
        operation = document["paths"][path]["post"]
        schema = _request_schema(document, path, "post")
        # Fields the page does not have are left out, not refused (a browser adds its
        # own); the document must not say they are refused (a re-probe).
        assert schema.get("additionalProperties", True) is not False, path
        assert {"csrf", "key"} <= set(schema["required"]), path
        assert operation["responses"]["303"]["headers"]["Location"]["required"] is True
        assert {"403", "404", "415"} <= set(operation["responses"]), path


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
        ("/customers/{customer_id}", {"limit", "cursor"}),
        ("/ops/alerts", {"order_id", "status", "limit", "cursor"}),
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
        status_schema = json.dumps(declared["status"]["schema"])
        assert '"open", "resolved"' in status_schema
        assert '"pattern"' in json.dumps(declared["order_id"]["schema"])
        cursor = jsonschema.Draft202012Validator(declared["cursor"]["schema"])
        assert cursor.is_valid("alr_20261127T090000000000_deadbeef")
        assert cursor.is_valid("")  # the first page, as the API reads it
        assert not cursor.is_valid("alr_\u06620261127T090000000000_deadbeef")


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_route_declares_the_statuses_its_registration_implies(
    document: dict[str, Any],
) -> None:
    for path, method, operation in _operations(document):
        declared = set(operation["responses"])
        if operation["security"]:
            assert {"401", "403"} <= declared, (method, path)
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        if "{" in path:
            assert "404" in declared, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= declared, (method, path)
        if any(p["in"] == "query" for p in operation["parameters"]):
            assert "422" in declared, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                # A customer page's dead link is a page for a browser, a problem otherwise.
                dead_link_page = (
                    status == "404"
                    and method == "get"
                    and path in ("/track/{token}", "/surveys/{token}")
                )
                expected = ["application/problem+json"] + (["text/html"] if dead_link_page else [])
                assert list(response["content"]) == expected, (path, status)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/orders", "post", {"404", "409"}),
        ("/orders/{order_id}/cancel", "post", {"409"}),
        ("/orders/{order_id}/claim", "post", {"409", "429"}),
        ("/carriers/{carrier}/events", "post", {"401"}),
        ("/customers", "get", {"404"}),
        ("/inventory/movements", "post", {"404", "409"}),
    ],
)
def test_route_specific_statuses_are_declared(
    document: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    assert statuses <= set(document["paths"][path][method]["responses"])


class _Body(BaseModel):
    name: str


class _Query(BaseModel):
    limit: int = 1


def test_a_route_registered_the_usual_way_gets_its_statuses_generically() -> None:
    keyed_with_body = RouteDoc(
        "POST", "/things/{thing_id}/codes", "", ("storefront",), _Body, None, 201, "x"
    )
    open_query = RouteDoc("GET", "/things", "", (), None, None, 200, "x", query=_Query)
    limited = RouteDoc("POST", "/codes", "", ("store",), _Body, None, 200, "x", errors=(429,))

    assert error_statuses(keyed_with_body) == [400, 401, 403, 404, 413, 415, 422]
    assert error_statuses(open_query) == [422]
    assert error_statuses(limited) == [400, 401, 403, 413, 415, 422, 429]


def test_only_routes_that_read_no_body_as_empty_make_it_optional(
    document: dict[str, Any],
) -> None:
    optional = {
        (path, method)
        for path, method, operation in _operations(document)
        if "requestBody" in operation and not operation["requestBody"]["required"]
    }

    assert optional == {
        ("/orders/{order_id}/cancel", "post"),
        ("/customers/{customer_id}/erase", "post"),
        ("/track/{token}/cancel", "post"),
        ("/ops/orders/{order_id}/retry", "post"),
        # A note is optional; the schema said the body was required (a probe's schemathesis).
        ("/ops/alerts/{alert_id}/resolve", "post"),
        ("/promotions/{promotion_id}/end", "post"),
    }


def _lookup_schema(document: dict[str, Any]) -> dict[str, Any]:
    (parameter,) = document["paths"]["/customers"]["get"]["parameters"]
    assert (parameter["in"], parameter["style"], parameter["explode"]) == ("query", "form", True)
    assert parameter["required"] is True
    schema: dict[str, Any] = parameter["schema"]
    return schema


def test_a_query_with_a_rule_across_parameters_is_one_exploded_object(
    document: dict[str, Any],
) -> None:
    schema = _lookup_schema(document)

    assert set(schema["properties"]) == {"email", "phone", "loyalty_id"}
    lookup = jsonschema.Draft202012Validator(schema)
    assert lookup.is_valid({"email": "ana@example.com"})
    assert lookup.is_valid({"loyalty_id": "L123"})
    assert not lookup.is_valid({})
    assert not lookup.is_valid({"email": "ana@example.com", "phone": "+34600111222"})
    assert not lookup.is_valid({"phone": "+34600111222", "loyalty_id": "L1", "email": "a@b.co"})


# What form-exploded query serialisation never puts on the wire.
UNSENT_VALUES: list[Any] = [[], {}, None]


# Keywords that limit an object's extra properties: negated, each admits an extra valued
# ``[]`` beside a valid value, which form serialisation drops.
EXTRAS_LIMITS = ("additionalProperties", "maxProperties", "propertyNames", "unevaluatedProperties")


def test_no_object_shaped_query_parameter_limits_its_extra_properties(
    document: dict[str, Any],
) -> None:
    """The mechanism, not only the lookup: any query model with a rule across its fields is
    one exploded object parameter, and must let extra parameters be (the API ignores them)."""
    objects = [
        (f"{method.upper()} {path}", parameter["schema"])
        for path, method, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter["schema"].get("type") == "object"
    ]
    assert objects  # the lookup is one
    for where, schema in objects:
        assert not [k for k in EXTRAS_LIMITS if k in schema and schema[k] is not True], where


@pytest.mark.parametrize("unsent", UNSENT_VALUES)
def test_an_extra_parameter_that_is_never_sent_does_not_break_a_lookup(
    document: dict[str, Any], unsent: Any
) -> None:
    """A fuzzer negates a rule against extra parameters into a valid lookup plus an extra
    valued ``[]``; that extra is never sent, so the API answers the valid lookup it receives,
    and the fuzzer reports "a broken request accepted" (schemathesis ST201 on
    ``?email=0%400.com``). So the schema, like the API, lets extra parameters be."""
    lookup = jsonschema.Draft202012Validator(_lookup_schema(document))

    for identifier in ({"email": "0@0.com"}, {"phone": "+34600111222"}, {"loyalty_id": "L1"}):
        assert lookup.is_valid({**identifier, "": unsent, "utm_source": unsent}), identifier


def test_the_sla_period_is_declared_as_rfc3339_dates(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/ops/sla"]["get"]["parameters"]}

    for name in ("from", "to"):
        formats = {variant["format"] for variant in parameters[name]["schema"]["anyOf"]}
        assert formats == {"date", "date-time"}


def test_the_idempotency_key_rules_are_declared(document: dict[str, Any]) -> None:
    for path, required in (("/orders", True), ("/inventory/movements", False)):
        (header,) = [
            p for p in document["paths"][path]["post"]["parameters"] if p["in"] == "header"
        ]
        assert header["name"] == "Idempotency-Key"
        assert header["required"] is required, path
        responses = document["paths"][path]["post"]["responses"]
        assert "Idempotency-Key" in responses["422"]["description"], path
        assert header["schema"]["maxLength"] == 255
        validator = jsonschema.Draft202012Validator(header["schema"])
        assert validator.is_valid("order-1")
        assert not validator.is_valid("   ")
        assert not validator.is_valid(" padded ")
        assert not validator.is_valid("k" * 256)
        assert not validator.is_valid("clé")


# API.md, Conventions: writes that create things take an Idempotency-Key, required on
# POST /orders only.
OPTIONAL_KEY_ROUTES = (
    "/customers",
    "/customers/{customer_id}/interactions",
    "/customers/{customer_id}/tickets",
    "/inventory/movements",
    "/inventory/{sku}/subscriptions",
    "/orders/{order_id}/returns",
    "/promotions",
    "/quotes",
    "/returns/{return_id}/receive",
    "/surveys/{token}",
    "/track/{token}/cancel",
    "/track/{token}/payment",
    "/track/{token}/returns",
    "/track/{token}/tickets",
)


@pytest.mark.parametrize("path", OPTIONAL_KEY_ROUTES)
def test_writes_that_create_things_declare_an_optional_idempotency_key(
    document: dict[str, Any], path: str
) -> None:
    operation = document["paths"][path]["post"]
    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    # A reused key with another body is 422; a first request still running is 409.
    assert "Idempotency-Key" in operation["responses"]["422"]["description"]
    assert "Idempotency-Key" in operation["responses"]["409"]["description"]


# Every keyword of JSON Schema 2020-12 (core, applicators, validation, annotations,
# format, content, unevaluated) and the ones OpenAPI 3.1 adds to a Schema Object.
SCHEMA_KEYWORDS = {
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "$comment", "$defs",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas",
    "prefixItems", "items", "contains", "properties", "patternProperties",
    "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties",
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
    "required", "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType", "contentSchema",
    "discriminator", "xml", "externalDocs", "example",
}  # fmt: skip
# Keywords whose value is one schema, a list of schemas, or a map of name to schema; the
# values of the others (enum, const, default, examples...) are data, not schemas.
ONE_SCHEMA = {
    "not", "if", "then", "else", "items", "contains", "additionalProperties",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
}  # fmt: skip
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
SCHEMA_MAPS = {"properties", "patternProperties", "dependentSchemas", "$defs"}


def _unknown_keywords(schema: Any, where: str) -> list[str]:
    """``where.keyword`` for each keyword of ``schema`` (and its subschemas) that neither
    JSON Schema 2020-12 nor OpenAPI 3.1 defines (``x-`` extensions are allowed)."""
    if isinstance(schema, bool):
        return []
    assert isinstance(schema, dict), f"{where} is not a schema: {schema!r}"
    found = [
        f"{where}.{key}"
        for key in schema
        if key not in SCHEMA_KEYWORDS and not key.startswith("x-")
    ]
    for key, value in schema.items():
        if key in ONE_SCHEMA:
            found += _unknown_keywords(value, f"{where}.{key}")
        elif key in SCHEMA_LISTS:
            for index, item in enumerate(value):
                found += _unknown_keywords(item, f"{where}.{key}.{index}")
        elif key in SCHEMA_MAPS:
            for name, item in value.items():
                found += _unknown_keywords(item, f"{where}.{key}.{name}")
    return found


def _document_schemas(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every Schema Object of the document, with where it is."""
    schemas = [(f"components.schemas.{n}", s) for n, s in document["components"]["schemas"].items()]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            at = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                schemas.append((f"{at} parameter {parameter['name']}", parameter["schema"]))
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                schemas.append((f"{at} requestBody {media}", content["schema"]))
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    schemas.append((f"{at} {status} {media}", content["schema"]))
                for name, header in response.get("headers", {}).items():
                    schemas.append((f"{at} {status} header {name}", header["schema"]))
    return schemas


def test_every_schema_keyword_is_json_schema_or_openapi(document: dict[str, Any]) -> None:
    # A keyword no reader knows (pydantic's ``ge`` for ``minimum``) is silently ignored:
    # the document then accepts what the API refuses.
    schemas = _document_schemas(document)
    assert len(schemas) > 100
    unknown = [found for where, schema in schemas for found in _unknown_keywords(schema, where)]
    assert unknown == []


def test_the_keyword_check_catches_a_pydantic_bound() -> None:
    schema = {"anyOf": [{"ge": 1, "type": "integer"}, {"type": "null"}], "x-ok": 1}
    assert _unknown_keywords(schema, "s") == ["s.anyOf.0.ge"]
    assert _unknown_keywords({"properties": {"ge": {"type": "string"}}}, "s") == []


def _references(node: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(where, node["$ref"])] if isinstance(node.get("$ref"), str) else []
        for key, value in node.items():
            found += _references(value, f"{where}.{key}")
        return found
    if isinstance(node, list):
        return [ref for i, item in enumerate(node) for ref in _references(item, f"{where}.{i}")]
    return []


def test_every_reference_in_the_document_points_at_a_schema_it_holds(
    document: dict[str, Any],
) -> None:
    # A reference to nothing (a query parameter's enum left in its model's "$defs") makes
    # readers such as schemathesis give up on the parameter.
    references = _references(document)
    assert len(references) > 50
    dangling = []
    for where, reference in references:
        node: Any = document
        for part in reference.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if not reference.startswith("#/") or node is None:
            dangling.append(f"{where}: {reference}")
    assert dangling == []


def _response_properties(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
    schema = _resolve(document, ok["content"]["application/json"]["schema"])
    properties: dict[str, Any] = schema["properties"]
    return properties


def _values(document: dict[str, Any], prop: dict[str, Any]) -> set[str]:
    """The enum a property allows, through a nullable anyOf and a $ref."""
    for variant in [prop, *prop.get("anyOf", [])]:
        resolved = _resolve(document, variant)
        if "enum" in resolved:
            return set(resolved["enum"])
    raise AssertionError(f"no enum in {prop}")


def test_the_contract_s_fixed_status_values_are_enums_in_the_responses(
    document: dict[str, Any],
) -> None:
    # API.md: "status values below are fixed"; a probe found them plain strings.
    order = _response_properties(document, "/orders/{order_id}", "get")
    assert _values(document, order["status"]) == {
        "ACCEPTED", "PAID", "REJECTED", "RESERVED", "SHIPPED", "READY_FOR_PICKUP",
        "DELIVERED", "RETURNED", "CANCELLED",
    }  # fmt: skip
    # The contract's four, and the one README documents for a cancel after a failure.
    assert _values(document, order["status_reason"]) >= {
        "payment_declined", "out_of_stock", "customer_request", "not_collected",
    }  # fmt: skip
    assert _values(document, order["channel"]) == {"web", "app", "store", "kiosk", "phone"}
    fulfillment = _resolve(document, order["fulfillments"]["items"])["properties"]
    assert _values(document, fulfillment["type"]) == {"ship", "pickup"}
    assert _values(document, fulfillment["status"]) == {
        "PENDING", "SHIPPED", "READY_FOR_PICKUP", "DELIVERED", "RETURNED", "CANCELLED", "LOST",
    }  # fmt: skip
    resolution = _response_properties(document, "/customers", "post")
    assert _values(document, resolution["matched_by"]) == {"email", "phone", "loyalty_id"}
    ticket = _response_properties(document, "/tickets/{ticket_id}", "get")
    assert _values(document, ticket["status"]) == {"open", "pending", "resolved"}
    assert _values(document, ticket["type"]) >= {
        "complaint", "return", "question", "late_delivery",
    }  # fmt: skip
    # A re-probe: a carrier's acknowledgement said any string.
    ack = _response_properties(document, "/carriers/{carrier}/events", "post")
    assert _values(document, ack["status"]) == {"applied", "duplicate", "ignored"}


def test_a_carrier_event_s_moment_declares_its_shape(document: dict[str, Any]) -> None:
    # A probe: "yesterday" was valid by the document and refused by the API.
    operation = document["paths"]["/carriers/{carrier}/events"]["post"]
    body = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    pattern = body["properties"]["occurred_at"]["pattern"]
    for accepted in (
        "2026-12-02T10:15:00Z",
        "2026-12-02 10:15+01:00",
        "2026-12-02",
        "2026-12-02T10:15:00.123456789Z",
        "20261202T101500Z",
        " 2026-12-02T10:15:00 +01:00\t",
    ):
        assert re.search(pattern, accepted), accepted
    for refused in (
        "yesterday",
        "2026-W49-3",
        "2026-12-02T10:1500",
        "2026-12-02T10:15:00.5 Z",
        # A second re-probe: numbers out of their range matched, then were refused.
        "2026-12-02T12:12:16+24:00",
        "2026-12-02T24:00:00Z",
        "2026-12-02T23:59:61Z",
        "0000-12-02",
    ):
        assert not re.search(pattern, refused), refused


def test_an_order_s_payment_and_history_have_the_contract_s_shapes(
    document: dict[str, Any], client: Any
) -> None:
    """A probe: ``payment`` and each ``history`` entry were free-form objects in the
    document, so any answer matched them; API.md fixes both."""
    answer = document["paths"]["/orders/{order_id}"]["get"]["responses"]["200"]
    order = _resolve(document, answer["content"]["application/json"]["schema"])
    payment = order["properties"]["payment"]
    entry = order["properties"]["history"]["items"]
    assert {"status", "authorized", "captured", "refunded"} <= set(payment["required"])
    assert {"status", "at", "detail"} <= set(entry["required"])
    assert "DECLINED" in payment["properties"]["status"]["enum"]

    placed = place_order(client, order_body())
    seen = get_order(client, placed["order_id"])
    jsonschema.Draft202012Validator(payment).validate(seen["payment"])
    for each in seen["history"]:
        jsonschema.Draft202012Validator(entry).validate(each)
    broken = seen["payment"] | {"authorized": "12.50"}
    assert not jsonschema.Draft202012Validator(payment).is_valid(broken)
    assert not jsonschema.Draft202012Validator(entry).is_valid({"status": "SHIPPED"})


# The routes where a well-formed value the document cannot know is refused with 422: a
# pick-up code, a receipt code, a one-time code (secrets), besides every key reused.
SECRET_CODE_ROUTES = {
    ("POST", "/customers/verifications/confirm"),
    ("POST", "/fulfillments/{fulfillment_id}/collect"),
    ("POST", "/orders/{order_id}/claim"),
}


def test_schemathesis_expects_the_422_of_a_reused_key_or_a_wrong_code_on_every_such_route(
    document: dict[str, Any],
) -> None:
    # Probe 240: a longer run found two key-taking routes, and the claim's wrong receipt
    # code, that schemathesis.toml did not list; their 422 read as a valid request refused.
    with (Path(__file__).parents[2] / "schemathesis.toml").open("rb") as toml:
        listed = {
            (entry.get("include-method", "*").upper(), entry["include-path"])
            for entry in tomllib.load(toml)["operations"]
            if "422" in entry["checks"]["positive_data_acceptance"]["expected-statuses"]
        }
    keyed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in HTTP_METHODS
        and any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert len(keyed) >= 15  # the document's own, read
    missing = {
        (method, path)
        for method, path in keyed | SECRET_CODE_ROUTES
        if (method, path) not in listed and ("*", path) not in listed
    }
    assert missing == set()
