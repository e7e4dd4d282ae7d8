"""Delivery and pick-up promises for real locations and addresses: which carrier takes a
parcel, when it is promised, when a pick-up is ready. The same function answers the
product page (``GET /availability``) and the dispatch, so the promise the shopper was
shown is the SLA the carrier is held to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.catalog import Location, LocationType
from chalicelib.domain.promises import (
    Origin,
    PickupStore,
    pickup_ready_by,
    pickup_window,
    promise,
)
from chalicelib.domain.regions import place_in_spain, place_of

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.orders import Order
    from chalicelib.ports import Carrier

# A location of unknown whereabouts (stored before locations had postal codes) is taken
# to be in Madrid: the retailer's head office calendar.
HEAD_OFFICE_POSTAL_CODE = "28001"


def origin_of(location: Location, deps: Deps) -> Origin:
    """Where a parcel leaves from, with the pick-and-pack time the workflow waits."""
    postal_code = location.postal_code
    if place_of(postal_code) is None:
        postal_code = HEAD_OFFICE_POSTAL_CODE
    assert postal_code is not None
    handling = timedelta(seconds=deps.settings.waits.real_handling_seconds)
    return Origin(location_id=location.location_id, postal_code=postal_code, handling=handling)


def carrier_to(country: str, postal_code: str, deps: Deps) -> Carrier:
    """The first carrier whose service reaches the address's shipping zone; abroad (or for
    a code no Spanish zone knows) the carrier the address's country calls for."""
    to = place_in_spain(country, postal_code)
    if to is not None:
        for carrier in deps.carriers.values():
            if carrier.service.serves(to):
                return carrier
    return deps.carriers[deps.choose_carrier(country, postal_code)]


def ship_promise(
    placed_at: datetime, origin: Location, country: str, postal_code: str, deps: Deps
) -> tuple[Carrier, datetime]:
    """The carrier and the promise (UTC) for a parcel from ``origin`` to the address. The
    transit days count on the destination's calendar; abroad, on the origin's."""
    carrier = carrier_to(country, postal_code, deps)
    leaves = origin_of(origin, deps)
    to = place_in_spain(country, postal_code) or leaves.place
    return carrier, promise(placed_at, carrier.service, leaves, to).astimezone(UTC)


def pickup_ready(placed_at: datetime, store: Location) -> datetime:
    """When a pick-up order placed now is ready at the store (UTC)."""
    return pickup_ready_by(placed_at, _pickup_store(store)).astimezone(UTC)


def pickup_times(location_id: str, ready_at: datetime, deps: Deps) -> tuple[datetime, datetime]:
    """From when and until when a pick-up ready at ``ready_at`` can be collected at the
    store (UTC, real time): its opening hours, its window counted in days it opens."""
    store = _location(location_id, LocationType.STORE, deps)
    start, deadline = pickup_window(
        ready_at, _pickup_store(store), timedelta(hours=store.pickup_window_hours)
    )
    return start.astimezone(UTC), deadline.astimezone(UTC)


def _location(location_id: str, kind: LocationType, deps: Deps) -> Location:
    """The location, or one of unknown whereabouts in its place (it was removed since the
    order named it): head office's calendar, a store's pick-up or a warehouse's parcels."""
    for location in deps.store.locations():
        if location.location_id == location_id:
            return location
    store = kind is LocationType.STORE
    return Location(
        location_id=location_id,
        type=kind,
        name=location_id,
        city="",
        pickup=store,
        ships=not store,
    )


def _pickup_store(store: Location) -> PickupStore:
    """The store's calendar and hours; one whose place is unknown keeps head office's."""
    postal_code = store.postal_code
    if place_of(postal_code) is None:
        postal_code = HEAD_OFFICE_POSTAL_CODE
    assert postal_code is not None
    return PickupStore(location_id=store.location_id, postal_code=postal_code)


def shipment_promise(order: Order, location_id: str, deps: Deps) -> tuple[Carrier, datetime]:
    """The carrier and promise for the order's parcel leaving ``location_id``: the
    quote's promise for it, else computed from when the order was placed; for an order
    restarted since (paid again after a declined card, or retried by ops), computed from
    the restart, or the quote's if that is later (probe 220: a card paid again on Friday
    evening held the parcel to a promise of that evening, Saturday's to one already
    past, and the SLA breached a parcel the carrier could not have delivered)."""
    address = order.shipping_address
    origin = _location(location_id, LocationType.WAREHOUSE, deps)
    country, postal_code = (address.country, address.postal_code) if address else ("ES", "")
    carrier, promised = ship_promise(promise_start(order), origin, country, postal_code, deps)
    # An order on a quote is held to the quote's promise for what leaves from there.
    quoted = quoted_promise(order, location_id)
    if quoted is None or (order.retries and quoted < promised):
        return carrier, promised
    return carrier, quoted


def promise_start(order: Order) -> datetime:
    """From when the order's parcels are promised: when it was placed, or when its
    workflow last started again (the new card's, or ops' retry)."""
    return max([order.placed_at, *(retry.at for retry in order.retries)])


def quoted_promise(order: Order, location_id: str) -> datetime | None:
    """The quote's promise for the order's parcel leaving ``location_id``, if it was
    quoted. A parcel leaving from a place the quote did not plan (the stock moved between
    quote and order) is held to the latest promise the quote gave for shipping: that is
    what the shopper was told (a probe's parcel was held to a day later than quoted)."""
    if order.pricing is None or not order.pricing.promises:
        return None
    promises = order.pricing.promises
    return promises.get(location_id) or max(promises.values())
