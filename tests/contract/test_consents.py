"""The consents a customer accepted with their orders, given with each summary of the
order: listed once per order, by when they were accepted, paged behind a cursor, moved
with the orders by a merge. On the fake and on DynamoDB (moto), the same answers."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentModification
from chalicelib.ports import CustomerRecord
from tests.support.builders import accepted_consent, new_id, order_summary


def _project(customers: Any, customer_id: str, order_id: str, placed: str, accepted: str) -> None:
    """The order projected through three statuses, its consent given with each."""
    for version, status in enumerate(("ACCEPTED", "PAID", "SHIPPED")):
        summary = order_summary(order_id, placed, status)
        customers.project(customer_id, summary, version, accepted_consent(order_id, accepted), None)


def test_a_consent_given_with_every_summary_is_listed_once(customers: Any) -> None:
    customer_id, order_id = new_id("cus"), new_id("ord")
    _project(
        customers, customer_id, order_id, "2026-03-01T10:00:00+00:00", "2026-03-01T09:59:00+00:00"
    )

    consents, cursor = customers.records(customer_id, CustomerRecord.CONSENTS, newest_first=True)

    assert consents == [accepted_consent(order_id, "2026-03-01T09:59:00+00:00")]
    assert cursor is None
    (summary,), _ = customers.records(customer_id, CustomerRecord.ORDERS)
    assert summary["status"] == "SHIPPED"


def test_consents_are_listed_by_when_they_were_accepted_and_paged(customers: Any) -> None:
    customer_id = new_id("cus")
    ids = [new_id("ord") for _ in range(3)]
    # Placed in one order, accepted in another: the consents follow their acceptance.
    _project(
        customers, customer_id, ids[0], "2026-03-01T10:00:00+00:00", "2026-03-03T00:00:00+00:00"
    )
    _project(
        customers, customer_id, ids[1], "2026-03-02T10:00:00+00:00", "2026-03-01T00:00:00+00:00"
    )
    _project(
        customers, customer_id, ids[2], "2026-03-03T10:00:00+00:00", "2026-03-02T00:00:00+00:00"
    )

    oldest_first, _ = customers.records(customer_id, CustomerRecord.CONSENTS)
    assert [c["order_id"] for c in oldest_first] == [ids[1], ids[2], ids[0]]
    first, cursor = customers.records(
        customer_id, CustomerRecord.CONSENTS, limit=2, newest_first=True
    )
    assert [c["order_id"] for c in first] == [ids[0], ids[2]]
    assert cursor is not None
    rest, last_cursor = customers.records(
        customer_id, CustomerRecord.CONSENTS, limit=2, newest_first=True, cursor=cursor
    )
    assert [c["order_id"] for c in rest] == [ids[1]]
    assert last_cursor is None


def test_a_refused_summary_stores_no_consent(customers: Any) -> None:
    customer_id, order_id = new_id("cus"), new_id("ord")
    placed = "2026-03-01T10:00:00+00:00"
    with pytest.raises(ConcurrentModification):
        customers.project(
            customer_id,
            order_summary(order_id, placed, "PAID"),
            3,
            accepted_consent(order_id, placed),
            None,
        )
    assert customers.records(customer_id, CustomerRecord.CONSENTS)[0] == []


def test_consents_move_with_the_orders(customers: Any) -> None:
    merged, survivor, order_id = new_id("cus"), new_id("cus"), new_id("ord")
    _project(customers, merged, order_id, "2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00+00:00")

    customers.move_items(merged, survivor, (CustomerRecord.ORDERS, CustomerRecord.CONSENTS))

    assert customers.records(merged, CustomerRecord.CONSENTS)[0] == []
    moved, _ = customers.records(survivor, CustomerRecord.CONSENTS)
    assert moved == [accepted_consent(order_id, "2026-03-01T10:00:00+00:00")]
