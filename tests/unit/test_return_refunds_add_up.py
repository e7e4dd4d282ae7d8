"""Refunds add up whichever fulfilments returns are taken to come from: one SKU over
several pick-ups and parcels at different prices, sent back in any split, by any channel,
received anywhere, in any order, the first ones perhaps before returns kept where their
units came from. A fulfilment's units are refunded for what was captured
for them, and once every unit is back the order's refunds are what was captured for all
that reached the customer (domain/line_values.py)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fulfillments import REACHED, FulfillmentStatus, FulfillmentType
from chalicelib.domain.line_values import fulfillments_back, returned_value, units_taken
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.returns import OrderReturn, ReturnLine, TakenUnits
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import (
    NOW,
    STORE_BCN,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    line,
    pickup,
    reserved,
    shipment,
)

SKU = "TSHIRT-BLK-M"
LOCATIONS = [WAREHOUSE, STORE_SOL, STORE_BCN]
LATER = NOW + timedelta(days=2)

# Where units of the SKU can go: collected at a store, or shipped from any location.
PLACES = [
    (FulfillmentType.PICKUP, STORE_SOL),
    (FulfillmentType.PICKUP, STORE_BCN),
    (FulfillmentType.SHIP, WAREHOUSE),
    (FulfillmentType.SHIP, STORE_SOL),
    (FulfillmentType.SHIP, STORE_BCN),
]

# A part of the order: units of the SKU at one place, at a price of their own (in cents,
# all in), that reached the customer or not (a parcel lost, a pick-up never collected).
Part = tuple[tuple[FulfillmentType, str], int, int, bool]
parts_of_an_order = st.lists(
    st.tuples(st.sampled_from(PLACES), st.integers(1, 3), st.integers(0, 30_000), st.booleans()),
    min_size=1,
    max_size=5,
    unique_by=lambda part: part[0],
).filter(lambda parts: any(reached for *_, reached in parts))


def handed_over(parts: list[Part]) -> Order:
    """The order of ``parts``, each part handed over, then reached or not."""
    lines = []
    for (kind, location), quantity, cents, _ in parts:
        made = pickup(SKU, quantity, location) if kind is FulfillmentType.PICKUP else line(SKU, 1)
        made = made.model_copy(
            update={"quantity": quantity, "charged": Money.of(f"{cents / 100:.2f}")}
        )
        lines.append(made)
    placed = reserved(lines, [allocate(SKU, place[1], qty) for place, qty, _, _ in parts])
    reaches = {place: reached for place, _, _, reached in parts}
    for fulfillment in placed.fulfillments:
        if fulfillment.type is FulfillmentType.SHIP:
            placed.dispatch_shipment(fulfillment.fulfillment_id, shipment(), NOW)
        else:
            placed.ready_for_pickup(fulfillment.fulfillment_id, "1", NOW + timedelta(days=3), NOW)
    for fulfillment in placed.fulfillments:
        if reaches[(fulfillment.type, fulfillment.location_id)]:
            placed.deliver(fulfillment.fulfillment_id, NOW + timedelta(hours=20))
    for fulfillment in placed.fulfillments:
        if reaches[(fulfillment.type, fulfillment.location_id)]:
            continue
        if fulfillment.type is FulfillmentType.SHIP:
            placed.lose_fulfillment(fulfillment.fulfillment_id, NOW + timedelta(days=31))
        else:
            placed.cancel_fulfillment(
                fulfillment.fulfillment_id, StatusReason.NOT_COLLECTED, NOW + timedelta(days=3)
            )
    placed.returns_window_ends = NOW + timedelta(days=60)
    assert placed.status is OrderStatus.DELIVERED
    return placed


def received_as_before(placed: Order, return_id: str, location: str) -> list[TakenUnits]:
    """Receive a return as before returns kept where their units came from: the next units
    of its SKU in fulfilment order, whatever the location or channel, and stored without
    ``taken``; the units it took."""
    returning = placed.find_return(return_id)
    assert returning is not None
    in_order = units_taken(placed.fulfillments, placed.returns, returning.lines, "", "")
    currency = placed.total.currency
    refund = returned_value(placed.lines, placed.fulfillments, placed.returns, in_order, currency)
    returning.receive(location, LATER, refund, in_order)
    returning.taken = None
    for fulfillment_id in fulfillments_back(placed.fulfillments, placed.returns):
        placed.fulfillment(fulfillment_id).status = FulfillmentStatus.RETURNED
    return in_order


@given(parts_of_an_order, st.booleans(), st.data())
def test_refunds_give_back_what_each_fulfilment_captured(
    parts: list[Part],
    unit_by_unit: bool,
    data: st.DataObject,
) -> None:
    placed = handed_over(parts)
    reached = [f for f in placed.fulfillments if f.status in REACHED]
    captured = {f.fulfillment_id: placed.fulfillment_value(f) for f in reached}
    units = {f.fulfillment_id: sum(fl.quantity for fl in f.lines) for f in reached}
    left = placed.returnable_quantities()[SKU]
    assert left == sum(units.values())

    asked: list[tuple[str, str]] = []
    while left:
        quantity = 1 if unit_by_unit else data.draw(st.integers(1, left))
        channel = data.draw(st.sampled_from(["mail", "store"]))
        return_id = f"ret_{len(asked)}"
        placed.request_return(
            return_id, [ReturnLine(sku=SKU, quantity=quantity)], "x", channel, None, LATER
        )
        asked.append((return_id, data.draw(st.sampled_from(LOCATIONS))))
        left -= quantity

    # The first ones may have been received before returns kept where their units came from.
    in_turn = data.draw(st.permutations(asked))
    before = data.draw(st.integers(0, len(in_turn)))
    received: list[tuple[OrderReturn, list[TakenUnits]]] = []
    taken: dict[str, int] = {}
    for turn, (return_id, location) in enumerate(in_turn):
        if turn < before:
            pieces = received_as_before(placed, return_id, location)
            found = placed.find_return(return_id)
            assert found is not None
            back = found
        else:
            back = placed.receive_return(return_id, location, LATER)
            assert back.taken is not None
            pieces = back.taken
        received.append((back, pieces))
        assert sum(piece.quantity for piece in pieces) == back.lines[0].quantity
        for piece in pieces:
            assert piece.fulfillment_id in captured  # only what reached the customer
            taken[piece.fulfillment_id] = taken.get(piece.fulfillment_id, 0) + piece.quantity
        for fid, count in units.items():
            assert taken.get(fid, 0) <= count
            returned = placed.fulfillment(fid).status is FulfillmentStatus.RETURNED
            assert returned == (taken.get(fid, 0) == count)

    assert placed.everything_returned()
    refunds = [back.refund for back, _ in received if back.refund is not None]
    assert len(refunds) == len(received)
    # Everything back: what was captured for every unit that reached the customer, as the
    # units taken in fulfilment order gave back.
    assert sum(refunds, Money.zero()) == sum(captured.values(), Money.zero())
    if unit_by_unit:
        # Each unit's refund is its fulfilment's: a fulfilment's refunds are its capture.
        by_fulfilment: dict[str, Money] = {}
        for back, pieces in received:
            assert back.refund is not None
            (units_back,) = pieces
            fid = units_back.fulfillment_id
            by_fulfilment[fid] = by_fulfilment.get(fid, Money.zero()) + back.refund
        assert by_fulfilment == captured
