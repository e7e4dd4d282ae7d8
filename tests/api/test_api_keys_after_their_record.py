"""An Idempotency-Key used again once its record ran out (48 h; probe 161). Ids made from
the key alone outlived the record that compared bodies, so the key with another body was
answered 2xx with the first request's order, movement, ticket or promotion, and nothing
of the new request happened (a till reusing receipt numbers as keys lost sales).

Now ``POST /orders`` keeps its request's digest on the order and refuses another body
(422 naming the key, as API.md's Conventions say); the other routes name what they create
after the key and the body, so another body creates its own. The same key and body find
what the first request created, as before."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support import JSON, OPS, assert_problem, idempotency_key, order_body
from tests.support.api import get_order, orders_placed_by, post_order
from tests.support.died import key_records_run_out
from tests.support.movements import MADRID, at, fresh_sku, inventory, movement, post_movement
from tests.support.orders import wait_for_status


def _placed(client: Any) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """An order placed under a key: its body, the first answer and the key."""
    body = order_body()
    first, key = post_order(client, body)
    assert first.status_code == 202, first.body
    return body, first, key


def test_an_order_key_used_again_with_another_body_after_its_record_ran_out_is_422(
    client: Any, deps: Any
) -> None:
    body, first, key = _placed(client)
    order_id = first.json_body["order_id"]
    key_records_run_out(deps)
    changed = order_body(customer=body["customer"])
    changed["lines"][0]["quantity"] = 3

    reused, _ = post_order(client, changed, key=key)

    assert_problem(reused, 422, "Idempotency-Key")
    order = deps.store.get_order(order_id)
    assert [(line.sku, line.quantity) for line in order.lines] == [("TSHIRT-BLK-M", 2)]
    assert orders_placed_by(deps, body["customer"]["email"]) == [order_id]


def test_an_order_key_used_again_with_its_body_after_its_record_ran_out_answers_the_first(
    client: Any, deps: Any
) -> None:
    body, first, key = _placed(client)
    order_id = first.json_body["order_id"]
    wait_for_status(client, order_id, "RESERVED", "SHIPPED", "DELIVERED")
    key_records_run_out(deps)

    again, _ = post_order(client, body, key=key)

    # The first answer (ACCEPTED), not the order's status now (a probe read SHIPPED).
    assert again.status_code == 202, again.body
    assert again.json_body == first.json_body
    assert get_order(client, order_id)["status"] != "ACCEPTED"
    assert orders_placed_by(deps, body["customer"]["email"]) == [order_id]


def test_a_movement_key_used_again_with_another_body_after_its_record_ran_out_moves_stock(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    key = idempotency_key()
    sale = movement(sku, MADRID, "sale", 1, reference="ticket 17")
    first = post_movement(client, sale, key=key)
    assert first.status_code == 201, first.body
    key_records_run_out(deps)

    another = post_movement(client, sale | {"quantity": 2, "reference": "ticket 17b"}, key=key)

    assert another.status_code == 201, another.body
    assert another.json_body["movement_id"] != first.json_body["movement_id"]
    assert (another.json_body["quantity"], another.json_body["reference"]) == (2, "ticket 17b")
    assert at(inventory(client, sku), MADRID)["on_hand"] == 10 - 1 - 2

    # The first body again, once more after the record ran out: the first sale, not another.
    key_records_run_out(deps)
    same = post_movement(client, sale, key=key)
    assert same.status_code == 201, same.body
    assert same.json_body["movement_id"] == first.json_body["movement_id"]
    assert at(inventory(client, sku), MADRID)["on_hand"] == 10 - 1 - 2


def test_a_promotion_key_used_again_with_another_body_after_its_record_ran_out_creates_it(
    client: Any, deps: Any
) -> None:
    key = idempotency_key()
    code = f"K{uuid.uuid4().hex[:8].upper()}"
    terms = {"name": "Cinco", "kind": "percent", "value": "5", "code": code}

    def create(body: dict[str, Any]) -> Any:
        return client.http.post("/promotions", headers=OPS | JSON | key, body=json.dumps(body))

    first = create(terms)
    assert first.status_code == 201, first.body
    key_records_run_out(deps)

    second = create(terms | {"value": "50", "code": f"{code}B"})

    assert second.status_code == 201, second.body
    assert second.json_body["promotion_id"] != first.json_body["promotion_id"]
    assert (second.json_body["code"], second.json_body["value"]) == (f"{code}B", "50")
    listed = client.http.get("/promotions", headers=OPS).json_body["promotions"]
    assert {p["code"] for p in listed} >= {code, f"{code}B"}


def test_a_ticket_key_used_again_with_another_body_after_its_record_ran_out_opens_it(
    client: Any, deps: Any
) -> None:
    placed, _ = post_order(client, order_body())
    customer_id = placed.json_body["customer_id"]
    key = idempotency_key()
    path = f"/customers/{customer_id}/tickets"
    ticket = {"subject": "Talla", "description": "¿Hay una M?", "channel": "phone"}

    def open_one(body: dict[str, Any]) -> Any:
        return client.http.post(path, headers=OPS | JSON | key, body=json.dumps(body))

    first = open_one(ticket)
    assert first.status_code == 201, first.body
    key_records_run_out(deps)

    second = open_one(ticket | {"subject": "Color"})

    assert second.status_code == 201, second.body
    assert second.json_body["ticket_id"] != first.json_body["ticket_id"]
    assert second.json_body["subject"] == "Color"
