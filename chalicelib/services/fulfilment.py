"""The workflow's steps: each takes one model in and returns one model out."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from chalicelib.adapters.carriers import carrier_for
from chalicelib.domain.errors import (
    ConcurrentModification,
    OrderCancelled,
    OutOfStock,
    PaymentDeclined,
)
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.inventory import plan_sourcing
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import MAX_RESERVED_LINES
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.ports import StockChange
from chalicelib.services import settlement
from chalicelib.services.inventory import check_low_stock
from chalicelib.services.lost_parcels import follow_up_late_shipment
from chalicelib.services.order_writes import Change, Unchanged, mutate, publish
from chalicelib.services.ordering import end_waits, ensure_not_cancelled

if TYPE_CHECKING:
    from chalicelib.composition import Deps

RESERVE_ATTEMPTS = 3


class OrderStep(BaseModel):
    """Input of steps that act on a whole order."""

    order_id: str


class RejectOrderInput(BaseModel):
    """Input of the rejection step: the business error the workflow caught."""

    order_id: str
    error: str


class FulfilmentStep(BaseModel):
    """Input of steps that act on one fulfilment."""

    order_id: str
    fulfillment_id: str


class AwaitInput(BaseModel):
    """Input of a wait's registration: the task token to park on the order."""

    order_id: str
    task_token: str
    fulfillment_id: str | None = None


class FulfilmentRef(BaseModel):
    """A fulfilment the Map state iterates over."""

    fulfillment_id: str
    type: FulfillmentType


class ReservationOutput(BaseModel):
    """What ReserveStock hands to the Map state."""

    fulfillments: list[FulfilmentRef]


class DispatchOutput(BaseModel):
    """How long the workflow waits for this fulfilment, and whether to keep waiting."""

    wait_seconds: int = 1
    keep_waiting: bool = False


class Empty(BaseModel):
    """Steps with nothing to report."""


_REJECTION_REASONS = {
    "PaymentDeclined": StatusReason.PAYMENT_DECLINED,
    "PaymentGatewayUnavailable": StatusReason.PAYMENT_UNAVAILABLE,
    "OutOfStock": StatusReason.OUT_OF_STOCK,
}


def authorize_payment(step: OrderStep, deps: Deps) -> Empty:
    """ACCEPTED → PAID: the total is authorised, nothing is taken yet. An authorisation
    that lands after a cancel is voided at once."""
    order = deps.store.get_order(step.order_id)
    ensure_not_cancelled(order)
    if order.status is not OrderStatus.ACCEPTED:
        settlement.settle(step.order_id, deps, raise_if_owed=True)  # a retried step
        return Empty()
    try:
        payment_id = deps.payments.authorize(order.order_id, order.total, order.payment_token)
    except PaymentDeclined as exc:
        _record_decline(step.order_id, exc.payment_id, deps)
        raise
    now = deps.clock()

    def decide(current: Order) -> Change[bool] | Unchanged[bool]:
        """The result says whether the order was cancelled while paying."""
        if current.status is OrderStatus.CANCELLED:
            if current.payment.authorized is not None:
                return Unchanged(True)
            # Recorded with the void it calls for (the order ended): settled below.
            current.record_authorization(payment_id)
            return Change(result=True)
        if current.status is not OrderStatus.ACCEPTED:
            return Unchanged(False)
        return Change(entry=current.record_payment(payment_id, now), result=False)

    cancelled = mutate(deps, step.order_id, decide).result
    settlement.settle(step.order_id, deps, raise_if_owed=True)
    if cancelled:
        raise OrderCancelled(f"order {step.order_id} was cancelled while paying")
    return Empty()


def _record_decline(order_id: str, payment_id: str | None, deps: Deps) -> None:
    """Keep the gateway's payment id of a declined authorisation on the order."""

    def decide(order: Order) -> Change | None:
        if order.status is not OrderStatus.ACCEPTED or payment_id is None:
            return None
        order.record_decline(payment_id)
        return Change()

    mutate(deps, order_id, decide)


def reserve_stock(step: OrderStep, deps: Deps) -> ReservationOutput:
    """PAID → RESERVED: source every line and reserve it all in one transaction."""
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        ensure_not_cancelled(order)
        if order.status is not OrderStatus.PAID:
            return None
        ship_lines: dict[str, int] = {}
        pickup_lines: dict[tuple[str, str], int] = {}
        for line in order.lines:
            if line.fulfillment is FulfillmentType.PICKUP and line.location_id:
                key = (line.sku, line.location_id)
                pickup_lines[key] = pickup_lines.get(key, 0) + line.quantity
            else:
                ship_lines[line.sku] = ship_lines.get(line.sku, 0) + line.quantity
        stock = {sku: deps.store.stock_levels(sku) for sku in {line.sku for line in order.lines}}
        plan = plan_sourcing(ship_lines, pickup_lines, stock)
        if len(plan.allocations) > MAX_RESERVED_LINES:
            # Split across locations, the lines no longer fit one transaction: the stock
            # cannot be promised all at once, so the order is refused like any shortage.
            raise OutOfStock(
                f"{len(plan.allocations)} allocations exceed one transaction", field="lines"
            )
        entry = order.reserve(plan.allocations, plan.reason, now)
        changes = [
            StockChange(sku=a.sku, location_id=a.location_id, reserved=a.quantity)
            for a in plan.allocations
        ]
        return Change(entry=entry, stock=changes)

    # Someone may take the stock between our read and our write (``OutOfStock`` from the
    # write): plan again from the fresh counts, and give up only when the stock is really
    # not there.
    written = mutate(
        deps,
        step.order_id,
        decide,
        lost_race=(OutOfStock, ConcurrentModification),
        attempts=RESERVE_ATTEMPTS,
    )
    if written.change is not None:
        for sku in sorted({change.sku for change in written.change.stock}):
            check_low_stock(sku, deps)
    return _reservation_of(written.order)


def _reservation_of(order: Order) -> ReservationOutput:
    return ReservationOutput(
        fulfillments=[
            FulfilmentRef(fulfillment_id=f.fulfillment_id, type=f.type) for f in order.fulfillments
        ]
    )


def reject_order(step: RejectOrderInput, deps: Deps) -> Empty:
    """End the order REJECTED: release what was reserved and void the authorisation, in
    one path with every other void (``settlement``); a retried step voids nothing twice."""
    reason = _REJECTION_REASONS.get(step.error, StatusReason.OUT_OF_STOCK)
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        if order.status in _ENDED:
            return None
        released = [
            StockChange(sku=a.sku, location_id=a.location_id, reserved=-a.quantity)
            for a in order.reserved_allocations()
        ]
        detail = {
            StatusReason.PAYMENT_DECLINED: "the card was declined",
            StatusReason.PAYMENT_UNAVAILABLE: "the payment gateway did not answer; nothing charged",
            StatusReason.OUT_OF_STOCK: "not enough stock; nothing charged",
        }.get(reason, reason.value)
        return Change(entry=order.reject(reason, now, detail), stock=released)

    # Announced once the void is settled, so that the customer's email can say so.
    written = mutate(deps, step.order_id, decide, announce=False)
    try:
        settlement.settle(step.order_id, deps, raise_if_owed=True)
    finally:
        if written.change is not None:
            publish(deps, written.order, written.change)
    return Empty()


_ENDED = (OrderStatus.REJECTED, OrderStatus.CANCELLED)


def dispatch_fulfillment(step: FulfilmentStep, deps: Deps) -> DispatchOutput:
    """Ship: book the carrier, take the units off the shelf. Pick-up: mark ready with a
    pick-up code. Returns how long to wait for delivery or collection."""
    now = deps.clock()
    config = deps.settings

    def decide(order: Order) -> Change[int] | Unchanged[int]:
        """The result is how many seconds to wait for delivery or collection."""
        ensure_not_cancelled(order)
        fulfillment = order.fulfillment(step.fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.PENDING:
            return Unchanged(_remaining_wait(order, step.fulfillment_id, deps))
        if fulfillment.type is FulfillmentType.SHIP:
            address = order.shipping_address
            carrier = deps.carriers[
                carrier_for(address.country, address.postal_code) if address else "rapido"
            ]
            booked = carrier.book(order.order_id, fulfillment.fulfillment_id, now)
            # The promise the system enforces is the carrier's, scaled like every wait.
            shipment = booked.model_copy(
                update={"promised_by": now + (booked.promised_by - now) / config.time_scale}
            )
            entry = order.dispatch_shipment(fulfillment.fulfillment_id, shipment, now)
            wait_seconds = max(1, int((shipment.promised_by - now).total_seconds()) + 1)
            taken = [
                StockChange(
                    sku=line.sku,
                    location_id=fulfillment.location_id,
                    on_hand=-line.quantity,
                    reserved=-line.quantity,
                )
                for line in fulfillment.lines
            ]
            return Change(entry=entry, stock=taken, shipments=[fulfillment], result=wait_seconds)
        window_hours = _pickup_window_hours(fulfillment.location_id, deps)
        deadline = now + timedelta(seconds=config.scaled(window_hours * 3600))
        code = f"{secrets.randbelow(10**6):06d}"
        entry = order.ready_for_pickup(fulfillment.fulfillment_id, code, deadline, now)
        event = {
            "type": "fulfillment.ready_for_pickup",
            "event_id": f"{order.order_id}:{fulfillment.fulfillment_id}:READY_FOR_PICKUP",
            "order_id": order.order_id,
            "fulfillment_id": fulfillment.fulfillment_id,
            "location_id": fulfillment.location_id,
            "at": now.isoformat(),
        }
        return Change(entry=entry, events=[event], result=config.scaled(window_hours * 3600))

    wait_seconds = mutate(deps, step.order_id, decide).result
    # A shipment booked is handed over: its share (and the shipping fee with the first
    # one) is captured now, under its key, however often this step runs.
    settlement.settle(step.order_id, deps, raise_if_owed=True)
    return DispatchOutput(wait_seconds=wait_seconds or 1)


def _pickup_window_hours(location_id: str, deps: Deps) -> int:
    for location in deps.store.locations():
        if location.location_id == location_id:
            return location.pickup_window_hours
    return 72


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


def await_fulfillment(step: AwaitInput, deps: Deps) -> Empty:
    """Park the execution's token on the fulfilment; if the outcome already arrived (a fast
    webhook), release the wait at once."""

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
            return Unchanged(_Parked.DONE)
        fulfillment.task_token = step.task_token
        return Change(result=_Parked.WAITING)

    parked = mutate(deps, step.order_id, decide).result
    if parked is _Parked.CANCELLED:
        end_waits([step.task_token], step.order_id, deps)
    elif parked is _Parked.DONE:
        deps.workflow.resume(step.task_token, {"already": "completed"})
    return Empty()


def handle_fulfillment_timeout(step: FulfilmentStep, deps: Deps) -> DispatchOutput:
    """A wait ran out. Late shipment: breach recorded (apology, ticket, ops alert), keep
    waiting for the carrier until the parcel is declared lost and refunded. Uncollected
    pick-up: restock and refund."""
    order = deps.store.get_order(step.order_id)
    if order.fulfillment(step.fulfillment_id).type is FulfillmentType.SHIP:
        return _late_shipment(step, deps)
    return _uncollected_pickup(step, deps)


def _late_shipment(step: FulfilmentStep, deps: Deps) -> DispatchOutput:
    wait = follow_up_late_shipment(step.order_id, step.fulfillment_id, deps)
    if wait is None:
        return DispatchOutput(keep_waiting=False)
    return DispatchOutput(keep_waiting=True, wait_seconds=wait)


def _uncollected_pickup(step: FulfilmentStep, deps: Deps) -> DispatchOutput:
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        fulfillment = order.fulfillment(step.fulfillment_id)
        fulfillment.task_token = None
        if fulfillment.status is not FulfillmentStatus.READY_FOR_PICKUP:
            return None
        # The fulfilment's void is recorded as owed in this write (never lost with a
        # gateway failure after it), then settled below.
        released, voided, entry = order.cancel_fulfillment(
            fulfillment.fulfillment_id, StatusReason.NOT_COLLECTED, now
        )
        stock = [
            StockChange(sku=a.sku, location_id=a.location_id, reserved=-a.quantity)
            for a in released
        ]
        not_collected: dict[str, Any] = {
            "type": "fulfillment.not_collected",
            "event_id": f"{order.order_id}:{fulfillment.fulfillment_id}:NOT_COLLECTED",
            "order_id": order.order_id,
            "fulfillment_id": fulfillment.fulfillment_id,
            "location_id": fulfillment.location_id,
            "voided": voided.model_dump(mode="json"),
            "at": now.isoformat(),
        }
        return Change(entry=entry, stock=stock, events=[not_collected])

    written = mutate(deps, step.order_id, decide, announce=False)
    try:
        settlement.settle(step.order_id, deps, raise_if_owed=True)
    finally:
        if written.change is not None:
            publish(deps, written.order, written.change)
    return DispatchOutput(keep_waiting=False)


class ReturnWindowOutput(BaseModel):
    """How long the workflow holds the order open for returns."""

    wait_seconds: int = 1
    open: bool = False


def _return_window_ends(order: Order, deps: Deps) -> datetime | None:
    """When the order's return window closes: fixed at delivery (or, for an order placed
    before the window was one of its terms, the configured window from delivery)."""
    if order.returns_window_ends is not None:
        return order.returns_window_ends
    delivered_at = order.delivered_at()
    if delivered_at is None:
        return None
    window = deps.settings.scaled(deps.settings.return_window_days * 86400)
    return delivered_at + timedelta(seconds=window)


def open_return_window(step: OrderStep, deps: Deps) -> ReturnWindowOutput:
    """What is left of the return window, counted from the delivery: the wait of
    AwaitReturns. A second or so when nothing was delivered or the window has closed."""
    order = deps.store.get_order(step.order_id)
    ends = _return_window_ends(order, deps) if order.status is OrderStatus.DELIVERED else None
    if ends is None:
        return ReturnWindowOutput()
    left = (ends - deps.clock()).total_seconds()
    if left < 1:
        return ReturnWindowOutput()
    return ReturnWindowOutput(wait_seconds=int(left) + 1, open=True)


def await_returns(step: AwaitInput, deps: Deps) -> Empty:
    """Park the token for the return window; release it at once when there is nothing to
    wait for (nothing delivered, the window closed, or everything already back)."""
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        ends = _return_window_ends(order, deps)
        if order.status is not OrderStatus.DELIVERED or ends is None or ends <= now:
            return None
        order.returns_task_token = step.task_token
        order.returns_window_ends = ends
        return Change()

    if mutate(deps, step.order_id, decide).change is None:
        deps.workflow.resume(step.task_token, {"already": "closed"})
    return Empty()
