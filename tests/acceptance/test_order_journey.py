"""A web order from checkout to refund, as the storefront, the carrier, the customer and a
store see it, and the emails the customer gets on the way."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from tests.support import STORE, STOREFRONT, order_body, signed_event
from tests.support.orders import wait_for_status
from tests.support.shop import Shop, html_of, text_of

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]

SKU = "JEANS-34"
RETURN_STORE = "ST-BARCELONA"
# What a Spanish-speaking customer reads in each email's subject, by order status.
# What the customer hears by default: the confirmation, the parcel leaving, the delivery
# and, after the return, the refund (subject beginnings, "{}" the order id).
SPANISH_SUBJECTS = {
    "RESERVED": "Pedido {} confirmado",
    "SHIPPED": "Tu pedido {} ha salido con",
    "DELIVERED": "Tu pedido {} ha sido entregado",
    "RETURNED": "Hemos recibido tu devolución del pedido {}",
}


def test_a_web_order_is_shipped_delivered_tracked_returned_and_refunded(shop: Shop) -> None:
    body = order_body(lines=[{"sku": SKU, "quantity": 2, "fulfillment": "ship"}])
    customer_email = body["customer"]["email"]
    expected_total = {"amount": str(shop.price(SKU) * 2), "currency": "EUR"}

    # Checkout: accepted at once, priced from the catalogue (IVA included in Madrid; 99.80
    # of jeans reach the mainland's 50.00 free-shipping threshold).
    placed = shop.place_ok(body)
    assert placed["status"] == "ACCEPTED"
    assert placed["order_id"] and placed["customer_id"]
    assert placed["total"] == expected_total
    assert re.fullmatch(r"\d+\.\d{2}", placed["total"]["amount"])
    assert placed["tracking_url"].startswith(f"{shop.url}/track/")
    order_id, tracking_url = placed["order_id"], placed["tracking_url"]

    # The workflow pays, reserves and ships it on its own.
    order = wait_for_status(shop, order_id, "SHIPPED", settled=True)
    assert [h["status"] for h in order["history"]] == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]
    assert order["customer_id"] == placed["customer_id"]
    assert order["total"] == expected_total
    assert order["subtotal"] == expected_total
    assert order["shipping"] == {"amount": "0.00", "currency": "EUR"}
    assert (order["tax"]["name"], order["tax"]["included"]) == ("IVA", True)
    assert order["payment"]["status"] == "CAPTURED"
    [fulfillment] = order["fulfillments"]
    assert fulfillment["type"] == "ship"
    assert fulfillment["status"] == "SHIPPED"
    shipment = fulfillment["shipment"]
    assert shipment["carrier"] and shipment["tracking_number"]
    assert shipment["tracking_url"].startswith("https://")
    promised_by = datetime.fromisoformat(shipment["promised_by"])
    assert promised_by > datetime.fromisoformat(order["placed_at"])

    # The carrier says it was delivered (signed webhook); a replay changes nothing.
    raw, headers = signed_event(shipment["tracking_number"], "delivered")
    response = shop.post(f"/carriers/{shipment['carrier']}/events", raw, headers)
    assert response.status_code == 200, response.text
    order = wait_for_status(shop, order_id, "DELIVERED", settled=True)
    assert order["fulfillments"][0]["status"] == "DELIVERED"
    replay_raw, replay_headers = signed_event(
        shipment["tracking_number"], "delivered", event_id=_event_id(raw)
    )
    replay = shop.post(f"/carriers/{shipment['carrier']}/events", replay_raw, replay_headers)
    assert replay.status_code == 200, replay.text
    assert shop.order(order_id)["history"] == order["history"]

    # The customer opens the link from the emails: no key, just the signed token.
    page = shop.get(tracking_url)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert "DELIVERED" in page.text
    assert shipment["tracking_number"] in page.text
    as_json = shop.get(tracking_url, {"Accept": "application/json"})
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.json()["order_id"] == order_id
    assert as_json.json()["status"] == "DELIVERED"
    tampered = tracking_url[:-1] + ("1" if tracking_url.endswith("0") else "0")
    forged = shop.get(tampered, {"Accept": "application/json"})
    assert forged.status_code == 404

    # They take the jeans back to a store, which receives them into its own stock.
    before = shop.stock(SKU)[RETURN_STORE]
    requested = shop.post(
        f"/orders/{order_id}/returns",
        {
            "lines": [{"sku": SKU, "quantity": 2}],
            "reason": "no me quedan bien",
            "channel": "store",
            "location_id": RETURN_STORE,
        },
        STOREFRONT,
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "REQUESTED"
    return_id = requested.json()["return_id"]
    received = shop.post(f"/returns/{return_id}/receive", {"location_id": RETURN_STORE}, STORE)
    assert received.status_code == 200, received.text
    after = shop.stock(SKU)[RETURN_STORE]
    assert after["on_hand"] == before["on_hand"] + 2
    assert after["available"] == before["available"] + 2

    order = wait_for_status(shop, order_id, "RETURNED", settled=True)
    assert [h["status"] for h in order["history"]] == [
        "ACCEPTED",
        "PAID",
        "RESERVED",
        "SHIPPED",
        "DELIVERED",
        "RETURNED",
    ]
    assert order["payment"]["status"] == "REFUNDED"
    assert order["payment"]["refunded"] == expected_total

    # What mattered reached the customer's inbox, in Spanish, with the tracking link: four
    # emails, no more.
    wanted = [f"devolución del pedido {order_id}"]
    messages = shop.wait_for_emails(customer_email, wanted)
    assert len(messages) == len(SPANISH_SUBJECTS), [str(m["Subject"]) for m in messages]
    by_status = {}
    for status, label in SPANISH_SUBJECTS.items():
        start = label.format(order_id)
        matching = [m for m in messages if str(m["Subject"]).startswith(start)]
        assert len(matching) == 1, (status, [str(m["Subject"]) for m in messages])
        by_status[status] = matching[0]
    for status, message in by_status.items():
        text, html = text_of(message), html_of(message)
        assert message["To"] == customer_email
        assert text.startswith("Hola"), (status, text)
        assert tracking_url in text, (status, text)
        assert tracking_url in html, (status, html)
        assert 'lang="es"' in html
    assert shipment["tracking_number"] in text_of(by_status["SHIPPED"])
    assert "días" in text_of(by_status["DELIVERED"])
    # The confirmation shows the breakdown: free shipping, the IVA the price includes.
    assert "Envío: Gratis" in text_of(by_status["RESERVED"])
    assert "IVA incluido (21\xa0%)" in text_of(by_status["RESERVED"])
    assert "reembolsado" in text_of(by_status["RETURNED"])
    # The refund in Spanish notation ("99,80 €"), not "99.80 EUR".
    spanish = expected_total["amount"].replace(".", ",") + "\xa0€"
    assert spanish in text_of(by_status["RETURNED"]), text_of(by_status["RETURNED"])
    assert "/surveys/" in text_of(by_status["DELIVERED"])


def _event_id(raw: bytes) -> str:
    return str(json.loads(raw)["event_id"])
