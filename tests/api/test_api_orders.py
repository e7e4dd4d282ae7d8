"""Placing and reading orders: catalogue prices, the reply and the order's shape."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, order_body
from tests.support.api import assert_not_stored, get_order, place_order, post_order
from tests.support.orders import wait_for_status

ORDER_KEYS = {
    "order_id",
    "status",
    "status_reason",
    "channel",
    "customer_id",
    "lines",
    "total",
    "payment",
    "fulfillments",
    "returns",
    "history",
    "execution_arn",
}
ORDER_STATUSES = {
    "ACCEPTED",
    "PAID",
    "REJECTED",
    "RESERVED",
    "SHIPPED",
    "READY_FOR_PICKUP",
    "DELIVERED",
    "RETURNED",
    "CANCELLED",
}


def _catalogue_prices(client: Any) -> dict[str, Decimal]:
    response = client.http.get("/catalog", headers=STOREFRONT)
    assert response.status_code == 200
    prices: dict[str, Decimal] = {}
    for product in response.json_body["products"]:
        assert product["price"]["currency"] == "EUR"
        prices[product["sku"]] = Decimal(product["price"]["amount"])
    return prices


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def test_total_is_quantity_times_catalogue_price(client: Any) -> None:
    prices = _catalogue_prices(client)
    lines = [
        {"sku": "JEANS-32", "quantity": 3, "fulfillment": "ship"},
        {"sku": "SOCKS-3P", "quantity": 2, "fulfillment": "ship"},
        {"sku": "UMBRELLA", "quantity": 1, "fulfillment": "ship"},
    ]
    expected = sum(prices[line["sku"]] * line["quantity"] for line in lines)

    placed = place_order(client, order_body(lines=lines))

    assert placed["total"] == {"amount": f"{expected:.2f}", "currency": "EUR"}
    order = get_order(client, placed["order_id"])
    assert order["total"] == placed["total"]
    for line in order["lines"]:
        assert Decimal(line["unit_price"]["amount"]) == prices[line["sku"]]
        assert Decimal(line["line_total"]["amount"]) == prices[line["sku"]] * line["quantity"]


def test_a_price_in_the_request_is_refused_as_an_unknown_field(client: Any, deps: Any) -> None:
    body = order_body(
        lines=[{"sku": "COAT-WOOL", "quantity": 1, "fulfillment": "ship", "price": "0.01"}]
    )

    response, key = post_order(client, body)

    assert_problem(response, 422, "lines.0.price")
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_a_total_in_the_request_is_refused_as_an_unknown_field(client: Any, deps: Any) -> None:
    body = order_body(total={"amount": "0.01", "currency": "EUR"})

    response, key = post_order(client, body)

    assert_problem(response, 422, "total")
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_placing_replies_accepted_with_customer_total_and_tracking_url(client: Any) -> None:
    response, _ = post_order(client, order_body())

    assert response.status_code == 202, response.body
    placed = response.json_body
    assert {"order_id", "status", "customer_id", "total", "tracking_url"} <= set(placed)
    assert placed["status"] == "ACCEPTED"
    assert placed["customer_id"].startswith("cus_")
    # Two T-shirts (39.90, IVA included) to Madrid, below the 50.00 free-shipping
    # threshold: the 4.95 mainland fee is on the total.
    assert placed["total"] == {"amount": "44.85", "currency": "EUR"}
    assert "/track/" in placed["tracking_url"]
    assert placed["order_id"] in placed["tracking_url"]


def test_order_reads_back_with_the_documented_shape(client: Any) -> None:
    placed = place_order(client, order_body())

    order = wait_for_status(client, placed["order_id"], "SHIPPED")

    assert set(order) >= ORDER_KEYS
    assert order["order_id"] == placed["order_id"]
    assert order["status_reason"] is None
    assert order["channel"] == "web"
    assert order["customer_id"] == placed["customer_id"]
    assert order["total"] == {"amount": "44.85", "currency": "EUR"}
    # The breakdown every order carries (API.md "Quotes, totals and taxes").
    euros = {key: order[key]["amount"] for key in ("subtotal", "discount", "shipping")}
    assert euros == {"subtotal": "39.90", "discount": "0.00", "shipping": "4.95"}
    tax = order["tax"]
    assert (tax["name"], tax["rate"], tax["amount"]["amount"], tax["included"]) == (
        "IVA",
        "0.21",
        "7.78",
        True,
    )
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("TSHIRT-BLK-M", 2)]
    assert isinstance(order["payment"]["status"], str) and order["payment"]["status"]
    assert order["returns"] == []
    assert order["execution_arn"].endswith(f":{placed['order_id']}")

    assert [entry["status"] for entry in order["history"]] == [
        "ACCEPTED",
        "PAID",
        "RESERVED",
        "SHIPPED",
    ]
    times = [_utc(entry["at"]) for entry in order["history"]]
    assert times == sorted(times)
    assert all(isinstance(entry["detail"], str) for entry in order["history"])

    assert len(order["fulfillments"]) == 1
    fulfillment = order["fulfillments"][0]
    assert {"fulfillment_id", "type", "location_id", "status", "lines", "shipment"} <= set(
        fulfillment
    )
    assert fulfillment["type"] == "ship"
    assert fulfillment["status"] == "SHIPPED"
    assert sum(line["quantity"] for line in fulfillment["lines"]) == 2
    shipment = fulfillment["shipment"]
    assert {"carrier", "tracking_number", "tracking_url", "promised_by"} <= set(shipment)
    assert shipment["tracking_number"]
    assert shipment["tracking_url"].startswith("https://")
    assert _utc(shipment["promised_by"]) > times[0]


def test_declined_payment_reads_back_rejected_with_its_reason(client: Any) -> None:
    placed = place_order(client, order_body(payment={"method": "card", "token": "tok_declined"}))

    order = wait_for_status(client, placed["order_id"], "REJECTED")

    assert order["status_reason"] == "payment_declined"
    assert order["status"] in ORDER_STATUSES
    assert order["fulfillments"] == []


def test_unknown_order_is_404_problem(client: Any) -> None:
    response = client.http.get("/orders/ord_00000000000000000000", headers=STOREFRONT)

    assert_problem(response, 404, "order_id")


@pytest.mark.parametrize(
    ("method", "path", "auth", "body", "field"),
    [
        ("GET", "/orders/ord_00000000000000000000", STOREFRONT, None, "order_id"),
        ("POST", "/orders/ord_00000000000000000000/cancel", STOREFRONT, {}, "order_id"),
        (
            "POST",
            "/orders/ord_00000000000000000000/returns",
            STOREFRONT,
            {"lines": [{"sku": "CAP-NAVY", "quantity": 1}], "reason": "talla", "channel": "mail"},
            "order_id",
        ),
        (
            "POST",
            "/returns/ret_0000000000000000/receive",
            STORE,
            {"location_id": "ST-MADRID"},
            "return_id",
        ),
        (
            "POST",
            "/fulfillments/ful_00000000/collect",
            STORE,
            {"pickup_code": "123456"},
            "fulfillment_id",
        ),
        # Shaped as a fulfillment of an order no one placed: still the fulfillment is named.
        (
            "POST",
            "/fulfillments/nope-F1/collect",
            STORE,
            {"pickup_code": "123456"},
            "fulfillment_id",
        ),
        ("GET", "/inventory/NOPE-404", OPS, None, "sku"),
        ("GET", "/ops/orders/ord_00000000000000000000/execution", OPS, None, "order_id"),
    ],
)
def test_unknown_ids_are_404_naming_the_id(
    client: Any, method: str, path: str, auth: dict[str, str], body: Any, field: str
) -> None:
    headers = auth | JSON if body is not None else auth
    raw = json.dumps(body) if body is not None else None

    response = client.http.request(method, path, headers=headers, body=raw or b"")

    assert_problem(response, 404, field)
