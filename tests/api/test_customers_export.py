"""``GET /customers/{id}/export``: everything held about the person, built field by field,
with no task token, payment token, pick-up code, secret or anybody else's data in it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.domain.fulfillments import FulfillmentStatus
from chalicelib.domain.orders import Order
from tests.support import CARRIER_SECRET, JSON, OPS, eventually, order_body
from tests.support.api import merge, place_order
from tests.support.flow import fresh_sku, stop_if_running

# Fields that hold credentials or internal references; none may appear, at any depth.
FORBIDDEN_KEYS = {
    "task_token",
    "delivery_task_token",
    "returns_task_token",
    "payment_token",
    "token",
    "pickup_code",
    "receipt_code",
    "customer_token",
    "execution_arn",
    "by_client_id",
    "recorded_by",
    "version",
}


@pytest.fixture
def parked(deps: Any) -> Iterator[list[str]]:
    """Orders whose executions may still wait when the test ends: stopped then."""
    order_ids: list[str] = []
    yield order_ids
    for order_id in order_ids:
        stop_if_running(deps, order_id)


def _post(client: Any, path: str, body: dict[str, Any]) -> Any:
    response = client.http.post(path, headers=OPS | JSON, body=json.dumps(body))
    assert response.status_code in (200, 201), (path, response.body)
    return response.json_body


def _export(client: Any, customer_id: str) -> dict[str, Any]:
    response = client.http.get(f"/customers/{customer_id}/export", headers=OPS)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def _pairs(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) at any depth of a JSON document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key), inner
            yield from _pairs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _pairs(inner)


def _parked(deps: Any, order_id: str, status: FulfillmentStatus) -> Order:
    """The order once its only fulfillment waits in ``status`` on a task token."""

    def waiting() -> Order | None:
        order: Order = deps.store.get_order(order_id)
        (fulfillment,) = order.fulfillments or [None]
        if fulfillment is None or fulfillment.status is not status or not fulfillment.task_token:
            return None
        return order

    return eventually(waiting)


def test_the_export_holds_the_persons_records_and_no_token_secret_or_other_persons_data(
    client: Any, deps: Any, settings: Any, parked: list[str]
) -> None:
    settings.time_scale = settings.time_scale / 10  # nothing times out while we look
    mark = uuid.uuid4().hex[:10]
    email, old_email = f"exp-{mark}@example.com", f"exp-old-{mark}@example.com"
    bystander = {"email": f"by-{mark}@example.com", "name": f"Bystander {mark}"}
    bystander_id = _post(client, "/customers", bystander)["customer_id"]
    _post(
        client,
        f"/customers/{bystander_id}/tickets",
        {"subject": f"bystander secret {mark}", "description": "theirs", "channel": "web"},
    )
    ship_sku = fresh_sku(deps, {"WH-GETAFE": 10})
    pickup_sku = fresh_sku(deps, {"ST-VALENCIA": 5})
    shipped = place_order(
        client,
        order_body(
            customer={"email": email, "name": f"Exporta {mark}"},
            lines=[{"sku": ship_sku, "quantity": 1, "fulfillment": "ship"}],
        ),
    )
    customer_id = shipped["customer_id"]
    pickup_body = order_body(
        customer={"email": email},
        lines=[
            {
                "sku": pickup_sku,
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-VALENCIA",
            }
        ],
    )
    pickup_body.pop("shipping_address")
    pickup = place_order(client, pickup_body)
    old = place_order(client, order_body(customer={"email": old_email, "name": f"Old {mark}"}))
    parked.extend(o["order_id"] for o in (shipped, pickup, old))
    assert merge(client, customer_id, old["customer_id"]).status_code == 200
    ship_order = _parked(deps, shipped["order_id"], FulfillmentStatus.SHIPPED)
    pickup_order = _parked(deps, pickup["order_id"], FulfillmentStatus.READY_FOR_PICKUP)
    eventually(
        lambda: (
            len(_export(client, customer_id)["orders"]) == 3
            and len(_export(client, customer_id)["interactions"]) > 0
        )
    )

    export = _export(client, customer_id)

    # The person's records: both of their records' orders, identifiers and names.
    assert export["customer_id"] == customer_id
    assert {o["order_id"] for o in export["orders"]} == {
        shipped["order_id"],
        pickup["order_id"],
        old["order_id"],
    }
    assert {"type": "email", "value": old_email} in export["identifiers"]
    assert export["merged_records"] == [
        {
            "customer_id": old["customer_id"],
            "name": f"Old {mark}",
            "merged_into": customer_id,
            "merged_at": export["merges"][0]["at"],
        }
    ]
    by_id = {o["order_id"]: o for o in export["orders"]}
    assert by_id[shipped["order_id"]]["shipping_address"]["line1"] == "Calle Mayor 1"
    assert by_id[shipped["order_id"]]["contact"]["email"] == email
    assert by_id[shipped["order_id"]]["fulfillments"][0]["shipment"]["tracking_number"]
    assert by_id[pickup["order_id"]]["fulfillments"][0]["status"] == "READY_FOR_PICKUP"
    # The merged record's id exports the same person. Emails about the orders may still be
    # landing as interactions, so the two exports are compared side by side until they settle.
    eventually(
        lambda: (
            _export(client, old["customer_id"]) | {"exported_at": None}
            == _export(client, customer_id) | {"exported_at": None}
        )
    )
    # Nothing that works as a credential or names how the system or its staff work.
    found_keys = {key for key, _ in _pairs(export)}
    assert not found_keys & FORBIDDEN_KEYS, found_keys & FORBIDDEN_KEYS
    text = json.dumps(export)
    tokens = [
        f.task_token
        for order in (ship_order, pickup_order)
        for f in order.fulfillments
        if f.task_token
    ]
    assert len(tokens) == 2
    secrets = [
        *tokens,
        ship_order.payment_token,
        pickup_order.payment_token,
        urlparse(shipped["tracking_url"]).path.rsplit("/", 1)[-1],
        deps.secrets.tracking_secret(),
        CARRIER_SECRET,
        "demo-ops",
        "demo-storefront",
        "demo-store",
    ]
    assert [secret for secret in secrets if secret in text] == []
    code = pickup_order.fulfillments[0].pickup_code
    assert code and code not in [value for _, value in _pairs(export)]
    # Nobody else's data: not the bystander's identifiers, name, ticket or id.
    for theirs in (bystander["email"], bystander["name"], f"bystander secret {mark}", bystander_id):
        assert theirs not in text


def test_the_export_says_how_each_order_was_priced_and_how_the_customer_asked_to_hear(
    client: Any,
) -> None:
    """Found by a probe: the coupon, the promotions, the campaign an order was tagged with
    and the notification preference were held and shown elsewhere, not in the export."""
    code = f"X{uuid.uuid4().hex[:10].upper()}"
    promotion = _post(
        client, "/promotions", {"name": "Diez", "code": code, "kind": "percent", "value": "10"}
    )
    attribution = {"campaign": f"otoño-{code}", "source": "instagram", "medium": "social"}
    body = order_body(coupon=code, attribution=attribution)
    placed = place_order(client, body)
    email = body["customer"]["email"]
    _post(client, "/customers", {"email": email, "notifications": "all"})
    shown = client.http.get(f"/orders/{placed['order_id']}", headers=OPS).json_body

    # The customer's record lists the order once its placement is projected.
    exported = eventually(lambda: (e := _export(client, placed["customer_id"]))["orders"] and e)

    assert exported["profile"]["notifications"] == "all"
    (order,) = exported["orders"]
    assert order["coupon"] == code
    assert order["attribution"] == attribution
    assert order["promotions"] == shown["promotions"]
    assert [p["promotion_id"] for p in order["promotions"]] == [promotion["promotion_id"]]
    for figure in ("subtotal", "discount", "shipping", "total"):
        assert order[figure] == shown[figure], figure
    assert order["taxes"] == shown["taxes"]
