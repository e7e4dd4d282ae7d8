"""The books after a whole-order return, on the real order.asl.json: API.md says that at
rest ``captured - refunded`` is what the customer keeps, "lines delivered and not
returned, plus shipping if any shipment was delivered". A delivered parcel's fee is kept
when every unit comes back; the receive reply's refund is what that return refunded. The
return window opens when the order is DELIVERED: a mixed order whose pick-up was
collected while its parcel travels is not returnable yet (409, on both return routes)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from chalicelib.services.tracking import tracking_url
from tests.support import JSON, OPS, STORE, STOREFRONT, idempotency_key, order_body
from tests.support.api import get_order
from tests.support.body_lines import _pickup, _ship
from tests.support.flow import (
    fresh_sku,
    place,
    post_carrier_event,
    return_at_store,
    tracking_number,
    wait_until_settled,
)
from tests.support.orders import wait_for_status, wait_until_dispatched


def _books(client: Any, order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order's payment block (GET /orders) and the sandbox gateway's own ledger."""
    payment = get_order(client, order_id, OPS)["payment"]
    ledger = client.http.get(f"/sandbox/payments/{payment['payment_id']}", headers=OPS)
    assert ledger.status_code == 200, ledger.body
    return payment, ledger.json_body


def test_a_wholly_returned_parcel_keeps_its_shipping_fee_in_the_books(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="20.00")
    # 20.00 to Madrid: under the free-shipping threshold, the 4.95 fee on top.
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    post_carrier_event(client, tracking_number(wait_for_status(deps, order_id, "SHIPPED")))
    wait_for_status(deps, order_id, "DELIVERED")

    received = return_at_store(client, order_id, [{"sku": sku, "quantity": 1}])
    assert received["order_status"] == "RETURNED"
    # The reply's refund is what this return refunded: the goods, not the fee.
    assert received["refund"] == {"amount": "20.00", "currency": "EUR"}
    assert received["refund_status"] == "refunded"  # the gateway took it at once

    wait_until_settled(deps, order_id)
    payment, ledger = _books(client, order_id)
    assert payment["authorized"]["amount"] == "24.95"
    assert payment["captured"]["amount"] == "24.95"
    assert payment["refunded"]["amount"] == "20.00"
    assert ledger["captured"]["amount"] == "24.95"
    assert ledger["refunded"]["amount"] == "20.00"
    refunds = [op for op in ledger["operations"] if op["type"] == "refund"]
    assert [op["amount"]["amount"] for op in refunds] == ["20.00"]
    assert not any("shipping:refund" in op.get("key", "") for op in ledger["operations"])


def test_a_mixed_order_is_returned_only_once_delivered_and_keeps_its_fee(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # An 80 s pick-up window and a 40 s SLA: nothing times out here.
    settings.time_scale = settings.time_scale / 10
    pickup_sku = fresh_sku(deps, {"ST-VALENCIA": 3}, price="12.00")
    ship_sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="15.00")
    order_id = place(
        client,
        order_body(lines=[_pickup(pickup_sku), _ship(ship_sku)]),
    )
    parked.append(order_id)

    view = wait_until_dispatched(client, order_id)
    pickup = next(f for f in view["fulfillments"] if f["type"] == "pickup")
    collected = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": pickup["pickup_code"]}),
    )
    assert collected.status_code == 200, collected.body
    assert collected.json_body["status"] == "SHIPPED"

    # The parcel is still on its way: the return window has not opened, on either route.
    early = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STOREFRONT | JSON,
        body=json.dumps(
            {
                "lines": [{"sku": pickup_sku, "quantity": 1}],
                "reason": "not for me",
                "channel": "store",
                "location_id": "ST-MADRID",
            }
        ),
    )
    assert early.status_code == 409, early.body
    assert "status" in [e["field"] for e in early.json_body["errors"]]
    track = urlparse(tracking_url(order_id, deps)).path
    early_self = client.http.post(
        f"{track}/returns",
        headers=JSON | idempotency_key(),
        body=json.dumps(
            {"lines": [{"sku": pickup_sku, "quantity": 1}], "reason": "x", "channel": "mail"}
        ),
    )
    assert early_self.status_code == 409, early_self.body
    assert deps.store.get_order(order_id).returns == []

    post_carrier_event(client, tracking_number(deps.store.get_order(order_id)))
    wait_for_status(deps, order_id, "DELIVERED")
    received = return_at_store(
        client, order_id, [{"sku": pickup_sku, "quantity": 1}, {"sku": ship_sku, "quantity": 1}]
    )
    assert received["order_status"] == "RETURNED"
    assert received["refund"] == {"amount": "27.00", "currency": "EUR"}

    wait_until_settled(deps, order_id)
    payment, ledger = _books(client, order_id)
    # 12.00 + 15.00 + the 4.95 fee captured; the goods refunded, the delivered fee kept.
    assert payment["captured"]["amount"] == ledger["captured"]["amount"] == "31.95"
    assert payment["refunded"]["amount"] == ledger["refunded"]["amount"] == "27.00"
    assert not any("shipping:refund" in op.get("key", "") for op in ledger["operations"])
