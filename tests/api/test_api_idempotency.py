"""Idempotency-Key on POST /orders: a retry replays the first answer and creates nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, STOREFRONT, assert_problem, idempotency_key, order_body
from tests.support.api import executions_named, expected_order_id, orders_placed_by, post_order


def test_same_key_and_body_replays_the_first_response_and_creates_one_order(
    client: Any, deps: Any
) -> None:
    body = order_body()

    first, key = post_order(client, body)
    second, _ = post_order(client, body, key=key)
    third, _ = post_order(client, body, key=key)

    assert first.status_code == second.status_code == third.status_code == 202, first.body
    assert first.json_body == second.json_body == third.json_body
    order_id = first.json_body["order_id"]
    assert order_id == expected_order_id(STOREFRONT, key)
    assert orders_placed_by(deps, body["customer"]["email"]) == [order_id]
    assert len(executions_named(deps, order_id)) == 1


def test_same_key_and_same_json_written_differently_is_the_same_request(client: Any) -> None:
    body = order_body()
    key = idempotency_key()
    first = client.http.post("/orders", headers=STOREFRONT | JSON | key, body=json.dumps(body))
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    second = client.http.post("/orders", headers=STOREFRONT | JSON | key, body=reordered)

    assert first.status_code == second.status_code == 202, second.body
    assert first.json_body == second.json_body


def test_same_key_with_a_different_body_is_422_and_changes_nothing(client: Any, deps: Any) -> None:
    # API.md, Conventions: "the same key with a different body is 422".
    body = order_body()
    first, key = post_order(client, body)
    assert first.status_code == 202, first.body
    changed = order_body(customer=body["customer"])
    changed["lines"][0]["quantity"] = 5

    second, _ = post_order(client, changed, key=key)

    assert_problem(second, 422, "Idempotency-Key")
    order = deps.store.get_order(first.json_body["order_id"])
    assert [(line.sku, line.quantity) for line in order.lines] == [("TSHIRT-BLK-M", 2)]
    assert orders_placed_by(deps, body["customer"]["email"]) == [order.order_id]
    assert len(executions_named(deps, order.order_id)) == 1


def test_different_keys_make_different_orders(client: Any, deps: Any) -> None:
    body = order_body()

    first, first_key = post_order(client, body)
    second, second_key = post_order(client, body)

    assert first.status_code == second.status_code == 202
    assert first.json_body["order_id"] != second.json_body["order_id"]
    assert first.json_body["order_id"] == expected_order_id(STOREFRONT, first_key)
    assert second.json_body["order_id"] == expected_order_id(STOREFRONT, second_key)
    assert sorted(orders_placed_by(deps, body["customer"]["email"])) == sorted(
        [first.json_body["order_id"], second.json_body["order_id"]]
    )
    # The same customer placed both.
    assert first.json_body["customer_id"] == second.json_body["customer_id"]
