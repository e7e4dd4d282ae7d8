"""The customer's emails along the real workflow: one per status, in their language, each
with the tracking link, and once however often SNS delivers an event."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.domain.events import OrderStatusChanged
from chalicelib.services import notify
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

MAILED_ON_THE_WAY = ["ACCEPTED", "PAID", "RESERVED", "SHIPPED", "DELIVERED"]
LANGUAGE = {
    "es": {"subject": "Pedido", "greeting": "Hola", "track": "Sigue tu pedido:"},
    "en": {"subject": "Order", "greeting": "Hello", "track": "Track your order:"},
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


def _status_emails(address: str, order_id: str, locale: str) -> dict[str, list[Any]]:
    """The address's status emails about the order, by the status their subject names."""
    labels = {label: status for status, label in notify.LABELS[locale]["status"].items()}
    prefix = f"{LANGUAGE[locale]['subject']} {order_id}: "
    found: dict[str, list[Any]] = {}
    for message in emails_to(address):
        subject = str(message["Subject"])
        if subject.startswith(prefix):
            found.setdefault(labels[subject.removeprefix(prefix)], []).append(message)
    return found


@pytest.mark.parametrize("locale", ["es", "en"])
def test_one_email_per_status_in_the_customers_language_with_the_tracking_link(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any, locale: str
) -> None:
    order_id, address = _deliver(client, deps, settings, locale, parked)
    stack.lambdas.drain()

    by_status = _status_emails(address, order_id, locale)
    assert {status: len(found) for status, found in by_status.items()} == dict.fromkeys(
        MAILED_ON_THE_WAY, 1
    )
    link = tracking_url(order_id, deps)
    assert "/track/" in link
    other = LANGUAGE["en" if locale == "es" else "es"]
    for status, (message,) in by_status.items():
        parts = parts_of(message)
        text, html = parts["text/plain"], parts["text/html"]
        assert text.startswith(LANGUAGE[locale]["greeting"]), (status, text)
        assert f"{LANGUAGE[locale]['track']} {link}" in text, (status, text)
        assert other["track"] not in text
        assert f'href="{link}"' in html, status
        assert f'lang="{locale}"' in html
    shipped_text = parts_of(by_status["SHIPPED"][0])["text/plain"]
    order = deps.store.get_order(order_id)
    assert tracking_number(order) in shipped_text


def test_an_event_delivered_twice_is_mailed_once(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    order_id, address = _deliver(client, deps, settings, "es", parked)
    stack.lambdas.drain()
    sent_before = len(emails_to(address))
    order = deps.store.get_order(order_id)
    shipped_entry = next(h for h in order.history if h.status.value == "SHIPPED")
    shipped_event = OrderStatusChanged.of(order, shipped_entry).message()

    # SNS delivers at least once: the SHIPPED event again, through the topic and directly.
    deps.events.publish(shipped_event)
    deps.events.publish(shipped_event)
    stack.lambdas.drain()
    assert notify.on_order_event(shipped_event, deps) is None
    assert notify.on_order_event(shipped_event, deps) is None
    assert len(emails_to(address)) == sent_before
    assert len(_status_emails(address, order_id, "es")["SHIPPED"]) == 1

    # An event the subscriber has not seen, delivered twice at the same moment: one email.
    fresh = shipped_event | {"event_id": f"{shipped_event['event_id']}:redelivered"}
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
