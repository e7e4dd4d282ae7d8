"""What a merged record's customer was told at, they go on being told at: an order placed
by the record's id alone, a ticket written to its vouched address. Never the survivor's
address (a merge is a person's guess), never an address only attached to the merged
record, and no longer once the survivor lets the address go (an erasure) or someone
proves it for a record of their own. Found by a probe: after a merge, the resolution of a
ticket the customer had been promised an email about went to nobody."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import Conflict
from chalicelib.domain.tickets import Ticket, TicketStatus, TicketType
from chalicelib.ports import CustomerRecord
from chalicelib.services import (
    customer_records,
    customers,
    payment_steps,
    stock_steps,
    tickets,
)
from chalicelib.services.step_models import OrderStep
from chalicelib.services.tracking import tracking_url
from tests.fakes import Outgoing
from tests.service import flows


def _record(deps: Deps, email: str, **more: str) -> str:
    """A record founded by an order with ``email`` (vouched there)."""
    order = flows.place(deps, customer={"email": email, "name": f"Owner of {email}"} | more)
    assert order.customer_id is not None
    return order.customer_id


def _merge(deps: Deps, survivor: str, merged: str) -> None:
    customer_records.merge_customers(survivor, merged, "ops-client", "ops", deps)


def _confirm(deps: Deps, order_id: str) -> None:
    """The workflow's steps up to the confirmation email: paid, then its stock reserved."""
    payment_steps.authorize_payment(OrderStep(order_id=order_id), deps)
    stock_steps.reserve_stock(OrderStep(order_id=order_id), deps)


def _sent_about(deps: Deps, order_id: str) -> list[tuple[str, str]]:
    """Each email about the order so far: its address and subject."""
    assert isinstance(deps.mailer, Outgoing)
    mails = flows.mail_everything(deps)
    found = [(m["to"], m["parts"].split("\n", 1)[0]) for m in mails]
    return [(to, subject) for to, subject in found if order_id in subject]


def _three_records_and_a_question(deps: Deps) -> tuple[str, str, str, str]:
    """Three records (first@, middle@, last@ example.com) and a ticket on the first."""
    first = _record(deps, "first@example.com")
    middle = _record(deps, "middle@example.com")
    last = _record(deps, "last@example.com")
    return first, middle, last, _question(deps, first)


def _question(deps: Deps, customer_id: str, order_id: str | None = None) -> str:
    ticket = tickets.open_ticket(
        customer_id, TicketType.QUESTION, "Dónde", "No llega.", order_id, "email", deps
    )
    return ticket.ticket_id


def _mailed(deps: Deps) -> list[dict[str, str]]:
    """Deliver the ticket events published so far: the ticket emails sent now."""
    assert isinstance(deps.mailer, Outgoing)
    before = len(deps.mailer.sent)
    flows.mail_ticket_events(deps)
    return deps.mailer.sent[before:]


def _resolve(deps: Deps, ticket_id: str) -> list[dict[str, str]]:
    """Resolve the ticket and deliver its events: the ticket emails sent now."""
    assert isinstance(deps.mailer, Outgoing)
    flows.mail_ticket_events(deps)  # the opening email, before
    before = len(deps.mailer.sent)
    tickets.update_ticket(ticket_id, TicketStatus.RESOLVED, "Ya está.", "ops:desk", deps)
    flows.mail_ticket_events(deps)
    return deps.mailer.sent[before:]


def test_an_order_placed_by_a_merged_records_id_is_told_at_its_own_address(deps: Deps) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"customer_id": merged})
    _merge(deps, survivor, merged)

    _confirm(deps, order.order_id)

    assert _sent_about(deps, order.order_id) == [
        ("was@example.com", f"Pedido {order.order_id} confirmado")
    ]


def test_through_merge_after_merge_the_first_records_address_is_told(deps: Deps) -> None:
    first = _record(deps, "first@example.com")
    middle = _record(deps, "middle@example.com")
    last = _record(deps, "last@example.com")
    order = flows.place(deps, customer={"customer_id": first})
    _merge(deps, middle, first)
    _merge(deps, last, middle)

    _confirm(deps, order.order_id)

    assert [to for to, _ in _sent_about(deps, order.order_id)] == ["first@example.com"]


def test_an_order_an_attached_identifier_brought_stays_untold_after_a_merge(deps: Deps) -> None:
    merged = _record(deps, "owner@example.com", loyalty_id="LL7")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"loyalty_id": "LL7"})
    assert order.customer_id == merged and order.customer_unvouched
    _merge(deps, survivor, merged)

    _confirm(deps, order.order_id)

    assert _sent_about(deps, order.order_id) == []


def test_nothing_is_told_once_the_survivor_is_erased(deps: Deps) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"customer_id": merged})
    _merge(deps, survivor, merged)
    customer_records.erase_customer(survivor, "ops-client", "ops", deps)

    _confirm(deps, order.order_id)

    assert _sent_about(deps, order.order_id) == []


def test_nothing_is_told_once_someone_proves_the_address_for_a_record_of_their_own(
    deps: Deps,
) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"customer_id": merged})
    _merge(deps, survivor, merged)
    was = Identifier(type=IdentifierType.EMAIL, value="was@example.com")
    split = customers.proven_customer(was, deps)  # a one-time code to the address
    assert split.customer_id not in (survivor, merged)

    _confirm(deps, order.order_id)

    assert _sent_about(deps, order.order_id) == []


def test_a_ticket_a_merge_moved_is_resolved_to_the_address_it_opened_for(deps: Deps) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    ticket_id = _question(deps, merged)
    _merge(deps, survivor, merged)

    (mail,) = _resolve(deps, ticket_id)

    assert mail["to"] == "was@example.com"
    # Greeted by no name: the survivor's is not theirs to learn, and the merged record's
    # is no longer the one the person is known by.
    assert "Owner of" not in mail["parts"]
    assert "Ya está." in mail["parts"]


def test_a_ticket_about_a_merged_records_order_links_its_page(deps: Deps) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    order = flows.place(deps, customer={"customer_id": merged})
    _merge(deps, survivor, merged)
    ticket_id = _question(deps, survivor, order.order_id)  # opened after the merge

    (mail,) = _resolve(deps, ticket_id)

    assert mail["to"] == "was@example.com"
    assert mail["parts"].count(tracking_url(order.order_id, deps)) == 2  # text and button


def test_a_ticket_opened_for_whoever_an_attached_identifier_named_stays_unmailed(
    deps: Deps,
) -> None:
    # Staff found the record by an identifier anyone may have attached: its tickets about
    # no order are written to nobody before the merge, and after it.
    merged = _record(deps, "owner@example.com", loyalty_id="LL8")
    survivor = _record(deps, "now@example.com")
    ticket_id = _question(deps, merged)
    _merge(deps, survivor, merged)

    assert _resolve(deps, ticket_id) == []


def test_a_ticket_a_merge_moved_is_not_mailed_once_the_address_is_proven_elsewhere(
    deps: Deps,
) -> None:
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    ticket_id = _question(deps, merged)
    _merge(deps, survivor, merged)
    customers.proven_customer(Identifier(type=IdentifierType.EMAIL, value="was@example.com"), deps)

    assert _resolve(deps, ticket_id) == []


def test_a_ticket_changed_while_a_merge_moves_it_is_still_the_survivors(deps: Deps) -> None:
    # Probe 153: the resolution read the ticket before the merge moved it and wrote it back
    # after, on the merged record and unmarked: the email went to the survivor's address,
    # greeted by the survivor's name.
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    ticket_id = _question(deps, merged)
    flows.mail_ticket_events(deps)
    read = deps.customers.get_ticket

    def merged_meanwhile(wanted: str) -> object:
        found = read(wanted)
        if deps.customers.profile(merged).get("state") == "active":  # type: ignore[union-attr]
            _merge(deps, survivor, merged)  # between the resolution's read and its write
        return found

    deps.customers.get_ticket = merged_meanwhile  # type: ignore[method-assign]
    tickets.update_ticket(ticket_id, TicketStatus.RESOLVED, "Ya está.", "ops:desk", deps)
    deps.customers.get_ticket = read  # type: ignore[method-assign]

    ticket = tickets.get_ticket(ticket_id, deps)
    assert (ticket.customer_id, ticket.customer_unvouched) == (survivor, True)
    assert ticket.status is TicketStatus.RESOLVED
    (mail,) = _mailed(deps)
    assert mail["to"] == "was@example.com" and "Owner of" not in mail["parts"]


def test_a_ticket_opened_while_its_record_is_merged_follows_it(deps: Deps) -> None:
    # Probe 153: opened on the record as the merge ran, after the merge had moved its
    # tickets: left behind on the merged record for good, its emails went to the survivor's
    # address, and the survivor's 360 did not list it.
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    create = deps.customers.create_ticket

    def merged_meanwhile(ticket: Ticket) -> None:
        _merge(deps, survivor, merged)  # between the opening's reads and its write
        create(ticket)

    deps.customers.create_ticket = merged_meanwhile  # type: ignore[method-assign]
    ticket_id = _question(deps, merged)
    deps.customers.create_ticket = create  # type: ignore[method-assign]

    ticket = tickets.get_ticket(ticket_id, deps)
    assert (ticket.customer_id, ticket.customer_unvouched) == (survivor, True)
    listed, _ = deps.customers.records(survivor, CustomerRecord.TICKETS)
    assert ticket_id in {entry["ticket_id"] for entry in listed}
    opened = _mailed(deps)
    assert [mail["to"] for mail in opened] == ["was@example.com"]
    assert "Owner of" not in opened[0]["parts"]


def test_a_ticket_not_yet_moved_by_its_merge_is_not_written_to_the_survivor(deps: Deps) -> None:
    # Probe 153: between the merge's first write (the record points at the survivor) and
    # its move of the ticket, the ticket's email was worked out for the survivor: its
    # address, its name.
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    ticket_id = _question(deps, merged)
    flows.mail_ticket_events(deps)
    vouched, attached = customers.sorted_by_vouching(merged, deps)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": "2026-12-05"}
    deps.customers.merge_profiles(survivor, merged, vouched + attached, record, vouched)

    (mail,) = _resolve(deps, ticket_id)

    assert tickets.get_ticket(ticket_id, deps).customer_id == merged  # not moved yet
    assert mail["to"] == "was@example.com" and "Owner of" not in mail["parts"]


def test_a_record_merged_into_as_it_is_merged_itself_is_refused_then_merged_whole(
    deps: Deps,
) -> None:
    # Probe 154: C merged into B as B was merged into A left C's address claimed by B, a
    # merged record: missing from A's listing, and C's customer no longer told.
    first, middle, last, ticket_id = _three_records_and_a_question(deps)
    merge_profiles = deps.customers.merge_profiles

    def first_merged_into_middle_meanwhile(
        survivor: str, merged: str, *rest: Any, **named: Any
    ) -> None:
        if merged == middle and survivor == last:
            deps.customers.merge_profiles = merge_profiles  # type: ignore[method-assign]
            _merge(deps, middle, first)
        merge_profiles(survivor, merged, *rest, **named)

    deps.customers.merge_profiles = first_merged_into_middle_meanwhile  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        _merge(deps, last, middle)
    _merge(deps, last, middle)  # asked again, as the 409 says

    first_address = Identifier(type=IdentifierType.EMAIL, value="first@example.com")
    assert deps.customers.find_identifier(first_address) == last
    assert first_address in deps.customers.identifiers(last)
    assert tickets.get_ticket(ticket_id, deps).customer_id == last
    assert [mail["to"] for mail in _resolve(deps, ticket_id)] == ["first@example.com"]


def test_history_landing_on_a_record_merged_meanwhile_moves_on_to_its_survivor(
    deps: Deps,
) -> None:
    # Probe 154: C's ticket, moved onto B after B's own move into A had run, stayed on B.
    first, middle, last, ticket_id = _three_records_and_a_question(deps)
    put_ticket_owner = deps.customers.put_ticket_owner

    def middle_merged_meanwhile(moved: str, owner: str) -> None:
        if owner == middle:
            deps.customers.put_ticket_owner = put_ticket_owner  # type: ignore[method-assign]
            _merge(deps, last, middle)  # its history moved before the ticket lands
        put_ticket_owner(moved, owner)

    deps.customers.put_ticket_owner = middle_merged_meanwhile  # type: ignore[method-assign]
    _merge(deps, middle, first)

    assert tickets.get_ticket(ticket_id, deps).customer_id == last
    listed, _ = deps.customers.records(last, CustomerRecord.TICKETS)
    assert ticket_id in {entry["ticket_id"] for entry in listed}
    assert deps.customers.records(middle, CustomerRecord.TICKETS)[0] == []
    assert [mail["to"] for mail in _resolve(deps, ticket_id)] == ["first@example.com"]


def test_a_ticket_whose_list_entry_the_merge_moved_before_it_was_re_pointed_follows(
    deps: Deps,
) -> None:
    # Probe 154 (1 in 40 openings racing a merge): the merge read the record's tickets
    # before the ticket was written and moved the record's entries after, this one's with
    # them; the opening's carry-over then found no entry left to re-point the ticket by,
    # and the ticket stayed on the merged record.
    merged = _record(deps, "was@example.com")
    survivor = _record(deps, "now@example.com")
    create, move_items = deps.customers.create_ticket, deps.customers.move_items
    written_late: list[Ticket] = []

    def merge_around(ticket: Ticket) -> None:
        written_late.append(ticket)
        _merge(deps, survivor, merged)

    def write_then_move(source: str, target: str, kinds: Any) -> int:
        for ticket in written_late:
            create(ticket)  # after the merge read the tickets, before it moves the entries
        written_late.clear()
        return move_items(source, target, kinds)

    deps.customers.create_ticket = merge_around  # type: ignore[method-assign]
    deps.customers.move_items = write_then_move  # type: ignore[method-assign]
    ticket_id = _question(deps, merged)
    deps.customers.create_ticket, deps.customers.move_items = create, move_items  # type: ignore[method-assign]

    ticket = tickets.get_ticket(ticket_id, deps)
    assert (ticket.customer_id, ticket.customer_unvouched) == (survivor, True)
    listed, _ = deps.customers.records(survivor, CustomerRecord.TICKETS)
    assert ticket_id in {entry["ticket_id"] for entry in listed}
