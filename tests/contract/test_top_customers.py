"""The most valuable customers, kept by the writes of their figures: each customer listed
once, at the value last written, while counted in a segment; a write refused moves
nothing. On the fake and on DynamoDB (moto), the same answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.customers import AnalyticsState, CustomerMetrics
from chalicelib.domain.errors import ConcurrentModification
from tests.support.builders import new_id

# Above anything the other tests on a shared table store, so that ours are the top.
TOP = Decimal("900000000")


def _counted(value: Decimal) -> AnalyticsState:
    return AnalyticsState(segment="champions", value=value, mix="online_only")


def _listed(customers: Any, ids: list[str]) -> list[tuple[str, Decimal]]:
    return [
        (entry["customer_id"], Decimal(str(entry["value"])))
        for entry in customers.top_customers(10_000)
        if entry["customer_id"] in ids
    ]


def _save(customers: Any, customer_id: str, state: AnalyticsState) -> None:
    metrics, old = customers.figures(customer_id)
    customers.save_metrics([(customer_id, metrics, old, state)])


def test_a_customer_is_listed_once_at_the_value_last_written(customers: Any) -> None:
    customer_id = new_id("cus")
    _save(customers, customer_id, _counted(Decimal("10.50")))
    _save(customers, customer_id, _counted(Decimal("99.99")))
    _save(customers, customer_id, _counted(Decimal("99.99")))  # the same state again
    assert _listed(customers, [customer_id]) == [(customer_id, Decimal("99.99"))]


def test_a_customer_no_longer_counted_is_unlisted(customers: Any) -> None:
    customer_id = new_id("cus")
    _save(customers, customer_id, _counted(Decimal("20")))
    _save(customers, customer_id, AnalyticsState())
    assert _listed(customers, [customer_id]) == []


def test_a_refused_write_moves_no_one(customers: Any) -> None:
    customer_id = new_id("cus")
    _save(customers, customer_id, _counted(Decimal("30")))
    stale = CustomerMetrics(order_count=1)  # version 0: the figures moved since
    with pytest.raises(ConcurrentModification):
        customers.save_metrics([(customer_id, stale, AnalyticsState(), _counted(Decimal("1")))])
    assert _listed(customers, [customer_id]) == [(customer_id, Decimal("30"))]


def test_the_top_are_the_most_valuable_across_shards_most_valuable_first(
    customers: Any,
) -> None:
    ids = [new_id("cus") for _ in range(12)]
    for rank, customer_id in enumerate(ids):
        _save(customers, customer_id, _counted(TOP + rank))
    top = customers.top_customers(5)
    assert [entry["customer_id"] for entry in top] == ids[::-1][:5]
    assert [Decimal(str(entry["value"])) for entry in top] == [TOP + r for r in (11, 10, 9, 8, 7)]
