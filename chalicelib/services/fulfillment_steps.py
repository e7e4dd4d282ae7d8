"""Workflow steps for each fulfillment: dispatch (carrier booked, or ready in store), the
wait for delivery or collection, and what happens when that wait runs out."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from chalicelib.domain.errors import ConcurrentModification, OrderCancelled
from chalicelib.domain.events import NotCollected, ReadyForPickup, ShipmentSent
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.ports import StockChange
from chalicelib.services import ordering, settlement
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.lost_parcels import follow_up_late_shipment
from chalicelib.services.order_writes import (
    Change,
    Unchanged,
    announce_again,
    announce_again_at,
    announce_delivered_again,
    mutate,
    tell_given_back_again,
)
from chalicelib.services.ordering import end_waits, ensure_not_cancelled
from chalicelib.services.promising import pickup_times, quoted_promise, shipment_promise
from chalicelib.services.sla import late_delivery_deadline
from chalicelib.services.step_models import (
    AwaitInput,
    DispatchInput,
    DispatchOutput,
    Empty,
    FulfillmentStep,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def first_wait_seconds(order: Order, fulfillment: Fulfillment, deps: Deps) -> int:
    """How long the workflow's first wait for a fulfillment lasts, counted from when its
    dispatch starts (after the handling pause): until the promise the shopper was given
    (ship), or the store's pick-up window. Known at reservation, so the dispatch and the
    wait are one state; ``dispatch_and_await`` keeps every deadline within it."""
    config = deps.settings
    if fulfillment.type is FulfillmentType.SHIP:
        _, promised = shipment_promise(order, fulfillment.location_id, deps)
        left = config.waits.duration(max(promised - deps.clock(), timedelta(0)))
        return max(1, int(left.total_seconds()) + 1 - config.waits.handling_seconds)
    # Counted from when the dispatch runs, after the handling pause (the wait starts
    # then): a pause across closing time makes it ready on the next opening day (probe
    # 206: counted from now, the window lost a day, its deadline held to this wait).
    ready = deps.clock() + timedelta(seconds=config.waits.handling_seconds)
    _, closes = pickup_times(fulfillment.location_id, ready, deps)
    # A second over, as for a parcel: the wait must not end before the store closes.
    return max(1, int(config.waits.duration(closes - ready).total_seconds()) + 1)


def dispatch_and_await(step: DispatchInput, deps: Deps) -> Empty:
    """Dispatch the fulfillment (once, however often this runs), then park the wait's
    token on it. The wait runs out ``wait_seconds`` after its state was entered; the
    promise or pick-up deadline set here is never later than that, so the timeout always
    finds it passed."""
    wait_ends = step.entered_at + timedelta(seconds=step.wait_seconds)
    fulfillment = FulfillmentStep(order_id=step.order_id, fulfillment_id=step.fulfillment_id)
    # The first run parks the token with the dispatch's own write; a retry (dispatched
    # already) parks its new token below, starting from the order the dispatch left.
    _, order = _dispatch(fulfillment, deps, wait_ends, step.task_token)
    parked = AwaitInput(
        order_id=step.order_id, task_token=step.task_token, fulfillment_id=step.fulfillment_id
    )
    return await_fulfillment(parked, deps, start=order)


def dispatch_fulfillment(
    step: FulfillmentStep,
    deps: Deps,
    wait_ends: datetime | None = None,
    task_token: str | None = None,
) -> DispatchOutput:
    """Ship: book the carrier, take the units off the shelf. Pick-up: mark ready with a
    pick-up code. Returns how long to wait for delivery or collection. ``wait_ends``: when
    the workflow's wait will run out; the promise and the pick-up deadline are kept within
    it. ``task_token``: the wait's, parked on the fulfillment in the same write."""
    return DispatchOutput(wait_seconds=_dispatch(step, deps, wait_ends, task_token)[0])


def _dispatch(
    step: FulfillmentStep, deps: Deps, wait_ends: datetime | None, task_token: str | None
) -> tuple[int, Order]:
    """``dispatch_fulfillment``'s work: the seconds to wait, and the order as its last
    write (or read) left it."""
    now = deps.clock()
    config = deps.settings

    def decide(order: Order) -> Change[int] | Unchanged[int]:
        """The result is how many seconds to wait for delivery or collection."""
        ensure_not_cancelled(order)
        fulfillment = order.fulfillment(step.fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.PENDING:
            return Unchanged(_remaining_wait(order, step.fulfillment_id, deps))
        if order_erased(order, deps):
            if ordering.waits_for_what_an_erasure_takes(order):
                raise _CustomerErased(order.order_id)
            # Another part was handed over, so the order goes on; this part needs what the
            # erasure took (the address, or the email its code goes to) and is cancelled
            # alone, as an uncollected pick-up is: its stock released, its share voided,
            # and its wait ended by ``await_fulfillment``, which finds it cancelled.
            return _cancelled_for_erasure(order, fulfillment.fulfillment_id, now)
        if task_token is not None:
            fulfillment.task_token = task_token
        if fulfillment.type is FulfillmentType.SHIP:
            carrier, promised = shipment_promise(order, fulfillment.location_id, deps)
            # The promise the shopper was given is the SLA the carrier is held to; the
            # local stack scales the time left to it like every wait.
            held_to = now + config.waits.duration(max(promised - now, timedelta(0)))
            if wait_ends is not None:
                held_to = min(held_to, wait_ends)
            shipment = carrier.book(order.order_id, fulfillment.fulfillment_id, now, held_to)
            # The quote's promise shown while it is the one held (not one a restart
            # outran: ``shipment_promise``).
            quoted = quoted_promise(order, fulfillment.location_id)
            if quoted is not None and quoted == promised and quoted != shipment.promised_by:
                shipment.quoted_promise = quoted
            shipment.breach_due = late_delivery_deadline(shipment.promised_by, deps)
            entry = order.dispatch_shipment(fulfillment.fulfillment_id, shipment, now)
            wait_seconds = max(1, int((shipment.promised_by - now).total_seconds()) + 1)
            taken = StockChange.handing_over(fulfillment)
            sent = ShipmentSent.of(order.order_id, fulfillment.fulfillment_id, shipment, now)
            return Change(
                entry=entry,
                stock=taken,
                shipments=[fulfillment],
                events=[sent],
                result=wait_seconds,
            )
        opens, closes = pickup_times(fulfillment.location_id, now, deps)
        # Scaled like every wait on the local stack: the store "opens" as soon after now.
        collect_from = now + config.waits.duration(opens - now)
        deadline = now + config.waits.duration(closes - now)
        if wait_ends is not None:
            deadline = min(deadline, wait_ends)
        code = f"{secrets.randbelow(10**6):06d}"
        entry = order.ready_for_pickup(
            fulfillment.fulfillment_id, code, deadline, now, collect_from
        )
        event = ReadyForPickup.of(order.order_id, fulfillment, now)
        wait_seconds = max(1, int((deadline - now).total_seconds()) + 1)
        return Change(entry=entry, events=[event], result=wait_seconds)

    def cancel_ready(order: Order) -> Change[int] | Unchanged[int]:
        """The pick-up just made ready, for a customer erased meanwhile: cancelled as above
        (a parcel booked stays: the carrier has it)."""
        if order.fulfillment(step.fulfillment_id).status is not FulfillmentStatus.READY_FOR_PICKUP:
            return Unchanged(1)
        return _cancelled_for_erasure(order, step.fulfillment_id, now)

    try:
        dispatched = mutate(deps, step.order_id, decide)
    except _CustomerErased as erased:
        _cancel_for_erasure(step.order_id, deps)
        raise OrderCancelled(
            f"order {step.order_id} was cancelled: its customer was erased"
        ) from erased
    if dispatched.change is None:
        _announce_dispatch_again(deps, dispatched.order, step.fulfillment_id)
    elif dispatched.order.fulfillment(
        step.fulfillment_id
    ).status is FulfillmentStatus.READY_FOR_PICKUP and order_erased(dispatched.order, deps):
        # Erased while this wrote: its erasure may have missed the order (its summary not
        # projected yet) and the code goes to nobody now (a CI run: the pick-up stayed
        # ready, its stock held, for an erased customer).
        dispatched = mutate(deps, step.order_id, cancel_ready)
    # A shipment booked is handed over: its share (and the shipping fee with the first
    # one) is captured now, under its key, however often this step runs.
    settled = settlement.settle(step.order_id, deps, raise_if_owed=True, start=dispatched.order)
    return dispatched.result or 1, settled.order or dispatched.order


def _cancelled_for_erasure(order: Order, fulfillment_id: str, now: datetime) -> Change[int]:
    """One part whose customer was erased, cancelled alone: its stock released, its share
    voided (owed, then settled), its wait ended by ``await_fulfillment`` (result 1 s)."""
    released, _, entry = order.cancel_fulfillment(
        fulfillment_id, StatusReason.CUSTOMER_REQUEST, now
    )
    # A pick-up made ready just before the erasure had its code written: it went to nobody,
    # and nothing of an erased person's stays (a CI run found it on the cancelled part).
    order.fulfillment(fulfillment_id).pickup_code = None
    return Change(entry=entry, stock=StockChange.releasing(released), result=1)


class _CustomerErased(Exception):
    """Nothing of the order was handed over and its customer was erased: it is cancelled,
    not served."""


def _cancel_for_erasure(order_id: str, deps: Deps) -> None:
    """The hand-over needs what the erasure took (a parcel the address, a pick-up the
    email its code goes to): the order is cancelled as the erasure cancels. The erasure
    finds the orders its record lists, and the projection each order of an erased
    customer when its event comes: an order placed just before the erasure can reach
    here before either, when its events wait behind others (a probe, 12 of 12 under
    load: it was shipped, charged, and its address kept). Another parcel handed over
    meanwhile leaves the order to be served: this step runs again and dispatches."""
    if not ordering.cancel_for_erasure(order_id, deps):
        raise ConcurrentModification(f"order {order_id} changed while it was cancelled")


def _announce_dispatch_again(deps: Deps, order: Order, fulfillment_id: str) -> None:
    """A retried dispatch found its fulfillment dispatched: its first run may have died
    between the write and the publish (a Lambda timeout), and the customer would never
    hear that the parcel left or, worse, get the pick-up code. While the fulfillment is
    still where that run left it, its event and the order's status are announced again
    under their first ids and moments; every subscriber acts once per id."""
    fulfillment = order.fulfillment(fulfillment_id)
    shipment = fulfillment.shipment
    if fulfillment.status is FulfillmentStatus.SHIPPED and shipment is not None:
        sent = ShipmentSent.of(order.order_id, fulfillment_id, shipment, shipment.shipped_at)
        deps.events.publish(sent.message())
    elif fulfillment.status is FulfillmentStatus.READY_FOR_PICKUP and fulfillment.ready_at:
        ready = ReadyForPickup.of(order.order_id, fulfillment, fulfillment.ready_at)
        deps.events.publish(ready.message())
    else:
        return  # moved on since: what it became was announced, and tells more
    if order.status in (OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP):
        announce_again(deps, order, order.status)


def _remaining_wait(order: Order, fulfillment_id: str, deps: Deps) -> int:
    fulfillment = order.fulfillment(fulfillment_id)
    now = deps.clock()
    if fulfillment.shipment is not None:
        return max(1, int((fulfillment.shipment.promised_by - now).total_seconds()) + 1)
    if fulfillment.pickup_deadline is not None:
        return max(1, int((fulfillment.pickup_deadline - now).total_seconds()))
    return 1


class _Parked(Enum):
    """Where a wait's registration left the execution."""

    WAITING = "waiting"
    DONE = "done"  # the outcome had already arrived
    CANCELLED = "cancelled"


def await_fulfillment(step: AwaitInput, deps: Deps, start: Order | None = None) -> Empty:
    """Park the execution's token on the fulfillment; if the outcome already arrived (a fast
    webhook), release the wait at once. ``start``: the order as the caller's last write
    left it (``mutate``'s)."""

    def decide(order: Order) -> Change[_Parked] | Unchanged[_Parked]:
        if order.status is OrderStatus.CANCELLED:
            # The cancel released the waits before this one was parked.
            return Unchanged(_Parked.CANCELLED)
        fulfillment = order.fulfillment(step.fulfillment_id or "")
        if fulfillment.status in (
            FulfillmentStatus.DELIVERED,
            FulfillmentStatus.CANCELLED,
            FulfillmentStatus.RETURNED,
            FulfillmentStatus.LOST,
        ):
            # Before the token's check: a delivery keeps the token it released.
            return Unchanged(_Parked.DONE)
        if fulfillment.task_token == step.task_token:
            return Unchanged(_Parked.WAITING)  # parked with the dispatch's write
        fulfillment.task_token = step.task_token
        return Change(result=_Parked.WAITING)

    parked = mutate(deps, step.order_id, decide, start=start).result
    if parked is _Parked.CANCELLED:
        end_waits([step.task_token], step.order_id, deps)
    elif parked is _Parked.DONE:
        deps.workflow.resume(step.task_token, {"already": "completed"})
    return Empty()


def handle_fulfillment_timeout(step: FulfillmentStep, deps: Deps) -> DispatchOutput:
    """A wait ran out. Late shipment: keep waiting through the grace, then the breach is
    recorded (apology, ticket, ops alert), and the wait goes on until the parcel is declared
    lost and refunded. Uncollected pick-up: restock and refund."""
    order = deps.store.get_order(step.order_id)
    if order.fulfillment(step.fulfillment_id).type is FulfillmentType.SHIP:
        return _late_shipment(step, deps)
    return _uncollected_pickup(step, deps)


def _late_shipment(step: FulfillmentStep, deps: Deps) -> DispatchOutput:
    wait = follow_up_late_shipment(step.order_id, step.fulfillment_id, deps)
    if wait is None:
        return DispatchOutput(keep_waiting=False)
    return DispatchOutput(keep_waiting=True, wait_seconds=wait)


def _uncollected_pickup(step: FulfillmentStep, deps: Deps) -> DispatchOutput:
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        fulfillment = order.fulfillment(step.fulfillment_id)
        fulfillment.task_token = None
        if fulfillment.status is not FulfillmentStatus.READY_FOR_PICKUP:
            return None
        # The fulfillment's void is recorded as owed in this write (never lost with a
        # gateway failure after it), then settled below.
        released, voided, entry = order.cancel_fulfillment(
            fulfillment.fulfillment_id, StatusReason.NOT_COLLECTED, now
        )
        stock = StockChange.releasing(released)
        not_collected = NotCollected.of(order.order_id, fulfillment, voided, now)
        return Change(entry=entry, stock=stock, events=[not_collected])

    written, order = settlement.write_then_settle(deps, step.order_id, decide, raise_if_owed=True)
    if written.change is None:
        _announce_not_collected_again(deps, order, step.fulfillment_id)
        # Collected by a request that may have died before telling the customer or
        # releasing this wait, and the clerk may never have asked again (a review).
        announce_delivered_again(deps, order, step.fulfillment_id)
    return DispatchOutput(keep_waiting=False)


def _announce_not_collected_again(deps: Deps, order: Order, fulfillment_id: str) -> None:
    """A retried timeout found the pick-up cancelled: its first run may have died between
    the write and the publish, and the customer would never hear that the goods went back
    and the money with them. Announced again under the first ids and moment."""
    fulfillment = order.fulfillment(fulfillment_id)
    at = fulfillment.cancelled_at
    if fulfillment.status_reason is not StatusReason.NOT_COLLECTED or at is None:
        return
    announce_again_at(deps, order, at)
    tell_given_back_again(deps, order, at)
    voided = order.fulfillment_value(fulfillment)
    deps.events.publish(NotCollected.of(order.order_id, fulfillment, voided, at).message())
