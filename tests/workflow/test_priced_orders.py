"""Orders priced by the engine, with and without a quote, on the real order.asl.json: the
Canaries' goods without IVA plus IGIC on top, and the fee with its IGIC, authorised as
the total, captured at hand-over (the fee once, with the first shipment), and given back
to the cent when the whole order is returned: the gateway's own ledger balances at rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import JSON, STOREFRONT, order_body, signed_event
from tests.support.flow import (
    amounts,
    fresh_sku,
    ledger_of,
    place,
    return_at_store,
    tracking_number,
    wait_until_settled,
)
from tests.support.orders import wait_for_status
from tests.support.pricing_bodies import CANARIES

# 2 x 19.95 without IVA (16.49) = 32.98, its IGIC 2.31: 35.29 for the goods; the 9.95 fee
# and its IGIC 0.70: 10.65; the total 45.94.
GOODS, FEE, TOTAL = "35.29", "10.65", "45.94"


def _quote_id(client: Any, lines: list[dict[str, Any]]) -> str:
    quoted = client.http.post(
        "/quotes",
        headers=STOREFRONT | JSON,
        body=json.dumps({"channel": "web", "lines": lines, "shipping_address": CANARIES}),
    )
    assert quoted.status_code == 200, quoted.body
    assert quoted.json_body["total"]["amount"] == TOTAL
    return str(quoted.json_body["quote_id"])


def _deliver(client: Any, carrier: str, tracking: str) -> None:
    body, headers = signed_event(tracking, "delivered")
    response = client.http.post(f"/carriers/{carrier}/events", headers=headers, body=body)
    assert response.status_code == 200, response.body


@pytest.mark.parametrize("on_a_quote", [True, False], ids=["quoted", "priced_at_placement"])
def test_a_canaries_order_is_charged_its_total_and_given_its_goods_back_when_returned(
    client: Any, deps: Any, on_a_quote: bool
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 3, "ST-MADRID": 0}, price="19.95")
    lines = [{"sku": sku, "quantity": 2, "fulfillment": "ship"}]
    extra = {"quote_id": _quote_id(client, lines)} if on_a_quote else {}
    order_id = place(client, order_body(lines=lines, shipping_address=CANARIES, **extra))

    wait_for_status(deps, order_id, "SHIPPED")
    shipped = wait_until_settled(deps, order_id)
    ledger = ledger_of(deps, shipped)
    assert amounts(ledger)["authorized"] == TOTAL
    captures = [op for op in ledger["operations"] if op["type"] == "capture"]
    # The goods at hand-over, the fee with this first (only) shipment: once each.
    assert sorted(op["amount"]["amount"] for op in captures) == [FEE, GOODS]
    assert amounts(ledger)["captured"] == TOTAL

    [parcel] = shipped.fulfillments
    assert parcel.shipment is not None
    _deliver(client, parcel.shipment.carrier, tracking_number(shipped))
    wait_for_status(deps, order_id, "DELIVERED")
    delivered = wait_until_settled(deps, order_id)
    at_rest = amounts(ledger_of(deps, delivered))
    assert (at_rest["captured"], at_rest["refunded"], at_rest["voided"]) == (TOTAL, "0.00", "0.00")

    return_at_store(client, order_id, [{"sku": sku, "quantity": 2}])
    wait_for_status(deps, order_id, "RETURNED")
    returned = wait_until_settled(deps, order_id)
    ledger = ledger_of(deps, returned)
    refunds = sorted(
        op["amount"]["amount"] for op in ledger["operations"] if op["type"] == "refund"
    )
    # The goods with their IGIC come back; the fee stays: the parcel was delivered (API.md,
    # "The books always balance": the customer keeps "shipping if any shipment was delivered").
    assert refunds == [GOODS]
    assert amounts(ledger)["captured"] == TOTAL
    assert amounts(ledger)["refunded"] == GOODS
    # Nothing was captured twice: exactly one capture per cause, whatever retried.
    assert len([op for op in ledger["operations"] if op["type"] == "capture"]) == 2
