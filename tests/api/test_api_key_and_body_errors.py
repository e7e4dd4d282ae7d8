"""A bad Idempotency-Key and a bad body in one request: the 422 names both (API.md: "Bad
input is 400/422 with every offending field named"). A probe (161) read only the header
named while the body's channel and postal code were wrong too; a client fixing the key
was then refused again for the body."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, error_fields, order_body
from tests.support.api import orders_placed_by
from tests.support.movements import MADRID, movement


def test_an_order_with_a_bad_key_and_a_bad_body_names_both(client: Any, deps: Any) -> None:
    body = order_body(channel="teleport")
    body["shipping_address"]["postal_code"] = "XX"
    key = {"Idempotency-Key": ""}

    refused = client.http.post("/orders", headers=STOREFRONT | JSON | key, body=json.dumps(body))

    assert_problem(refused, 422, "Idempotency-Key", "channel")
    assert orders_placed_by(deps, body["customer"]["email"]) == []


def test_a_bad_key_alone_is_named_alone(client: Any) -> None:
    key = {"Idempotency-Key": " padded "}

    refused = client.http.post(
        "/orders", headers=STOREFRONT | JSON | key, body=json.dumps(order_body())
    )

    assert_problem(refused, 422, "Idempotency-Key")
    assert error_fields(refused) == {"Idempotency-Key"}


def test_a_movement_with_a_bad_key_and_a_bad_body_names_both(client: Any) -> None:
    body = movement("TSHIRT-BLK-M", MADRID, "steal", -1)
    key = {"Idempotency-Key": "a" * 300}

    refused = client.http.post(
        "/inventory/movements", headers=STORE | JSON | key, body=json.dumps(body)
    )

    assert_problem(refused, 422, "Idempotency-Key", "type")


def test_a_keyed_create_without_its_key_and_with_a_bad_body_names_both(client: Any) -> None:
    # An optional key sent but bad, on a route whose body is wrong as well.
    key = {"Idempotency-Key": ""}
    body = {"name": "", "kind": "bogus", "value": "5"}

    refused = client.http.post("/promotions", headers=OPS | JSON | key, body=json.dumps(body))

    assert_problem(refused, 422, "Idempotency-Key", "kind")


def test_an_ops_retry_with_a_bad_key_and_a_bad_body_names_both(client: Any) -> None:
    # A re-probe: the route read its body before its key, and named only the body.
    key = {"Idempotency-Key": ""}

    refused = client.http.post(
        "/ops/orders/ord_unknown/retry", headers=OPS | JSON | key, body=json.dumps({"reason": 7})
    )

    assert_problem(refused, 422, "Idempotency-Key", "reason")
