"""Fulfillments: how reserved units are grouped (one per ship-from location, one per
pick-up store). How their progress moves the order is in
``test_order_fulfillment_progress.py``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidTransition
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from tests.support.builders import (
    NOW,
    STORE_BCN,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    line,
    mixed_order,
    order,
    paid,
    pickup,
    reserved,
    shipment,
)

PICKUP = FulfillmentType.PICKUP


def contents(placed: Order) -> dict[tuple[str, str], dict[str, int]]:
    """Each fulfillment as ``{(type, location): {sku: quantity}}``."""
    return {
        (f.type.value, f.location_id): {item.sku: item.quantity for item in f.lines}
        for f in placed.fulfillments
    }


# --- reserve -------------------------------------------------------------------------------


def test_reserve_makes_one_fulfillment_per_ship_from_location() -> None:
    placed = reserved(
        [line("TSHIRT-BLK-M", 5), line("MUG-WHT", 2)],
        [
            allocate("TSHIRT-BLK-M", WAREHOUSE, 3),
            allocate("TSHIRT-BLK-M", STORE_BCN, 2),
            allocate("MUG-WHT", WAREHOUSE, 2),
        ],
    )
    assert placed.status is OrderStatus.RESERVED
    assert contents(placed) == {
        ("ship", WAREHOUSE): {"TSHIRT-BLK-M": 3, "MUG-WHT": 2},
        ("ship", STORE_BCN): {"TSHIRT-BLK-M": 2},
    }
    assert all(f.status is FulfillmentStatus.PENDING for f in placed.fulfillments)


def test_reserve_makes_one_fulfillment_per_pickup_store() -> None:
    placed = reserved(
        [pickup("MUG-WHT", 1, STORE_SOL), pickup("CAP-RED", 2, STORE_BCN), line("MUG-WHT", 1)],
        [
            allocate("MUG-WHT", STORE_SOL, 1),
            allocate("CAP-RED", STORE_BCN, 2),
            allocate("MUG-WHT", WAREHOUSE, 1),
        ],
    )
    assert contents(placed) == {
        ("pickup", STORE_SOL): {"MUG-WHT": 1},
        ("pickup", STORE_BCN): {"CAP-RED": 2},
        ("ship", WAREHOUSE): {"MUG-WHT": 1},
    }


def test_units_shipped_from_a_pickup_store_do_not_join_the_pickup() -> None:
    # One mug collected at Sol and two more shipped, Sol being the only place with mugs:
    # the shipped two must still travel, not wait on the pick-up shelf.
    placed = reserved(
        [pickup("MUG-WHT", 1, STORE_SOL), line("MUG-WHT", 2)],
        [allocate("MUG-WHT", STORE_SOL, 1), allocate("MUG-WHT", STORE_SOL, 2)],
    )
    assert contents(placed) == {
        ("pickup", STORE_SOL): {"MUG-WHT": 1},
        ("ship", STORE_SOL): {"MUG-WHT": 2},
    }


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["MUG-WHT", "CAP-RED"]),
            st.sampled_from([STORE_SOL, STORE_BCN, WAREHOUSE]),
            st.integers(1, 5),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda t: (t[0], t[1], t[3]),
    )
)
def test_reserve_keeps_every_unit_and_collects_exactly_the_pickup_units(
    parts: list[tuple[str, str, int, bool]],
) -> None:
    # Each part is units of a SKU from one location, either to collect there or to ship.
    lines = [
        pickup(sku, qty, location) if collect else line(sku, qty)
        for sku, location, qty, collect in parts
        if not (collect and location == WAREHOUSE)
    ]
    if not lines:
        return
    allocations = [
        allocate(sku, location, qty)
        for sku, location, qty, collect in parts
        if not (collect and location == WAREHOUSE)
    ]
    placed = reserved(lines, allocations)
    kinds = [(f.type, f.location_id) for f in placed.fulfillments]
    assert len(kinds) == len(set(kinds))
    collected: dict[tuple[str, str], int] = defaultdict(int)
    shipped: dict[tuple[str, str], int] = defaultdict(int)
    for f in placed.fulfillments:
        for item in f.lines:
            assert item.quantity > 0
            target = collected if f.type is PICKUP else shipped
            target[(item.sku, f.location_id)] += item.quantity
    want_collected: dict[tuple[str, str], int] = defaultdict(int)
    want_shipped: dict[tuple[str, str], int] = defaultdict(int)
    for sku, location, qty, collect in parts:
        if collect and location == WAREHOUSE:
            continue
        (want_collected if collect else want_shipped)[(sku, location)] += qty
    assert collected == want_collected
    assert shipped == want_shipped


def test_reserve_gives_every_fulfillment_a_distinct_id_on_this_order() -> None:
    placed = mixed_order()
    ids = [f.fulfillment_id for f in placed.fulfillments]
    assert len(set(ids)) == len(ids) == 2
    assert all(fid.startswith(placed.order_id) for fid in ids)


def test_reserve_records_why_the_locations_were_chosen() -> None:
    placed = paid(line("MUG-WHT", 1))
    entry = placed.reserve([allocate("MUG-WHT", WAREHOUSE, 1)], "all from the warehouse", NOW)
    assert placed.sourcing_reason == "all from the warehouse"
    assert (entry.status, entry.detail) == (OrderStatus.RESERVED, "all from the warehouse")


def test_unpaid_order_cannot_be_reserved() -> None:
    placed = order(line("MUG-WHT", 1))
    with pytest.raises(InvalidTransition):
        placed.reserve([allocate("MUG-WHT", WAREHOUSE, 1)], "x", NOW)


def test_a_parcel_s_last_event_is_the_carrier_s_latest_not_the_last_to_arrive() -> None:
    parcel = shipment()
    assert parcel.last_event() is None
    for event_id, kind, at in (
        ("e1", "out_for_delivery", "2026-11-23T10:00:00+00:00"),
        ("e2", "in_transit", "2026-11-23T08:00:00+00:00"),  # a retry arriving late
        ("e3", "exception", "2026-11-23T10:00:00+00:00"),  # same moment: arrival decides
    ):
        parcel.record_event({"event_id": event_id, "type": kind, "occurred_at": at})

    last = parcel.last_event()

    assert last is not None and last["event_id"] == "e3"


@pytest.mark.parametrize(
    "later",
    ["2026-11-23T10:00:00+00:00", "2026-11-23T10:00:02+00:00"],
    ids=["same-moment", "dated-after"],
)
def test_a_delivered_parcel_s_last_event_is_its_delivery_whatever_came_after(later: str) -> None:
    # Re-probes 188 and 189: an "out for delivery" retried after the delivery (recorded
    # at its moment, never before the order's last change), or dated after it by the
    # carrier, read as the delivered parcel's last news.
    parcel = shipment()
    delivered_at = "2026-11-23T10:00:00+00:00"
    parcel.record_event({"event_id": "d", "type": "delivered", "occurred_at": delivered_at})
    parcel.delivered_at = datetime.fromisoformat(delivered_at)
    parcel.record_event({"event_id": "o", "type": "out_for_delivery", "occurred_at": later})

    last = parcel.last_event()

    assert last is not None and last["type"] == "delivered"


def test_a_delivered_parcel_s_last_event_is_the_delivery_recorded_not_a_later_repeat() -> None:
    # Probe 234: the carrier sent "delivered" again under a new id, minutes later; the
    # page's last news gave that moment, not the delivery the return window counts from.
    parcel = shipment()
    delivered_at = "2026-11-23T10:00:00+00:00"
    parcel.record_event({"event_id": "d1", "type": "delivered", "occurred_at": delivered_at})
    parcel.delivered_at = datetime.fromisoformat(delivered_at)
    again = {"event_id": "d2", "type": "delivered", "occurred_at": "2026-11-23T10:04:08+00:00"}
    parcel.record_event(again)

    last = parcel.last_event()

    assert last is not None and last["event_id"] == "d1"
