"""An email to a known customer is claimed by its interaction in the customer's 360 (one
write, no marker): sent at most once per event, through failures and merges."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import Identifier
from chalicelib.ports import CustomerRecord
from chalicelib.services import emails, notify
from tests.fakes import Outgoing, RecordingEvents
from tests.service import flows
from tests.support.builders import NOW


class FailingOnce(Outgoing):
    """A mailer whose first send fails (SES throttled), then sends."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def send(self, to: str, *parts: str) -> str:
        if not self.failed:
            self.failed = True
            raise RuntimeError("throttled")
        return super().send(to, *parts)


def _confirmation(deps: Deps) -> tuple[dict[str, Any], str]:
    """The RESERVED event of a reserved order (it mails the confirmation), and its customer."""
    order = flows.reserved(deps)
    assert isinstance(deps.events, RecordingEvents)
    event = next(
        e
        for e in deps.events.published
        if e.get("order_id") == order.order_id and e.get("status") == "RESERVED"
    )
    assert order.customer_id is not None
    return event, order.customer_id


def _email_interactions(deps: Deps, customer_id: str) -> list[dict[str, Any]]:
    found, _ = deps.customers.records(customer_id, CustomerRecord.INTERACTIONS)
    return [i for i in found if i.get("type") == "email"]


def test_an_email_to_a_customer_is_its_interaction_and_writes_no_marker(deps: Deps) -> None:
    event, customer_id = _confirmation(deps)
    assert notify.on_order_event(event, deps) is not None
    (recorded,) = _email_interactions(deps, customer_id)
    assert recorded["interaction_id"] == f"email-{event['event_id']}"
    assert recorded["summary"] == f"email sent: RESERVED about order {event['order_id']}"
    assert not deps.store.has_marker(f"email:{event['event_id']}")
    assert notify.on_order_event(event, deps) is None
    assert len(_email_interactions(deps, customer_id)) == 1


def test_a_failed_send_gives_the_claim_back_and_the_retry_sends_once(deps: Deps) -> None:
    event, customer_id = _confirmation(deps)
    mailer = FailingOnce()
    failing = replace(deps, mailer=mailer)
    with pytest.raises(RuntimeError):
        notify.on_order_event(event, failing)
    assert _email_interactions(deps, customer_id) == []
    assert notify.on_order_event(event, failing) is not None
    assert notify.on_order_event(event, failing) is None
    assert len(mailer.sent) == 1
    assert len(_email_interactions(deps, customer_id)) == 1


def test_a_redelivery_after_a_merge_sends_nothing_before_or_after_the_move(deps: Deps) -> None:
    event, merged = _confirmation(deps)
    assert isinstance(deps.mailer, Outgoing)
    assert notify.on_order_event(event, deps) is not None
    survivor = "cus_survivor_" + merged
    deps.customers.create_customer(survivor, [], {"name": "Ana", "locale": "es"})
    identifiers: list[Identifier] = deps.customers.identifiers(merged)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    # The merge's first step only: the interaction is still in the merged record.
    deps.customers.merge_profiles(survivor, merged, identifiers, record)
    assert notify.on_order_event(event, deps) is None
    deps.customers.move_items(merged, survivor, (CustomerRecord.INTERACTIONS,))
    assert notify.on_order_event(event, deps) is None
    assert len(deps.mailer.sent) == 1
    assert len(_email_interactions(deps, survivor)) == 1


def test_an_email_to_no_known_customer_is_claimed_by_a_marker(deps: Deps) -> None:
    assert isinstance(deps.mailer, Outgoing)

    def build() -> emails.Email:
        return emails.Email(subject="Hola", html="<p>Hola</p>", text="Hola\n")

    assert emails.send_once("evt-anonymous", "ana@example.com", build, deps) is not None
    assert deps.store.has_marker("email:evt-anonymous")
    assert emails.send_once("evt-anonymous", "ana@example.com", build, deps) is None
    assert len(deps.mailer.sent) == 1
