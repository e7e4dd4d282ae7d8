"""The most valuable customers as DynamoDB holds them (moto): the figures item carries its
place in the sparse index ``top-customers-by-shard``, written with the figures (a paid
order's projection is three items, not four); the ``TOP#`` items of figures stored before
are still listed, and deleted by the first write of those figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3

from chalicelib.adapters.dynamodb import analytics, keys
from chalicelib.adapters.dynamodb.store import CustomerStore
from chalicelib.adapters.dynamodb.table import from_item
from chalicelib.domain.customers import AnalyticsState, CustomerMetrics
from tests.support.builders import NOW, new_id


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
    client = boto3.client("dynamodb", region_name=deps.settings.region)
    calls: list[tuple[str, dict[str, Any]]] = []
    client.meta.events.register(
        "before-parameter-build.dynamodb",
        lambda model, params, **_: calls.append((model.name, params)),
    )
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
