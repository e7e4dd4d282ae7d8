"""Dispatch and the wait's registration in one step, on fakes: the first wait's length is
known at reservation, no promise or pick-up deadline outlasts the wait, a retry dispatches
once, and a cancelled order parks nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.api.models import OrderResponse
from chalicelib.deps import Deps
from chalicelib.domain.errors import ConcurrentModification, NotFound, OrderCancelled
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.orders import Order
from chalicelib.services import customer_records, fulfillment_steps, ordering, stock_steps, tracking
from chalicelib.services.promising import shipment_promise
from chalicelib.services.step_models import DispatchInput, OrderStep
from tests.service import flows


def _step(order: Order, kind: FulfillmentType, wait_seconds: int, token: str) -> DispatchInput:
    fulfillment = next(f for f in order.fulfillments if f.type is kind)
    return DispatchInput(
        order_id=order.order_id,
        fulfillment_id=fulfillment.fulfillment_id,
        task_token=token,
        wait_seconds=wait_seconds,
        # The fakes' clock stands still: the state is entered when the order was placed.
        entered_at=order.placed_at,
    )


def test_the_reservation_hands_each_fulfillment_its_first_wait(deps: Deps) -> None:
    order = flows.reserved(deps, lines=flows.MIXED)
    reservation = stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)

    waits = {ref.type: ref.wait_seconds for ref in reservation.fulfillments}
    ship = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    _, promised = shipment_promise(order, ship.location_id, deps)
    until_promise = deps.settings.waits.duration(promised - deps.clock()).total_seconds()
    handling = deps.settings.waits.handling_seconds
    assert waits[FulfillmentType.SHIP] == max(1, int(until_promise) + 1 - handling)
    # Monday 2 March 2026, 10:00 in Madrid: the 72 h window runs until the store closes
    # (21:00 there, 20:00 UTC) on the third day it opens after today, Thursday.
    # Counted from the dispatch, after the handling pause (the wait starts then), with a
    # second over, so the wait never ends before the store closes.
    closes = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)
    dispatched = deps.clock() + timedelta(seconds=handling)
    until_closing = deps.settings.waits.duration(closes - dispatched).total_seconds()
    assert waits[FulfillmentType.PICKUP] == int(until_closing) + 1


def test_a_pick_up_ready_while_its_store_is_shut_waits_from_its_opening(deps: Deps) -> None:
    order = flows.reserved(deps, lines=flows.MIXED)
    # Saturday 7 March 2026, 22:30 in Madrid: the store is shut until Monday at 10:00.
    # (A fraction of a second: a deadline cut to whole seconds read "20:59".)
    deps.clock.now = datetime(2026, 3, 7, 21, 30, 0, 416645, tzinfo=UTC)  # type: ignore[attr-defined]
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    # As the workflow runs it: the wait's length from the reservation, then the dispatch
    # when the wait starts, after the handling pause.
    wait = fulfillment_steps.first_wait_seconds(order, pickup, deps)
    entered = deps.clock.advance(seconds=deps.settings.waits.handling_seconds)  # type: ignore[attr-defined]
    step = _step(order, FulfillmentType.PICKUP, wait, "tok-pu")
    fulfillment_steps.dispatch_and_await(step.model_copy(update={"entered_at": entered}), deps)

    ready = deps.store.get_order(order.order_id).fulfillment(pickup.fulfillment_id)
    assert ready.status is FulfillmentStatus.READY_FOR_PICKUP
    assert ready.ready_at == entered
    assert ready.collect_from == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    # Tuesday, Wednesday, Thursday: three opening days after Monday, to closing (21:00 in
    # Madrid, to the second: not cut to the wait's whole seconds).
    assert ready.pickup_deadline == datetime(2026, 3, 12, 20, 0, tzinfo=UTC)
    assert deps.clock() + timedelta(seconds=wait) > ready.pickup_deadline
    # A storefront or app drawing the order tells the same (GET /orders/{id}, the JSON).
    stored = deps.store.get_order(order.order_id)
    shown = OrderResponse.from_order(stored, "https://example.test/track/x")
    (told,) = [f for f in shown.model_dump(mode="json")["fulfillments"] if f["type"] == "pickup"]
    (tracked,) = [
        f for f in tracking.tracking_view(stored)["fulfillments"] if f["type"] == "pickup"
    ]
    for view in (told, tracked):
        assert (view["collect_from"], view["pickup_deadline"]) == (
            "2026-03-09T09:00:00+00:00",
            "2026-03-12T20:00:00+00:00",
        )


def test_no_promise_or_pickup_deadline_outlasts_the_wait(deps: Deps) -> None:
    order = flows.reserved(deps, lines=flows.MIXED)
    short = 60  # shorter than the promise (a day or more) and the pick-up window

    for kind, token in ((FulfillmentType.SHIP, "tok-ship"), (FulfillmentType.PICKUP, "tok-pu")):
        fulfillment_steps.dispatch_and_await(_step(order, kind, short, token), deps)

    stored = deps.store.get_order(order.order_id)
    wait_ends = stored.placed_at + timedelta(seconds=short)
    by_type = {f.type: f for f in stored.fulfillments}
    shipment = by_type[FulfillmentType.SHIP].shipment
    assert shipment is not None and shipment.promised_by <= wait_ends
    deadline = by_type[FulfillmentType.PICKUP].pickup_deadline
    assert deadline is not None and deadline <= wait_ends
    assert {f.task_token for f in stored.fulfillments} == {"tok-ship", "tok-pu"}


def test_a_retried_dispatch_books_and_captures_once_and_parks_the_new_token(
    deps: Deps,
) -> None:
    order = flows.reserved(deps)
    first = _step(order, FulfillmentType.SHIP, 3600, "tok-1")
    fulfillment_steps.dispatch_and_await(first, deps)
    booked = deps.store.get_order(order.order_id)
    # Two captures (the goods, and the 4.95 shipping fee the two-T-shirt Madrid order
    # pays with its first shipment): three order writes, the dispatch with its token
    # parked and each capture settled.
    assert order.pricing is not None and order.pricing.shipping > 0
    captures = [op.key for op in booked.payment.operations if op.type.value == "capture"]
    assert len(captures) == 2
    assert booked.version == order.version + 2
    assert booked.fulfillments[0].task_token == "tok-1"

    fulfillment_steps.dispatch_and_await(first.model_copy(update={"task_token": "tok-2"}), deps)

    again = deps.store.get_order(order.order_id)
    (fulfillment,) = again.fulfillments
    assert fulfillment.status is FulfillmentStatus.SHIPPED
    assert fulfillment.shipment == booked.fulfillments[0].shipment
    assert [op.key for op in again.payment.operations if op.type.value == "capture"] == captures
    assert [op.type.value for op in again.payment.operations] == ["capture", "capture"]
    assert fulfillment.task_token == "tok-2"
    assert [h.status.value for h in again.history].count("SHIPPED") == 1


def test_a_cancelled_order_is_not_dispatched_and_parks_nothing(deps: Deps) -> None:
    order = flows.reserved(deps)
    ordering.cancel_order(order.order_id, deps)

    with pytest.raises(OrderCancelled):
        fulfillment_steps.dispatch_and_await(
            _step(order, FulfillmentType.SHIP, 3600, "tok-x"), deps
        )

    (fulfillment,) = deps.store.get_order(order.order_id).fulfillments
    assert fulfillment.shipment is None and fulfillment.task_token is None


def test_a_dispatch_that_loses_its_race_to_a_cancel_leaves_no_shipment_record(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by a probe: the record stored ahead of the order write stayed, counted by the
    # SLA scorecard and refusing the carrier's events, until the scheduled check.
    order = flows.reserved(deps)
    real_save = deps.store.save_order
    booked: list[tuple[str, str]] = []

    def cancel_first(current: Order, *args: object, **kwargs: object) -> None:
        parcel = current.fulfillments[0].shipment
        if parcel is not None and not booked:
            booked.append((parcel.carrier, parcel.tracking_number))
            ordering.cancel_order(current.order_id, deps)  # the cancel wins the race
            raise ConcurrentModification("the order moved")
        real_save(current, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deps.store, "save_order", cancel_first)

    with pytest.raises(OrderCancelled):
        fulfillment_steps.dispatch_and_await(
            _step(order, FulfillmentType.SHIP, 3600, "tok-x"), deps
        )

    ((carrier, tracking_number),) = booked
    with pytest.raises(NotFound):
        deps.store.order_for_shipment(carrier, tracking_number)
    assert deps.store.get_order(order.order_id).fulfillments[0].status is (
        FulfillmentStatus.CANCELLED
    )


def test_a_dispatch_that_wins_keeps_its_shipment_record(deps: Deps) -> None:
    order = flows.reserved(deps)

    fulfillment_steps.dispatch_and_await(_step(order, FulfillmentType.SHIP, 3600, "tok-x"), deps)

    parcel = deps.store.get_order(order.order_id).fulfillments[0].shipment
    assert parcel is not None
    assert deps.store.order_for_shipment(parcel.carrier, parcel.tracking_number) == order.order_id


def test_a_handling_pause_across_closing_time_costs_the_pick_up_no_day(deps: Deps) -> None:
    # Probe 206: reserved at 20:59:58 on a Saturday in Madrid (open), dispatched after the
    # handling pause at 21:00:03 (shut): ready from Monday, but the wait was worked out
    # as if ready on Saturday, and its end cut the deadline to Wednesday.
    order = flows.reserved(deps, lines=flows.MIXED)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    handling = deps.settings.waits.handling_seconds
    assert handling > 2
    deps.clock.now = datetime(2026, 3, 7, 19, 59, 58, tzinfo=UTC)  # type: ignore[attr-defined]
    wait = fulfillment_steps.first_wait_seconds(order, pickup, deps)
    entered = deps.clock.advance(seconds=handling)  # type: ignore[attr-defined]
    step = _step(order, FulfillmentType.PICKUP, wait, "tok-pu")
    fulfillment_steps.dispatch_and_await(step.model_copy(update={"entered_at": entered}), deps)

    ready = deps.store.get_order(order.order_id).fulfillment(pickup.fulfillment_id)
    assert ready.collect_from == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert ready.pickup_deadline == datetime(2026, 3, 12, 20, 0, tzinfo=UTC)


def test_a_pick_up_made_ready_as_its_customer_is_erased_keeps_no_code(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI run: the erasure landed right after the dispatch wrote the pick-up ready, so the
    # dispatch cancelled it, but its code stayed on the order, for a person erased.
    order = flows.reserved(deps, lines=flows.MIXED)
    assert order.customer_id is not None
    fulfillment_steps.dispatch_and_await(_step(order, FulfillmentType.SHIP, 3600, "tok-s"), deps)
    real_save = deps.store.save_order

    def erased_right_after(current: Order, *args: object, **kwargs: object) -> None:
        real_save(current, *args, **kwargs)  # type: ignore[arg-type]
        pickup = next(f for f in current.fulfillments if f.type is FulfillmentType.PICKUP)
        if pickup.status is FulfillmentStatus.READY_FOR_PICKUP:
            monkeypatch.setattr(deps.store, "save_order", real_save)
            customer_records.erase_customer(str(current.customer_id), "ops", "ops", deps)

    monkeypatch.setattr(deps.store, "save_order", erased_right_after)

    fulfillment_steps.dispatch_and_await(_step(order, FulfillmentType.PICKUP, 3600, "tok-p"), deps)

    stored = deps.store.get_order(order.order_id)
    pickup = next(f for f in stored.fulfillments if f.type is FulfillmentType.PICKUP)
    assert pickup.status is FulfillmentStatus.CANCELLED
    assert pickup.pickup_code is None
