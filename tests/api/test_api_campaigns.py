"""``GET /analytics/campaigns`` over HTTP: a web order tagged with a UTM campaign, a store
till order redeeming that campaign's printed coupon, and a cancelled one give exact
figures, kept by the projection from the order events."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import get_order, place_order
from tests.support.orders import wait_for_status

PICKUP = {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}


def _figures(client: Any, campaign: str) -> dict[str, Any] | None:
    response = client.http.get("/analytics/campaigns", headers=OPS)
    assert response.status_code == 200, response.body
    found = [c for c in response.json_body["campaigns"] if c["campaign"] == campaign]
    return found[0] if found else None


def test_only_ops_read_the_campaign_figures(client: Any) -> None:
    assert_problem(client.http.get("/analytics/campaigns"), 401)
    assert_problem(client.http.get("/analytics/campaigns", headers=STOREFRONT), 403)
    assert_problem(client.http.get("/analytics/campaigns", headers=STORE), 403)


def test_web_till_and_cancelled_orders_give_exact_campaign_figures(client: Any, deps: Any) -> None:
    campaign = f"flyer-{uuid.uuid4().hex[:8]}"
    code = f"F{uuid.uuid4().hex[:10].upper()}"
    coupon = {
        "name": "Flyer",
        "code": code,
        "kind": "amount",
        "value": "2.00",
        "campaign": campaign,
    }
    created = client.http.post("/promotions", headers=OPS | JSON, body=json.dumps(coupon))
    assert created.status_code == 201, created.body
    tag = {"campaign": campaign, "source": "google", "medium": "cpc"}

    web = place_order(client, order_body(attribution=tag))
    till_body = order_body(channel="store", store_id="ST-MADRID", coupon=code.lower())
    till_body.pop("customer")  # an anonymous shopper at the till
    till = place_order(client, till_body, STORE)
    dropped = place_order(client, order_body(attribution=tag, lines=[PICKUP]))
    wait_for_status(deps, dropped["order_id"], "READY_FOR_PICKUP")
    cancelled = client.http.post(f"/orders/{dropped['order_id']}/cancel", headers=STOREFRONT)
    assert cancelled.status_code == 200, cancelled.body
    for order_id in (web["order_id"], till["order_id"]):
        wait_for_status(deps, order_id, "SHIPPED", "DELIVERED")
    till_order = get_order(client, till["order_id"], STORE)
    assert till_order["coupon"] == code

    revenue = Decimal(web["total"]["amount"]) + Decimal(till["total"]["amount"])
    expected = {
        "campaign": campaign,
        "orders": 3,
        "revenue": {"amount": str(revenue), "currency": "EUR"},
        "new_customers": 1,  # the cancelled order's customer is no customer won
        "returning_customers": 0,
        "by_channel": {"web": 2, "store": 1},
    }
    eventually(lambda: _figures(client, campaign) == expected)
