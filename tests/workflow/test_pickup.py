"""A mixed order on the real workflow: one line collected in store, one shipped."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, STORE, STOREFRONT, order_body
from tests.support.api import get_order
from tests.support.flow import (
    emails_to,
    fresh_sku,
    parts_of,
    place,
    post_carrier_event,
    stock_of,
    tracking_number,
)
from tests.support.orders import wait_for_status, wait_until_dispatched


def test_pickup_in_store_is_collected_with_its_code_and_the_rest_ships(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    # An 80 s pick-up window and a 40 s SLA: nothing times out here, even on a busy machine.
    settings.time_scale = settings.time_scale / 10
    pickup_sku = fresh_sku(deps, {"ST-VALENCIA": 3})
    ship_sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(
        lines=[
            {
                "sku": pickup_sku,
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-VALENCIA",
            },
            {"sku": ship_sku, "quantity": 2, "fulfillment": "ship"},
        ]
    )
    order_id = place(client, body)
    parked.append(order_id)

    view = wait_until_dispatched(client, order_id)
    assert view["status"] == "SHIPPED"
    by_type = {f["type"]: f for f in view["fulfillments"]}
    assert len(view["fulfillments"]) == 2
    pickup, ship = by_type["pickup"], by_type["ship"]
    assert pickup["location_id"] == "ST-VALENCIA"
    assert pickup["lines"] == [{"sku": pickup_sku, "quantity": 1}]
    assert pickup["shipment"] is None
    assert ship["location_id"] == "WH-GETAFE"
    assert ship["lines"] == [{"sku": ship_sku, "quantity": 2}]
    assert ship["shipment"]["carrier"] == "rapido"
    code = pickup["pickup_code"]
    assert code is not None and len(code) == 6 and code.isdigit()
    assert pickup["pickup_deadline"] is not None
    # The code is for store staff: the storefront does not see it.
    storefront_view = get_order(client, order_id, STOREFRONT)
    assert [f["pickup_code"] for f in storefront_view["fulfillments"]] == [None, None]
    # The units wait on the store's shelf, reserved.
    assert stock_of(deps, pickup_sku) == {"ST-VALENCIA": (3, 1)}

    wrong = "000000" if code != "000000" else "111111"
    refused = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": wrong}),
    )
    assert refused.status_code == 422, refused.body
    assert stock_of(deps, pickup_sku) == {"ST-VALENCIA": (3, 1)}

    collected = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": code}),
    )
    assert collected.status_code == 200, collected.body
    after = {f["type"]: f for f in collected.json_body["fulfillments"]}
    assert after["pickup"]["status"] == "DELIVERED"
    assert after["ship"]["status"] == "SHIPPED"
    # The order is as far as its least advanced fulfillment.
    assert collected.json_body["status"] == "SHIPPED"
    assert stock_of(deps, pickup_sku) == {"ST-VALENCIA": (2, 0)}

    again = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": code}),
    )
    assert again.status_code == 409, again.body

    order = deps.store.get_order(order_id)
    post_carrier_event(client, tracking_number(order))
    delivered = wait_for_status(deps, order_id, "DELIVERED")
    assert {f.type.value: f.status.value for f in delivered.fulfillments} == {
        "pickup": "DELIVERED",
        "ship": "DELIVERED",
    }
    assert stock_of(deps, ship_sku) == {"WH-GETAFE": (3, 0)}

    # The customer was told where and with which code to collect.
    stack.lambdas.drain()
    ready = [
        parts_of(m)["text/plain"]
        for m in emails_to(body["customer"]["email"])
        if "te espera en" in str(m["Subject"])
    ]
    assert len(ready) == 1
    assert code in ready[0]
    assert "Tienda Valencia Ruzafa" in ready[0]
