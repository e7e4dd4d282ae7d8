"""Delivery and pick-up promises on real regional calendars, in the right time zones.

Expected dates are Spain's published calendars: Holy Thursday 2027 is 25 March (a
holiday in Madrid, a working day in Catalonia), Easter Monday 29 March (Catalonia and
Valencia), 2 May (Madrid), 11 September (Catalonia), 9 October (Valencia), 12 October,
6 and 8 December (national), 30 May (Canary Islands).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidPostalCode
from chalicelib.domain.promises import (
    CarrierService,
    Origin,
    PickupStore,
    dispatch_day,
    late_estimate,
    pickup_ready_by,
    pickup_window,
    promise,
    service_for,
)
from chalicelib.domain.regions import ShippingZone, destination

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
EXPRESS = CarrierService.from_sla_hours(
    "rapido", "express", 24, time(18, 0), zones=[ShippingZone.PENINSULA]
)
ISLANDS = CarrierService.from_sla_hours(
    "veloz",
    "islands",
    48,
    time(16, 0),
    zones=[ShippingZone.BALEARICS, ShippingZone.CANARIES, ShippingZone.CEUTA_MELILLA],
)
GETAFE = Origin(location_id="wh-getafe", postal_code="28906")
BARCELONA_WAREHOUSE = Origin(location_id="wh-bcn", postal_code="08040")
MADRID_CITY = destination("28013")
BARCELONA = destination("08001")
VALENCIA = destination("46001")
LAS_PALMAS = destination("35001")


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)  # type: ignore[misc]


def ends(day: datetime, tz: ZoneInfo) -> datetime:
    return day.replace(hour=20, minute=0, tzinfo=tz)


def test_holy_thursday_is_a_holiday_in_madrid_and_a_working_day_in_barcelona() -> None:
    wednesday = madrid(2027, 3, 24, 10, 0)

    # Madrid: Holy Thursday, Good Friday, the weekend; Monday 29 is no holiday there.
    assert promise(wednesday, EXPRESS, GETAFE, MADRID_CITY) == madrid(2027, 3, 29, 20, 0)
    assert promise(wednesday, EXPRESS, GETAFE, BARCELONA) == madrid(2027, 3, 25, 20, 0)


def test_the_origin_dispatches_on_its_own_calendar() -> None:
    holy_thursday = madrid(2027, 3, 25, 10, 0)

    # Getafe rests until Monday 29; Barcelona's warehouse works on Thursday.
    assert dispatch_day(holy_thursday, EXPRESS, GETAFE).isoformat() == "2027-03-29"
    assert dispatch_day(holy_thursday, EXPRESS, BARCELONA_WAREHOUSE).isoformat() == "2027-03-25"
    # Leaving Monday 29, Barcelona's next business day is Tuesday (Easter Monday there).
    assert promise(holy_thursday, EXPRESS, GETAFE, BARCELONA) == madrid(2027, 3, 30, 20, 0)
    assert promise(holy_thursday, EXPRESS, BARCELONA_WAREHOUSE, MADRID_CITY) == madrid(
        2027, 3, 29, 20, 0
    )


def test_the_diada_on_11_september_in_barcelona() -> None:
    thursday = madrid(2026, 9, 10, 10, 0)

    assert promise(thursday, EXPRESS, GETAFE, BARCELONA) == madrid(2026, 9, 14, 20, 0)
    assert promise(thursday, EXPRESS, GETAFE, MADRID_CITY) == madrid(2026, 9, 11, 20, 0)


def test_2_may_in_madrid() -> None:
    wednesday = madrid(2025, 4, 30, 10, 0)  # 1 May national, Friday 2 May in Madrid

    assert promise(wednesday, EXPRESS, BARCELONA_WAREHOUSE, MADRID_CITY) == madrid(
        2025, 5, 5, 20, 0
    )
    assert promise(wednesday, EXPRESS, BARCELONA_WAREHOUSE, BARCELONA) == madrid(2025, 5, 2, 20, 0)
    # Nor does a Madrid warehouse dispatch on 2 May.
    assert promise(madrid(2025, 5, 2, 10, 0), EXPRESS, GETAFE, BARCELONA) == madrid(
        2025, 5, 6, 20, 0
    )


def test_9_october_in_valencia_then_12_october() -> None:
    thursday = madrid(2026, 10, 8, 10, 0)

    assert promise(thursday, EXPRESS, GETAFE, VALENCIA) == madrid(2026, 10, 13, 20, 0)
    assert promise(thursday, EXPRESS, GETAFE, MADRID_CITY) == madrid(2026, 10, 9, 20, 0)


@pytest.mark.parametrize(
    ("hour", "minute", "promised_day"),
    [(17, 59, 23), (18, 0, 24), (18, 30, 24), (23, 59, 24)],
)
def test_a_friday_evening_order_after_the_cut_off_leaves_on_monday(
    hour: int, minute: int, promised_day: int
) -> None:
    friday = madrid(2026, 11, 20, hour, minute)

    assert promise(friday, EXPRESS, GETAFE, MADRID_CITY) == madrid(2026, 11, promised_day, 20, 0)


def test_6_and_8_december() -> None:
    friday_evening = madrid(2027, 12, 3, 19, 0)

    # Monday 6 is Constitution Day: it leaves Tuesday 7; Wednesday 8 is the Immaculate
    # Conception, so it arrives Thursday 9.
    assert dispatch_day(friday_evening, EXPRESS, GETAFE).isoformat() == "2027-12-07"
    assert promise(friday_evening, EXPRESS, GETAFE, MADRID_CITY) == madrid(2027, 12, 9, 20, 0)


def test_the_canary_islands_keep_their_own_holidays_and_time_zone() -> None:
    thursday = madrid(2025, 5, 29, 10, 0)  # Friday 30 May is Canary Islands Day

    to_canaries = promise(thursday, ISLANDS, GETAFE, LAS_PALMAS)
    to_madrid = promise(thursday, ISLANDS, GETAFE, MADRID_CITY)

    assert to_canaries == datetime(2025, 6, 3, 20, 0, tzinfo=CANARY)
    assert str(to_canaries.tzinfo) == "Atlantic/Canary"
    assert to_canaries.astimezone(UTC) == datetime(2025, 6, 3, 19, 0, tzinfo=UTC)
    assert to_madrid.astimezone(UTC) == datetime(2025, 6, 2, 18, 0, tzinfo=UTC)


def test_a_canary_origins_cut_off_is_in_canary_time() -> None:
    placed = madrid(2027, 11, 16, 16, 30)  # 15:30 in Las Palmas, before its 16:00 cut-off
    store = Origin(location_id="st-lpa", postal_code="35002")

    assert dispatch_day(placed, ISLANDS, store).isoformat() == "2027-11-16"
    assert dispatch_day(placed, ISLANDS, GETAFE).isoformat() == "2027-11-17"
    assert promise(placed, ISLANDS, store, destination("38001")) == datetime(
        2027, 11, 18, 20, 0, tzinfo=CANARY
    )


def test_handling_time_can_miss_the_cut_off() -> None:
    placed = madrid(2027, 11, 16, 16, 0)
    slow = Origin(location_id="wh-slow", postal_code="28906", handling=timedelta(hours=3))

    assert promise(placed, EXPRESS, GETAFE, MADRID_CITY) == madrid(2027, 11, 17, 20, 0)
    assert promise(placed, EXPRESS, slow, MADRID_CITY) == madrid(2027, 11, 18, 20, 0)


def test_an_order_placed_in_utc_counts_in_the_origins_local_day() -> None:
    # 23:30 UTC on Tuesday is 00:30 on Wednesday in Madrid (winter, UTC+1).
    placed = datetime(2027, 11, 16, 23, 30, tzinfo=UTC)

    assert dispatch_day(placed, EXPRESS, GETAFE).isoformat() == "2027-11-17"


def test_service_levels_convert_from_todays_sla_hours() -> None:
    levels = {
        hours: CarrierService.from_sla_hours("c", "s", hours, time(14))
        for hours in (24, 30, 48, 72)
    }

    assert {hours: level.business_days for hours, level in levels.items()} == {
        24: 1, 30: 2, 48: 2, 72: 3,
    }  # fmt: skip
    assert levels[72].sla_hours == 72
    assert set(levels[24].zones) == set(ShippingZone)


def test_the_carrier_is_chosen_by_the_zone_it_serves() -> None:
    assert service_for([EXPRESS, ISLANDS], MADRID_CITY) is EXPRESS
    assert service_for([EXPRESS, ISLANDS], LAS_PALMAS) is ISLANDS
    assert service_for([EXPRESS], destination("51001")) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        promise(datetime(2027, 11, 16, 10, 0), EXPRESS, GETAFE, MADRID_CITY)


def test_an_origin_with_a_bad_postal_code_is_refused() -> None:
    with pytest.raises(InvalidPostalCode):
        Origin(location_id="nowhere", postal_code="99999")


# Pick-up, by default 2 hours' preparation, 10:00 to 21:00, Monday to Saturday.
MADRID_STORE = PickupStore(location_id="st-sol", postal_code="28013")
BARCELONA_STORE = PickupStore(location_id="st-bcn", postal_code="08002")
CANARY_STORE = PickupStore(location_id="st-lpa", postal_code="35002")


def test_pick_up_after_closing_before_holy_thursday() -> None:
    evening = madrid(2027, 3, 24, 20, 30)

    # Madrid's store is closed on Holy Thursday and Good Friday and opens Saturday.
    assert pickup_ready_by(evening, MADRID_STORE) == madrid(2027, 3, 27, 12, 0)
    assert pickup_ready_by(evening, BARCELONA_STORE) == madrid(2027, 3, 25, 12, 0)


@pytest.mark.parametrize(
    ("placed", "ready"),
    [
        ((8, 0), (16, 12, 0)),  # before opening: preparation starts at opening
        ((14, 0), (16, 16, 0)),
        ((19, 0), (16, 21, 0)),  # ready just at closing
        ((19, 1), (17, 12, 0)),  # too late: the next day
    ],
)
def test_pick_up_is_ready_within_opening_hours(
    placed: tuple[int, int], ready: tuple[int, int, int]
) -> None:
    tuesday = madrid(2027, 11, 16, *placed)

    assert pickup_ready_by(tuesday, MADRID_STORE) == madrid(2027, 11, *ready)


def test_pick_up_skips_sunday() -> None:
    saturday_evening = madrid(2027, 11, 20, 20, 0)

    assert pickup_ready_by(saturday_evening, MADRID_STORE) == madrid(2027, 11, 22, 12, 0)


def test_pick_up_in_the_canaries_is_in_canary_time_and_calendar() -> None:
    placed = madrid(2027, 11, 16, 19, 30)  # 18:30 in Las Palmas

    assert pickup_ready_by(placed, CANARY_STORE) == datetime(2027, 11, 16, 20, 30, tzinfo=CANARY)
    assert pickup_ready_by(placed, MADRID_STORE) == madrid(2027, 11, 17, 12, 0)
    # Closed on Canary Islands Day (Friday 30 May 2025), open on Saturday.
    thursday_night = datetime(2025, 5, 29, 20, 30, tzinfo=CANARY)
    assert pickup_ready_by(thursday_night, CANARY_STORE) == datetime(
        2025, 5, 31, 12, 0, tzinfo=CANARY
    )


THREE_DAYS = timedelta(hours=72)


def test_a_pick_up_ready_in_the_night_waits_three_opening_days_from_the_morning() -> None:
    # Saturday 5 December 2026, 03:14: the store opens at 10:00; it is shut on Sunday 6,
    # Monday 7 (Madrid keeps Constitution Day, a Sunday, then) and Tuesday 8 (a national
    # holiday). Before: Tuesday 03:14, a holiday, in the night.
    start, deadline = pickup_window(madrid(2026, 12, 5, 3, 14), MADRID_STORE, THREE_DAYS)

    assert start == madrid(2026, 12, 5, 10, 0)
    assert deadline == madrid(2026, 12, 11, 21, 0)


@pytest.mark.parametrize(
    ("ready", "start", "deadline"),
    [
        # Open: from now, until closing on the third opening day after today.
        ((2026, 12, 2, 15, 0), (2026, 12, 2, 15, 0), (2026, 12, 5, 21, 0)),
        # Shut for the night: from tomorrow's opening; Sunday 6 and the holidays of 7 and
        # 8 December are not counted.
        ((2026, 12, 2, 21, 30), (2026, 12, 3, 10, 0), (2026, 12, 9, 21, 0)),
        # Before opening on an open day: from its opening.
        ((2026, 12, 3, 7, 0), (2026, 12, 3, 10, 0), (2026, 12, 9, 21, 0)),
        # Ready on a Sunday before two holidays: from Wednesday.
        ((2026, 12, 6, 12, 0), (2026, 12, 9, 10, 0), (2026, 12, 12, 21, 0)),
        # An ordinary week: Sunday is not counted.
        ((2026, 11, 26, 12, 0), (2026, 11, 26, 12, 0), (2026, 11, 30, 21, 0)),
    ],
)
def test_a_pick_up_can_be_collected_while_its_store_opens_for_its_whole_window(
    ready: tuple[int, ...], start: tuple[int, ...], deadline: tuple[int, ...]
) -> None:
    assert pickup_window(madrid(*ready), MADRID_STORE, THREE_DAYS) == (
        madrid(*start),
        madrid(*deadline),
    )


def test_a_pick_up_window_keeps_the_stores_own_calendar_and_clock() -> None:
    # Canary Islands Day (Saturday 30 May 2026) shuts Las Palmas, not Madrid.
    ready = datetime(2026, 5, 29, 20, 30, tzinfo=CANARY)  # Friday, 21:30 in Madrid
    start, deadline = pickup_window(ready, CANARY_STORE, timedelta(hours=24))

    assert (start, deadline) == (ready, datetime(2026, 6, 1, 21, 0, tzinfo=CANARY))
    in_madrid = pickup_window(ready, MADRID_STORE, timedelta(hours=24))
    assert in_madrid == (madrid(2026, 5, 30, 10, 0), madrid(2026, 6, 1, 21, 0))


@given(
    ready=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=1, max_value=24 * 14),
)
def test_a_pick_up_window_is_never_shorter_and_ends_when_the_store_closes(
    ready: datetime, hours: int
) -> None:
    window = timedelta(hours=hours)
    start, deadline = pickup_window(ready, MADRID_STORE, window)

    assert start >= ready
    # One hour's slack: a window across the change to winter time has one hour less.
    assert deadline - start >= window - timedelta(hours=1)
    assert deadline.timetz() == MADRID_STORE.closes.replace(tzinfo=MADRID)
    # It can first be collected while the store is open: at or after its opening time.
    assert MADRID_STORE.opens <= start.astimezone(MADRID).time() < MADRID_STORE.closes
    assert pickup_ready_by(start - timedelta(hours=2), MADRID_STORE) <= start + timedelta(hours=2)


def test_a_preparation_longer_than_the_opening_hours_is_refused() -> None:
    with pytest.raises(ValueError):
        PickupStore(
            location_id="st",
            postal_code="28013",
            preparation=timedelta(hours=12),
            opens=time(10),
            closes=time(21),
        )


# --- the late parcel's new estimate ---------------------------------------------------


@pytest.mark.parametrize(
    ("postal_code", "promised", "expected"),
    [
        # Barcelona, promised Monday 7 December: the 8th is the Immaculate Conception.
        ("08001", datetime(2026, 12, 7, 20, 0, tzinfo=MADRID), datetime(2026, 12, 9, 20, 0)),
        # Madrid keeps Monday the 7th too (the Constitution's Sunday moved): Wednesday.
        ("28013", datetime(2026, 12, 4, 20, 0, tzinfo=MADRID), datetime(2026, 12, 9, 20, 0)),
        # A Friday promise is Monday, not Saturday.
        ("46001", datetime(2026, 11, 27, 20, 0, tzinfo=MADRID), datetime(2026, 11, 30, 20, 0)),
        # The Canaries on their own clock: 20:00 there is 21:00 in Madrid.
        ("35001", datetime(2026, 12, 1, 21, 0, tzinfo=MADRID), datetime(2026, 12, 2, 20, 0)),
    ],
)
def test_a_late_parcel_is_next_expected_on_the_destinations_next_business_day(
    postal_code: str, promised: datetime, expected: datetime
) -> None:
    place = destination(postal_code)
    estimate = late_estimate(promised, place)
    assert estimate.tzinfo == place.tz
    assert estimate.replace(tzinfo=None) == expected


def test_abroad_a_late_parcel_is_next_expected_on_the_next_weekday() -> None:
    friday = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    assert late_estimate(friday, None) == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    tuesday = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # no Spanish holiday abroad
    assert late_estimate(tuesday, None) == datetime(2026, 12, 9, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("grace_ends", "expected"),
    [
        (datetime(2026, 12, 24, 19, 0, tzinfo=UTC), datetime(2026, 12, 28, 19, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 19, 0, tzinfo=UTC), datetime(2027, 1, 4, 19, 0, tzinfo=UTC)),
        (datetime(2027, 1, 5, 19, 0, tzinfo=UTC), datetime(2027, 1, 7, 19, 0, tzinfo=UTC)),
    ],
    ids=["christmas", "new-year", "epiphany"],
)
def test_abroad_a_late_parcel_is_not_expected_on_a_spanish_national_holiday(
    grace_ends: datetime, expected: datetime
) -> None:
    # Probe 220: a parcel to France late by Christmas Eve was "now expected on 25
    # December", though its days were counted on Spain's calendar.
    assert late_estimate(grace_ends, None) == expected
