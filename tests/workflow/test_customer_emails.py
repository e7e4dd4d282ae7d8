"""The customer's emails along the real workflow: a delivered one-parcel web order sends
three (confirmation, shipment, delivery), in the customer's language, each multipart with
the tracking link, and each once however often SNS delivers an event."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.domain.events import OrderStatusChanged
from chalicelib.services import notify
from chalicelib.services.survey_links import survey_url
from chalicelib.services.tracking import tracking_url
from tests.support import order_body
from tests.support.flow import (
    emails_to,
    fresh_sku,
    parts_of,
    place,
    post_carrier_event,
    tracking_number,
)
from tests.support.orders import wait_for_status

LANGUAGE = {
    "es": {
        "greeting": "Hola",
        "track": "Sigue tu pedido:",
        "confirmation": "Pedido {} confirmado",
        "shipment": "Tu pedido {} ha salido con",
        "delivered": "Tu pedido {} ha sido entregado",
    },
    "en": {
        "greeting": "Hello",
        "track": "Track your order:",
        "confirmation": "Order {} confirmed",
        "shipment": "Your order {} is on its way with",
        "delivered": "Your order {} was delivered",
    },
}


def _deliver(
    client: Any, deps: Any, settings: Any, locale: str, parked: list[str]
) -> tuple[str, str]:
    # A 40 s carrier SLA: delivered on time (no apology email) even on a busy machine.
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    body["customer"]["locale"] = locale
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    post_carrier_event(client, tracking_number(shipped))
    wait_for_status(deps, order_id, "DELIVERED")
    return order_id, str(body["customer"]["email"])


def _order_emails(address: str, order_id: str, locale: str) -> dict[str, list[Any]]:
    """Every email to the address about the order, by which of the three it is (any other
    is under its subject)."""
    found: dict[str, list[Any]] = {}
    for message in emails_to(address):
        subject = str(message["Subject"])
        if order_id not in subject:
            continue
        kind = next(
            (
                k
                for k in ("confirmation", "shipment", "delivered")
                if subject.startswith(LANGUAGE[locale][k].format(order_id))
            ),
            subject,
        )
        found.setdefault(kind, []).append(message)
    return found


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_delivered_one_parcel_web_order_sends_three_emails_in_the_customers_language(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any, locale: str
) -> None:
    order_id, address = _deliver(client, deps, settings, locale, parked)
    stack.lambdas.drain()

    by_kind = _order_emails(address, order_id, locale)
    assert {kind: len(found) for kind, found in by_kind.items()} == {
        "confirmation": 1,
        "shipment": 1,
        "delivered": 1,
    }
    link = tracking_url(order_id, deps)
    assert "/track/" in link
    other = LANGUAGE["en" if locale == "es" else "es"]
    for kind, (message,) in by_kind.items():
        parts = parts_of(message)
        text, html = parts["text/plain"], parts["text/html"]
        assert text.startswith(LANGUAGE[locale]["greeting"]), (kind, text)
        assert f"{LANGUAGE[locale]['track']} {link}" in text, (kind, text)
        assert other["track"] not in text
        assert "UTC" not in text
        assert f'href="{link}"' in html, kind
        assert f'lang="{locale}"' in html
    order = deps.store.get_order(order_id)
    assert tracking_number(order) in parts_of(by_kind["shipment"][0])["text/plain"]
    delivered_text = parts_of(by_kind["delivered"][0])["text/plain"]
    assert survey_url(order_id, deps) in delivered_text


def test_an_event_delivered_twice_is_mailed_once(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    order_id, address = _deliver(client, deps, settings, "es", parked)
    stack.lambdas.drain()
    sent_before = len(emails_to(address))
    order = deps.store.get_order(order_id)
    confirmed_entry = next(h for h in order.history if h.status.value == "RESERVED")
    paid_event = OrderStatusChanged.of(order, confirmed_entry).message()

    # SNS delivers at least once: the confirming (RESERVED) event again, through the
    # topic and directly.
    deps.events.publish(paid_event)
    deps.events.publish(paid_event)
    stack.lambdas.drain()
    assert notify.on_order_event(paid_event, deps) is None
    assert notify.on_order_event(paid_event, deps) is None
    assert len(emails_to(address)) == sent_before
    assert len(_order_emails(address, order_id, "es")["confirmation"]) == 1

    # An event the subscriber has not seen, delivered twice at the same moment: one email.
    fresh = paid_event | {"event_id": f"{paid_event['event_id']}:redelivered"}
    results: list[str | None] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        results.append(notify.on_order_event(fresh, deps))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results.count(None) == 1
    assert len(emails_to(address)) == sent_before + 1
    assert notify.on_order_event(fresh, deps) is None
    assert len(emails_to(address)) == sent_before + 1
