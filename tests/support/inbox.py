"""The customer's inbox as SES received it, for the email-rule tests
(``tests/workflow/test_email_rules*.py``): every email to an address by kind (its subject's
start, per language), and ``expect_emails``, which asserts exactly which arrived, each
multipart, in the order's language, with the tracking link."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import Message
from typing import Any

from chalicelib.services.tracking import tracking_url
from tests.support import eventually, order_body
from tests.support.flow import emails_to, parts_of

# How each email's subject starts, per language ({} is the order id): the inbox is sorted
# by these, and any other email about the order counts under its own subject.
SUBJECTS: dict[str, dict[str, str]] = {
    "es": {
        "confirmation": "Pedido {} confirmado",
        "shipment_sent": "Tu pedido {} ha salido con ",
        "pickup_ready": "Tu pedido {} te espera en ",
        "delivered": "Tu pedido {} ha sido entregado",
        "parcel_delivered": "Un paquete de tu pedido {} ha sido entregado",
        "collected": "Has recogido tu pedido {}",
        "rejected": "No hemos podido completar tu pedido {}",
        "cancelled": "Tu pedido {} ha sido cancelado",
        "late_delivery": "Tu pedido {} llega con retraso",
        "parcel_lost": "Tu paquete del pedido {} se ha perdido",
        "not_collected": "Tu recogida del pedido {} en ",
        "fulfillment_cancelled": "Parte de tu pedido {} se ha cancelado",
        "return_requested": "Devolución solicitada para el pedido {}",
        "return_received": "Hemos recibido tu devolución del pedido {}",
        "refund": "Te hemos hecho un reembolso del pedido {}",
        "status_update": "Pedido {}: ",
    },
    "en": {
        "confirmation": "Order {} confirmed",
        "shipment_sent": "Your order {} is on its way with ",
        "pickup_ready": "Your order {} is ready at ",
        "delivered": "Your order {} was delivered",
        "parcel_delivered": "A parcel of your order {} was delivered",
        "collected": "You have collected your order {}",
        "rejected": "We could not complete your order {}",
        "cancelled": "Your order {} was cancelled",
        "late_delivery": "Your order {} is running late",
        "parcel_lost": "Your parcel for order {} was lost",
        "not_collected": "Your pick-up of order {} at ",
        "fulfillment_cancelled": "Part of your order {} was cancelled",
        "return_requested": "Return requested for order {}",
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
