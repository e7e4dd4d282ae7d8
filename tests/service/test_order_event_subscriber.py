"""The one subscriber of order events on fakes: every handler runs for each event, a
failing handler neither stops the others nor is lost, and a redelivery repeats nothing."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.ports.persistence import CustomerRecord
from chalicelib.services import order_event_subscribers, ordering
from chalicelib.services.order_event_subscribers import (
    IGNORED_TYPES,
    SubscriberFailed,
    handle_order_event,
)
from tests.fakes import Outgoing, RecordingEvents
from tests.service import flows


class MailerDown(Exception):
    """The fake mail service refusing a send."""


class FlakyMailer(Outgoing):
    """``Mailer`` that refuses the next ``failures`` sends, then sends."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def send(self, to: str, *parts: str) -> str:
        if self.failures:
            self.failures -= 1
            raise MailerDown("mail service unavailable")
        return super().send(to, *parts)


def _order_events(deps: Deps) -> list[dict[str, Any]]:
    assert isinstance(deps.events, RecordingEvents)
    return [event for event in deps.events.published if "order_id" in event]


def _deliver_all(deps: Deps) -> None:
    for event in _order_events(deps):
        handle_order_event(event, deps)


def test_one_delivery_per_event_emails_projects_and_follows_up(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None
    assert isinstance(deps.mailer, Outgoing)

    _deliver_all(deps)

    assert len(deps.mailer.sent) == 3  # confirmation, shipment, delivery
    metrics = deps.customers.metrics(order.customer_id)
    assert (metrics.order_count, metrics.gross) == (1, order.total.amount)
    interactions, _ = deps.customers.records(order.customer_id, CustomerRecord.INTERACTIONS)
    assert [item["type"] for item in interactions] == ["email"] * 3


def test_a_declined_card_opens_a_payment_retry_from_the_same_delivery(deps: Deps) -> None:
    order = flows.place(deps)
    declined = {
        "type": "order.status_changed",
        "event_id": f"{order.order_id}:declined",
        "order_id": order.order_id,
        "status": "REJECTED",
        "status_reason": "payment_declined",
    }

    outcomes = handle_order_event(declined, deps)

    assert outcomes["follow_up_opportunities"] == 1
    assert handle_order_event(declined, deps)["follow_up_opportunities"] == 0


def test_every_event_delivered_again_sends_and_counts_nothing_more(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None and isinstance(deps.mailer, Outgoing)
    _deliver_all(deps)
    sent, metrics = len(deps.mailer.sent), deps.customers.metrics(order.customer_id)

    _deliver_all(deps)

    assert len(deps.mailer.sent) == sent
    assert deps.customers.metrics(order.customer_id) == metrics


def test_a_failing_handler_does_not_stop_the_others_and_fails_the_delivery(deps: Deps) -> None:
    order = flows.place(deps)
    accepted = _order_events(deps)[-1]
    ran: list[str] = []

    def broken(message: dict[str, Any], *_: object) -> None:
        raise RuntimeError("projection store unavailable")

    def recording(name: str) -> order_event_subscribers.Handler:
        return lambda message, *_: ran.append(name)

    handlers = {"first": recording("first"), "broken": broken, "last": recording("last")}

    with pytest.raises(SubscriberFailed) as raised:
        handle_order_event(accepted, deps, handlers)

    assert ran == ["first", "last"]
    assert list(raised.value.failed) == ["broken"]
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert str(accepted["event_id"]) in str(raised.value) and order.order_id


def test_an_email_that_failed_is_sent_on_the_retry_and_the_rest_is_not_repeated(
    deps: Deps,
) -> None:
    mailer = FlakyMailer(failures=1)
    deps.mailer = mailer
    order = flows.delivered(deps)
    assert order.customer_id is not None
    # The confirmation is sent once the order is RESERVED (paid and its stock held).
    confirmation = next(e for e in _order_events(deps) if e.get("status") == "RESERVED")

    with pytest.raises(SubscriberFailed) as raised:
        handle_order_event(confirmation, deps)
    assert list(raised.value.failed) == ["email_customer"]
    # The projection ran although the email failed.
    assert deps.customers.metrics(order.customer_id).order_count == 1
    assert mailer.sent == []

    handle_order_event(confirmation, deps)  # SNS retries the delivery
    handle_order_event(confirmation, deps)  # and may deliver it once more

    assert len(mailer.sent) == 1
    assert deps.customers.metrics(order.customer_id).order_count == 1


def test_the_events_the_subscription_filters_out_move_no_handler(deps: Deps) -> None:
    # The subscription drops IGNORED_TYPES before they invoke anything: prove that every
    # handler would have done nothing with them, on a captured and a voided order.
    delivered = flows.delivered(deps)
    cancelled = flows.reserved(deps)
    ordering.cancel_order(cancelled.order_id, deps)
    ignored = [e for e in _order_events(deps) if e["type"] in IGNORED_TYPES]
    assert {e["type"] for e in ignored} == set(IGNORED_TYPES)
    assert delivered.customer_id is not None and isinstance(deps.mailer, Outgoing)
    sent, metrics = len(deps.mailer.sent), deps.customers.metrics(delivered.customer_id)

    for event in ignored:
        outcomes = handle_order_event(event, deps)
        assert not any(outcomes.values()), (event["type"], outcomes)

    assert len(deps.mailer.sent) == sent
    assert deps.customers.metrics(delivered.customer_id) == metrics
