"""Business days on a Spanish region's own calendar.

A business day is Monday to Friday and not a holiday of the region: Spain's national
holidays plus the autonomous community's own (Holy Thursday in most regions, Easter
Monday in Catalonia and Valencia, 2 May in Madrid, 11 September in Catalonia, 9 October
in Valencia, 30 May in the Canary Islands...). The days come from the ``holidays``
package, whose data ships inside it: nothing is downloaded. Each region's year is built
once per process and cached.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

WEEKDAYS = frozenset(range(5))  # Monday to Friday
# Spain's national holidays alone, for days counted where no region's calendar is kept.
NATIONAL = None


@lru_cache(maxsize=512)
def holidays_of(region: str | None, year: int) -> frozenset[date]:
    """The holidays of a region (a ``holidays.Spain`` subdivision code such as ``MD``) in
    one year, national ones included; ``NATIONAL``: the national ones alone."""
    # Imported here: only the functions that promise dates need the calendars (cold start).
    from holidays.countries.spain import Spain

    return frozenset(Spain(subdiv=region, years=year).keys())


def is_holiday(day: date, region: str | None) -> bool:
    """Whether ``day`` is a national or regional holiday in ``region``."""
    return day in holidays_of(region, day.year)


def is_business_day(day: date, region: str | None, weekdays: frozenset[int] = WEEKDAYS) -> bool:
    """Whether ``day`` is one of ``weekdays`` (Monday is 0) and no holiday in ``region``."""
    return day.weekday() in weekdays and not is_holiday(day, region)


def next_business_day(day: date, region: str, weekdays: frozenset[int] = WEEKDAYS) -> date:
    """The first business day after ``day``."""
    if not weekdays:
        raise ValueError("a calendar needs at least one working weekday")
    day += timedelta(days=1)
    while not is_business_day(day, region, weekdays):
        day += timedelta(days=1)
    return day


def business_day_on_or_after(day: date, region: str, weekdays: frozenset[int] = WEEKDAYS) -> date:
    """``day`` itself when it is a business day, else the next one."""
    if is_business_day(day, region, weekdays):
        return day
    return next_business_day(day, region, weekdays)


def add_business_days(day: date, count: int, region: str) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself when ``count`` is 0)."""
    if count < 0:
        raise ValueError("count must not be negative")
    for _ in range(count):
        day = next_business_day(day, region)
    return day
