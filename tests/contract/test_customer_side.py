"""The customer side of the table: identities, the 360 records, figures and aggregates,
tickets. Each test runs on the fake and on DynamoDB (moto) and expects the same."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.customers import (
    UNVOUCHED,
    AnalyticsState,
    CustomerMetrics,
    Identifier,
    IdentifierType,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict, InvalidCursor
from chalicelib.domain.tickets import Ticket, TicketType
from chalicelib.ports import CustomerRecord
from tests.support.builders import NOW, new_id


def _email() -> Identifier:
    return Identifier(type=IdentifierType.EMAIL, value=f"{new_id('e')}@example.com")


def _customer(customers: Any, *identifiers: Identifier) -> str:
    customer_id = new_id("cus")
    customers.create_customer(customer_id, list(identifiers), {"name": "Ana", "locale": "es"})
    return customer_id


# Identities ---------------------------------------------------------------------------------
def test_a_customer_owns_the_identifiers_it_was_created_with(customers: Any) -> None:
    email = _email()
    customer_id = _customer(customers, email)
    assert customers.find_identifier(email) == customer_id
    assert customers.identifiers(customer_id) == [email]
    assert customers.customer_exists(customer_id)
    profile = customers.profile(customer_id)
    assert profile is not None
    assert (profile["name"], profile["state"]) == ("Ana", "active")


def test_a_taken_identifier_refuses_the_whole_new_customer(customers: Any) -> None:
    email = _email()
    owner = _customer(customers, email)
    latecomer = new_id("cus")
    with pytest.raises(Conflict):
        customers.create_customer(latecomer, [_email(), email], {"name": "Eva"})
    assert not customers.customer_exists(latecomer)
    assert customers.identifiers(latecomer) == []
    assert customers.find_identifier(email) == owner


def test_an_identifier_is_claimed_by_one_customer_only(customers: Any) -> None:
    email = _email()
    first, second = _customer(customers), _customer(customers)
    assert customers.claim_identifier(first, email)
    assert not customers.claim_identifier(second, email)
    assert customers.identifiers(second) == []


def test_forgetting_an_identifier_is_safe_to_repeat_and_spares_a_new_owner(customers: Any) -> None:
    email = _email()
    first = _customer(customers, email)
    customers.forget_identifier(first, email)
    customers.forget_identifier(first, email)
    assert customers.find_identifier(email) is None
    second = _customer(customers, email)
    customers.forget_identifier(first, email)
    assert customers.find_identifier(email) == second


def test_a_merge_moves_identifiers_and_happens_once(customers: Any) -> None:
    email = _email()
    survivor, merged = _customer(customers), _customer(customers, email)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    customers.merge_profiles(survivor, merged, [email], record)
    assert customers.find_identifier(email) == survivor
    assert customers.identifiers(merged) == []
    assert customers.merged_into(survivor) == [merged]
    profile = customers.profile(merged)
    assert profile is not None
    assert (profile["state"], profile["merged_into"]) == ("merged", survivor)
    with pytest.raises(Conflict):
        customers.merge_profiles(survivor, merged, [], record)


def test_an_erasure_begins_once_and_releases_identifiers(customers: Any) -> None:
    email = _email()
    customer_id = _customer(customers, email)
    record = {"at": NOW.isoformat(), "status": "in_progress", "pending_addresses": ["a@b.c"]}
    customers.begin_erasure(customer_id, [email], record)
    profile = customers.profile(customer_id)
    assert profile is not None
    assert profile["state"] == "erased"
    assert "name" not in profile
    assert customers.find_identifier(email) is None
    with pytest.raises(ConcurrentModification):
        customers.begin_erasure(customer_id, [], record)
    done = customers.finish_erasure(customer_id, NOW.isoformat())
    assert done["status"] == "completed"
    assert "pending_addresses" not in done


def test_an_erasure_in_progress_keeps_the_addresses_found_late_until_it_completes(
    customers: Any,
) -> None:
    customer_id = _customer(customers, _email())
    record = {"at": NOW.isoformat(), "status": "in_progress", "pending_addresses": ["a@b.c"]}
    customers.begin_erasure(customer_id, [], record)

    assert customers.keep_erasure_addresses(customer_id, ["d@e.f"])
    assert customers.keep_erasure_addresses(customer_id, ["g@h.i", "d@e.f"])
    assert customers.keep_erasure_addresses(customer_id, [])

    kept = customers.erasure(customer_id)
    assert kept["pending_addresses"] == ["a@b.c"]
    assert set(kept["pending_late_addresses"]) == {"d@e.f", "g@h.i"}
    done = customers.finish_erasure(customer_id, NOW.isoformat())
    assert "pending_late_addresses" not in done
    # A completed erasure keeps no address: nothing is written.
    assert not customers.keep_erasure_addresses(customer_id, ["j@k.l"])
    assert "pending_late_addresses" not in customers.erasure(customer_id)
    assert not customers.keep_erasure_addresses(_customer(customers, _email()), ["m@n.o"])


# The 360 records ---------------------------------------------------------------------------
def _summary(order_id: str, placed_at: str, status: str = "ACCEPTED") -> dict[str, Any]:
    return {"order_id": order_id, "placed_at": placed_at, "status": status, "channel": "web"}


def test_a_summary_is_written_over_the_version_it_was_read_at(customers: Any) -> None:
    customer_id, order_id, at = new_id("cus"), new_id("ord"), NOW.isoformat()
    customers.project(customer_id, _summary(order_id, at), 0, None, None)
    first = customers.order_summary(customer_id, at, order_id)
    assert first is not None
    assert (first["status"], first["version"]) == ("ACCEPTED", 1)
    customers.project(customer_id, _summary(order_id, at, "PAID"), 1, None, None)
    with pytest.raises(ConcurrentModification):
        customers.project(customer_id, _summary(order_id, at, "LATE"), 1, None, None)
    with pytest.raises(ConcurrentModification):
        customers.project(customer_id, _summary(order_id, at, "NEW"), 0, None, None)
    latest = customers.order_summary(customer_id, at, order_id)
    assert latest is not None
    assert (latest["status"], latest["version"]) == ("PAID", 2)


def test_a_projection_with_stale_figures_writes_no_summary(customers: Any) -> None:
    customer_id, order_id, at = new_id("cus"), new_id("ord"), NOW.isoformat()
    stale = CustomerMetrics(version=3)
    with pytest.raises(ConcurrentModification):
        customers.project(
            customer_id,
            _summary(order_id, at),
            0,
            None,
            (stale, AnalyticsState(), AnalyticsState()),
        )
    assert customers.order_summary(customer_id, at, order_id) is None


def test_records_page_newest_first_behind_a_cursor(customers: Any) -> None:
    customer_id = new_id("cus")
    ids = [new_id("ord") for _ in range(5)]
    for minutes, order_id in enumerate(ids):
        at = (NOW + timedelta(minutes=minutes)).isoformat()
        customers.project(customer_id, _summary(order_id, at), 0, None, None)
    first, cursor = customers.records(customer_id, CustomerRecord.ORDERS, 2, True)
    assert [r["order_id"] for r in first] == [ids[4], ids[3]]
    assert cursor is not None
    rest, end = customers.records(customer_id, CustomerRecord.ORDERS, 10, True, cursor)
    assert [r["order_id"] for r in rest] == [ids[2], ids[1], ids[0]]
    assert end is None
    everything, _ = customers.records(customer_id, CustomerRecord.ORDERS)
    assert [r["order_id"] for r in everything] == ids


def test_a_cursor_of_another_customer_or_made_up_names_no_page(customers: Any) -> None:
    customer_id, other = new_id("cus"), new_id("cus")
    for minutes in range(3):
        at = (NOW + timedelta(minutes=minutes)).isoformat()
        customers.project(other, _summary(new_id("ord"), at), 0, None, None)
    _, cursor = customers.records(other, CustomerRecord.ORDERS, 1)
    assert cursor is not None
    with pytest.raises(InvalidCursor):
        customers.records(customer_id, CustomerRecord.ORDERS, 1, False, cursor)
    with pytest.raises(InvalidCursor):
        customers.records(customer_id, CustomerRecord.ORDERS, 1, False, "not-a-cursor!")


def test_a_cursor_of_another_of_the_customers_lists_names_no_page(customers: Any) -> None:
    # On DynamoDB a query cannot start from a key outside its own list (a 500 before).
    customer_id = new_id("cus")
    for minutes in range(2):
        at = (NOW + timedelta(minutes=minutes)).isoformat()
        customers.project(customer_id, _summary(new_id("ord"), at), 0, None, None)
        interaction = {"interaction_id": new_id("int"), "at": at, "summary": "call"}
        customers.add_interaction(customer_id, interaction)
    _, interactions_cursor = customers.records(customer_id, CustomerRecord.INTERACTIONS, 1)
    _, orders_cursor = customers.records(customer_id, CustomerRecord.ORDERS, 1)
    assert interactions_cursor is not None and orders_cursor is not None
    with pytest.raises(InvalidCursor):
        customers.records(customer_id, CustomerRecord.ORDERS, 1, False, interactions_cursor)
    with pytest.raises(InvalidCursor):
        customers.records(customer_id, CustomerRecord.INTERACTIONS, 1, False, orders_cursor)
    # Each list's own cursor still goes on.
    rest, _ = customers.records(customer_id, CustomerRecord.ORDERS, 1, False, orders_cursor)
    assert len(rest) == 1


def test_an_interaction_recorded_twice_is_one(customers: Any) -> None:
    customer_id = new_id("cus")
    interaction = {"interaction_id": new_id("int"), "at": NOW.isoformat(), "summary": "call"}
    customers.add_interaction(customer_id, interaction)
    customers.add_interaction(customer_id, interaction)
    found, _ = customers.records(customer_id, CustomerRecord.INTERACTIONS)
    assert found == [interaction]


def test_an_interaction_recorded_once_is_a_claim_that_can_be_given_back(customers: Any) -> None:
    customer_id = new_id("cus")
    email = {"interaction_id": new_id("email"), "at": NOW.isoformat(), "summary": "sent"}
    assert not customers.has_interaction(customer_id, email)
    assert customers.add_interaction_once(customer_id, email)
    assert not customers.add_interaction_once(customer_id, email | {"summary": "again"})
    assert customers.has_interaction(customer_id, email)
    assert customers.records(customer_id, CustomerRecord.INTERACTIONS)[0] == [email]
    customers.remove_interaction(customer_id, email)
    customers.remove_interaction(customer_id, email)
    assert not customers.has_interaction(customer_id, email)
    assert customers.add_interaction_once(customer_id, email)
    # Another moment is another interaction.
    later = email | {"at": (NOW + timedelta(seconds=1)).isoformat()}
    assert customers.add_interaction_once(customer_id, later)


def test_rewriting_records_changes_only_what_the_rewrite_changes(customers: Any) -> None:
    customer_id = new_id("cus")
    keep = {"interaction_id": new_id("int"), "at": NOW.isoformat(), "summary": "keep"}
    drop = {"interaction_id": new_id("int"), "at": NOW.isoformat(), "summary": "drop"}
    for interaction in (keep, drop):
        customers.add_interaction(customer_id, interaction)

    def rewrite(item: dict[str, Any]) -> dict[str, Any] | None:
        return None if item["summary"] == "drop" else item

    assert customers.rewrite_items(customer_id, CustomerRecord.INTERACTIONS, rewrite) == 1
    found, _ = customers.records(customer_id, CustomerRecord.INTERACTIONS)
    assert found == [keep]


def test_moving_records_leaves_nothing_behind(customers: Any) -> None:
    source, target = new_id("cus"), new_id("cus")
    interaction = {"interaction_id": new_id("int"), "at": NOW.isoformat(), "summary": "x"}
    customers.add_interaction(source, interaction)
    customers.project(source, _summary(new_id("ord"), NOW.isoformat()), 0, None, None)
    kinds = (CustomerRecord.INTERACTIONS, CustomerRecord.ORDERS)
    assert customers.move_items(source, target, kinds) == 2
    assert customers.records(source, CustomerRecord.INTERACTIONS)[0] == []
    # Marked as brought by a merge: the survivor's token does not open them.
    assert customers.records(target, CustomerRecord.INTERACTIONS)[0] == [
        interaction | {UNVOUCHED: True}
    ]
    (summary,), _ = customers.records(target, CustomerRecord.ORDERS)
    assert summary[UNVOUCHED] is True


def test_merge_candidates_are_recorded_and_dropped_on_both_records(customers: Any) -> None:
    one, two = new_id("cus"), new_id("cus")
    customers.record_merge_candidate([one, two], {"order_id": "ord_x"})
    (seen,), _ = customers.records(one, CustomerRecord.CANDIDATES)
    assert (seen["customer_id"], seen["order_id"]) == (two, "ord_x")
    assert customers.drop_merge_candidates(one) == 1
    assert customers.records(two, CustomerRecord.CANDIDATES)[0] == []


# Figures and aggregates --------------------------------------------------------------------
def _counted(value: str) -> AnalyticsState:
    return AnalyticsState(segment="new", value=Decimal(value), mix="online_only")


def test_figures_are_saved_over_the_version_read_and_move_the_aggregates(customers: Any) -> None:
    customer_id = new_id("cus")
    before = customers.segment_counters()
    channels_before = customers.channel_counters()
    metrics = CustomerMetrics(order_count=1, gross=Decimal("80.00"))
    customers.save_metrics([(customer_id, metrics, AnalyticsState(), _counted("80.00"))])
    saved, state = customers.figures(customer_id)
    assert (saved.order_count, saved.version, state.segment) == (1, 1, "new")
    after = customers.segment_counters()
    assert after["count_new"] - before.get("count_new", 0) == 1
    assert after["value_new"] - before.get("value_new", 0) == Decimal("80.00")
    channels = customers.channel_counters()
    assert channels["online_only"] - channels_before.get("online_only", 0) == 1
    # Each reader sees its own counters only.
    assert "online_only" not in after
    assert not any(name.startswith(("count_", "value_")) for name in channels)
    assert {"customer_id": customer_id, "value": Decimal("80")} in [
        {"customer_id": t["customer_id"], "value": Decimal(str(t["value"]))}
        for t in customers.top_customers(10_000)
    ]
    with pytest.raises(ConcurrentModification):
        customers.save_metrics([(customer_id, metrics, AnalyticsState(), _counted("1"))])
    assert customers.segment_counters() == after


def test_a_segment_review_is_due_once_its_time_came(customers: Any) -> None:
    customer_id = new_id("cus")
    state = _counted("10").model_copy(update={"review_at": NOW + timedelta(hours=1)})
    customers.save_metrics([(customer_id, CustomerMetrics(order_count=1), AnalyticsState(), state)])
    early, _ = customers.segment_reviews_due(NOW, 2)
    late, _ = customers.segment_reviews_due(NOW + timedelta(hours=2), 2)
    assert customer_id not in early
    assert customer_id in late


# Tickets ------------------------------------------------------------------------------------
def _ticket(customer_id: str) -> Ticket:
    return Ticket(
        ticket_id=new_id("tkt"),
        customer_id=customer_id,
        type=TicketType(next(iter(TicketType)).value),
        subject="Where is my parcel?",
        description="It has not come.",
        channel="email",
        opened_at=NOW,
    )


def test_a_ticket_reads_back_and_is_listed_with_its_customer(customers: Any) -> None:
    customer_id = new_id("cus")
    ticket = _ticket(customer_id)
    customers.create_ticket(ticket)
    assert customers.get_ticket(ticket.ticket_id) == ticket
    (entry,), _ = customers.records(customer_id, CustomerRecord.TICKETS)
    assert (entry["ticket_id"], entry["subject"]) == (ticket.ticket_id, ticket.subject)
    assert customers.get_ticket(new_id("tkt")) is None


def test_a_ticket_id_is_taken_once_and_saved_over_the_version_read(customers: Any) -> None:
    ticket = _ticket(new_id("cus"))
    customers.create_ticket(ticket)
    with pytest.raises(ConcurrentModification):
        customers.create_ticket(ticket.model_copy(update={"version": 0}))
    first = customers.get_ticket(ticket.ticket_id)
    second = customers.get_ticket(ticket.ticket_id)
    first.subject = "First"
    customers.save_ticket(first)
    second.subject = "Second"
    with pytest.raises(ConcurrentModification):
        customers.save_ticket(second)
    assert customers.get_ticket(ticket.ticket_id).subject == "First"


def test_a_ticket_follows_its_customer_after_a_merge(customers: Any) -> None:
    ticket = _ticket(new_id("cus"))
    customers.create_ticket(ticket)
    survivor = new_id("cus")
    read_before = customers.get_ticket(ticket.ticket_id)
    customers.put_ticket_owner(ticket.ticket_id, survivor)
    moved = customers.get_ticket(ticket.ticket_id)
    assert moved.customer_id == survivor
    assert moved.customer_unvouched  # brought by a merge: the survivor's token leaves it out
    # A change read before the move is not written back over it (probe 153).
    read_before.subject = "Changed"
    with pytest.raises(ConcurrentModification):
        customers.save_ticket(read_before)
    moved.subject = "Changed"
    customers.save_ticket(moved)
    assert customers.get_ticket(ticket.ticket_id).customer_id == survivor


def test_an_interaction_a_request_asked_for_is_recorded_once_per_request(customers: Any) -> None:
    # The request run again (its first run died before its answer was stored) is given
    # what the first run recorded, not a second interaction at its own moment.
    customer_id = new_id("cus")
    once = f"interactions-store\n{new_id('key')}"
    until = int(NOW.timestamp()) + 3600
    first = {"interaction_id": new_id("int"), "at": NOW.isoformat(), "summary": "call"}
    later = (NOW + timedelta(seconds=30)).isoformat()
    again = first | {"at": later, "summary": "call again"}

    assert customers.add_requested_interaction(customer_id, first, once, until) == first
    assert customers.add_requested_interaction(customer_id, again, once, until) == first
    other = again | {"interaction_id": new_id("int")}
    assert customers.add_requested_interaction(customer_id, other, once + "2", until) == other

    found, _ = customers.records(customer_id, CustomerRecord.INTERACTIONS)
    assert found == [first, other]
