"""Every email rule of ``domain.email_policy`` on the real order.asl.json: each order is
driven to its moment through the API, the carrier webhook and the workflow's own timers,
and the customer's inbox is read as SES received it: exactly which emails, how many, in
the order's language, each multipart (plain text and HTML) with the tracking link.

The at-most-3 count of a delivered one-parcel web order, and the confirmation sent once,
are in test_customer_emails.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from email.message import Message
from typing import Any
from urllib.parse import urlparse

from chalicelib.services.survey_links import survey_url
from chalicelib.services.tracking import tracking_url
from tests.support import JSON, STORE, STOREFRONT, eventually, idempotency_key, order_body
from tests.support.flow import (
    emails_to,
    fresh_sku,
    parts_of,
    place,
    place_then_sell_out,
    post_carrier_event,
    states_entered,
    tracking_number,
)
from tests.support.orders import wait_for_status

# How each email's subject starts, per language ({} is the order id): the inbox is sorted
# by these, and any other email about the order counts under its own subject.
SUBJECTS: dict[str, dict[str, str]] = {
    "es": {
        "confirmation": "Pedido {} confirmado",
        "shipment_sent": "Tu pedido {} ha salido con ",
        "pickup_ready": "Tu pedido {} te espera en ",
        "delivered": "Tu pedido {} ha sido entregado",
        "rejected": "No hemos podido completar tu pedido {}",
        "cancelled": "Tu pedido {} ha sido cancelado",
        "late_delivery": "Tu pedido {} llega con retraso",
        "parcel_lost": "Tu paquete del pedido {} se ha perdido",
        "not_collected": "Tu recogida del pedido {} en ",
        "return_received": "Hemos recibido tu devolución del pedido {}",
        "refund": "Te hemos hecho un reembolso del pedido {}",
        "status_update": "Pedido {}: ",
    },
    "en": {
        "confirmation": "Order {} confirmed",
        "shipment_sent": "Your order {} is on its way with ",
        "pickup_ready": "Your order {} is ready at ",
        "delivered": "Your order {} was delivered",
        "rejected": "We could not complete your order {}",
        "cancelled": "Your order {} was cancelled",
        "late_delivery": "Your order {} is running late",
        "parcel_lost": "Your parcel for order {} was lost",
        "not_collected": "Your pick-up of order {} at ",
        "return_received": "We received your return of order {}",
        "refund": "We refunded you for order {}",
        "status_update": "Order {}: ",
    },
}
TRACK_LINE = {"es": "Sigue tu pedido:", "en": "Track your order:"}
GREETING = {"es": "Hola", "en": "Hello"}

Inbox = dict[str, list[Message]]


def _inbox(stack: Any, address: str, order_id: str, locale: str) -> Inbox:
    """Every email SES accepted for ``address``, by kind."""
    stack.lambdas.drain()
    found: Inbox = {}
    for message in emails_to(address):
        # Python folds a long Subject onto its own line; readers drop that space.
        subject = str(message["Subject"]).strip()
        kind = next(
            (
                k
                for k, start in SUBJECTS[locale].items()
                if subject.startswith(start.format(order_id))
            ),
            subject,
        )
        found.setdefault(kind, []).append(message)
    return found


def _counts(inbox: Inbox) -> dict[str, int]:
    return {kind: len(messages) for kind, messages in sorted(inbox.items())}


def expect_emails(
    stack: Any, deps: Any, address: str, order_id: str, locale: str, expected: Mapping[str, int]
) -> Inbox:
    """The inbox once every expected email arrived, asserted to hold exactly those; each is
    multipart, in ``locale`` only, and carries the order's tracking link."""

    def arrived() -> Inbox | None:
        inbox = _inbox(stack, address, order_id, locale)
        return inbox if all(len(inbox.get(k, [])) >= n for k, n in expected.items()) else None

    try:
        eventually(arrived, timeout=60, every=0.2)
    except AssertionError:
        raise AssertionError(
            f"expected {dict(expected)}, got {_counts(_inbox(stack, address, order_id, locale))}"
        ) from None
    inbox = _inbox(stack, address, order_id, locale)
    assert _counts(inbox) == dict(sorted(expected.items()))
    link = tracking_url(order_id, deps)
    other = "en" if locale == "es" else "es"
    for kind, messages in inbox.items():
        for message in messages:
            assert message.is_multipart(), kind
            parts = parts_of(message)
            text, html = parts["text/plain"], parts["text/html"]
            assert text.startswith(GREETING[locale]), (kind, text)
            assert f"{TRACK_LINE[locale]} {link}" in text, (kind, text)
            assert TRACK_LINE[other] not in text, (kind, text)
            assert "UTC" not in text and "EUR" not in text, (kind, text)
            assert f'<html lang="{locale}">' in html, kind
            assert f'href="{link}"' in html, kind
    return inbox


def _text(inbox: Inbox, kind: str, index: int = 0) -> str:
    return parts_of(inbox[kind][index])["text/plain"]


def _body(sku: str, locale: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    body = order_body(lines=[{"sku": sku, "quantity": quantity, "fulfillment": "ship"}], **extra)
    body["customer"]["locale"] = locale
    return body


def _track_path(deps: Any, order_id: str) -> str:
    return urlparse(tracking_url(order_id, deps)).path


def test_each_parcel_of_a_two_parcel_order_has_its_own_shipment_email(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    # A 40 s carrier SLA: both parcels arrive on time even on a busy machine.
    settings.time_scale = settings.time_scale / 10
    from_warehouse = fresh_sku(deps, {"WH-GETAFE": 5})
    from_barcelona = fresh_sku(deps, {"ST-BARCELONA": 5})
    body = _body(from_warehouse, "en")
    body["lines"].append({"sku": from_barcelona, "quantity": 1, "fulfillment": "ship"})
    order_id = place(client, body)
    parked.append(order_id)

    shipped = wait_for_status(deps, order_id, "SHIPPED")
    numbers = sorted(f.shipment.tracking_number for f in shipped.fulfillments if f.shipment)
    assert len(numbers) == 2
    for number in numbers:
        post_carrier_event(client, number)
    wait_for_status(deps, order_id, "DELIVERED")

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "en",
        {"confirmation": 1, "shipment_sent": 2, "delivered": 1},
    )
    told = sorted(n for n in numbers for i in (0, 1) if n in _text(inbox, "shipment_sent", i))
    assert told == numbers


def test_a_pickup_ready_then_not_collected_is_told_each_once(
    client: Any, deps: Any, stack: Any, parked: list[str]
) -> None:
    # At the tests' scale Valencia's 48 h pick-up window lasts 8 s: nobody collects.
    sku = fresh_sku(deps, {"ST-VALENCIA": 3})
    body = _body(sku, "es")
    body["lines"] = [
        {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-VALENCIA"}
    ]
    body.pop("shipping_address")
    order_id = place(client, body)
    parked.append(order_id)

    ended = wait_for_status(deps, order_id, "CANCELLED")
    assert ended.status_reason is not None and ended.status_reason.value == "not_collected"
    code = ended.fulfillments[0].pickup_code

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "es",
        # The order's CANCELLED (not_collected) is the not-collected email's own news.
        {"confirmation": 1, "pickup_ready": 1, "not_collected": 1},
    )
    ready = _text(inbox, "pickup_ready")
    assert code and code in ready
    assert "Tienda Valencia Ruzafa" in ready
    assert "Tienda Valencia Ruzafa" in str(inbox["not_collected"][0]["Subject"])


def test_a_declined_card_is_told_once_with_the_link_to_pay_again(
    client: Any, deps: Any, stack: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = _body(sku, "en", payment={"method": "card", "token": "tok_declined"})
    order_id = place(client, body)
    wait_for_status(deps, order_id, "REJECTED")

    inbox = expect_emails(stack, deps, body["customer"]["email"], order_id, "en", {"rejected": 1})
    text = _text(inbox, "rejected")
    assert "(the card was declined)" in text
    assert "pay again with another card from your order's page" in text
    assert "Nothing was charged" in text


def test_an_order_that_loses_the_last_units_is_told_only_its_rejection(
    client: Any, deps: Any, stack: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 2})
    body = _body(sku, "es", quantity=2)
    order_id = place_then_sell_out(deps, body, sku)
    rejected = wait_for_status(deps, order_id, "REJECTED")
    assert rejected.status_reason is not None and rejected.status_reason.value == "out_of_stock"
    assert "PAID" in [h.status.value for h in rejected.history]

    # Paid, then short of stock: no "confirmed" before the "sorry".
    inbox = expect_emails(stack, deps, body["customer"]["email"], order_id, "es", {"rejected": 1})
    text = _text(inbox, "rejected")
    assert "(sin existencias suficientes)" in text
    assert "pagar de nuevo" not in text


def test_a_cancelled_order_is_told_once_that_nothing_was_charged(
    client: Any, deps: Any, stack: Any, settings: Any
) -> None:
    # 15 s of picking before the hand-over: time to cancel from the tracking page.
    settings.handling_seconds = int(15 * settings.time_scale)
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = _body(sku, "en")
    order_id = place(client, body)
    wait_for_status(deps, order_id, "RESERVED")
    cancelled = client.http.post(f"{_track_path(deps, order_id)}/cancel", headers=JSON)
    assert cancelled.status_code == 200, cancelled.body

    inbox = expect_emails(
        stack, deps, body["customer"]["email"], order_id, "en", {"confirmation": 1, "cancelled": 1}
    )
    text = _text(inbox, "cancelled")
    assert "(at your request)" in text
    assert "Nothing was charged" in text


def test_a_late_parcel_is_apologised_for_once_then_delivered(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = _body(sku, "es")
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    # The wait for the promise (a few seconds) is running; the grace after the breach is
    # computed later, at a tenth of the scale: the late webhook below lands inside it.
    settings.time_scale = settings.time_scale / 10
    arn = shipped.execution_arn
    eventually(
        lambda: states_entered(deps.workflow.describe(arn)).count("AwaitCompletion") == 2,
        timeout=60,
    )
    post_carrier_event(client, tracking_number(shipped))
    wait_for_status(deps, order_id, "DELIVERED")

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "es",
        # The late-delivery ticket opened for customer care is no second email.
        {"confirmation": 1, "shipment_sent": 1, "late_delivery": 1, "delivered": 1},
    )
    late = _text(inbox, "late_delivery")
    assert "Lo sentimos" in late and "Nueva estimación de entrega" in late


def test_a_lost_parcel_is_told_with_its_refund_and_the_shipping_fee_s(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    # Ten times the usual scale: past the promise, the grace and the 30 days within seconds.
    settings.time_scale = settings.time_scale * 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="10.00")
    body = _body(sku, "en")
    # Quoted: the order pays the mainland's shipping fee, under its free-shipping threshold.
    quoted = client.http.post(
        "/quotes",
        headers=STOREFRONT | JSON,
        body=json.dumps(
            {"channel": "web", "lines": body["lines"], "shipping_address": body["shipping_address"]}
        ),
    )
    assert quoted.status_code == 200, quoted.body
    fee = quoted.json_body["shipping"]["amount"]
    assert fee != "0.00"
    order_id = place(client, body | {"quote_id": quoted.json_body["quote_id"]})
    parked.append(order_id)

    def lost() -> Any:
        order = deps.store.get_order(order_id)
        return (
            order if order.fulfillments and order.fulfillments[0].status.value == "LOST" else None
        )

    eventually(lost, timeout=90, every=0.2)

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "en",
        {
            "confirmation": 1,
            "shipment_sent": 1,
            "late_delivery": 1,
            # The parcel's refund, the fee its only shipment paid included, is the
            # lost-parcel email's news: the fee's refund sends nothing of its own.
            "parcel_lost": 1,
        },
    )
    assert f"€{Decimal('10.00') + Decimal(fee):.2f}" in _text(inbox, "parcel_lost")


def test_a_return_received_is_told_once_with_its_refund(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="20.00")
    body = _body(sku, "es")
    order_id = place(client, body)
    parked.append(order_id)
    post_carrier_event(client, tracking_number(wait_for_status(deps, order_id, "SHIPPED")))
    wait_for_status(deps, order_id, "DELIVERED")

    asked = client.http.post(
        f"{_track_path(deps, order_id)}/returns",
        headers=JSON | idempotency_key(),
        body=json.dumps(
            {"lines": [{"sku": sku, "quantity": 1}], "reason": "talla", "channel": "mail"}
        ),
    )
    assert asked.status_code == 201, asked.body
    received = client.http.post(
        f"/returns/{asked.json_body['return_id']}/receive",
        headers=STORE | JSON,
        body=json.dumps({"location_id": "ST-MADRID"}),
    )
    assert received.status_code == 200, received.body
    assert received.json_body["order_status"] == "RETURNED"

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "es",
        # Asking for it sends nothing; RETURNED is the return-received email's news. The
        # whole order came back, so the shipping fee it paid (under the free-shipping
        # threshold) is given back too, and told in an email of its own.
        {
            "confirmation": 1,
            "shipment_sent": 1,
            "delivered": 1,
            "return_received": 1,
            "refund": 1,
        },
    )
    delivered = _text(inbox, "delivered")
    assert survey_url(order_id, deps) in delivered
    assert f"tienes {deps.settings.return_window_days} días para devolverlo" in delivered
    assert "20,00\xa0€" in _text(inbox, "return_received")
    order = deps.store.get_order(order_id)
    assert order.pricing is not None and order.pricing.shipping > 0
    fee = f"{order.pricing.shipping:.2f}".replace(".", ",")
    assert f"{fee}\xa0€" in _text(inbox, "refund")


def test_a_customer_who_wants_every_step_hears_of_each_status_change(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = _body(sku, "en")
    chose = client.http.post(
        "/customers",
        headers=STOREFRONT | JSON,
        body=json.dumps(
            {"email": body["customer"]["email"], "locale": "en", "notifications": "all"}
        ),
    )
    assert chose.status_code == 200, chose.body
    order_id = place(client, body)
    parked.append(order_id)
    post_carrier_event(client, tracking_number(wait_for_status(deps, order_id, "SHIPPED")))
    delivered = wait_for_status(deps, order_id, "DELIVERED")

    inbox = expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "en",
        {"status_update": 2, "confirmation": 1, "shipment_sent": 1, "delivered": 1},
    )
    # One email per status change: received and paid as updates, the rest as their own.
    statuses = [h.status.value for h in delivered.history]
    assert statuses == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED", "DELIVERED"]
    assert sum(len(messages) for messages in inbox.values()) == len(statuses)
    updates = sorted(str(m["Subject"]) for m in inbox["status_update"])
    assert updates == [f"Order {order_id}: Paid", f"Order {order_id}: Received"]
