"""Coupons on the real order.asl.json: an order the workflow rejects (a declined card)
gives its redemption back and the coupon can be used again; a shipped one keeps it.
(Cancelling gives it back too: tests/service/test_redeeming_promotions.py.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support import JSON, OPS, order_body
from tests.support.flow import fresh_sku, place, place_then_sell_out
from tests.support.orders import wait_for_status


def _coupon(client: Any, limit: int) -> dict[str, Any]:
    body = {
        "name": "Uno",
        "code": f"W{uuid.uuid4().hex[:10].upper()}",
        "kind": "amount",
        "value": "2.00",
        "max_redemptions": limit,
    }
    response = client.http.post("/promotions", headers=OPS | JSON, body=json.dumps(body))
    assert response.status_code == 201, response.body
    created: dict[str, Any] = response.json_body
    return created


def _redemptions(client: Any, promotion_id: str) -> int:
    response = client.http.get(f"/promotions/{promotion_id}", headers=OPS)
    assert response.status_code == 200, response.body
    return int(response.json_body["redemptions"])


def test_a_declined_card_rejects_the_order_and_gives_the_coupon_back(
    client: Any, deps: Any
) -> None:
    coupon = _coupon(client, limit=1)
    declined = order_body(
        coupon=coupon["code"], payment={"method": "card", "token": "tok_declined"}
    )
    order_id = place(client, declined)
    # Taken with the order (the workflow may already have rejected it: no count to read).
    [taken] = deps.store.get_order(order_id).pricing.redemptions
    assert taken.promotion_id == coupon["promotion_id"]
    wait_for_status(deps, order_id, "REJECTED")
    assert not deps.store.get_order(order_id).pricing.redemptions_held
    assert _redemptions(client, coupon["promotion_id"]) == 0
    assert deps.store.redeeming_orders(coupon["promotion_id"]) == []
    again = place(client, order_body(coupon=coupon["code"]))  # free to use again
    assert _redemptions(client, coupon["promotion_id"]) == 1
    wait_for_status(deps, again, "SHIPPED")
    assert _redemptions(client, coupon["promotion_id"]) == 1


def test_stock_lost_after_acceptance_rejects_the_order_and_gives_the_coupon_back(
    client: Any, deps: Any
) -> None:
    coupon = _coupon(client, limit=3)
    sku = fresh_sku(deps, {"WH-GETAFE": 2}, price="19.95")
    body = order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    order_id = place_then_sell_out(deps, body | {"coupon": coupon["code"]}, sku)
    wait_for_status(deps, order_id, "REJECTED")
    assert deps.store.get_order(order_id).status_reason.value == "out_of_stock"
    assert _redemptions(client, coupon["promotion_id"]) == 0
