"""Read an order, let the domain decide, write it back: with optimistic retries and the
status event published once the write has succeeded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from chalicelib.domain.errors import ConcurrentModification, NotFound, TryAgainShortly
from chalicelib.domain.events import Event, OrderStatusChanged
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.settlement import record_owed
from chalicelib.ports import StockChange
from chalicelib.services.inventory import low_stock_checked
from chalicelib.services.opportunities import (
    skus_given_back,
    stock_given_back,
    tell_those_waiting_at,
    told_safely,
)
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from chalicelib.composition import Deps

MAX_ATTEMPTS = 5
# For a write many clients make to one order at once (a carrier reporting a parcel's
# events together, tills receiving returns of one order): as many as a projection tries,
# each pause under 50 ms; one that loses every race is asked to send again (429).
CONTENDED_ATTEMPTS = 12


@contextmanager
def sent_again_when_contended(detail: str, field: str) -> Iterator[None]:
    """Around a write many make to one item at once (receipts and returns of one order,
    a parcel's events, notes on a ticket): one that lost every race wrote nothing, and is
    429 ``TryAgainShortly`` naming ``field`` with ``detail``, not a bare 409 a sender
    reads as final (probes 202, 203, 207)."""
    try:
        yield
    except ConcurrentModification as exc:
        raise TryAgainShortly(detail, field=field) from exc


_log = logging.getLogger(__name__)

# What a decision hands back to its caller (None for decisions that only write).
R = TypeVar("R", default=None)


@dataclass
class Change(Generic[R]):
    """What a decision wrote: the status entry (if any), stock deltas, lookup pointers and
    further events to publish, and what the decision found for its caller (``result``)."""

    entry: HistoryEntry | None = None
    stock: list[StockChange] = field(default_factory=list)
    return_ids: list[str] = field(default_factory=list)
    shipments: list[Fulfillment] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    result: R | None = None


@dataclass(frozen=True)
class Unchanged(Generic[R]):
    """A decision to write nothing, with what it found for its caller."""

    result: R | None = None


@dataclass(frozen=True)
class Mutation(Generic[R]):
    """The order as saved (or as read, when the decision wrote nothing), the change that
    was written (None if nothing was), and the decision's result, all from the attempt
    that counted: decisions of attempts that lost a race leave nothing behind."""

    order: Order
    change: Change[R] | None
    result: R | None


class _LostRace(Exception):
    """The write lost to another writer; ``error`` is what the store raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def mutate(
    deps: Deps,
    order_id: str,
    decide: Callable[[Order], Change[R] | Unchanged[R] | None],
    announce: bool = True,
    lost_race: tuple[type[Exception], ...] = (ConcurrentModification,),
    attempts: int = MAX_ATTEMPTS,
    start: Order | None = None,
) -> Mutation[R]:
    """Apply ``decide`` to the current order and save it; re-read and decide again, after
    a full-jitter pause, if someone else wrote in between (the write raised one of
    ``lost_race``; what ``decide`` raises always propagates). ``decide`` returning None or
    ``Unchanged`` writes nothing. With ``announce=False`` the caller publishes the saved
    change itself (``publish``), when what the events lead to (the customer's email)
    should see a later write too.

    ``start``: the order as the caller just read or saved it (a ``Mutation``'s order),
    decided on in the first attempt instead of reading it again. It was the current
    order when it was read or saved, so deciding on it is deciding on a read made then;
    a save from it is refused if anybody wrote since (its version), and every retry reads
    afresh. The caller must not use the object afterwards: the first decision may have
    changed it; the returned ``Mutation`` holds the order that counts."""
    if start is not None and start.order_id != order_id:
        raise ValueError(f"started from order {start.order_id}, not {order_id}")
    unread = [start]
    opened_ahead: list[Fulfillment] = []

    def attempt() -> Mutation[R]:
        given = unread.pop() if unread else None
        order = given if given is not None else deps.store.get_order(order_id)
        change = decide(order)
        if not isinstance(change, Change):
            return Mutation(order, None, change.result if change else None)
        # Money the change calls for (a void, a capture, a refund) is recorded as owed in
        # this same conditional write, before anyone attempts it (services.settlement).
        record_owed(order, deps.clock())
        # A shipment record that opens is stored before the order says so, ahead of the
        # version the order is about to get (the rule: a record may say "open" longer
        # than its order does, never less; see ``_close_records``). A retry after a
        # crash here writes its own booking over it.
        for fulfillment in change.shipments:
            if fulfillment.parcel_out():
                deps.store.put_shipment(order_id, fulfillment, order.version + 1, ahead=True)
                opened_ahead.append(fulfillment)
        try:
            deps.store.save_order(order, change.entry, change.stock, change.return_ids)
        except lost_race as exc:
            raise _LostRace(exc) from exc
        return Mutation(order, change, change.result)

    try:
        mutation = retried(attempt, attempts, (_LostRace,))
    except _LostRace as lost:
        _drop_unshipped(deps, order_id, opened_ahead)
        raise lost.error from lost.error.__cause__
    except Exception:
        _drop_unshipped(deps, order_id, opened_ahead)
        raise
    if opened_ahead:
        _drop_unshipped(deps, order_id, opened_ahead, mutation.order)
    if announce and mutation.change is not None:
        publish(deps, mutation.order, mutation.change)
    if mutation.change is not None:
        _close_records(deps, mutation.order, mutation.change)
        _tell_waiting_shoppers(deps, mutation.order, mutation.change)
    return mutation


def _drop_unshipped(
    deps: Deps, order_id: str, opened: list[Fulfillment], order: Order | None = None
) -> None:
    """Delete the shipment records an attempt stored ahead of an order write that lost its
    race, once the order shows they can never ship (a cancel won: found by a probe, the
    record was counted by the SLA scorecard and its carrier's events refused until the
    scheduled check repaired it). A fulfillment still waiting keeps its record: a dispatch
    may still write the same one."""
    if not opened:
        return
    if order is None:
        try:
            order = deps.store.get_order(order_id)
        except NotFound:
            return
    for fulfillment in opened:
        shipment = fulfillment.shipment
        if shipment is None:
            continue
        if order.find_by_tracking(shipment.carrier, shipment.tracking_number) is not None:
            continue
        if not order.may_still_dispatch(fulfillment.fulfillment_id):
            deps.store.drop_shipment(shipment.carrier, shipment.tracking_number, order_id)


def _tell_waiting_shoppers(deps: Deps, order: Order, change: Change[Any]) -> None:
    """Stock the change gave back may bring a SKU back in stock: its subscribers hear of
    it as they do of a receipt (a probe's cancelled pick-up left them waiting for good).
    The order's write is done: a failure here must not fail what the caller did."""
    given_back = skus_given_back(change.stock)
    for sku in given_back:
        told = partial(stock_given_back, sku, change.stock, deps)
        told_safely(told, f"{order.order_id} gave {sku} back")
    if given_back:
        # Back above a low-stock threshold, as a receipt would be (re-probe 193: a cancel
        # left the alert open, and so the next dip raised none).
        checked = partial(low_stock_checked, given_back, deps)
        told_safely(checked, f"{order.order_id} gave stock back")


def _close_records(deps: Deps, order: Order, change: Change[Any]) -> None:
    """Store the shipment records that close (delivered, breached, no longer out) now
    that the order says so. The order's write is done and announced, and what its caller
    still has to do (release the wait, alert ops) must not be lost with this write: a
    record left open is only late, never wrong the unsafe way. The SLA check finds it
    once its promise has passed and rewrites it from the order (``services.sla``)."""
    for fulfillment in change.shipments:
        if fulfillment.parcel_out():
            continue  # stored before the order's write
        try:
            deps.store.put_shipment(order.order_id, fulfillment, order.version)
        except Exception:  # noqa: BLE001 - repaired by the SLA check, see above
            _log.warning("shipment record of %s left open", order.order_id, exc_info=True)


def publish(deps: Deps, order: Order, change: Change[Any]) -> None:
    """Publish what a saved change announced."""
    if change.entry is not None:
        deps.events.publish(OrderStatusChanged.of(order, change.entry).message())
    for event in change.events:
        deps.events.publish(event.message())


def announce_again(deps: Deps, order: Order, status: OrderStatus) -> None:
    """For work run again that finds itself done: the order's last ``status`` entry is
    announced again, in case the first run died between its write and its publish (a
    Lambda stopped by its timeout; found by a review: the confirmation email was never
    sent). The event keeps its id, and every subscriber acts once per id. A cancellation
    or a rejection gave reserved stock back: what it was due to tell back-in-stock
    subscribers is told too."""
    entry = next(
        (e for e in reversed(order.history) if e.status is status and e.changes_status), None
    )
    if entry is not None:
        deps.events.publish(OrderStatusChanged.of(order, entry).message())
        if status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            tell_given_back_again(deps, order, entry.at)


def tell_given_back_again(deps: Deps, order: Order, at: datetime) -> None:
    """A write at ``at`` that gave ``order``'s reserved units back is run again: its first
    run may have died before telling the subscribers of its SKUs (``_tell_waiting_shoppers``
    runs after the write). Like that step, it must not fail what the caller did."""
    for sku in sorted({line.sku for line in order.lines}):
        told_safely(partial(tell_those_waiting_at, sku, at, deps), f"{order.order_id} again")


def announce_delivered_again(deps: Deps, order: Order, fulfillment_id: str) -> None:
    """``announce_again`` of DELIVERED for work that finds ``fulfillment_id`` handed over
    (delivered or collected) by a request that may have died before telling: only when
    the order is DELIVERED, as its first run would have announced."""
    handed_over = order.fulfillment(fulfillment_id).status is FulfillmentStatus.DELIVERED
    if handed_over and order.status is OrderStatus.DELIVERED:
        announce_again(deps, order, OrderStatus.DELIVERED)


def announce_again_at(deps: Deps, order: Order, at: datetime) -> None:
    """``announce_again`` for a write known by its moment (a cancellation, whose status
    entry may be there or not): the order's status entry written at ``at``, if any."""
    entry = next((e for e in reversed(order.history) if e.at == at and e.changes_status), None)
    if entry is not None:
        deps.events.publish(OrderStatusChanged.of(order, entry).message())
