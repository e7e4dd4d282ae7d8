"""What the stock can serve now: refusing up front what it cannot (orders and quotes
alike), and the product page's availability per postal code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from chalicelib.domain.availability import Demand, plan_for, short_lines, short_skus
from chalicelib.domain.deferred import DeferredModel, Promise
from chalicelib.domain.errors import NotFound, OutOfStock, SpreadTooThin, UnservableLines
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.inventory import StockLevel, available_to_promise, plan_sourcing
from chalicelib.domain.regions import destination
from chalicelib.domain.requests import MAX_RESERVED_LINES
from chalicelib.services.promising import carrier_to, pickup_ready, ship_promise

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.placement import OrderLine
    from chalicelib.domain.requests import OrderLineRequest


def demands_of(lines: Sequence[OrderLineRequest | OrderLine]) -> list[Demand]:
    """Request lines as stock demands (a pick-up line's store is where it must be)."""
    return [
        Demand(
            sku=line.sku,
            quantity=line.quantity,
            location_id=line.location_id if line.fulfillment is FulfillmentType.PICKUP else None,
        )
        for line in lines
    ]


def stock_of(skus: Iterable[str], deps: Deps) -> dict[str, list[StockLevel]]:
    """Each SKU's levels at every location, read once per SKU, in the order first named."""
    return {sku: deps.store.stock_levels(sku) for sku in dict.fromkeys(skus)}


def refuse_unservable(lines: Sequence[OrderLineRequest | OrderLine], deps: Deps) -> None:
    """Raise ``UnservableLines`` (409 out-of-stock naming ``lines.<i>``) when
    available-to-promise cannot cover a line now. Stock is read, never held: a race lost
    after acceptance is still the workflow's ``out_of_stock`` rejection."""
    demands = demands_of(lines)
    stock = stock_of((d.sku for d in demands), deps)
    short = short_lines(demands, stock)
    if short:
        raise UnservableLines(
            [(f"lines.{index}", _short_words(demands, index)) for index in short],
            _lacking_on_the_web(_units_by_sku([demands[index] for index in short]), stock),
        )
    refuse_too_split(demands, stock)


def shortage_of(
    lines: Sequence[OrderLineRequest | OrderLine], deps: Deps
) -> tuple[list[str], dict[str, int]]:
    """What the stock cannot cover now, from one read of it: the SKUs of the short lines,
    each once in line order, and of those the ones the web lacks too with the units
    wanted (``UnservableLines.short``: the wish worth following). What a rejection for
    lack of stock records, for its words and its wish alike."""
    demands = demands_of(lines)
    stock = stock_of((d.sku for d in demands), deps)
    return shortage_in(lines, stock)


def shortage_in(
    lines: Sequence[OrderLineRequest | OrderLine], stock: dict[str, list[StockLevel]]
) -> tuple[list[str], dict[str, int]]:
    """``shortage_of`` the stock as it was read (``stock``: each SKU's levels)."""
    demands = demands_of(lines)
    short = short_lines(demands, stock)
    wished = _lacking_on_the_web(_units_by_sku([demands[index] for index in short]), stock)
    return short_skus(demands, short), wished


def _short_words(demands: list[Demand], index: int) -> str:
    """Why line ``index`` is short: lines of one SKU at one place are judged together, so
    they are said together (probe 210: two lines of 103 against 205 each read "not
    enough for 103"), and a ship line is judged on what the SKU's pick-ups leave, so it
    names them (probe 213: 4 to ship beside 2 to collect, 5 in all, read "for 4")."""
    demand = demands[index]
    where = f"at {demand.location_id}" if demand.location_id else "at any location that ships"
    together = [
        at
        for at, other in enumerate(demands)
        if (other.sku, other.location_id) == (demand.sku, demand.location_id)
    ]
    total = sum(demands[at].quantity for at in together)
    said = f"not enough {demand.sku} {where} for {total}"
    if len(together) > 1:
        said += f" ({', '.join(f'lines.{at}' for at in together)} together)"
    collected = [
        at
        for at, other in enumerate(demands)
        if demand.location_id is None and other.sku == demand.sku and other.location_id
    ]
    if collected:
        said += " beside " + ", ".join(
            f"{demands[at].quantity} to collect at {demands[at].location_id} (lines.{at})"
            for at in collected
        )
    return said


def refuse_too_split(demands: list[Demand], stock: dict[str, list[StockLevel]]) -> None:
    """Raise ``UnservableLines`` naming ``lines`` when the stock there is now would be
    reserved at more places than one order's transaction holds: the workflow would refuse
    such an order as out of stock after accepting it (a probe: 98 lines in stock, split
    between stores, were accepted and then rejected "not enough stock"). It is that
    refusal, made up front, so every caller handles it as one (a re-probe: the page of a
    declined order whose stock spread since answered 409 instead of the page)."""
    try:
        plan = plan_for(demands, stock)
    except OutOfStock:
        return  # short after all: the workflow's rejection says so, as for any race
    if len(plan.allocations) > MAX_RESERVED_LINES:
        raise SpreadTooThin(
            [
                (
                    "lines",
                    f"the stock for these lines is spread over {len(plan.allocations)} "
                    f"(SKU, location) places, and one order reserves at most "
                    f"{MAX_RESERVED_LINES}: place it as two orders",
                )
            ]
        )


class ShipOption(DeferredModel):
    """Whether the quantity can be shipped to the postal code, by whom and by when."""

    available: bool
    carrier: str | None
    promised_by: Promise | None


class PickupOption(DeferredModel):
    """Whether a store holds the quantity, and when it would be ready there."""

    location_id: str
    name: str
    available: bool
    ready_by: Promise | None


class Availability(DeferredModel):
    """The product page's answer: delivered by when, or picked up where and when."""

    sku: str
    ship: ShipOption
    pickup: list[PickupOption]


def availability_of(sku: str, postal_code: str, quantity: int, deps: Deps) -> Availability:
    """What ordering ``quantity`` of ``sku`` now would be promised: shipped to
    ``postal_code`` from the locations sourcing would take it from (the latest of their
    promises when it is split), or picked up at each store that does pick-ups.
    ``NotFound`` for an unknown SKU, ``InvalidPostalCode`` (422) for a code in no
    Spanish province."""
    destination(postal_code, "postal_code")
    if deps.store.product(sku) is None:
        raise NotFound(f"unknown SKU {sku}", field="sku")
    now = deps.clock()
    levels = deps.store.stock_levels(sku)
    locations = {location.location_id: location for location in deps.store.locations()}
    carrier = carrier_to("ES", postal_code, deps)
    ship = ShipOption(available=False, carrier=carrier.name, promised_by=None)
    try:
        plan = plan_sourcing({sku: quantity}, {}, {sku: levels})
    except OutOfStock:
        plan = None
    if plan is not None:
        promises = [
            ship_promise(now, locations[a.location_id], "ES", postal_code, deps)[1]
            for a in plan.allocations
            if a.location_id in locations
        ]
        ship = ShipOption(
            available=True, carrier=carrier.name, promised_by=max(promises, default=None)
        )
    held = {level.location_id: level.available for level in levels}
    pickup = [
        PickupOption(
            location_id=location.location_id,
            name=location.name,
            available=held.get(location.location_id, 0) >= quantity,
            ready_by=(
                pickup_ready(now, location)
                if held.get(location.location_id, 0) >= quantity
                else None
            ),
        )
        for location in sorted(locations.values(), key=lambda loc: loc.location_id)
        if location.pickup
    ]
    return Availability(sku=sku, ship=ship, pickup=pickup)


def _lacking_on_the_web(
    short: dict[str, int], stock: dict[str, list[StockLevel]]
) -> dict[str, int]:
    """The short SKUs whose web availability does not cover the units wanted: the wishes
    worth following up (a notice goes when the web has the SKU again; a pick-up line short
    at its store, for a SKU the web has, made a wish that never fired, a re-probe found)."""
    return {sku: units for sku, units in short.items() if available_to_promise(stock[sku]) < units}


def _units_by_sku(demands: list[Demand]) -> dict[str, int]:
    units: dict[str, int] = {}
    for demand in demands:
        units[demand.sku] = units.get(demand.sku, 0) + demand.quantity
    return units
