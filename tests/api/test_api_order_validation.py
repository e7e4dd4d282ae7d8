"""POST /orders refuses bad input with problem details naming each offending field, and
stores nothing: no order under the id the request would have made, no customer, no key used."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import (
    JSON,
    STOREFRONT,
    assert_problem,
    error_fields,
    idempotency_key,
    order_body,
)
from tests.support.api import assert_not_stored, expected_order_id, orders_placed_by, post_order

Mutation = Callable[[dict[str, Any]], None]


def _line(**fields: Any) -> dict[str, Any]:
    return {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship", **fields}


def _set(**values: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body.update(values)

    return mutate


def _drop(*names: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        for name in names:
            del body[name]

    return mutate


def _set_in(path: tuple[str | int, ...], value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _pickup_only(**line: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        body["lines"] = [_line(fulfillment="pickup", **line)]

    return mutate


# (mutation of a valid web order, the exact set of fields the 422 must name)
INVALID_BODIES: dict[str, tuple[Mutation, set[str]]] = {
    "missing lines, payment and consent": (
        _drop("lines", "payment", "consent"),
        {"lines", "payment", "consent"},
    ),
    "missing channel": (_drop("channel"), {"channel"}),
    "unknown top-level field": (_set(coupon="FREE"), {"coupon"}),
    "unknown field in customer": (_set_in(("customer", "nickname"), "ana"), {"customer.nickname"}),
    "quantity zero": (_set_in(("lines", 0, "quantity"), 0), {"lines.0.quantity"}),
    "quantity negative": (_set_in(("lines", 0, "quantity"), -1), {"lines.0.quantity"}),
    "quantity 1000": (_set_in(("lines", 0, "quantity"), 1000), {"lines.0.quantity"}),
    "quantity as a string": (_set_in(("lines", 0, "quantity"), "2"), {"lines.0.quantity"}),
    "quantity as a fraction": (_set_in(("lines", 0, "quantity"), 1.5), {"lines.0.quantity"}),
    "101 lines": (_set(lines=[_line(sku=f"SKU-{i}") for i in range(101)]), {"lines"}),
    "no lines": (_set(lines=[]), {"lines"}),
    "several bad lines at once": (
        _set(lines=[_line(quantity=0), _line(sku="JEANS-32", quantity="2", gift=True)]),
        {"lines.0.quantity", "lines.1.quantity", "lines.1.gift"},
    ),
    "unknown channel": (_set(channel="fax"), {"channel"}),
    "unknown fulfillment type": (
        _set_in(("lines", 0, "fulfillment"), "drone"),
        {"lines.0.fulfillment"},
    ),
    "pickup line without location_id": (_pickup_only(), {"lines.0.location_id"}),
    "store channel without store_id": (_set(channel="store"), {"store_id"}),
    "kiosk channel without store_id": (_set(channel="kiosk"), {"store_id"}),
    "web order without customer": (_drop("customer"), {"customer"}),
    "web order whose customer has no identifier": (
        _set(customer={"name": "Ana García", "locale": "es"}),
        {"customer"},
    ),
    "invalid customer email": (_set_in(("customer", "email"), "not-an-email"), {"customer.email"}),
    "invalid customer phone": (_set_in(("customer", "phone"), "12"), {"customer.phone"}),
    "unknown locale": (_set_in(("customer", "locale"), "fr"), {"customer.locale"}),
    # A line break in a name starts text of the sender's in the greeting of a stranger's
    # email (a probe's fake "payment failed" notice); control characters belong nowhere.
    "customer name over two lines": (
        _set_in(("customer", "name"), "Ana,\r\n\r\nIMPORTANT: pay at https://evil.example"),
        {"customer.name"},
    ),
    "customer name with a NUL": (_set_in(("customer", "name"), "a\u0000b"), {"customer.name"}),
    "customer name turned around": (
        _set_in(("customer", "name"), "\u202eetneilc"),
        {"customer.name"},
    ),
    "address lines with breaks": (
        _set(
            shipping_address={
                "name": "Ana\u2028García",
                "line1": "Gran Vía 1\n",
                "city": "Ma\u0085drid",
                "postal_code": "28013",
                "country": "ES",
            }
        ),
        {"shipping_address.name", "shipping_address.line1", "shipping_address.city"},
    ),
    "non-ASCII before the email's @": (
        _set_in(("customer", "email"), "ñandú@example.com"),
        {"customer.email"},
    ),
    "consent not accepted": (_set_in(("consent", "accepted"), False), {"consent.accepted"}),
    # A probe: 1 and 1.0 equal True in Python, and were recorded as consent.
    "consent accepted as a number": (_set_in(("consent", "accepted"), 1), {"consent.accepted"}),
    "consent accepted as a float": (_set_in(("consent", "accepted"), 1.0), {"consent.accepted"}),
    "consent without versions": (
        _set(consent={"accepted": True}),
        {"consent.terms_version", "consent.privacy_version"},
    ),
    # Probe 201: the 360 and the export showed them as given.
    "consent versions with control characters": (
        _set(
            consent={
                "terms_version": "2026-01\u0000\r\nBcc: x",
                "privacy_version": "\u0007\u001b[31m\u202e",
                "accepted": True,
            }
        ),
        {"consent.terms_version", "consent.privacy_version"},
    ),
    "payment token with control characters": (
        _set_in(("payment", "token"), "tok_visa\u0000\n\u202e"),
        {"payment.token"},
    ),
    # Probe 202: marks that change nothing a person sees told two values apart.
    "consent versions and token with invisible marks": (
        _set(
            consent={
                "terms_version": "2026-01\u200e",
                "privacy_version": "\ufeff2026-01",
                "accepted": True,
            },
            payment={"method": "card", "token": "tok_\u200bvisa"},
        ),
        {"consent.terms_version", "consent.privacy_version", "payment.token"},
    ),
    "shipping line without shipping address": (_drop("shipping_address"), {"shipping_address"}),
    "bad country code": (
        _set_in(("shipping_address", "country"), "Spain"),
        {"shipping_address.country"},
    ),
    "payment method other than card": (_set_in(("payment", "method"), "cash"), {"payment.method"}),
}


# Bodies the schema accepts, naming things that do not exist (404) or cannot be used so
# (409): the schema cannot know the catalogue, so these are not 422. Each field is named.
REFUSED_REFERENCES: dict[str, tuple[Mutation, int, set[str]]] = {
    "unknown SKU": (_set_in(("lines", 0, "sku"), "NOPE-404"), 404, {"lines.0.sku"}),
    "two unknown SKUs": (
        _set(lines=[_line(sku="NOPE-1"), _line(sku="NOPE-2")]),
        404,
        {"lines.0.sku", "lines.1.sku"},
    ),
    # A probe: only the SKU was named.
    "unknown SKU to pick up at an unknown location": (
        _pickup_only(sku="NOPE-404", location_id="ST-ATLANTIS"),
        404,
        {"lines.0.sku", "lines.0.location_id"},
    ),
    "pickup at an unknown location": (
        _pickup_only(location_id="ST-ATLANTIS"),
        404,
        {"lines.0.location_id"},
    ),
    # A probe: a ship line naming a location that does not exist was placed, the
    # location_id ignored, where a pick-up line naming it was refused.
    "ship line at an unknown location": (
        _set_in(("lines", 0, "location_id"), "ST-ATLANTIS"),
        404,
        {"lines.0.location_id"},
    ),
    "store channel at an unknown store": (
        _set(channel="store", store_id="ST-NOWHERE"),
        404,
        {"store_id"},
    ),
    "unknown customer_id": (
        _set_in(("customer", "customer_id"), "cus_doesnotexist000"),
        404,
        {"customer.customer_id"},
    ),
    "pickup at a location that does not do pickup": (
        _pickup_only(location_id="WH-GETAFE"),
        409,
        {"lines.0.location_id"},
    ),
    "store channel at a warehouse": (
        _set(channel="store", store_id="WH-GETAFE"),
        409,
        {"store_id"},
    ),
}


def _invalid_body(case: str) -> dict[str, Any]:
    mutate = INVALID_BODIES[case][0] if case in INVALID_BODIES else REFUSED_REFERENCES[case][0]
    body = order_body()
    mutate(body)
    return body


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
def test_invalid_order_is_422_naming_each_bad_field_and_stores_nothing(
    client: Any, deps: Any, case: str
) -> None:
    body = _invalid_body(case)
    expected = INVALID_BODIES[case][1]

    response, key = post_order(client, body)

    assert_problem(response, 422, *expected)
    assert error_fields(response) == expected
    email = (body.get("customer") or {}).get("email")
    assert_not_stored(deps, STOREFRONT, key, email if case != "invalid customer email" else None)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("phone", "12", "not a phone number"),
        ("loyalty_id", "LOY-12", "not a loyalty card number"),
        # A valid address SES cannot send to (it sends no SMTPUTF8 mail): the answer says so.
        ("email", "ñ@ejemplo.es", "SMTPUTF8"),
    ],
)
def test_a_refused_identifier_is_explained_in_words_not_by_its_pattern(
    client: Any, field: str, value: str, words: str
) -> None:
    # A probe: the 422 for a bad phone quoted the whole regular expression.
    body = order_body()
    body["customer"][field] = value

    response, _ = post_order(client, body)

    assert_problem(response, 422, f"customer.{field}")
    problem = json.dumps(response.json_body)
    assert words in problem and "pattern" not in problem and "(?:" not in problem


@pytest.mark.parametrize("case", sorted(REFUSED_REFERENCES))
def test_unknown_or_unusable_references_are_404_or_409_naming_each_and_store_nothing(
    client: Any, deps: Any, case: str
) -> None:
    body = _invalid_body(case)
    _, status, expected = REFUSED_REFERENCES[case]

    response, key = post_order(client, body)

    assert_problem(response, status, *expected)
    assert error_fields(response) == expected
    assert_not_stored(deps, STOREFRONT, key, (body.get("customer") or {}).get("email"))


def test_the_same_sku_twice_on_one_route_is_one_line_with_both_quantities(
    client: Any, deps: Any
) -> None:
    body = order_body(lines=[_line(), _line(quantity=2)])

    response, _ = post_order(client, body)

    assert response.status_code == 202, response.body
    order = deps.store.get_order(response.json_body["order_id"])
    assert [(line.sku, line.quantity) for line in order.lines] == [("TSHIRT-BLK-M", 3)]


def test_body_that_is_not_an_object_is_422_naming_the_body(client: Any, deps: Any) -> None:
    response, key = post_order(client, [order_body()])

    assert_problem(response, 422, "body")
    assert_not_stored(deps, STOREFRONT, key)


def test_malformed_json_is_400_naming_the_body(client: Any, deps: Any) -> None:
    response, key = post_order(client, '{"channel": "web", "lines": [')

    body = assert_problem(response, 400, "body")
    assert body["title"] == "Malformed JSON"
    assert_not_stored(deps, STOREFRONT, key)


@pytest.mark.parametrize(
    ("once", "twice", "field"),
    [
        # Probe 211: read as the last, so two quantities charged the second.
        ('"quantity": 2', '"quantity": 1, "quantity": 3', "lines.0.quantity"),
        ('"sku": "TSHIRT-BLK-M"', '"sku": "TSHIRT-BLK-M", "sku": "JEANS-32"', "lines.0.sku"),
        ('"channel": "web"', '"channel": "web", "channel": "phone"', "channel"),
    ],
)
def test_a_member_given_twice_is_422_naming_it_and_stores_nothing(
    client: Any, deps: Any, once: str, twice: str, field: str
) -> None:
    body = order_body()
    raw = json.dumps(body)
    assert raw.count(once) == 1
    raw = raw.replace(once, twice)

    response, key = post_order(client, raw)

    problem = assert_problem(response, 422, field)
    assert problem["errors"] == [{"field": field, "message": "give this member once"}]
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_a_member_given_twice_is_named_beside_another_bad_field(client: Any, deps: Any) -> None:
    # Probe 214: the other field's refusal came alone, and the repeat went unnamed.
    body = order_body()
    raw = json.dumps(body).replace('"channel": "web"', '"channel": "web", "channel": "phone"')
    raw = raw.replace('"quantity": 2', '"quantity": 0')

    response, key = post_order(client, raw)

    assert_problem(response, 422)
    assert error_fields(response) == {"channel", "lines.0.quantity"}
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_the_same_name_in_two_objects_is_no_repeat(client: Any, deps: Any) -> None:
    # Two lines each naming their sku, and a name in the address and in the customer.
    body = order_body()
    body["lines"].append({**body["lines"][0], "sku": "JEANS-32"})
    assert "name" in body["customer"] and "name" in body["shipping_address"]

    response, _ = post_order(client, body)

    assert response.status_code == 202, response.body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        # Probe 201: read as JSON because "json" was somewhere in them.
        "application/jsonx",
        "text/json-garbage",
        "notjson/x",
        # JSON is UTF-8 (RFC 8259): a body declared in another charset is not read as it.
        "application/json; charset=latin-1",
        "application/+json",  # probe 202: a suffix with no type before it
    ],
)
def test_body_that_is_not_declared_json_is_415(client: Any, deps: Any, content_type: str) -> None:
    body = order_body()
    response, key = post_order(client, body, content_type={"Content-Type": content_type})

    assert_problem(response, 415, "Content-Type")
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_body_without_content_type_is_415(client: Any, deps: Any) -> None:
    key = idempotency_key()
    response = client.http.post("/orders", headers=STOREFRONT | key, body=json.dumps(order_body()))

    assert_problem(response, 415, "Content-Type")
    assert_not_stored(deps, STOREFRONT, key)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
        "application/problem+json",
    ],
)
def test_json_with_charset_parameter_is_accepted(client: Any, content_type: str) -> None:
    response, _ = post_order(client, order_body(), content_type={"Content-Type": content_type})

    assert response.status_code == 202, response.body


def test_body_over_64_kib_is_413(client: Any, deps: Any) -> None:
    body = order_body(padding="x" * (64 * 1024))

    response, key = post_order(client, body)

    assert_problem(response, 413, "body")
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_body_just_under_the_limit_is_read(client: Any, deps: Any) -> None:
    # Not refused for its size: the unknown padding field is what gets named.
    body = order_body(padding="x" * (60 * 1024))

    response, _ = post_order(client, body)

    assert_problem(response, 422, "padding")


def test_missing_idempotency_key_is_422_naming_the_header(client: Any, deps: Any) -> None:
    body = order_body()

    response = client.http.post("/orders", headers=STOREFRONT | JSON, body=json.dumps(body))

    assert_problem(response, 422, "Idempotency-Key")
    assert orders_placed_by(deps, body["customer"]["email"]) == []


def test_idempotency_key_over_255_characters_is_422(client: Any, deps: Any) -> None:
    key = {"Idempotency-Key": "k" * 256}

    response, _ = post_order(client, order_body(), key=key)

    assert_problem(response, 422, "Idempotency-Key")
    assert_not_stored(deps, STOREFRONT, key)


@pytest.mark.parametrize(
    "case",
    [
        "unknown SKU",
        "pickup at a location that does not do pickup",
        "quantity zero",
        "store channel without store_id",
    ],
)
def test_a_refused_request_does_not_use_up_its_idempotency_key(
    client: Any, deps: Any, case: str
) -> None:
    key = idempotency_key()
    refused, _ = post_order(client, _invalid_body(case), key=key)
    assert refused.status_code in (404, 409, 422), refused.body

    corrected, _ = post_order(client, order_body(), key=key)

    assert corrected.status_code == 202, corrected.body
    assert corrected.json_body["order_id"] == expected_order_id(STOREFRONT, key)
    assert deps.store.get_order(corrected.json_body["order_id"]).lines[0].sku == "TSHIRT-BLK-M"


def test_rule_mistakes_are_named_together_before_the_catalogue_is_read(
    client: Any, deps: Any
) -> None:
    body = order_body(
        customer={"name": "Sin Datos"},
        lines=[
            {"sku": "NOPE-404", "quantity": 1, "fulfillment": "ship"},
            {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup"},
            {"sku": "JEANS-32", "quantity": 1, "fulfillment": "pickup", "location_id": "WH-GETAFE"},
        ],
    )
    del body["shipping_address"]

    response, key = post_order(client, body)

    assert_problem(response, 422)
    assert error_fields(response) == {"customer", "shipping_address", "lines.1.location_id"}
    assert_not_stored(deps, STOREFRONT, key)


def test_catalogue_mistakes_are_named_together(client: Any, deps: Any) -> None:
    body = order_body(
        lines=[
            {"sku": "NOPE-404", "quantity": 1, "fulfillment": "ship"},
            {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "X"},
            {"sku": "NOPE-405", "quantity": 1, "fulfillment": "ship"},
        ],
    )

    response, key = post_order(client, body)

    assert_problem(response, 404)
    assert error_fields(response) == {"lines.0.sku", "lines.1.location_id", "lines.2.sku"}
    assert_not_stored(deps, STOREFRONT, key)


def test_blank_idempotency_key_is_422(client: Any, deps: Any) -> None:
    body = order_body()

    response, _ = post_order(client, body, key={"Idempotency-Key": "   "})

    assert_problem(response, 422, "Idempotency-Key")
    assert orders_placed_by(deps, body["customer"]["email"]) == []
