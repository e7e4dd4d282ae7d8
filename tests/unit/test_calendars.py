"""Business days on each region's own calendar, from the ``holidays`` package."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.calendars import (
    add_business_days,
    business_day_on_or_after,
    holidays_of,
    is_business_day,
    is_holiday,
    next_business_day,
)


@pytest.mark.parametrize(
    ("day", "region", "holiday"),
    [
        (date(2027, 3, 25), "MD", True),  # Holy Thursday
        (date(2027, 3, 25), "CT", False),
        (date(2027, 3, 29), "CT", True),  # Easter Monday
        (date(2027, 3, 29), "VC", True),
        (date(2027, 3, 29), "MD", False),
        (date(2025, 5, 2), "MD", True),  # Fiesta de la Comunidad de Madrid
        (date(2025, 5, 2), "CT", False),
        (date(2026, 9, 11), "CT", True),  # Diada
        (date(2026, 9, 11), "MD", False),
        (date(2026, 10, 9), "VC", True),  # Día de la Comunitat Valenciana
        (date(2026, 10, 9), "CT", False),
        (date(2025, 5, 30), "CN", True),  # Día de Canarias
        (date(2025, 5, 30), "MD", False),
        (date(2027, 12, 6), "GA", True),  # Constitution Day, national
        (date(2027, 12, 8), "AN", True),  # Immaculate Conception, national
        (date(2027, 10, 12), "CE", True),  # National Day
    ],
)
def test_holidays_follow_the_region(day: date, region: str, holiday: bool) -> None:
    assert is_holiday(day, region) is holiday
    assert is_business_day(day, region) is not holiday  # all of them are weekdays


def test_weekends_are_not_business_days() -> None:
    saturday, sunday = date(2027, 3, 20), date(2027, 3, 21)

    assert not is_business_day(saturday, "MD") and not is_business_day(sunday, "MD")
    assert is_business_day(saturday, "MD", frozenset(range(6)))
    assert not is_business_day(sunday, "MD", frozenset(range(6)))


def test_a_region_year_is_built_once() -> None:
    assert holidays_of("VC", 2031) is holidays_of("VC", 2031)


def test_easter_week_in_madrid_and_in_barcelona() -> None:
    wednesday = date(2027, 3, 24)

    # Madrid rests Holy Thursday and Good Friday; Barcelona Good Friday and Easter Monday.
    assert next_business_day(wednesday, "MD") == date(2027, 3, 29)
    assert next_business_day(wednesday, "CT") == date(2027, 3, 25)
    assert add_business_days(wednesday, 2, "CT") == date(2027, 3, 30)
    assert add_business_days(wednesday, 2, "MD") == date(2027, 3, 30)


def test_adding_no_business_days_keeps_the_day_and_negative_is_refused() -> None:
    sunday = date(2027, 3, 21)

    assert add_business_days(sunday, 0, "MD") == sunday
    assert business_day_on_or_after(sunday, "MD") == date(2027, 3, 22)
    assert business_day_on_or_after(date(2027, 3, 22), "MD") == date(2027, 3, 22)
    with pytest.raises(ValueError):
        add_business_days(sunday, -1, "MD")


def test_a_calendar_without_working_weekdays_is_refused() -> None:
    with pytest.raises(ValueError):
        next_business_day(date(2027, 3, 22), "MD", frozenset())


def test_the_year_boundary_uses_the_next_years_calendar() -> None:
    # 31 December 2027 is a Friday; 1 January 2028 a Saturday; 3 January a Monday.
    assert next_business_day(date(2027, 12, 31), "MD") == date(2028, 1, 3)
    # Epiphany, 6 January 2028 (Thursday), is a national holiday.
    assert next_business_day(date(2028, 1, 5), "CT") == date(2028, 1, 7)
