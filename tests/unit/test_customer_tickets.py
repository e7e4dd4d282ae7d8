"""Tickets move forward only: open → pending → resolved, and resolved is final."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.tickets import Ticket, TicketStatus, TicketType, can_move

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _ticket() -> Ticket:
    return Ticket(
        ticket_id="tkt_1",
        customer_id="cus_1",
        type=TicketType.COMPLAINT,
        subject="s",
        description="d",
        channel="phone",
        opened_at=NOW,
    )


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (TicketStatus.OPEN, TicketStatus.PENDING, True),
        (TicketStatus.OPEN, TicketStatus.RESOLVED, True),
        (TicketStatus.PENDING, TicketStatus.RESOLVED, True),
        (TicketStatus.PENDING, TicketStatus.OPEN, False),
        (TicketStatus.RESOLVED, TicketStatus.OPEN, False),
        (TicketStatus.RESOLVED, TicketStatus.RESOLVED, False),
    ],
)
def test_status_moves_forward_only(current: TicketStatus, new: TicketStatus, allowed: bool) -> None:
    assert can_move(current, new) is allowed


def test_notes_are_kept_in_order_with_who_wrote_them() -> None:
    ticket = _ticket()
    ticket.update(None, "first", "ops:a", NOW)
    ticket.update(TicketStatus.PENDING, "second", "store:b", NOW)

    assert [(n.text, n.by) for n in ticket.notes] == [("first", "ops:a"), ("second", "store:b")]
    assert ticket.status is TicketStatus.PENDING


def test_resolving_reports_it_once_and_then_nothing_changes() -> None:
    ticket = _ticket()

    assert ticket.update(TicketStatus.RESOLVED, None, "ops:a", NOW) is True
    with pytest.raises(Conflict):
        ticket.update(None, "late note", "ops:a", NOW)
    assert ticket.notes == [] and ticket.resolved_at == NOW


def test_going_back_is_a_conflict_and_keeps_the_note_out() -> None:
    ticket = _ticket()
    ticket.update(TicketStatus.PENDING, None, "ops:a", NOW)

    with pytest.raises(Conflict):
        ticket.update(TicketStatus.OPEN, "reopen", "ops:a", NOW)
    assert ticket.notes == []


@pytest.mark.parametrize(
    ("resolver", "shown"),
    [("ops:care", ["Refund sent"]), ("system:carrier", [])],
)
def test_the_customer_reads_only_a_person_s_resolution_note(
    resolver: str, shown: list[str]
) -> None:
    ticket = _ticket()
    ticket.update(None, "called the carrier", "ops:care", NOW)
    ticket.update(TicketStatus.PENDING, "waiting on the warehouse", "store", NOW)
    ticket.update(TicketStatus.RESOLVED, "Refund sent", resolver, NOW)
    assert [note.text for note in ticket.notes_for_customer()] == shown
    assert len(ticket.notes) == 3
