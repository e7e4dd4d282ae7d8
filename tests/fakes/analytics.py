"""In-memory ``Analytics``: each customer's figures with their version, checked then written
all or nothing, and the segment, channel and top-customer counters they move."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.customers import AggregateDelta, AnalyticsState, CustomerMetrics
from chalicelib.domain.errors import ConcurrentModification
from chalicelib.ports import FiguresChange
from tests.fakes.memory import Memory


class FakeAnalytics:
    """``Analytics`` in memory (one set of counters: the shards only spread load)."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def figures(self, customer_id: str) -> tuple[CustomerMetrics, AnalyticsState]:
        item = self._m.figures.get(customer_id)
        if item is None:
            return CustomerMetrics(), AnalyticsState()
        metrics = CustomerMetrics.model_validate(item["doc"] | {"version": item["version"]})
        return metrics, AnalyticsState.model_validate(item["analytics"])

    def metrics(self, customer_id: str) -> CustomerMetrics:
        return self.figures(customer_id)[0]

    def analytics_state(self, customer_id: str) -> AnalyticsState:
        return self.figures(customer_id)[1]

    def save_metrics(self, changes: list[FiguresChange]) -> None:
        self.check_figures(changes)
        self.write_figures(changes)

    def check_figures(self, changes: list[FiguresChange]) -> None:
        """``ConcurrentModification`` if any customer's figures moved since they were read."""
        for customer_id, metrics, _old, _new in changes:
            stored = self._m.figures.get(customer_id, {}).get("version", 0)
            if stored != metrics.version:
                raise ConcurrentModification("the item changed while we worked on it")

    def write_figures(self, changes: list[FiguresChange]) -> None:
        """Store checked figures and move the counters and the top customers."""
        delta = AggregateDelta()
        for customer_id, metrics, old_state, new_state in changes:
            self._m.figures[customer_id] = {
                "doc": metrics.model_dump(mode="json", exclude={"version"}),
                "analytics": new_state.model_dump(mode="json"),
                "version": metrics.version + 1,
            }
            delta.add(old_state, new_state)
            top = self._m.counters.setdefault("TOP", {})
            top.pop(customer_id, None)
            if new_state.segment:
                top[customer_id] = new_state.value
        for name, counters in (("SEGMENTS", delta.segments), ("CHANNELS", delta.channels)):
            total = self._m.counters.setdefault(name, {})
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value

    def segment_reviews_due(self, now: datetime, days_back: int) -> tuple[list[str], int]:
        earliest = now.date().toordinal() - days_back
        due = []
        for customer_id, item in sorted(self._m.figures.items()):
            at = AnalyticsState.model_validate(item["analytics"]).review_at
            if at is not None and at <= now and at.date().toordinal() >= earliest:
                due.append(customer_id)
        return due, days_back + 1

    def segment_counters(self) -> dict[str, Any]:
        return dict(self._m.counters.get("SEGMENTS", {}))

    def channel_counters(self) -> dict[str, Any]:
        return dict(self._m.counters.get("CHANNELS", {}))

    def top_customers(self, limit: int) -> list[dict[str, Any]]:
        top = self._m.counters.get("TOP", {})
        ranked = sorted(
            top.items(), key=lambda kv: (max(0, int(Decimal(kv[1]) * 100)), kv[0]), reverse=True
        )
        return [{"customer_id": cid, "value": value} for cid, value in ranked[:limit]]
