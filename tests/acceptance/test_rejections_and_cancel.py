"""Orders that do not go through: a declined card, too little stock, a change of mind."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import OPS, STOREFRONT, assert_problem, order_body
from tests.support.orders import wait_for_status
from tests.support.shop import Shop, text_of

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]


def _line(sku: str, quantity: int = 1) -> list[dict[str, object]]:
    return [{"sku": sku, "quantity": quantity, "fulfillment": "ship"}]


def _only_email_ending(shop: Shop, body: dict[str, Any], subject_end: str) -> str:
    """The text of the one email to this order's customer whose subject ends so."""
    address = body["customer"]["email"]
    messages = shop.wait_for_emails(address, [subject_end])
    [message] = [m for m in messages if str(m["Subject"]).endswith(subject_end)]
    return text_of(message)


def test_a_declined_card_rejects_the_order_and_charges_nothing(shop: Shop) -> None:
    sku = "SOCKS-3P"
    before = shop.stock(sku)
    body = order_body(lines=_line(sku, 3), payment={"method": "card", "token": "tok_declined"})
    placed = shop.place_ok(body)

    order = shop.settled(placed["order_id"])
    assert order["status"] == "REJECTED", order["history"]
    assert order["status_reason"] == "payment_declined"
    assert [h["status"] for h in order["history"]] == ["ACCEPTED", "REJECTED"]
    assert order["payment"]["status"] == "DECLINED"
    assert order["payment"]["captured"] == {"amount": "0.00", "currency": "EUR"}
    assert order["payment"]["refunded"] == {"amount": "0.00", "currency": "EUR"}
    assert shop.stock(sku) == before

    text = _only_email_ending(shop, body, f"completar tu pedido {placed['order_id']}")
    assert "rechazada" in text
    assert "No se te ha cobrado nada" in text
    # The way back: pay again from the tracking page, whose link the email carries.
    assert "pagar de nuevo" in text
    assert placed["tracking_url"] in text


def test_more_than_the_stock_everywhere_is_refused_up_front_and_nothing_is_stored(
    shop: Shop,
) -> None:
    sku = "COAT-WOOL"
    inventory = shop.inventory(sku)
    wanted = 999  # the most one line may ask for
    assert inventory["available_to_promise"] < wanted, inventory
    before = shop.stock(sku)
    body = order_body(lines=[*_line("SOCKS-3P"), *_line(sku, wanted)])

    problem = assert_problem(shop.place(body), 409)
    assert problem["type"].endswith("/out-of-stock"), problem
    # Only the short line is named; the socks could be served.
    assert [e["field"] for e in problem["errors"]] == ["lines.1"], problem
    assert shop.stock(sku) == before
    # Nothing was stored: no customer was created for the address, no email was sent.
    assert shop.emails_to(body["customer"]["email"]) == []
    customer = shop.get(f"/customers?email={body['customer']['email']}", OPS)
    assert customer.status_code == 404, customer.text

    # What can be served is accepted at once.
    fits = order_body(lines=_line(sku, inventory["available_to_promise"]))
    assert shop.place_ok(fits)["status"] == "ACCEPTED"


def test_cancelling_right_after_placing_leaves_stock_and_money_as_they_were(shop: Shop) -> None:
    sku = "HOODIE-GRY-L"
    before = shop.stock(sku)
    # Held at ACCEPTED: the gateway never answers this token, and the workflow retries the
    # authorisation for seconds (1, 2 and 4 s, fully jittered) before it gives up, so the
    # cancel below lands before anything is authorised or reserved.
    held = order_body(lines=_line(sku, 2), payment={"method": "card", "token": "tok_unavailable"})
    placed = shop.place_ok(held)

    cancelled = shop.post(f"/orders/{placed['order_id']}/cancel", {}, STOREFRONT)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["status_reason"] == "customer_request"
    assert [h["status"] for h in cancelled.json()["history"]] == ["ACCEPTED", "CANCELLED"]

    # The workflow notices at its next attempt and ends without taking or shipping anything.
    execution = shop.wait_for_execution_end(placed["order_id"])
    assert execution["status"] == "SUCCEEDED", execution
    order = shop.order(placed["order_id"])
    assert order["status"] == "CANCELLED"
    assert [h["status"] for h in order["history"]] == ["ACCEPTED", "CANCELLED"]
    assert all(f["status"] == "CANCELLED" for f in order["fulfillments"]), order
    assert all(f["shipment"] is None for f in order["fulfillments"]), order
    payment = order["payment"]
    assert payment["payment_id"] is None, payment  # nothing was ever authorised
    assert payment["authorized"] == {"amount": "0.00", "currency": "EUR"}, payment
    assert payment["captured"] == {"amount": "0.00", "currency": "EUR"}, payment
    assert payment["refunded"] == {"amount": "0.00", "currency": "EUR"}, payment
    assert shop.stock(sku) == before


def test_cancelling_while_it_is_being_picked_releases_the_reservation(shop: Shop) -> None:
    sku = "SWEATER-CRW"
    before = shop.stock(sku)
    body = order_body(lines=_line(sku, 2))
    placed = shop.place_ok(body)

    reserved = wait_for_status(shop, placed["order_id"], "RESERVED", settled=True)
    [fulfillment] = reserved["fulfillments"]
    source = fulfillment["location_id"]
    held = shop.stock(sku)[source]
    assert held["reserved"] == before[source]["reserved"] + 2
    assert held["available"] == before[source]["available"] - 2

    cancelled = shop.post(f"/orders/{placed['order_id']}/cancel", {}, STOREFRONT)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert shop.stock(sku) == before

    execution = shop.wait_for_execution_end(placed["order_id"])
    assert execution["status"] == "SUCCEEDED", execution
    order = shop.order(placed["order_id"])
    assert order["status"] == "CANCELLED"
    assert order["fulfillments"][0]["shipment"] is None
    assert order["payment"]["status"] == "VOIDED"
    assert order["payment"]["captured"] == {"amount": "0.00", "currency": "EUR"}
    assert shop.stock(sku) == before

    text = _only_email_ending(shop, body, "cancelado")
    assert "No se te ha cobrado nada" in text, text


def test_an_order_that_has_shipped_can_no_longer_be_cancelled(shop: Shop) -> None:
    placed = shop.place_ok(order_body(lines=_line("CAP-NAVY", 1)))
    shipped = wait_for_status(shop, placed["order_id"], "SHIPPED", settled=True)

    response = shop.post(f"/orders/{placed['order_id']}/cancel", {}, STOREFRONT)
    assert_problem(response, 409)
    after = shop.order(placed["order_id"])
    assert after["status"] == "SHIPPED"
    assert after["history"] == shipped["history"]
    assert after["payment"]["status"] == "CAPTURED"
