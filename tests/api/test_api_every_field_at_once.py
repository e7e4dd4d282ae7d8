"""A request with several mistakes is refused once, naming every one of them: fields the
schema refuses, addresses email-validator refuses and rules spanning fields all come in one
422 with one problem type (API.md, Conventions: "every offending field named")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import JSON, OPS, STOREFRONT, assert_problem, error_fields, order_body
from tests.support.api import assert_not_stored, post_order

INVALID_REQUEST = "https://orquesta.example/problems/invalid-request"


def _refused_naming(response: Any, fields: set[str]) -> dict[str, Any]:
    """A 422 of the one validation problem type, naming exactly ``fields``."""
    problem = assert_problem(response, 422, *fields)
    assert error_fields(response) == fields, problem["errors"]
    assert problem["type"] == INVALID_REQUEST, problem
    return problem


def _order(**customer: Any) -> dict[str, Any]:
    body = order_body()
    body["customer"] = {**body["customer"], **customer}
    return body


def test_order_with_a_zero_quantity_and_a_bad_email_names_both(client: Any, deps: Any) -> None:
    body = _order(email="notanemail")
    body["lines"][0]["quantity"] = 0

    response, key = post_order(client, body)

    _refused_naming(response, {"lines.0.quantity", "customer.email"})
    assert_not_stored(deps, STOREFRONT, key)


def test_order_with_a_bad_email_and_no_shipping_address_names_both(client: Any, deps: Any) -> None:
    body = _order(email="notanemail")
    del body["shipping_address"]

    response, key = post_order(client, body)

    _refused_naming(response, {"customer.email", "shipping_address"})
    assert_not_stored(deps, STOREFRONT, key)


def test_order_with_a_bad_email_and_a_bad_phone_names_both(client: Any, deps: Any) -> None:
    response, key = post_order(client, _order(email="notanemail", phone="12"))

    _refused_naming(response, {"customer.email", "customer.phone"})
    assert_not_stored(deps, STOREFRONT, key)


def test_order_rules_and_field_errors_come_together(client: Any, deps: Any) -> None:
    body = order_body(
        channel="kiosk",
        customer={"email": "ana@", "locale": "fr"},
        lines=[
            {"sku": "TSHIRT-BLK-M", "quantity": 1000},
            {"sku": "MUG-WHT", "quantity": 1, "fulfillment": "pickup"},
        ],
    )
    del body["shipping_address"]

    response, key = post_order(client, body)

    _refused_naming(
        response,
        {
            "store_id",
            "customer.email",
            "customer.locale",
            "lines.0.quantity",
            "lines.1.location_id",
            "shipping_address",
        },
    )
    assert_not_stored(deps, STOREFRONT, key)


def test_bad_input_wins_over_an_unknown_sku(client: Any, deps: Any) -> None:
    # The request is invalid whatever the catalogue holds: 422 for what the client must fix,
    # and the catalogue is not read (an unknown SKU alone is still 404, named).
    body = _order(email="notanemail")
    body["lines"][0]["sku"] = "NOPE-404"

    response, key = post_order(client, body)

    _refused_naming(response, {"customer.email"})
    assert_not_stored(deps, STOREFRONT, key)


@pytest.mark.parametrize(
    "case",
    [
        "bad email alone",
        "missing shipping address alone",
        "zero quantity alone",
    ],
)
def test_a_single_mistake_keeps_its_field_name_and_the_one_problem_type(
    client: Any, case: str
) -> None:
    body = order_body()
    expected = {
        "bad email alone": "customer.email",
        "missing shipping address alone": "shipping_address",
        "zero quantity alone": "lines.0.quantity",
    }[case]
    if case == "bad email alone":
        body["customer"]["email"] = "notanemail"
    elif case == "missing shipping address alone":
        del body["shipping_address"]
    else:
        body["lines"][0]["quantity"] = 0

    response, _ = post_order(client, body)

    _refused_naming(response, {expected})


def test_quote_with_a_zero_quantity_and_no_shipping_address_names_both(client: Any) -> None:
    body = {
        "channel": "web",
        "customer": {"email": "notanemail"},
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 0}],
    }

    response = client.http.post("/quotes", headers=STOREFRONT | JSON, body=json.dumps(body))

    _refused_naming(response, {"customer.email", "lines.0.quantity", "shipping_address"})


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "notanemail", "locale": "fr"}, {"email", "locale"}),
        ({"email": "notanemail", "phone": "+34 999"}, {"email", "phone"}),
        ({"locale": "fr"}, {"email", "phone", "loyalty_id", "locale"}),
    ],
)
def test_identify_customer_names_every_mistake(
    client: Any, body: dict[str, Any], fields: set[str]
) -> None:
    response = client.http.post("/customers", headers=STOREFRONT | JSON, body=json.dumps(body))

    _refused_naming(response, fields)


def test_subscription_with_a_bad_email_and_an_unknown_field_names_both(client: Any) -> None:
    response = client.http.post(
        "/inventory/SOCKS-3P/subscriptions",
        headers=STOREFRONT | JSON,
        body=json.dumps({"email": "notanemail", "extra": 1}),
    )

    _refused_naming(response, {"email", "extra"})


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/customers/verifications", {"email": "bad", "foo": 1}, {"email", "foo"}),
        ("/customers/verifications", {"foo": 1}, {"email", "phone", "foo"}),
        (
            "/customers/verifications/confirm",
            {"email": "bad", "code": "12"},
            {"email", "code"},
        ),
    ],
)
def test_verification_names_every_mistake(
    client: Any, path: str, body: dict[str, Any], fields: set[str]
) -> None:
    response = client.http.post(path, headers=STOREFRONT | JSON, body=json.dumps(body))

    _refused_naming(response, fields)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("email=a@b.co&phone=x", {"email", "phone"}),
        ("email=a@b.co&phone=612345678", {"email", "phone"}),
        ("", {"email", "phone", "loyalty_id"}),
        # ``name`` is no parameter of the lookup: ignored, as on every route.
        ("name=Ana", {"email", "phone", "loyalty_id"}),
        ("email=nope@&name=Ana", {"email"}),
    ],
)
def test_customer_lookup_names_bad_parameters_and_the_one_identifier_rule(
    client: Any, query: str, fields: set[str]
) -> None:
    response = client.http.get(f"/customers?{query}" if query else "/customers", headers=OPS)

    _refused_naming(response, fields)
