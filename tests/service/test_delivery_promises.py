"""The promise a parcel is held to at dispatch: computed from when the order was placed,
the carrier's cut-off and service level, on the regional calendars of both ends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.deps import Deps
from tests.fakes import Clock
from tests.service import flows

MADRID = ZoneInfo("Europe/Madrid")


def _address(postal_code: str) -> dict[str, str]:
    return {
        "name": "Ana",
        "line1": "Calle 1",
        "city": "X",
        "postal_code": postal_code,
        "country": "ES",
    }


def _shipped_at(deps: Deps, placed: datetime, postal_code: str) -> tuple[str, datetime]:
    assert isinstance(deps.clock, Clock)
    deps.clock.now = placed.astimezone(UTC)
    order = flows.shipped(deps, shipping_address=_address(postal_code))
    (fulfillment,) = order.fulfillments
    assert fulfillment.location_id == "WH-GETAFE"  # the Getafe (Madrid) warehouse
    assert fulfillment.shipment is not None
    return fulfillment.shipment.carrier, fulfillment.shipment.promised_by


# Tuesday 31 March 2026, after the 18:00 cut-off: the parcel leaves Wednesday 1 April.
HOLY_WEEK_EVENING = datetime(2026, 3, 31, 19, 0, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("postal_code", "carrier", "promised_local"),
    [
        # Holy Thursday (2 April) is a holiday in Madrid, Good Friday everywhere: Monday.
        ("28013", "rapido", datetime(2026, 4, 6, 20, 0, tzinfo=MADRID)),
        # Holy Thursday is a working day in Catalonia: delivered on it.
        ("08012", "rapido", datetime(2026, 4, 2, 20, 0, tzinfo=MADRID)),
        # Two business days to the Canaries, in their own time zone (20:00 there).
        ("35001", "veloz", datetime(2026, 4, 7, 20, 0, tzinfo=ZoneInfo("Atlantic/Canary"))),
    ],
)
def test_the_promise_follows_the_destinations_own_calendar(
    deps: Deps, postal_code: str, carrier: str, promised_local: datetime
) -> None:
    booked_with, promised = _shipped_at(deps, HOLY_WEEK_EVENING, postal_code)
    assert booked_with == carrier
    assert promised == promised_local.astimezone(UTC)


def test_a_friday_evening_order_before_the_december_bridge_is_promised_after_it(
    deps: Deps,
) -> None:
    # Friday 4 December 2026 after the cut-off; 6 December falls on a Sunday (Madrid keeps
    # it on Monday 7) and 8 December is a national holiday: leaves Wednesday 9, arrives 10.
    _, promised = _shipped_at(deps, datetime(2026, 12, 4, 19, 0, tzinfo=MADRID), "28013")
    assert promised == datetime(2026, 12, 10, 20, 0, tzinfo=MADRID).astimezone(UTC)


def test_eleventh_of_september_is_not_a_delivery_day_in_barcelona(deps: Deps) -> None:
    # Wednesday 9 September 2026 after the cut-off: the parcel leaves Thursday 10.
    evening = datetime(2026, 9, 9, 19, 0, tzinfo=MADRID)
    _, to_barcelona = _shipped_at(deps, evening, "08012")
    assert to_barcelona == datetime(2026, 9, 14, 20, 0, tzinfo=MADRID).astimezone(UTC)
    _, to_madrid = _shipped_at(deps, evening, "28013")
    assert to_madrid == datetime(2026, 9, 11, 20, 0, tzinfo=MADRID).astimezone(UTC)


def test_before_the_cut_off_the_parcel_leaves_the_same_day(deps: Deps) -> None:
    _, promised = _shipped_at(deps, datetime(2026, 3, 3, 10, 0, tzinfo=MADRID), "28013")
    assert promised == datetime(2026, 3, 4, 20, 0, tzinfo=MADRID).astimezone(UTC)
