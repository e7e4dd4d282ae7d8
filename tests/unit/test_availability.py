"""Available-to-promise against a request's lines, as sourcing will take the units."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.availability import Demand, short_lines, short_skus
from chalicelib.domain.catalog import LocationType
from chalicelib.domain.errors import OutOfStock
from chalicelib.domain.inventory import StockLevel, plan_sourcing


def _level(location_id: str, on_hand: int, ships: bool = True, reserved: int = 0) -> StockLevel:
    kind = LocationType.WAREHOUSE if location_id.startswith("WH") else LocationType.STORE
    return StockLevel(
        sku="A",
        location_id=location_id,
        location_type=kind,
        ships=ships,
        pickup=kind is LocationType.STORE,
        on_hand=on_hand,
        reserved=reserved,
    )


def test_ship_lines_add_up_every_location_that_ships() -> None:
    stock = {"A": [_level("WH", 2), _level("ST-1", 1), _level("ST-2", 5, ships=False)]}
    assert short_lines([Demand("A", 3)], stock) == []
    assert short_lines([Demand("A", 4)], stock) == [0]


def test_reserved_units_and_negative_availability_are_not_promised() -> None:
    stock = {"A": [_level("WH", 2, reserved=2), _level("ST-1", 1, reserved=3)]}
    assert short_lines([Demand("A", 1)], stock) == [0]


def test_a_pickup_takes_its_store_units_before_ship_lines_count_them() -> None:
    stock = {"A": [_level("ST-1", 2)]}
    assert short_lines([Demand("A", 2, "ST-1"), Demand("A", 1)], stock) == [1]
    assert short_lines([Demand("A", 3, "ST-1")], stock) == [0]


def test_an_sku_nobody_holds_is_short() -> None:
    assert short_lines([Demand("B", 1), Demand("A", 1)], {"A": [_level("WH", 1)]}) == [0]


def test_the_short_skus_are_named_once_each_in_line_order() -> None:
    # Probe 224: a rejection names what ran out; a SKU short at its store and for shipping
    # is named once, and a SKU that is there is not named.
    stock = {"A": [_level("ST-1", 1)], "C": [_level("WH", 5)]}
    demands = [Demand("C", 2), Demand("B", 1), Demand("A", 2, "ST-1"), Demand("A", 1)]
    demands.append(Demand("B", 1))
    assert short_skus(demands, short_lines(demands, stock)) == ["B", "A"]
    assert short_skus([Demand("C", 5)], short_lines([Demand("C", 5)], stock)) == []


levels = st.lists(
    st.tuples(
        st.sampled_from(["WH", "ST-1", "ST-2"]),
        st.integers(0, 6),
        st.booleans(),
        st.integers(0, 3),
    ),
    max_size=3,
    unique_by=lambda t: t[0],
)
demands = st.lists(
    st.tuples(st.integers(1, 8), st.sampled_from([None, "ST-1", "ST-2"])), min_size=1, max_size=3
)


@given(levels, demands)
def test_nothing_refused_that_sourcing_could_serve_and_nothing_accepted_it_could_not(
    raw_levels: list[tuple[str, int, bool, int]], raw_demands: list[tuple[int, str | None]]
) -> None:
    stock = {
        "A": [_level(loc, on_hand, ships, reserved) for loc, on_hand, ships, reserved in raw_levels]
    }
    asked = [Demand("A", quantity, location) for quantity, location in raw_demands]
    ship = sum(d.quantity for d in asked if d.location_id is None)
    pickups: dict[tuple[str, str], int] = {}
    for d in asked:
        if d.location_id is not None:
            pickups[("A", d.location_id)] = pickups.get(("A", d.location_id), 0) + d.quantity
    try:
        plan_sourcing({"A": ship} if ship else {}, pickups, stock)
        servable = True
    except OutOfStock:
        servable = False
    assert (short_lines(asked, stock) == []) is servable
