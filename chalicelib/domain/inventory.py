"""Stock per SKU per location, and sourcing: which locations fulfil which lines."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import combinations
from typing import TYPE_CHECKING

from chalicelib.domain.catalog import LocationType
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import OutOfStock

if TYPE_CHECKING:
    from chalicelib.domain.fulfillments import Fulfillment


class StockLevel(DeferredModel):
    """One SKU at one location. ``available = on_hand - reserved - safety_stock``."""

    sku: str
    location_id: str
    location_type: LocationType
    ships: bool
    pickup: bool
    on_hand: int
    reserved: int
    safety_stock: int = 0

    @property
    def available(self) -> int:
        """Units that can still be promised from here."""
        return self.on_hand - self.reserved - self.safety_stock


class Allocation(DeferredModel):
    """Units of one SKU taken from one location for one order."""

    sku: str
    location_id: str
    quantity: int


class StockChange(DeferredModel):
    """A delta on one stock item, applied only if it keeps the counts valid."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0

    @property
    def gives_back(self) -> bool:
        """Units set aside returned to the shelf (a cancel, a rejection, a pick-up not
        collected): availability rises by them."""
        return self.on_hand == 0 and self.reserved < 0

    @classmethod
    def reserving(cls, allocations: Iterable[Allocation]) -> "list[StockChange]":
        """Units set aside where they were allocated."""
        return [cls(sku=a.sku, location_id=a.location_id, reserved=a.quantity) for a in allocations]

    @classmethod
    def releasing(cls, allocations: Iterable[Allocation]) -> "list[StockChange]":
        """Units set aside given back where they were held."""
        return [
            cls(sku=a.sku, location_id=a.location_id, reserved=-a.quantity) for a in allocations
        ]

    @classmethod
    def combined(cls, changes: Iterable["StockChange"]) -> "list[StockChange]":
        """One change per stock item, the deltas on it summed, in the order first seen: an
        order may ship and collect one SKU from one store (two fulfillments, one item), and
        a DynamoDB transaction takes one operation per item."""
        by_item: dict[tuple[str, str], StockChange] = {}
        for change in changes:
            key = (change.sku, change.location_id)
            seen = by_item.get(key)
            by_item[key] = (
                change
                if seen is None
                else seen.model_copy(
                    update={
                        "on_hand": seen.on_hand + change.on_hand,
                        "reserved": seen.reserved + change.reserved,
                    }
                )
            )
        return [c for c in by_item.values() if c.on_hand or c.reserved]

    @classmethod
    def handing_over(cls, fulfillment: "Fulfillment") -> "list[StockChange]":
        """A fulfillment's goods leaving its location: off the shelf, out of the units set
        aside for them."""
        return [
            cls(
                sku=line.sku,
                location_id=fulfillment.location_id,
                on_hand=-line.quantity,
                reserved=-line.quantity,
            )
            for line in fulfillment.lines
        ]


class SourcingPlan(DeferredModel):
    """Where each line's units come from, and why."""

    allocations: list[Allocation]
    reason: str


def level_at(levels: Iterable[StockLevel], location_id: str) -> StockLevel | None:
    """The level, among a SKU's ``levels``, at ``location_id`` (None: it holds none)."""
    return next((lv for lv in levels if lv.location_id == location_id), None)


def available_to_promise(levels: list[StockLevel]) -> int:
    """Web availability: the sum over locations that ship, never negative per location."""
    return sum(max(0, level.available) for level in levels if level.ships)


def available_before_release(levels: list[StockLevel], changes: Iterable["StockChange"]) -> int:
    """Web availability as it was before ``changes`` gave reserved units back, from the
    ``levels`` read after them: the same levels with those units still set aside."""
    given: dict[str, int] = {}
    for change in changes:
        if change.gives_back:
            given[change.location_id] = given.get(change.location_id, 0) - change.reserved
    return available_to_promise(
        [
            level.model_copy(update={"reserved": level.reserved + given.get(level.location_id, 0)})
            for level in levels
        ]
    )


def _ship_rank(level: StockLevel) -> tuple[int, int, str]:
    # Warehouse first, then the store holding most, so orders split over as few places as possible.
    warehouse_first = 0 if level.location_type is LocationType.WAREHOUSE else 1
    return (warehouse_first, -level.available, level.location_id)


def plan_sourcing(
    ship_lines: dict[str, int],
    pickup_lines: dict[tuple[str, str], int],
    stock: dict[str, list[StockLevel]],
) -> SourcingPlan:
    """Choose locations for every line, or raise ``OutOfStock`` naming the short SKUs.

    Pick-up lines come from their store. Ship lines come from as few locations as possible:
    a single location able to ship every line if one exists (warehouse first), otherwise
    the fewest that hold them between them (``_fewest_locations``), each SKU taken from
    the warehouse first and then the stores holding most.
    """
    allocations: list[Allocation] = []
    short: list[str] = []
    taken: dict[tuple[str, str], int] = defaultdict(int)

    for (sku, location_id), quantity in sorted(pickup_lines.items()):
        level = level_at(stock.get(sku, []), location_id)
        if level is None or level.available < quantity:
            short.append(sku)
            continue
        taken[(sku, location_id)] += quantity
        allocations.append(Allocation(sku=sku, location_id=location_id, quantity=quantity))

    def remaining(level: StockLevel) -> int:
        return level.available - taken[(level.sku, level.location_id)]

    candidates: dict[str, list[StockLevel]] = {
        sku: sorted((lv for lv in stock.get(sku, []) if lv.ships), key=_ship_rank)
        for sku in ship_lines
    }
    fewest = _fewest_locations(ship_lines, candidates, remaining)
    if len(fewest) == 1:
        reason = f"every ship line from {fewest[0]} (fewest locations, warehouse first)"
    elif fewest:
        reason = f"ship lines split across {', '.join(fewest)} (fewest locations, warehouse first)"
    else:
        reason = "ship lines split across locations: no single location holds them all"
    for sku, quantity in sorted(ship_lines.items()):
        needed = quantity
        picked: list[Allocation] = []
        for level in candidates[sku]:
            if fewest and level.location_id not in fewest:
                continue
            if needed == 0:
                break
            units = min(needed, max(0, remaining(level)))
            if units:
                picked.append(Allocation(sku=sku, location_id=level.location_id, quantity=units))
                needed -= units
        if needed:
            short.append(sku)
        else:
            allocations.extend(picked)
    if short:
        raise OutOfStock(f"not enough stock for {', '.join(sorted(set(short)))}", field="lines")
    if not ship_lines:
        reason = "pick-up lines only: each from its store"
    return SourcingPlan(allocations=allocations, reason=reason)


# Sets of locations are searched among this many at most; beyond it (a chain of many
# stores), each SKU is split warehouse first, then the stores holding most.
MAX_SPLITS_TRIED = 5000


def _fewest_locations(
    ship_lines: dict[str, int],
    candidates: dict[str, list[StockLevel]],
    remaining: Callable[[StockLevel], int],
) -> tuple[str, ...]:
    """The smallest set of locations that can ship every line between them, one location
    when one holds them all (each is a parcel the retailer pays for: a probe's order of 6
    went in 3 when 2 held them); of sets that small, the first in rank order (warehouse
    first, then the stores holding most). () when there are no ship lines, when none can,
    or when none is found within ``MAX_SPLITS_TRIED`` sets."""
    # Each location ranked by its best level: the warehouse first, then the store holding
    # most of any line.
    best: dict[str, StockLevel] = {}
    for levels in candidates.values():
        for level in levels:
            held = best.get(level.location_id)
            if remaining(level) > 0 and (held is None or _ship_rank(level) < _ship_rank(held)):
                best[level.location_id] = level
    ranked = sorted(best.values(), key=_ship_rank)
    have = {
        (level.sku, level.location_id): remaining(level)
        for levels in candidates.values()
        for level in levels
    }

    def covers(places: list[str]) -> bool:
        return all(
            sum(max(0, have.get((sku, place), 0)) for place in places) >= quantity
            for sku, quantity in ship_lines.items()
        )

    if not covers([level.location_id for level in ranked]):
        return ()
    tried = 0
    for size in range(_fewest_possible(ship_lines, have), len(ranked) + 1):
        # Combinations come in rank order: the first that covers is the one wanted.
        for chosen in combinations(ranked, size):
            tried += 1
            if tried > MAX_SPLITS_TRIED:
                return ()
            places = [level.location_id for level in chosen]
            if covers(places):
                return tuple(places)
    return ()


def _fewest_possible(ship_lines: dict[str, int], have: dict[tuple[str, str], int]) -> int:
    """A floor on how many locations the lines need: for each SKU, how many of the
    locations holding most of it it takes to reach its quantity. Smaller sets are not
    tried (with one unit a store, four units need four stores)."""
    floor = 1
    for sku, quantity in ship_lines.items():
        held = sorted(
            (units for (s, _), units in have.items() if s == sku and units > 0), reverse=True
        )
        total = 0
        for count, units in enumerate(held, start=1):
            total += units
            if total >= quantity:
                floor = max(floor, count)
                break
    return floor
