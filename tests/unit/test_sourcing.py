"""Sourcing: which locations give which units, and web availability."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.catalog import LocationType
from chalicelib.domain.errors import Conflict, OutOfStock
from chalicelib.domain.inventory import (
    SourcingPlan,
    StockLevel,
    available_to_promise,
    plan_sourcing,
)
from tests.support.builders import STORE_BCN, STORE_SOL, WAREHOUSE, stock, warehouse_stock

SHIRT = "TSHIRT-BLK-M"
MUG = "MUG-WHT"


def by_location(plan: SourcingPlan) -> set[tuple[str, str, int]]:
    """The plan as ``{(sku, location, quantity)}``."""
    return {(a.sku, a.location_id, a.quantity) for a in plan.allocations}


def levels(*items: StockLevel) -> dict[str, list[StockLevel]]:
    """Stock keyed by SKU, as the sourcing reads it."""
    found: dict[str, list[StockLevel]] = defaultdict(list)
    for item in items:
        found[item.sku].append(item)
    return dict(found)


# --- single location first -----------------------------------------------------------------


def test_prefers_the_warehouse_when_it_can_ship_every_line() -> None:
    plan = plan_sourcing(
        {SHIRT: 2, MUG: 1},
        {},
        levels(
            stock(SHIRT, STORE_SOL, 50),
            stock(MUG, STORE_SOL, 50),
            warehouse_stock(SHIRT, 2),
            warehouse_stock(MUG, 1),
        ),
    )
    assert by_location(plan) == {(SHIRT, WAREHOUSE, 2), (MUG, WAREHOUSE, 1)}
    assert WAREHOUSE in plan.reason


def test_prefers_one_store_with_everything_to_splitting_with_the_warehouse() -> None:
    plan = plan_sourcing(
        {SHIRT: 2, MUG: 1},
        {},
        levels(
            warehouse_stock(SHIRT, 10),
            warehouse_stock(MUG, 0),
            stock(SHIRT, STORE_SOL, 1),
            stock(MUG, STORE_SOL, 5),
            stock(SHIRT, STORE_BCN, 3),
            stock(MUG, STORE_BCN, 1),
        ),
    )
    assert by_location(plan) == {(SHIRT, STORE_BCN, 2), (MUG, STORE_BCN, 1)}
    assert STORE_BCN in plan.reason


def test_reserved_and_safety_stock_are_not_available() -> None:
    plan = plan_sourcing(
        {SHIRT: 2},
        {},
        levels(
            warehouse_stock(SHIRT, 5, reserved=4),
            stock(SHIRT, STORE_SOL, 5, reserved=1, safety_stock=2),
        ),
    )
    assert by_location(plan) == {(SHIRT, STORE_SOL, 2)}


def test_locations_that_do_not_ship_are_never_used_for_ship_lines() -> None:
    with pytest.raises(OutOfStock):
        plan_sourcing({SHIRT: 1}, {}, levels(stock(SHIRT, STORE_SOL, 10, ships=False)))


# --- splitting -----------------------------------------------------------------------------


def test_splits_a_line_over_the_fewest_locations() -> None:
    # Warehouse first took 3 there, 6 at Barcelona and 1 at Sol: three parcels where two
    # stores held the 10 (a probe: an order of 6 went in 3 parcels, 2 would do).
    plan = plan_sourcing(
        {SHIRT: 10},
        {},
        levels(
            stock(SHIRT, STORE_SOL, 4),
            warehouse_stock(SHIRT, 3),
            stock(SHIRT, STORE_BCN, 6),
        ),
    )
    assert by_location(plan) == {(SHIRT, STORE_BCN, 6), (SHIRT, STORE_SOL, 4)}
    assert "split" in plan.reason


def test_a_warehouse_that_would_add_a_parcel_is_left_out() -> None:
    # Found by hypothesis: the mug from the warehouse made three parcels; Barcelona holds
    # the mug and the cap, Sol the shirt: two.
    plan = plan_sourcing(
        {SHIRT: 1, MUG: 1, "CAP-RED": 1},
        {},
        levels(
            stock(SHIRT, STORE_SOL, 1),
            warehouse_stock(MUG, 1),
            stock(MUG, STORE_BCN, 1),
            stock("CAP-RED", STORE_BCN, 1),
        ),
    )
    assert by_location(plan) == {
        (SHIRT, STORE_SOL, 1),
        (MUG, STORE_BCN, 1),
        ("CAP-RED", STORE_BCN, 1),
    }


def test_of_splits_as_small_the_warehouse_comes_first() -> None:
    plan = plan_sourcing(
        {SHIRT: 8, MUG: 2},
        {},
        levels(
            stock(SHIRT, STORE_SOL, 5),
            warehouse_stock(SHIRT, 5),
            stock(SHIRT, STORE_BCN, 5),
            stock(MUG, STORE_SOL, 2),
            stock(MUG, STORE_BCN, 2),
        ),
    )
    # Sol and Barcelona could do it too; the warehouse gives what it holds first.
    assert by_location(plan) == {
        (SHIRT, WAREHOUSE, 5),
        (SHIRT, STORE_BCN, 3),
        (MUG, STORE_BCN, 2),
    }


def test_split_never_takes_more_than_a_location_has() -> None:
    plan = plan_sourcing(
        {SHIRT: 5},
        {},
        levels(
            warehouse_stock(SHIRT, 2),
            stock(SHIRT, STORE_SOL, 3, reserved=1),
            stock(SHIRT, STORE_BCN, 1),
        ),
    )
    assert by_location(plan) == {
        (SHIRT, WAREHOUSE, 2),
        (SHIRT, STORE_SOL, 2),
        (SHIRT, STORE_BCN, 1),
    }


def test_negative_availability_gives_nothing_and_hides_nothing() -> None:
    plan = plan_sourcing(
        {SHIRT: 3},
        {},
        levels(warehouse_stock(SHIRT, 1, reserved=5), stock(SHIRT, STORE_SOL, 3)),
    )
    assert by_location(plan) == {(SHIRT, STORE_SOL, 3)}


# --- pick-up -------------------------------------------------------------------------------


def test_pickup_lines_come_from_their_own_store() -> None:
    plan = plan_sourcing(
        {},
        {(MUG, STORE_SOL): 2},
        levels(warehouse_stock(MUG, 100), stock(MUG, STORE_SOL, 2), stock(MUG, STORE_BCN, 100)),
    )
    assert by_location(plan) == {(MUG, STORE_SOL, 2)}
    assert "pick-up" in plan.reason


def test_pickup_store_without_enough_is_out_of_stock_even_if_others_have_it() -> None:
    with pytest.raises(OutOfStock) as raised:
        plan_sourcing(
            {},
            {(MUG, STORE_SOL): 3},
            levels(warehouse_stock(MUG, 100), stock(MUG, STORE_SOL, 2)),
        )
    assert MUG in raised.value.detail


def test_units_held_for_a_pickup_are_not_shipped_as_well() -> None:
    plan = plan_sourcing(
        {MUG: 3},
        {(MUG, STORE_SOL): 2},
        levels(warehouse_stock(MUG, 1), stock(MUG, STORE_SOL, 4)),
    )
    taken: dict[str, int] = defaultdict(int)
    for a in plan.allocations:
        taken[a.location_id] += a.quantity
    assert taken == {STORE_SOL: 4, WAREHOUSE: 1}


def test_ship_and_pickup_of_the_same_sku_at_one_store_do_not_exceed_it() -> None:
    with pytest.raises(OutOfStock):
        plan_sourcing({MUG: 3}, {(MUG, STORE_SOL): 2}, levels(stock(MUG, STORE_SOL, 4)))


# --- out of stock --------------------------------------------------------------------------


def test_out_of_stock_names_only_the_short_skus() -> None:
    with pytest.raises(OutOfStock) as raised:
        plan_sourcing(
            {SHIRT: 5, MUG: 1, "CAP-RED": 2},
            {},
            levels(warehouse_stock(SHIRT, 4), warehouse_stock(MUG, 9), stock(SHIRT, STORE_SOL, 0)),
        )
    assert SHIRT in raised.value.detail
    assert "CAP-RED" in raised.value.detail
    assert MUG not in raised.value.detail
    assert raised.value.field == "lines"


def test_out_of_stock_is_a_conflict() -> None:
    assert issubclass(OutOfStock, Conflict)


# --- available to promise ------------------------------------------------------------------


def test_available_to_promise_sums_only_locations_that_ship() -> None:
    assert (
        available_to_promise(
            [
                warehouse_stock(SHIRT, 10, reserved=2),
                stock(SHIRT, STORE_SOL, 5, safety_stock=1),
                stock(SHIRT, STORE_BCN, 7, ships=False),
            ]
        )
        == 12
    )


def test_available_to_promise_ignores_oversold_locations() -> None:
    assert (
        available_to_promise([warehouse_stock(SHIRT, 1, reserved=4), stock(SHIRT, STORE_SOL, 3)])
        == 3
    )
    assert available_to_promise([]) == 0


# --- the property --------------------------------------------------------------------------

SKUS = ["A", "B", "C"]
LOCATIONS = [
    ("WH-1", LocationType.WAREHOUSE, True),
    ("ST-1", LocationType.STORE, True),
    ("ST-2", LocationType.STORE, True),
    ("ST-3", LocationType.STORE, False),
]


@st.composite
def stock_and_lines(
    draw: st.DrawFn,
) -> tuple[dict[str, int], dict[tuple[str, str], int], dict[str, list[StockLevel]]]:
    """Random stock at a warehouse and three stores, and lines to ship and to collect."""
    found: dict[str, list[StockLevel]] = {}
    for sku in SKUS:
        found[sku] = []
        for location_id, kind, ships in LOCATIONS:
            if draw(st.booleans()):
                found[sku].append(
                    stock(
                        sku,
                        location_id,
                        draw(st.integers(0, 12)),
                        reserved=draw(st.integers(0, 6)),
                        safety_stock=draw(st.integers(0, 2)),
                        location_type=kind,
                        ships=ships,
                        pickup=kind is LocationType.STORE,
                    )
                )
    ship_lines = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 20), max_size=3))
    stores = [loc for loc, kind, _ in LOCATIONS if kind is LocationType.STORE]
    pickup_lines = draw(
        st.dictionaries(
            st.tuples(st.sampled_from(SKUS), st.sampled_from(stores)),
            st.integers(1, 8),
            max_size=3,
        )
    )
    return ship_lines, pickup_lines, found


def _feasible(
    ship_lines: dict[str, int],
    pickup_lines: dict[tuple[str, str], int],
    found: dict[str, list[StockLevel]],
) -> bool:
    """Whether any plan could serve every line (pick-ups from their store, the rest from
    locations that ship)."""
    left = {(lv.sku, lv.location_id): lv.available for levels_ in found.values() for lv in levels_}
    for (sku, location_id), quantity in pickup_lines.items():
        if left.get((sku, location_id), 0) < quantity:
            return False
        left[(sku, location_id)] -= quantity
    for sku, quantity in ship_lines.items():
        shippable = sum(max(0, left[(sku, lv.location_id)]) for lv in found[sku] if lv.ships)
        if shippable < quantity:
            return False
    return True


@given(stock_and_lines())
def test_plan_covers_every_line_within_stock_from_the_fewest_places_or_raises_out_of_stock(
    case: tuple[dict[str, int], dict[tuple[str, str], int], dict[str, list[StockLevel]]],
) -> None:
    ship_lines, pickup_lines, found = case
    try:
        plan = plan_sourcing(ship_lines, pickup_lines, found)
    except OutOfStock:
        assert not _feasible(ship_lines, pickup_lines, found)
        return
    assert _feasible(ship_lines, pickup_lines, found)
    level_at = {(lv.sku, lv.location_id): lv for levels_ in found.values() for lv in levels_}

    taken: dict[tuple[str, str], int] = defaultdict(int)
    per_sku: dict[str, int] = defaultdict(int)
    for allocation in plan.allocations:
        assert allocation.quantity > 0
        taken[(allocation.sku, allocation.location_id)] += allocation.quantity
        per_sku[allocation.sku] += allocation.quantity
    for key, quantity in taken.items():
        assert key in level_at
        assert quantity <= level_at[key].available
    wanted: dict[str, int] = defaultdict(int, ship_lines)
    for (sku, _), quantity in pickup_lines.items():
        wanted[sku] += quantity
    assert per_sku == {sku: qty for sku, qty in wanted.items() if qty}
    # Pick-up units are at their store; shipped units only from locations that ship.
    from_pickup_stores: dict[tuple[str, str], int] = defaultdict(int)
    for allocation in plan.allocations:
        if not level_at[(allocation.sku, allocation.location_id)].ships:
            from_pickup_stores[(allocation.sku, allocation.location_id)] += allocation.quantity
    for key, quantity in from_pickup_stores.items():
        assert quantity <= pickup_lines.get(key, 0)
    for key, quantity in pickup_lines.items():
        assert taken[key] >= quantity
    # As few places to ship from as any plan could use (each is a parcel).
    left = {(lv.sku, lv.location_id): lv.available for levels_ in found.values() for lv in levels_}
    for key, quantity in pickup_lines.items():
        left[key] -= quantity
    shipping = [loc for loc, _, ships in LOCATIONS if ships]
    # The pick-up lines' allocations come first, one per line.
    shipped_from = {a.location_id for a in plan.allocations[len(pickup_lines) :]}

    def holds(places: tuple[str, ...]) -> bool:
        return all(
            sum(max(0, left.get((sku, place), 0)) for place in places) >= quantity
            for sku, quantity in ship_lines.items()
        )

    fewest = next(
        size
        for size in range(len(shipping) + 1)
        if any(holds(places) for places in combinations(shipping, size))
    )
    assert len(shipped_from) <= fewest


def test_a_split_over_many_stores_is_searched_from_the_fewest_that_could_do() -> None:
    # One unit of each SKU in each of 30 stores, 4 of each wanted: sets of 2 or 3 cannot
    # do, and trying them all used up the search before any set of 4 (five parcels).
    found = levels(
        warehouse_stock(SHIRT, 1),
        *(stock(sku, f"ST-{i:02d}", 1) for i in range(30) for sku in (SHIRT, MUG, "CAP-RED")),
    )

    plan = plan_sourcing({SHIRT: 4, MUG: 4, "CAP-RED": 4}, {}, found)

    assert {a.location_id for a in plan.allocations} == {"ST-00", "ST-01", "ST-02", "ST-03"}
