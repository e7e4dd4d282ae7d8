"""Each customer's running figures and the aggregates kept from them: segment and channel
counters spread over ``ANALYTICS_SHARDS`` partitions and added up on read, the most
valuable customers in the sparse index ``top-customers-by-shard`` on the figures item
(each shard's top page merged), and the sparse index of segment reviews due.

Figures stored before the index kept the customer's place in a ``TOP#`` item of their
shard: still read, and deleted by the first write of the figures in the indexed form."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.customers import AggregateDelta, AnalyticsState, CustomerMetrics
from chalicelib.ports import FiguresChange

if TYPE_CHECKING:
    from datetime import datetime


# The figures item's place in ``keys.TOP_CUSTOMERS_BY_SHARD`` while the customer is counted
# in a segment: their aggregates shard, their rank, and their value (projected).
TOP_SHARD, TOP_RANK, TOP_VALUE = "top_shard", "top_rank", "top_value"


def top_rank(customer_id: str, value: Decimal) -> str:
    """Where a customer sorts among the most valuable of their shard: cents zero-padded,
    then the id (the ``TOP#`` item's sort key, written before the index, without ``TOP#``)."""
    return keys.top_customer(customer_id, value)["sk"].removeprefix(keys.TOP_PREFIX)


def version_condition(version: int) -> tuple[str, dict[str, Any]]:
    """The condition that a versioned item is still at the version read (0: absent)."""
    if version == 0:
        return "attribute_not_exists(pk)", {}
    return "version = :expected", {":expected": version}


class _CountedInTopItem(AnalyticsState):
    """Where a customer was counted, read from figures stored before the top-customers
    index: their place is a ``TOP#`` item, which the next write of the figures deletes."""


def _top_keys(customer_id: str, state: AnalyticsState) -> dict[str, Any]:
    """The keys that list a customer counted in a segment in the top-customers index."""
    if not state.segment:
        return {}
    return {
        TOP_SHARD: keys.analytics_pk(customer_id),
        TOP_RANK: top_rank(customer_id, state.value),
        TOP_VALUE: state.value,
    }


def _review_keys(state: AnalyticsState) -> dict[str, str]:
    """The keys that put a customer's figures in the sparse segment-reviews index until
    their segment is due to be looked at again."""
    if state.review_at is None:
        return {}
    at = state.review_at
    return {"review_day": at.date().isoformat(), "review_at": at.isoformat()}


def figures_writes(table: Table, changes: list[FiguresChange]) -> list[dict[str, Any]]:
    """The writes that store customers' figures (guarded by their versions) and move the
    aggregates by the difference between how they were and are now counted."""
    writes: list[dict[str, Any]] = []
    # One counter update per shard: a transaction may not touch an item twice.
    deltas: dict[str, AggregateDelta] = {}
    for customer_id, metrics, old_state, new_state in changes:
        item = keys.customer_figures(customer_id) | {
            "doc": metrics.model_dump(mode="json", exclude={"version"}),
            "analytics": new_state.model_dump(mode="json"),
            "version": metrics.version + 1,
            **_review_keys(new_state),
            **_top_keys(customer_id, new_state),
        }
        writes.append(table.put(item, *version_condition(metrics.version)))
        deltas.setdefault(keys.analytics_pk(customer_id), AggregateDelta()).add(
            old_state, new_state
        )
        if isinstance(old_state, _CountedInTopItem) and old_state.segment:
            # The index lists the customer from this write on: the item listed them before.
            writes.append(table.delete(keys.top_customer(customer_id, old_state.value)))
    for shard, delta in sorted(deltas.items()):
        counters: dict[str, Any] = dict(delta.segments)
        counters |= {f"{keys.CHANNEL_COUNTER_PREFIX}{k}": v for k, v in delta.channels.items()}
        if counters:
            key = {"pk": shard, "sk": keys.AGGREGATES_SK}
            writes.append(_counters_update(table, key, counters))
    return writes


def _counters_update(table: Table, key: keys.Key, counters: dict[str, Any]) -> dict[str, Any]:
    names = {f"#a{i}": name for i, name in enumerate(counters)}
    values = {f":v{i}": Decimal(str(value)) for i, value in enumerate(counters.values())}
    expression = "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(counters)))
    return table.update(key, expression, values=values, names=names)


class AnalyticsRepository:
    """Customers' figures and the segment and channel aggregates."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def figures(self, customer_id: str) -> tuple[CustomerMetrics, AnalyticsState]:
        """The running figures and where they were last counted, from one read of the
        item that holds both (what a writer of the figures needs)."""
        item = self._table.get(keys.customer_figures(customer_id))
        if item is None:
            return CustomerMetrics(), AnalyticsState()
        metrics = CustomerMetrics.model_validate(item["doc"] | {"version": item["version"]})
        stored_before_index = TOP_RANK not in item and item["analytics"].get("segment")
        state = _CountedInTopItem if stored_before_index else AnalyticsState
        return metrics, state.model_validate(item["analytics"])

    def metrics(self, customer_id: str) -> CustomerMetrics:
        """The customer's running figures (all zero before the first projected order)."""
        return self.figures(customer_id)[0]

    def analytics_state(self, customer_id: str) -> AnalyticsState:
        """Where the customer was last counted in the aggregates."""
        return self.figures(customer_id)[1]

    def save_metrics(self, changes: list[FiguresChange]) -> None:
        """Write several customers' figures and their aggregate deltas atomically."""
        self._table.transact(figures_writes(self._table, changes))

    def segment_reviews_due(self, now: "datetime", days_back: int) -> tuple[list[str], int]:
        """Customers whose segment review is due by ``now``, from the sparse index: one
        query per day over the last ``days_back`` days. Returns them and the pages read."""
        due, pages = self._table.due_by_day(
            keys.SEGMENT_REVIEWS_BY_DAY, "review_day = :day AND review_at <= :now", now, days_back
        )
        return [keys.customer_id_of(str(item["pk"])) for item in due], pages

    def segment_counters(self) -> dict[str, Any]:
        """The segment counters (``count_<segment>``, ``value_<segment>``), every shard
        added up."""
        counters = self._aggregate()
        return {k: v for k, v in counters.items() if not k.startswith(keys.CHANNEL_COUNTER_PREFIX)}

    def channel_counters(self) -> dict[str, Any]:
        """The channel counters, every shard added up."""
        prefix = keys.CHANNEL_COUNTER_PREFIX
        counters = self._aggregate()
        return {k.removeprefix(prefix): v for k, v in counters.items() if k.startswith(prefix)}

    def _aggregate(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for shard in range(keys.ANALYTICS_SHARDS):
            key = {"pk": keys.analytics_shard(shard), "sk": keys.AGGREGATES_SK}
            item = self._table.get(key) or {}
            for name, value in item.items():
                if name not in ("pk", "sk"):
                    total[name] = total.get(name, 0) + value
        return total

    def top_customers(self, limit: int) -> list[dict[str, Any]]:
        """The most valuable customers, most valuable first (``customer_id``, ``value``):
        each shard's top page of the index, and of the ``TOP#`` items of figures stored
        before it, merged. The index is read eventually consistent (a GSI cannot be read
        otherwise): a dashboard list may lag a payment made a moment ago by as long, which
        the next look shows; each customer is listed once either way (the write that puts
        their figures in the index deletes their ``TOP#`` item)."""
        found: list[tuple[str, dict[str, Any]]] = []
        for shard in range(keys.ANALYTICS_SHARDS):
            pk = keys.analytics_shard(shard)
            indexed = self._table.query(
                f"{TOP_SHARD} = :shard",
                {":shard": pk},
                index=keys.TOP_CUSTOMERS_BY_SHARD,
                limit=limit,
                newest_first=True,
            )
            for item in indexed.items:
                entry = {
                    "customer_id": keys.customer_id_of(str(item["pk"])),
                    "value": item[TOP_VALUE],
                }
                found.append((str(item[TOP_RANK]), entry))
            before = self._table.partition(pk, keys.TOP_PREFIX, limit=limit, newest_first=True)
            for item in before.items:
                entry = {"customer_id": item["customer_id"], "value": item["value"]}
                found.append((str(item["sk"]).removeprefix(keys.TOP_PREFIX), entry))
        found.sort(key=lambda ranked: ranked[0], reverse=True)
        return [entry for _, entry in found[:limit]]
