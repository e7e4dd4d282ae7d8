"""Delivery promises: carriers' service levels on Spain's business calendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel

MADRID = ZoneInfo("Europe/Madrid")
# Carriers deliver until the evening of the promised business day.
DELIVERY_DAY_ENDS = time(20, 0)


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=32)
def spanish_national_holidays(year: int) -> frozenset[date]:
    """The national holidays of Spain (regional ones vary and are not counted)."""
    fixed = [(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25)]
    days = {date(year, month, day) for month, day in fixed}
    days.add(easter_sunday(year) - timedelta(days=2))  # Good Friday
    return frozenset(days)


def is_business_day(day: date) -> bool:
    """Monday to Friday and not a national holiday."""
    return day.weekday() < 5 and day not in spanish_national_holidays(day.year)


def next_business_day(day: date) -> date:
    """The first business day after ``day``."""
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


class ServiceLevel(BaseModel):
    """A carrier's promise: delivered within ``sla_hours`` of business time, counting from
    the day the parcel is handed over before the cut-off."""

    carrier: str
    service_level: str
    sla_hours: int
    cutoff: time
    tracking_base_url: str

    def promised_by(self, handed_over: datetime) -> datetime:
        """When the parcel must be delivered, in UTC.

        Handed over on a business day before the cut-off, the clock starts that day;
        otherwise on the next business day. Each 24 hours of SLA is one business day, and
        the promise ends when that day's deliveries end.
        """
        local = handed_over.astimezone(MADRID)
        start = local.date()
        if not is_business_day(start) or local.time() >= self.cutoff:
            start = next_business_day(start)
        day = start
        for _ in range(max(1, -(-self.sla_hours // 24))):
            day = next_business_day(day)
        promised = datetime.combine(day, DELIVERY_DAY_ENDS, tzinfo=MADRID)
        return promised.astimezone(ZoneInfo("UTC"))


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
