"""The customer 360 projection fed by the real order events on SNS: it follows an order
through its lifecycle, counts an event delivered twice once and rewrites the figures only
when an order's contribution to them changes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.keys import AGGREGATES_SK, analytics_pk
from chalicelib.domain.customers import (
    AnalyticsState,
    CustomerMetrics,
    analytics_state,
    contribution_of,
)
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.ports import CustomerRecord
from chalicelib.services import customer_projection
from tests.support import eventually, order_body
from tests.support.api import customer_360, place_order
from tests.support.flow import table_of_its_own


def test_the_view_follows_the_order_to_shipped(client: Any) -> None:
    placed = place_order(client, order_body(customer={"email": f"p-{uuid.uuid4().hex}@ex.com"}))

    def shipped() -> dict[str, Any] | None:
        view = customer_360(client, placed["customer_id"])
        statuses = [o["status"] for o in view["orders"]]
        return view if statuses == ["SHIPPED"] else None

    view = eventually(shipped)

    assert view["metrics"]["order_count"] == 1
    assert view["metrics"]["lifetime_value"] == placed["total"]


def test_only_a_change_of_contribution_rewrites_the_figures(
    client: Any, deps: Any, stack: Any
) -> None:
    placed = place_order(client, order_body(customer={"email": f"w-{uuid.uuid4().hex}@ex.com"}))
    customer_id = placed["customer_id"]
    eventually(
        lambda: [o["status"] for o in customer_360(client, customer_id)["orders"]] == ["SHIPPED"]
    )
    stack.lambdas.drain()

    # ACCEPTED, PAID, RESERVED and SHIPPED were each projected onto the summary, but only
    # the payment changed what the order adds to the figures: they were written once.
    assert deps.customers.metrics(customer_id).version == 1
    summary_items = deps.customers.records(customer_id, CustomerRecord.ORDERS)[0]
    assert [item["status"] for item in summary_items] == ["SHIPPED"]


def test_an_event_delivered_twice_counts_once(client: Any, deps: Any, stack: Any) -> None:
    placed = place_order(client, order_body(customer={"email": f"d-{uuid.uuid4().hex}@ex.com"}))
    customer_id = placed["customer_id"]
    eventually(lambda: customer_360(client, customer_id)["metrics"]["order_count"] == 1)
    # The projection follows the order's current state: let the order come to rest (parked
    # on its delivery) and every event of it be projected, so only the redelivery is new.
    eventually(
        lambda: deps.store.get_order(placed["order_id"]).status.value == "SHIPPED", timeout=60
    )
    stack.lambdas.drain()
    before = customer_360(client, customer_id)
    order = deps.store.get_order(placed["order_id"])
    paid = next(entry for entry in order.history if entry.status.value == "PAID")
    event = OrderStatusChanged.of(order, paid).message()
    deliveries = stack.lambdas.invocations.get("on_order_event", 0)

    deps.events.publish(event)  # SNS redelivers the PAID event
    stack.lambdas.drain()

    assert stack.lambdas.invocations["on_order_event"] > deliveries
    assert customer_projection.project_order_event(event, deps) is False
    after = customer_360(client, customer_id)
    assert after["metrics"] == before["metrics"]
    assert [o["order_id"] for o in after["orders"]] == [placed["order_id"]]


def test_segments_age_without_orders_through_the_scheduled_review(
    client: Any, deps: Any, stack: Any
) -> None:
    placed = place_order(client, order_body(customer={"email": f"r-{uuid.uuid4().hex}@ex.com"}))
    customer_id = placed["customer_id"]
    eventually(lambda: customer_360(client, customer_id)["metrics"]["order_count"] == 1)
    stack.lambdas.drain()
    state = deps.customers.analytics_state(customer_id)
    assert state.segment == "new"
    first_review = state.review_at
    assert first_review is not None

    def review_at(when: datetime) -> dict[str, int]:
        return customer_projection.review_segments(replace(deps, clock=lambda: when))

    # A month on: the recency score drops from 5 to 4, still "new"; the next review is set.
    review_at(first_review + timedelta(minutes=1))
    state = deps.customers.analytics_state(customer_id)
    assert state.segment == "new"
    assert state.review_at is not None and state.review_at > first_review

    # Three months on, with no order since: "promising", counted there in the aggregates.
    before = deps.customers.segment_counters()
    three_months_on = state.review_at + timedelta(minutes=1)
    outcome = review_at(three_months_on)
    after = deps.customers.segment_counters()
    state = deps.customers.analytics_state(customer_id)
    assert state.segment == "promising"
    assert outcome["segments_changed"] >= 1
    assert after.get("count_promising", 0) - before.get("count_promising", 0) >= 1

    # Running the same review again changes nothing for this customer.
    version = deps.customers.metrics(customer_id).version
    review_at(three_months_on)
    assert deps.customers.metrics(customer_id).version == version
    assert deps.customers.analytics_state(customer_id).segment == "promising"


def _ids_in_shards(same: bool) -> tuple[str, str]:
    first = f"cus_shard_{uuid.uuid4().hex}"
    while True:
        other = f"cus_shard_{uuid.uuid4().hex}"
        if (analytics_pk(other) == analytics_pk(first)) == same:
            return first, other


@pytest.mark.parametrize("same_shard", [True, False], ids=["same shard", "two shards"])
def test_aggregate_counters_are_sharded_and_add_up(deps: Any, same_shard: bool) -> None:
    # On a table of its own: the shared table's aggregates also count every other test's
    # customers, projected in the background, so a delta read there is not this test's.
    customers = type(deps.customers)(deps.customers.table.client, table_of_its_own(deps))
    one, two = _ids_in_shards(same_shard)
    bought = CustomerMetrics().apply(
        None,
        contribution_of("PAID", "web", Decimal("80.00"), True, Decimal(0), datetime.now(UTC)),
    )
    now = datetime.now(UTC)

    # Both customers in one transaction, as a merge writes them.
    customers.save_metrics(
        [
            (one, bought, AnalyticsState(), analytics_state(bought, now)),
            (two, bought, AnalyticsState(), analytics_state(bought, now)),
        ]
    )

    after = customers.segment_counters()
    assert after["count_new"] == 2
    assert after["value_new"] == Decimal("160.00")
    shard_items = {
        pk: customers.table.get({"pk": pk, "sk": AGGREGATES_SK})
        for pk in {analytics_pk(one), analytics_pk(two)}
    }
    assert all(shard_items.values())
    top = {item["customer_id"] for item in customers.top_customers(10_000)}
    assert top == {one, two}
