"""The most valuable customers as DynamoDB holds them (moto): the figures item carries its
place in the sparse index ``top-customers-by-shard``, written with the figures (a paid
order's projection is three items, not four); the ``TOP#`` items of figures stored before
are still listed, and deleted by the first write of those figures."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.adapters.dynamodb import analytics, keys
from chalicelib.adapters.dynamodb.store import CustomerStore
from chalicelib.adapters.dynamodb.table import from_item
from chalicelib.domain.customers import (
    AnalyticsState,
    CustomerMetrics,
    analytics_state,
    contribution_of,
)
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.services import customer_projection, customer_records
from tests.support import eventually, order_body
from tests.support.api import place_order
from tests.support.builders import NOW, new_id
from tests.support.moto_probes import recording_client


def _counted(value: str) -> AnalyticsState:
    return AnalyticsState(segment="champions", value=Decimal(value), mix="online_only")


def _listed(deps: Any, customer_id: str) -> list[Decimal]:
    return [
        Decimal(str(entry["value"]))
        for entry in deps.customers.top_customers(100_000)
        if entry["customer_id"] == customer_id
    ]


def _save(store: Any, customer_id: str, state: AnalyticsState) -> None:
    metrics, old = store.figures(customer_id)
    store.save_metrics([(customer_id, metrics, old, state)])


def _stored_before_index(deps: Any, value: str) -> str:
    """A counted customer whose figures were stored before the index: no index keys on the
    figures item, a ``TOP#`` item in their shard (the aggregates counted as usual)."""
    customer_id = new_id("cus")
    _save(deps.customers, customer_id, _counted(value))
    table = deps.customers.table
    table.write(
        table.update(
            keys.customer_figures(customer_id),
            f"REMOVE {analytics.TOP_SHARD}, {analytics.TOP_RANK}, {analytics.TOP_VALUE}",
        )
    )
    top = keys.top_customer(customer_id, Decimal(value))
    table.write(table.put(top | {"customer_id": customer_id, "value": Decimal(value)}))
    return customer_id


def _top_item(deps: Any, customer_id: str, value: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = deps.customers.table.get(
        keys.top_customer(customer_id, Decimal(value))
    )
    return result


def test_a_paid_projection_writes_the_summary_figures_and_counters_only(deps: Any) -> None:
    client, calls = recording_client(deps.settings.region)
    store = CustomerStore(client, deps.settings.table_name)
    customer_id, order_id = new_id("cus"), new_id("ord")
    summary = {"order_id": order_id, "placed_at": NOW.isoformat(), "status": "PAID"}
    figures = (CustomerMetrics(order_count=1, gross=Decimal("45")), AnalyticsState())

    store.project(customer_id, summary, 0, None, (*figures, _counted("45")))

    (name, request), *_ = calls
    assert name == "TransactWriteItems" and len(calls) == 1
    written = []
    for write in request["TransactItems"]:
        ((kind, body),) = write.items()
        key = from_item(body["Item"] if "Item" in body else body["Key"])
        written.append((kind, str(key["pk"]).split("#")[0], str(key["sk"]).split("#")[0]))
    assert written == [
        ("Put", "CUSTOMER", "ORDER"),
        ("Put", "CUSTOMER", "METRICS"),
        ("Update", "ANALYTICS", "AGGREGATES"),
    ]
    stored = deps.customers.table.get(keys.customer_figures(customer_id))
    assert stored[analytics.TOP_SHARD] == keys.analytics_pk(customer_id)
    assert stored[analytics.TOP_RANK] == analytics.top_rank(customer_id, Decimal("45"))
    assert _listed(deps, customer_id) == [Decimal("45")]


def test_figures_stored_before_are_listed_then_moved_to_the_index(deps: Any) -> None:
    customer_id = _stored_before_index(deps, "70")
    assert _listed(deps, customer_id) == [Decimal("70")]

    _save(deps.customers, customer_id, _counted("85.10"))

    assert _top_item(deps, customer_id, "70") is None
    assert _top_item(deps, customer_id, "85.10") is None
    assert _listed(deps, customer_id) == [Decimal("85.10")]


def test_figures_stored_before_written_at_the_same_value_are_listed_once(deps: Any) -> None:
    customer_id = _stored_before_index(deps, "12")

    _save(deps.customers, customer_id, _counted("12"))

    assert _top_item(deps, customer_id, "12") is None
    assert _listed(deps, customer_id) == [Decimal("12")]
    _save(deps.customers, customer_id, _counted("12"))
    assert _listed(deps, customer_id) == [Decimal("12")]


def test_figures_stored_before_and_no_longer_counted_are_unlisted(deps: Any) -> None:
    customer_id = _stored_before_index(deps, "33")

    metrics, old = deps.customers.figures(customer_id)
    zeroed = CustomerMetrics(version=metrics.version)
    deps.customers.save_metrics([(customer_id, zeroed, old, AnalyticsState())])

    assert _top_item(deps, customer_id, "33") is None
    assert _listed(deps, customer_id) == []
    stored = deps.customers.table.get(keys.customer_figures(customer_id))
    assert analytics.TOP_SHARD not in stored and analytics.TOP_RANK not in stored


def _bought(value: str) -> CustomerMetrics:
    return CustomerMetrics().apply(
        None, contribution_of("PAID", "web", Decimal(value), True, Decimal(0), datetime.now(UTC))
    )


def _customer_who_bought(deps: Any, value: str) -> str:
    customer_id = new_id("cus")
    deps.customers.create_customer(customer_id, [], {"name": "Ana"})
    metrics = _bought(value)
    state = analytics_state(metrics, datetime.now(UTC))
    deps.customers.save_metrics([(customer_id, metrics, AnalyticsState(), state)])
    return customer_id


def test_a_merge_lists_the_survivor_once_at_both_values_and_unlists_the_merged(
    deps: Any,
) -> None:
    survivor = _customer_who_bought(deps, "40")
    merged = _customer_who_bought(deps, "25.50")
    # The merged record's figures as stored before the index: its TOP# item goes too.
    table = deps.customers.table
    table.write(
        table.update(
            keys.customer_figures(merged),
            f"REMOVE {analytics.TOP_SHARD}, {analytics.TOP_RANK}, {analytics.TOP_VALUE}",
        )
    )
    top = keys.top_customer(merged, Decimal("25.50"))
    table.write(table.put(top | {"customer_id": merged, "value": Decimal("25.50")}))

    customer_records.merge_customers(survivor, merged, "ops", "ops", deps)

    assert _listed(deps, survivor) == [Decimal("65.50")]
    assert _listed(deps, merged) == []
    assert _top_item(deps, merged, "25.50") is None


def test_redelivered_and_reordered_events_keep_the_customer_listed_once_at_the_paid_value(
    client: Any, deps: Any, stack: Any
) -> None:
    placed = place_order(client, order_body(customer={"email": f"t-{uuid.uuid4().hex}@ex.com"}))
    customer_id = placed["customer_id"]
    eventually(
        lambda: deps.store.get_order(placed["order_id"]).status.value == "SHIPPED", timeout=60
    )
    stack.lambdas.drain()
    order = deps.store.get_order(placed["order_id"])
    # Every status the order went through, delivered again newest first, twice each, at once.
    events = [OrderStatusChanged.of(order, entry).message() for entry in order.history][::-1]
    start = threading.Barrier(len(events) * 2)

    def deliver(event: dict[str, Any]) -> None:
        start.wait()
        customer_projection.project_order_event(event, deps)

    threads = [threading.Thread(target=deliver, args=(e,)) for e in events + events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = Decimal(str(placed["total"]["amount"]))
    assert _listed(deps, customer_id) == [total]
    assert deps.customers.metrics(customer_id).lifetime_value == total
    assert deps.customers.metrics(customer_id).order_count == 1
