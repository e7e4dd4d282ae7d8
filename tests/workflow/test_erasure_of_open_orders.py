"""Erasing a customer while their order is being picked, on the real order.asl.json: the
order cannot be booked to an address that is gone, so the erasure cancels it (stock back,
authorisation voided, nothing captured) and its execution ends, instead of the parcel
leaving for "[erased]" with the money captured."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, OPS
from tests.support.flow import (
    amounts,
    ledger_of,
    reserved_while_picking,
    states_entered,
    stock_of,
    wait_for_execution,
)


def test_erasing_during_picking_cancels_the_order_voids_and_ends_the_execution(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, sku = reserved_while_picking(client, deps, settings)
    reserved = deps.store.get_order(order_id)
    assert stock_of(deps, sku) == {"WH-GETAFE": (6, 2)}

    erased = client.http.post(
        f"/customers/{reserved.customer_id}/erase", headers=OPS | JSON, body=json.dumps({})
    )

    assert erased.status_code == 200, erased.body
    assert erased.json_body["cancelled_orders"] == [order_id]
    shown = client.http.get(f"/orders/{order_id}", headers=OPS).json_body
    assert shown["status"] == "CANCELLED" and shown["status_reason"] == "customer_request"
    assert stock_of(deps, sku) == {"WH-GETAFE": (6, 0)}
    # The execution notices at the end of the handover wait and ends without booking.
    final = deps.store.get_order(order_id)
    described = wait_for_execution(deps, final, timeout=60)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described)[-1] == "OrderCancelled"
    assert all(f.shipment is None for f in deps.store.get_order(order_id).fulfillments)
    assert amounts(ledger_of(deps, final)) == {
        "authorized": "34.95",
        "captured": "0.00",
        "refunded": "0.00",
        "voided": "34.95",
    }
