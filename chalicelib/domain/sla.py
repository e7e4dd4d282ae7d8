"""Carrier SLAs: the scorecard of shipments against the promise each was held to. The
promise itself is computed in domain/promises.py, on the regional calendars of both
ends (this module's national-only holiday list is gone: it missed regional holidays and
made false breaches)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.fulfillments import SlaStatus


def _hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    # Linear between the two nearest ranks (the usual definition: the median of an even
    # count is the mean of the middle two).
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    value = ordered[below] + (ordered[above] - ordered[below]) * (position - below)
    return round(value, 2)


def scorecard_row(
    carrier: str, service_level: str, records: list[dict[str, object]], now: datetime
) -> dict[str, object]:
    """One line of the SLA scorecard from shipment records (shipped_at, promised_by,
    delivered_at, sla_status, lost): on time means delivered by the promise, as the
    shipment's own SLA says (``late`` for a delivery the carrier told of only after the
    grace, whatever date it gave); a lost parcel broke its promise and is closed."""
    on_time = late = open_past_due = 0
    hours: list[float] = []
    for record in records:
        delivered = record.get("delivered_at")
        promised = str(record["promised_by"])
        if delivered:
            hours.append(_hours(str(record["shipped_at"]), str(delivered)))
            recorded = record.get("sla_status")
            if recorded in (SlaStatus.MET, SlaStatus.LATE):
                was_late = recorded == SlaStatus.LATE
            else:  # a record written before its status was kept
                was_late = datetime.fromisoformat(str(delivered)) > datetime.fromisoformat(promised)
            late += was_late
            on_time += not was_late
        elif record.get("lost"):
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
