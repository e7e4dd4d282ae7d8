"""Carrier SLAs: the scorecard of shipments against the promise each was held to. The
promise itself is computed in domain/promises.py, on the regional calendars of both
ends (this module's national-only holiday list is gone: it missed regional holidays and
made false breaches)."""

from __future__ import annotations

from datetime import datetime


def _hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 2)


def scorecard_row(
    carrier: str, service_level: str, records: list[dict[str, object]], now: datetime
) -> dict[str, object]:
    """One line of the SLA scorecard from shipment records (shipped_at, promised_by,
    delivered_at): on time means delivered by the promise."""
    on_time = late = open_past_due = 0
    hours: list[float] = []
    for record in records:
        delivered = record.get("delivered_at")
        promised = str(record["promised_by"])
        if delivered:
            hours.append(_hours(str(record["shipped_at"]), str(delivered)))
            if str(delivered) <= promised:
                on_time += 1
            else:
                late += 1
        elif datetime.fromisoformat(promised) < now:
            open_past_due += 1
    decided = on_time + late + open_past_due
    return {
        "carrier": carrier,
        "service_level": service_level,
        "shipments": len(records),
        "on_time": on_time,
        "late": late,
        "open_past_due": open_past_due,
        "on_time_pct": round(100 * on_time / decided, 1) if decided else None,
        "p50_hours": _percentile(hours, 0.5),
        "p90_hours": _percentile(hours, 0.9),
    }
