"""An email worked out as a merge runs still reaches the merged record's customer: the
handler read the record as not merged, then its identifiers once the merge had moved them,
and found no address (probe 154: about 1 in 50 ticket emails racing a merge went to nobody;
nothing went to the wrong person). Each test puts the merge between those two reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.tickets import TicketStatus, TicketType
from chalicelib.services import customer_records, notify, payment_steps, stock_steps, tickets
from chalicelib.services.step_models import OrderStep
from tests.fakes import Outgoing, RecordingEvents
from tests.service import flows


def _record(deps: Deps, email: str) -> str:
    order = flows.place(deps, customer={"email": email, "name": f"Owner of {email}"})
    assert order.customer_id is not None
    return order.customer_id


def _merge_on_first_read_of(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, merged: str, survivor: str
) -> list[str]:
    """Merge ``merged`` into ``survivor`` just before the next read of the merged record's
    identifiers by anyone but the merge itself; the list says when it ran."""
    real: Callable[[str], Any] = deps.customers.identifiers
    ran: list[str] = []

    def identifiers(customer_id: str) -> Any:
        if customer_id == merged and not ran:
            ran.append("merged")
            customer_records.merge_customers(survivor, merged, "ops-client", "ops", deps)
        return real(customer_id)

    monkeypatch.setattr(deps.customers, "identifiers", identifiers)
    return ran


def _sent(deps: Deps) -> list[dict[str, str]]:
    assert isinstance(deps.mailer, Outgoing)
    return list(deps.mailer.sent)


def _published(deps: Deps) -> int:
    assert isinstance(deps.events, RecordingEvents)
    return len(deps.events.published)


def _deliver_since(deps: Deps, mark: int) -> list[dict[str, str]]:
    """Deliver the events published since ``mark`` to the email subscribers: the emails
    sent now."""
    assert isinstance(deps.events, RecordingEvents)
    before = len(_sent(deps))
    for event in deps.events.published[mark:]:
        if tickets.is_ticket_event(event):
            tickets.mail_ticket_event(event, deps)
        elif "order_id" in event:
            notify.on_order_event(event, deps)
    return _sent(deps)[before:]


def test_a_ticket_resolved_as_its_record_is_merged_is_told_at_the_records_address(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    ticket = tickets.open_ticket(
        merged, TicketType.QUESTION, "Dónde", "No llega.", None, "email", deps
    )
    flows.mail_ticket_events(deps)  # the opening, to was@
    mark = _published(deps)
    tickets.update_ticket(ticket.ticket_id, TicketStatus.RESOLVED, "Ya está.", "ops:desk", deps)
    ran = _merge_on_first_read_of(deps, monkeypatch, merged, survivor)

    resolved = _deliver_since(deps, mark)

    assert ran == ["merged"]
    assert [m["to"] for m in resolved] == ["was@example.com"]
    assert "Ya está." in resolved[0]["parts"] and "Owner of" not in resolved[0]["parts"]


def test_an_order_confirmed_as_its_record_is_merged_is_told_at_the_records_address(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"customer_id": merged})
    assert not order.customer_unvouched
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    mark = _published(deps)
    stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)  # the confirmation
    ran = _merge_on_first_read_of(deps, monkeypatch, merged, survivor)

    sent = _deliver_since(deps, mark)

    assert ran == ["merged"]
    assert [m["to"] for m in sent if order.order_id in m["parts"]] == ["was@example.com"]
