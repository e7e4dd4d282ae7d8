"""Customer-service tickets, on fakes."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.tickets import TicketStatus, TicketType
from chalicelib.ports import CustomerRecord
from chalicelib.services import tickets
from tests.fakes import RecordingEvents
from tests.service import flows
from tests.support.races import lose_races


def _events(deps: Deps, kind: str) -> list[dict[str, object]]:
    assert isinstance(deps.events, RecordingEvents)
    return deps.events.of_type(kind)


def _open(deps: Deps, customer_id: str, order_id: str | None = None, **kw: object) -> object:
    return tickets.open_ticket(
        customer_id,
        TicketType.QUESTION,
        "Where is it?",
        "Not here yet.",
        order_id,
        "email",
        deps,
        **kw,
    )


def test_a_ticket_is_kept_listed_with_its_customer_and_announced(deps: Deps) -> None:
    order = flows.place(deps)
    assert order.customer_id is not None
    ticket = tickets.open_ticket(
        order.customer_id, TicketType.QUESTION, "Where?", "Late.", order.order_id, "email", deps
    )
    assert tickets.get_ticket(ticket.ticket_id, deps) == ticket
    listed, _ = deps.customers.records(order.customer_id, CustomerRecord.TICKETS)
    assert [entry["ticket_id"] for entry in listed] == [ticket.ticket_id]
    (event,) = _events(deps, "ticket.opened")
    assert event["ticket_id"] == ticket.ticket_id


def test_the_same_ticket_id_twice_is_one_ticket(deps: Deps) -> None:
    order = flows.place(deps)
    assert order.customer_id is not None
    first = _open(deps, order.customer_id, ticket_id="tkt_step_1")
    again = _open(deps, order.customer_id, ticket_id="tkt_step_1")
    assert again == first
    # Told again under its first id and moment (the first run may have died before its
    # publish): subscribers act once per id, and the email goes once per id and moment.
    opened = _events(deps, "ticket.opened")
    assert {e["event_id"] for e in opened} == {"tkt_step_1:opened"}
    assert opened[0] == opened[-1]


def test_a_ticket_whose_first_run_died_before_telling_is_told_by_the_run_again(
    deps: Deps,
) -> None:
    # A review: the ticket was written, then the request died before its publish; the run
    # again (a workflow retry, or a key run again) found it and told nobody.
    order = flows.place(deps)
    assert order.customer_id is not None
    flows.dying_at(deps, "ticket.opened", field="type")
    with pytest.raises(flows.Killed):
        _open(deps, order.customer_id, ticket_id="tkt_died")
    assert _events(deps, "ticket.opened") == []

    _open(deps, order.customer_id, ticket_id="tkt_died")

    (told,) = _events(deps, "ticket.opened")
    assert (told["event_id"], told["ticket_id"]) == ("tkt_died:opened", "tkt_died")


def test_a_ticket_about_someone_elses_order_is_not_found(deps: Deps) -> None:
    mine, theirs = flows.place(deps), flows.place(deps)
    assert mine.customer_id is not None
    with pytest.raises(NotFound):
        _open(deps, mine.customer_id, theirs.order_id)


def test_a_ticket_for_an_unknown_customer_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound):
        _open(deps, "cus_nobody")


def test_a_resolved_ticket_is_announced_once_and_stays_resolved(deps: Deps) -> None:
    order = flows.place(deps)
    assert order.customer_id is not None
    ticket = _open(deps, order.customer_id)
    ticket_id = ticket.ticket_id  # type: ignore[attr-defined]
    tickets.update_ticket(ticket_id, TicketStatus.RESOLVED, "sent again", "agent-1", deps)
    assert tickets.get_ticket(ticket_id, deps).status is TicketStatus.RESOLVED
    assert len(_events(deps, "ticket.resolved")) == 1
    with pytest.raises(Conflict) as moved:
        tickets.update_ticket(ticket_id, TicketStatus.OPEN, None, "agent-1", deps)
    assert [f for f, _ in moved.value.field_errors()] == ["status"]
    # A note alone is refused naming the note, the one thing the request asked (a probe).
    with pytest.raises(Conflict) as noted:
        tickets.update_ticket(ticket_id, None, "called back", "agent-1", deps)
    assert [f for f, _ in noted.value.field_errors()] == ["note"]
    assert tickets.get_ticket(ticket_id, deps).notes[-1].text == "sent again"


def test_a_note_is_kept_on_the_ticket(deps: Deps) -> None:
    order = flows.place(deps)
    assert order.customer_id is not None
    ticket = _open(deps, order.customer_id)
    ticket_id = ticket.ticket_id  # type: ignore[attr-defined]
    tickets.update_ticket(ticket_id, None, "called the carrier", "agent-2", deps)
    (note,) = tickets.get_ticket(ticket_id, deps).notes
    assert note.text == "called the carrier"


@pytest.mark.parametrize(("lost", "answered"), [(8, "noted"), (99, "try again")])
def test_a_note_among_many_at_once_is_kept_or_asked_again(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, lost: int, answered: str
) -> None:
    # Probe 207: 20 notes on one ticket at once got one or two bare 409s ("the item
    # changed"), read as "cannot be noted". A note tries as a receipt does, and one that
    # loses every race is 429 naming note: send it again.
    from chalicelib.domain.errors import TryAgainShortly

    order = flows.place(deps)
    assert order.customer_id is not None
    ticket_id = _open(deps, order.customer_id).ticket_id  # type: ignore[attr-defined]
    lose_races(monkeypatch, deps.customers, "save_ticket", lost)  # other staff wrote first
    if answered == "noted":
        tickets.update_ticket(ticket_id, None, "called back", "agent-1", deps)
        assert tickets.get_ticket(ticket_id, deps).notes[-1].text == "called back"
    else:
        with pytest.raises(TryAgainShortly) as asked:
            tickets.update_ticket(ticket_id, None, "called back", "agent-1", deps)
        assert (asked.value.status, asked.value.field) == (429, "note")
        monkeypatch.undo()
        assert all(n.text != "called back" for n in tickets.get_ticket(ticket_id, deps).notes)
