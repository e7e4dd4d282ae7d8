"""Fulfillments: how their progress moves the order: dispatch, pick-up and delivery, the
derived status of mixed orders, and cancelling one fulfillment (not collected). How reserved
units are grouped is in ``test_order_fulfillment.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import Conflict, InvalidTransition, OrderCancelled, Unprocessable
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import (
    NOW,
    STORE_BCN,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    fulfillment_id,
    line,
    mixed_order,
    paid,
    pickup,
    reserved,
    shipment,
)

SHIP = FulfillmentType.SHIP
PICKUP = FulfillmentType.PICKUP
DEADLINE = NOW + timedelta(days=3)


# --- dispatch, pick-up, delivery -----------------------------------------------------------


def test_dispatching_the_only_shipment_makes_the_order_shipped() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    booking = shipment()
    entry = placed.dispatch_shipment(fid, booking, NOW)
    assert placed.status is OrderStatus.SHIPPED
    assert entry is not None and booking.tracking_number in entry.detail
    assert placed.fulfillment(fid).shipment == booking
    assert placed.fulfillment_by_tracking("rapido", booking.tracking_number).fulfillment_id == fid


def test_dispatching_twice_changes_nothing() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    first = shipment()
    placed.dispatch_shipment(fid, first, NOW)
    assert placed.dispatch_shipment(fid, shipment(), NOW) is None
    assert placed.fulfillment(fid).shipment == first
    assert len(placed.history) == 3


def test_dispatching_a_cancelled_order_raises_order_cancelled() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "cancel")
    with pytest.raises(OrderCancelled):
        placed.dispatch_shipment(fid, shipment(), NOW)
    with pytest.raises(OrderCancelled):
        placed.ready_for_pickup(fid, "000001", DEADLINE, NOW)


def test_unreserved_order_cannot_be_dispatched() -> None:
    placed = paid(line("MUG-WHT", 1))
    with pytest.raises(InvalidTransition):
        placed.dispatch_shipment("anything", shipment(), NOW)


def test_unknown_fulfillment_is_unprocessable_naming_the_field() -> None:
    placed = mixed_order()
    with pytest.raises(Unprocessable) as raised:
        placed.dispatch_shipment("nope", shipment(), NOW)
    assert raised.value.field == "fulfillment_id"


def test_ready_for_pickup_keeps_the_code_and_deadline() -> None:
    placed = reserved([pickup("MUG-WHT", 1)], [allocate("MUG-WHT", STORE_SOL, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.ready_for_pickup(fid, "042042", DEADLINE, NOW)
    assert placed.status is OrderStatus.READY_FOR_PICKUP
    fulfillment = placed.fulfillment(fid)
    assert fulfillment.status is FulfillmentStatus.READY_FOR_PICKUP
    assert (fulfillment.pickup_code, fulfillment.pickup_deadline) == ("042042", DEADLINE)


def test_collecting_the_only_pickup_delivers_the_order() -> None:
    placed = reserved([pickup("MUG-WHT", 1)], [allocate("MUG-WHT", STORE_SOL, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.ready_for_pickup(fid, "042042", DEADLINE, NOW)
    entry = placed.deliver(fid, NOW + timedelta(hours=5))
    assert placed.status is OrderStatus.DELIVERED
    assert entry is not None and STORE_SOL in entry.detail


def test_delivery_on_time_meets_the_sla_and_late_delivery_is_late() -> None:
    placed = reserved(
        [line("MUG-WHT", 1), line("CAP-RED", 1)],
        [allocate("MUG-WHT", WAREHOUSE, 1), allocate("CAP-RED", STORE_BCN, 1)],
    )
    on_time = fulfillment_id(placed, SHIP, WAREHOUSE)
    late = fulfillment_id(placed, SHIP, STORE_BCN)
    placed.dispatch_shipment(on_time, shipment(NOW + timedelta(days=1)), NOW)
    placed.dispatch_shipment(late, shipment(NOW + timedelta(days=1)), NOW)
    placed.deliver(on_time, NOW + timedelta(hours=23))
    placed.deliver(late, NOW + timedelta(days=1, seconds=1))
    assert placed.fulfillment(on_time).shipment.sla_status == "met"  # type: ignore[union-attr]
    assert placed.fulfillment(late).shipment.sla_status == "late"  # type: ignore[union-attr]
    assert placed.status is OrderStatus.DELIVERED


@pytest.mark.parametrize(
    ("delivered_after", "told_late", "status"),
    [
        (timedelta(hours=23), False, "met"),  # on time, told after the breach was recorded
        (timedelta(hours=23), True, "late"),  # dated on time, told only past the grace
        (timedelta(days=1, seconds=1), False, "late"),
    ],
)
def test_a_delivery_after_a_recorded_breach_is_judged_by_when_it_was_delivered(
    delivered_after: timedelta, told_late: bool, status: str
) -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    booking = shipment(NOW + timedelta(days=1))
    placed.dispatch_shipment(fid, booking, NOW)
    booking.breached_at = booking.promised_by
    booking.sla_status = "breached"
    placed.deliver(fid, NOW + delivered_after, told_late)
    parcel = placed.fulfillment(fid).shipment
    assert parcel is not None and parcel.sla_status == status
    # Met: the breach recorded meanwhile did not happen, and the SLA block says none.
    shown = parcel.sla(NOW + timedelta(days=5))
    assert shown["breached_at"] == (None if status == "met" else booking.promised_by.isoformat())


def test_a_late_delivery_told_before_the_breach_step_ran_keeps_when_the_promise_broke() -> None:
    # A probe: read while out, a parcel past its promise showed "breached" at the promise;
    # delivered a second later, before the breach step ran, it showed "late" and no breach.
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    booking = shipment(NOW + timedelta(days=1))
    placed.dispatch_shipment(fid, booking, NOW)
    read_while_out = booking.sla(NOW + timedelta(days=1, seconds=1))
    assert (read_while_out["status"], read_while_out["breached_at"]) == (
        "breached",
        booking.promised_by.isoformat(),
    )

    placed.deliver(fid, NOW + timedelta(days=1, seconds=2))

    shown = booking.sla(NOW + timedelta(days=2))
    assert (shown["status"], shown["breached_at"]) == ("late", booking.promised_by.isoformat())


def test_pending_fulfillment_cannot_be_delivered() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    with pytest.raises(Conflict):
        placed.deliver(placed.fulfillments[0].fulfillment_id, NOW)
    assert placed.status is OrderStatus.RESERVED


def test_delivering_twice_changes_nothing() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.dispatch_shipment(fid, shipment(), NOW)
    placed.deliver(fid, NOW)
    assert placed.deliver(fid, NOW + timedelta(hours=1)) is None
    assert [h.status for h in placed.history].count(OrderStatus.DELIVERED) == 1


# --- the derived status of mixed orders ----------------------------------------------------


def test_mixed_order_stays_reserved_until_every_fulfillment_has_moved() -> None:
    placed = mixed_order()
    placed.dispatch_shipment(fulfillment_id(placed, SHIP, WAREHOUSE), shipment(), NOW)
    assert placed.status is OrderStatus.RESERVED
    assert placed.derived_status() is OrderStatus.RESERVED


def test_mixed_order_is_shipped_while_a_parcel_travels_and_the_pickup_waits() -> None:
    placed = mixed_order()
    placed.ready_for_pickup(fulfillment_id(placed, PICKUP, STORE_SOL), "1", DEADLINE, NOW)
    assert placed.status is OrderStatus.RESERVED
    placed.dispatch_shipment(fulfillment_id(placed, SHIP, WAREHOUSE), shipment(), NOW)
    assert placed.status is OrderStatus.SHIPPED


def test_mixed_order_becomes_ready_for_pickup_once_the_parcel_arrives() -> None:
    placed = mixed_order()
    ship_id = fulfillment_id(placed, SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    assert placed.status is OrderStatus.SHIPPED
    placed.deliver(ship_id, NOW + timedelta(hours=20))
    assert placed.status is OrderStatus.READY_FOR_PICKUP
    placed.deliver(pickup_id, NOW + timedelta(hours=30))
    assert placed.status is OrderStatus.DELIVERED
    assert [h.status for h in placed.history] == [
        OrderStatus.PAID,
        OrderStatus.RESERVED,
        OrderStatus.SHIPPED,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.DELIVERED,
    ]


def test_mixed_order_is_delivered_only_when_the_last_fulfillment_is() -> None:
    placed = mixed_order()
    ship_id = fulfillment_id(placed, SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    placed.deliver(pickup_id, NOW)
    assert placed.status is OrderStatus.RESERVED
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    assert placed.status is OrderStatus.SHIPPED
    placed.deliver(ship_id, NOW + timedelta(hours=20))
    assert placed.status is OrderStatus.DELIVERED


@pytest.mark.parametrize("parcel_first", [True, False], ids=["parcel first", "pick-up first"])
def test_a_mixed_order_s_shipped_entry_tells_both_parts(parcel_first: bool) -> None:
    # A probe: the parcel booked first and the pick-up ready after, the order's only
    # SHIPPED entry said "ready for pick-up" and nothing of the parcel.
    placed = mixed_order()
    booking = shipment()
    moves = [
        lambda: placed.dispatch_shipment(fulfillment_id(placed, SHIP, WAREHOUSE), booking, NOW),
        lambda: placed.ready_for_pickup(
            fulfillment_id(placed, PICKUP, STORE_SOL), "1", DEADLINE, NOW
        ),
    ]
    for move in moves if parcel_first else reversed(moves):
        entry = move()

    assert entry is not None and entry.status is OrderStatus.SHIPPED
    assert entry.detail == (
        f"ready for pick-up at {STORE_SOL}; shipped with rapido, tracking {booking.tracking_number}"
    )
    assert [h.status for h in placed.history].count(OrderStatus.SHIPPED) == 1


def test_a_pick_up_collected_before_the_parcel_left_is_told_with_it() -> None:
    placed = mixed_order()
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    placed.deliver(pickup_id, NOW)
    booking = shipment()
    entry = placed.dispatch_shipment(fulfillment_id(placed, SHIP, WAREHOUSE), booking, NOW)
    assert entry is not None
    assert entry.detail == (
        f"collected at {STORE_SOL}; shipped with rapido, tracking {booking.tracking_number}"
    )


def test_derived_status_is_none_before_reservation_and_when_all_are_cancelled() -> None:
    assert paid(line("MUG-WHT", 1)).derived_status() is None
    placed = mixed_order()
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "cancel")
    assert placed.derived_status() is None


# --- cancelling one fulfillment (not collected) ---------------------------------------------


def test_uncollected_pickup_releases_its_units_and_refunds_their_price() -> None:
    placed = mixed_order()
    ship_id = fulfillment_id(placed, SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    released, refund, entry = placed.cancel_fulfillment(
        pickup_id, StatusReason.NOT_COLLECTED, DEADLINE
    )
    assert [(a.sku, a.location_id, a.quantity) for a in released] == [("MUG-WHT", STORE_SOL, 1)]
    assert refund == Money.of("8.50")
    assert entry is None
    assert placed.status is OrderStatus.SHIPPED
    cancelled = placed.fulfillment(pickup_id)
    assert cancelled.status is FulfillmentStatus.CANCELLED
    assert cancelled.status_reason is StatusReason.NOT_COLLECTED
    assert placed.status_reason is None


def test_uncollected_last_pickup_delivers_the_rest_of_the_order() -> None:
    placed = mixed_order()
    ship_id = fulfillment_id(placed, SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    placed.deliver(ship_id, NOW + timedelta(hours=20))
    assert placed.status is OrderStatus.READY_FOR_PICKUP
    _, _, entry = placed.cancel_fulfillment(pickup_id, StatusReason.NOT_COLLECTED, DEADLINE)
    assert entry is not None and entry.status is OrderStatus.DELIVERED
    assert placed.status is OrderStatus.DELIVERED


def test_uncollected_only_pickup_cancels_the_order() -> None:
    placed = reserved(
        [pickup("MUG-WHT", 2), pickup("CAP-RED", 1)],
        [allocate("MUG-WHT", STORE_SOL, 2), allocate("CAP-RED", STORE_SOL, 1)],
    )
    (only,) = placed.fulfillments
    placed.ready_for_pickup(only.fulfillment_id, "1", DEADLINE, NOW)
    released, refund, entry = placed.cancel_fulfillment(
        only.fulfillment_id, StatusReason.NOT_COLLECTED, DEADLINE
    )
    assert sorted((a.sku, a.quantity) for a in released) == [("CAP-RED", 1), ("MUG-WHT", 2)]
    assert refund == Money.of("29.00") == placed.total
    assert entry is not None and entry.status is OrderStatus.CANCELLED
    assert placed.status is OrderStatus.CANCELLED
    assert placed.status_reason is StatusReason.NOT_COLLECTED


def test_collected_pickup_cannot_be_cancelled_as_not_collected() -> None:
    placed = reserved([pickup("MUG-WHT", 1)], [allocate("MUG-WHT", STORE_SOL, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.ready_for_pickup(fid, "1", DEADLINE, NOW)
    placed.deliver(fid, NOW)
    with pytest.raises(Conflict):
        placed.cancel_fulfillment(fid, StatusReason.NOT_COLLECTED, DEADLINE)
    assert placed.fulfillment(fid).status is FulfillmentStatus.DELIVERED
    assert placed.status is OrderStatus.DELIVERED


def test_shipped_fulfillment_cannot_be_cancelled() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    fid = placed.fulfillments[0].fulfillment_id
    placed.dispatch_shipment(fid, shipment(), NOW)
    with pytest.raises(Conflict):
        placed.cancel_fulfillment(fid, StatusReason.NOT_COLLECTED, DEADLINE)
    assert placed.fulfillment(fid).status is FulfillmentStatus.SHIPPED


def test_reserved_allocations_skip_what_already_left() -> None:
    placed = mixed_order()
    placed.dispatch_shipment(fulfillment_id(placed, SHIP, WAREHOUSE), shipment(), NOW)
    held = placed.reserved_allocations()
    assert [(a.sku, a.location_id, a.quantity) for a in held] == [("MUG-WHT", STORE_SOL, 1)]


# --- a part's own entry: the order's status stays, the history still explains it -------------


def _parcel_out_and_pick_up_ready() -> tuple[Order, str, str]:
    """``mixed_order`` with its parcel handed to the carrier and its pick-up waiting: the
    order, the parcel's id and the pick-up's."""
    placed = mixed_order()
    ship_id = fulfillment_id(placed, SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    placed.ready_for_pickup(pickup_id, "1", DEADLINE, NOW)
    return placed, ship_id, pickup_id


def test_an_uncollected_pick_up_while_the_parcel_travels_has_its_own_entry() -> None:
    # Probe 180: the pick-up was voided and the order stayed SHIPPED; no entry said so.
    placed, _, pickup_id = _parcel_out_and_pick_up_ready()

    _, _, entry = placed.cancel_fulfillment(pickup_id, StatusReason.NOT_COLLECTED, DEADLINE)

    assert entry is None  # nothing for the order's status to announce
    last = placed.history[-1]
    assert (last.status, last.at, last.detail, last.fulfillment_id) == (
        OrderStatus.SHIPPED,
        DEADLINE,
        f"{pickup_id} not_collected",
        pickup_id,
    )
    assert not last.changes_status
    # When the order became SHIPPED is still the parcel's hand-over.
    assert placed.became_at(OrderStatus.SHIPPED) == NOW
    assert placed.step_causes()[-1] is None


def test_one_parcel_of_two_delivered_has_its_own_entry() -> None:
    # Probe 180: the first parcel's delivery was never in the history.
    placed = reserved(
        [line("TSHIRT-BLK-M", 1), line("MUG-WHT", 1)],
        [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_BCN, 1)],
    )
    first, second = (f.fulfillment_id for f in placed.fulfillments)
    placed.dispatch_shipment(first, shipment(), NOW)
    placed.dispatch_shipment(second, shipment(), NOW)
    statuses = [h.status for h in placed.history]

    assert placed.deliver(first, NOW + timedelta(hours=20)) is None

    assert placed.status is OrderStatus.SHIPPED
    assert [h.status for h in placed.history] == [*statuses, OrderStatus.SHIPPED]
    last = placed.history[-1]
    assert last.fulfillment_id == first and last.detail == f"{first} delivered by rapido"
    entry = placed.deliver(second, NOW + timedelta(hours=21))
    assert entry is not None and entry.status is OrderStatus.DELIVERED and entry.changes_status


def test_a_status_change_leaves_no_part_entry() -> None:
    placed, ship_id, pickup_id = _parcel_out_and_pick_up_ready()
    placed.deliver(ship_id, NOW + timedelta(hours=20))
    placed.deliver(pickup_id, NOW + timedelta(hours=30))
    assert all(h.changes_status for h in placed.history)
