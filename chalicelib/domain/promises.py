"""Delivery and pick-up promises on the regional calendars of both ends.

A parcel's promise, from the moment the order is placed:
1. Handling: the origin (a warehouse, or a store that ships) needs ``handling`` to pick
   and pack; the parcel is ready then (the origin works around the clock on its business
   days).
2. Cut-off: the carrier collects once a day. A parcel ready on one of the origin's
   business days before the carrier's cut-off, in the origin's own time zone, leaves that
   day; otherwise it leaves on the origin's next business day. The origin's calendar is
   its own region's (a Madrid warehouse does not dispatch on 2 May).
3. Transit: the carrier's service level is a number of business days counted on the
   destination's calendar from the day the parcel leaves (express: the next business day
   there), and the promise is the end of that day's deliveries (20:00 unless the service
   says otherwise) in the destination's time zone.

The promise given to the shopper is the SLA the carrier is held to. ``CarrierService``
carries what ``sla.ServiceLevel`` held (carrier, service level, cut-off, hours as
``sla_hours``) so it can replace that module's national-only calendar.

A pick-up is ready ``preparation`` after the order, within the store's opening hours on
a day it opens (Monday to Saturday by default, closed on its region's holidays). Once
ready, it can be collected while the store is open, until the store closes on the last
day of its window counted in days the store opens (``pickup_window``).
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pydantic import ConfigDict, Field, model_validator

from chalicelib.domain import calendars
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.regions import Destination, ShippingZone, destination

# Carriers deliver until the evening of the promised business day.
DELIVERY_DAY_ENDS = time(20, 0)
MONDAY_TO_SATURDAY = frozenset(range(6))


class CarrierService(DeferredModel):
    """A carrier's daily collection and its transit time in business days."""

    model_config = ConfigDict(frozen=True)

    carrier: str
    service_level: str
    business_days: int = Field(ge=0, le=30)
    # Local time at the origin: a parcel ready at or after it leaves the next business day.
    cutoff: time
    zones: frozenset[ShippingZone] = frozenset(ShippingZone)
    delivery_day_ends: time = DELIVERY_DAY_ENDS

    @classmethod
    def from_sla_hours(
        cls,
        carrier: str,
        service_level: str,
        sla_hours: int,
        cutoff: time,
        zones: Iterable[ShippingZone] = tuple(ShippingZone),
    ) -> "CarrierService":
        """A service from today's ``sla_hours`` (24 h is one business day, 48 h two, any
        part of a day counting whole), as ``sla.ServiceLevel`` and the carriers hold it."""
        days = max(1, -(-sla_hours // 24))
        return cls(
            carrier=carrier,
            service_level=service_level,
            business_days=days,
            cutoff=cutoff,
            zones=frozenset(zones),
        )

    @property
    def sla_hours(self) -> int:
        """The service level in hours, as the SLA scorecard names it."""
        return self.business_days * 24

    def serves(self, place: Destination) -> bool:
        """Whether the carrier delivers to the place's shipping zone."""
        return place.zone in self.zones


class Origin(DeferredModel):
    """Where a parcel leaves from: a warehouse, or a store that ships."""

    model_config = ConfigDict(frozen=True)

    location_id: str
    postal_code: str
    handling: timedelta = timedelta(0)

    @model_validator(mode="after")
    def _located(self) -> "Origin":
        destination(self.postal_code, "postal_code")
        if self.handling < timedelta(0):
            raise ValueError("handling must not be negative")
        return self

    @property
    def place(self) -> Destination:
        """The origin's region, time zone and taxes."""
        return destination(self.postal_code)


class PickupStore(DeferredModel):
    """A store where customers collect: its preparation time and opening hours."""

    model_config = ConfigDict(frozen=True)

    location_id: str
    postal_code: str
    preparation: timedelta = timedelta(hours=2)
    opens: time = time(10, 0)
    closes: time = time(21, 0)
    # Monday is 0; the store is also closed on its region's holidays.
    open_weekdays: frozenset[int] = MONDAY_TO_SATURDAY

    @model_validator(mode="after")
    def _consistent(self) -> "PickupStore":
        destination(self.postal_code, "postal_code")
        if not self.open_weekdays or not self.open_weekdays <= frozenset(range(7)):
            raise ValueError("open_weekdays must be weekdays 0 (Monday) to 6 (Sunday)")
        day = date(2000, 1, 3)
        open_for = datetime.combine(day, self.closes) - datetime.combine(day, self.opens)
        if not timedelta(0) <= self.preparation <= open_for:
            raise ValueError("preparation must fit within one day's opening hours")
        return self

    @property
    def place(self) -> Destination:
        """The store's region, time zone and taxes."""
        return destination(self.postal_code)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a promise needs an aware datetime")
    return moment


def dispatch_day(placed_at: datetime, service: CarrierService, origin: Origin) -> date:
    """The origin's business day on which the carrier collects the parcel."""
    place = origin.place
    ready = (_aware(placed_at).astimezone(UTC) + origin.handling).astimezone(place.tz)
    day = ready.date()
    if calendars.is_business_day(day, place.region) and ready.time() < service.cutoff:
        return day
    return calendars.next_business_day(day, place.region)


def promise(
    placed_at: datetime, service: CarrierService, origin: Origin, to: Destination
) -> datetime:
    """When the parcel is promised: the end of deliveries on the service's last business
    day at the destination, an aware datetime in the destination's time zone."""
    leaves = dispatch_day(placed_at, service, origin)
    if service.business_days:
        arrives = calendars.add_business_days(leaves, service.business_days, to.region)
    else:
        arrives = calendars.business_day_on_or_after(leaves, to.region)
    return datetime.combine(arrives, service.delivery_day_ends, tzinfo=to.tz)


def late_estimate(promised: datetime, to: Destination | None) -> datetime:
    """When a parcel that missed its promise is now expected: the destination's next
    business day after the promised one, at the same hour (a probe's email gave a
    national holiday, promise + 24 h). Abroad, where no regional calendar is kept: the
    next weekday that is no national holiday in Spain, where its days were counted
    (probe 220: "new estimate: 25 December", then 1 January)."""
    if to is None:
        later = _aware(promised) + timedelta(days=1)
        while not calendars.is_business_day(later.date(), calendars.NATIONAL):
            later += timedelta(days=1)
        return later
    local = _aware(promised).astimezone(to.tz)
    day = calendars.next_business_day(local.date(), to.region)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=to.tz)


def service_for(services: Iterable[CarrierService], to: Destination) -> CarrierService | None:
    """The first of ``services`` that delivers to the place, if any does."""
    return next((service for service in services if service.serves(to)), None)


def pickup_ready_by(placed_at: datetime, store: PickupStore) -> datetime:
    """When a pick-up order is ready at the store, an aware datetime in its time zone:
    ``preparation`` after the order (or after opening), on a day the store opens, and
    before it closes; else ``preparation`` after opening on its next opening day."""
    place = store.place
    local = _aware(placed_at).astimezone(place.tz)
    day = local.date()
    if calendars.is_business_day(day, place.region, store.open_weekdays):
        start = max(local, datetime.combine(day, store.opens, tzinfo=place.tz))
        ready = (start.astimezone(UTC) + store.preparation).astimezone(place.tz)
        if ready <= datetime.combine(day, store.closes, tzinfo=place.tz):
            return ready
    day = calendars.next_business_day(day, place.region, store.open_weekdays)
    opening = datetime.combine(day, store.opens, tzinfo=place.tz)
    return (opening.astimezone(UTC) + store.preparation).astimezone(place.tz)


def pickup_window(
    ready_at: datetime, store: PickupStore, window: timedelta
) -> tuple[datetime, datetime]:
    """From when and until when a pick-up ready at ``ready_at`` can be collected, aware
    datetimes in the store's time zone: from then if the store is open, else from its
    next opening; until it closes on the last of ``window``'s days (whole days, at least
    one) counted in days it opens after the first. A probe: a 72 h window from 03:14 on
    a Saturday ran out at 03:14 on a Tuesday, a Sunday and a holiday among its days, and
    the customer read a deadline at which the store was shut. Never shorter than
    ``window`` from when it can first be collected."""
    place = store.place
    local = _aware(ready_at).astimezone(place.tz)
    day = local.date()
    opens = datetime.combine(day, store.opens, tzinfo=place.tz)
    closes = datetime.combine(day, store.closes, tzinfo=place.tz)
    if calendars.is_business_day(day, place.region, store.open_weekdays) and local < closes:
        start = max(local, opens)
    else:
        day = calendars.next_business_day(day, place.region, store.open_weekdays)
        start = datetime.combine(day, store.opens, tzinfo=place.tz)
    last = start.date()
    for _ in range(max(1, -(-window // timedelta(days=1)))):
        last = calendars.next_business_day(last, place.region, store.open_weekdays)
    return start, datetime.combine(last, store.closes, tzinfo=place.tz)
