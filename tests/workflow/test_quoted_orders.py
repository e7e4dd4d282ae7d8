"""An order placed on a quote, on the real order.asl.json: charged the quote's total at
hand-over, and its shipment held to the quote's promise (scaled like every wait)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.support import JSON, STOREFRONT, order_body
from tests.support.flow import (
    amounts,
    fresh_sku,
    ledger_of,
    place,
    raw_history,
    wait_until_settled,
)
from tests.support.orders import wait_for_status
from tests.support.pricing_bodies import CANARIES


def test_a_quoted_canaries_order_captures_the_quote_and_keeps_its_promise(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 3}, price="19.95")
    lines = [{"sku": sku, "quantity": 2, "fulfillment": "ship"}]
    quoted = client.http.post(
        "/quotes",
        headers=STOREFRONT | JSON,
        body=json.dumps({"channel": "web", "lines": lines, "shipping_address": CANARIES}),
    )
    assert quoted.status_code == 200, quoted.body
    quote = quoted.json_body
    [part] = quote["fulfillments"]

    order_id = place(
        client, order_body(lines=lines, shipping_address=CANARIES, quote_id=quote["quote_id"])
    )

    wait_for_status(deps, order_id, "SHIPPED")
    order = wait_until_settled(deps, order_id)
    # The goods without IVA, the Canaries' fee and IGIC on both, captured at hand-over.
    assert amounts(ledger_of(deps, order))["captured"] == quote["total"]["amount"] == "45.94"
    [fulfillment] = order.fulfillments
    shipment = fulfillment.shipment
    assert shipment is not None and shipment.carrier == part["carrier"] == "veloz"
    promised = datetime.fromisoformat(part["promised_by"])
    scale = deps.settings.waits.time_scale
    held_to = shipment.shipped_at + (promised - shipment.shipped_at) / scale
    # The promise is kept within the workflow's wait, which began when AwaitCompletion was
    # entered: a dispatch that runs later than that (the local stack runs two invocations
    # at a time) holds the carrier to the wait's end, earlier by at most that delay.
    [entered] = [
        event["timestamp"]
        for event in raw_history(order.execution_arn or "")
        if event.get("stateEnteredEventDetails", {}).get("name") == "AwaitCompletion"
    ]
    delay = max(shipment.shipped_at - entered, timedelta(0))
    assert shipment.promised_by <= held_to + timedelta(milliseconds=1)
    assert held_to - shipment.promised_by < delay + timedelta(milliseconds=1)
