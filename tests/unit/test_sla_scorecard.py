"""The carrier scorecard's line from shipment records (``domain/sla.scorecard_row``): the
same "late" the shipment shows the customer, lost parcels closed, and percentiles by the
usual definition. Found by a probe of ``/ops/sla``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.sla import scorecard_row

SHIPPED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROMISED = SHIPPED + timedelta(hours=24)
NOW = SHIPPED + timedelta(days=40)


def _record(delivered_after: float | None = None, **fields: Any) -> dict[str, Any]:
    delivered = None if delivered_after is None else SHIPPED + timedelta(hours=delivered_after)
    return {
        "shipped_at": SHIPPED.isoformat(),
        "promised_by": PROMISED.isoformat(),
        "delivered_at": delivered.isoformat() if delivered else None,
    } | fields


def _row(*records: dict[str, Any]) -> dict[str, Any]:
    return scorecard_row("rapido", "24h", list(records), NOW)


def test_the_scorecard_counts_a_delivery_as_its_shipment_judged_it() -> None:
    """The shipment's status decides, not the times beside it: a carrier that dates a
    delivery before its promise but tells of it only after the grace is ``late`` on the
    shipment (``Shipment.record_delivery``), and so on the scorecard."""
    row = _row(_record(24 - 1 / 3600, sla_status="late"), _record(10, sla_status="met"))
    assert (row["on_time"], row["late"], row["open_past_due"]) == (1, 1, 0)


def test_records_without_a_status_are_judged_by_their_times() -> None:
    row = _row(_record(23), _record(25))
    assert (row["on_time"], row["late"]) == (1, 1)
    # The same instant written with Z or +00:00 compares as an instant, not as text.
    exact = _record(0) | {"delivered_at": PROMISED.isoformat().replace("+00:00", "Z")}
    assert _row(exact)["on_time"] == 1


def test_a_lost_parcel_is_late_and_not_open_past_due() -> None:
    row = _row(_record(lost=True), _record())
    assert (row["late"], row["open_past_due"], row["on_time_pct"]) == (1, 1, 0.0)


@pytest.mark.parametrize(
    ("hours", "p50", "p90"),
    [
        ([10, 20], 15.0, 19.0),
        ([10, 20, 30, 40], 25.0, 37.0),
        ([10, 20, 30, 40, 50, 60], 35.0, 55.0),
        ([7], 7.0, 7.0),
    ],
)
def test_percentiles_go_linearly_between_the_nearest_ranks(
    hours: list[float], p50: float, p90: float
) -> None:
    row = _row(*(_record(h) for h in hours))
    assert (row["p50_hours"], row["p90_hours"]) == (p50, p90)
