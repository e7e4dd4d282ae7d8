"""Returns in any channel: requested through the API, received at a location, restocked
there and refunded."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib.domain.catalog import Location
from chalicelib.domain.erasure import ERASED
from chalicelib.domain.errors import Conflict, NotFound, UnknownReferences
from chalicelib.domain.events import ReturnReceived, ReturnRequested
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import AttentionKind, Order
from chalicelib.domain.requests import ReturnAsked
from chalicelib.domain.returns import OrderReturn, ReturnLine, ReturnStatus, check_return_location
from chalicelib.ports import StockChange
from chalicelib.services import settlement
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.alert_once import resolve_stopped
from chalicelib.services.availability import stock_of
from chalicelib.services.inventory import low_stock_checked
from chalicelib.services.opportunities import (
    availability_changed,
    tell_those_waiting_at,
    told_safely,
)
from chalicelib.services.order_writes import (
    CONTENDED_ATTEMPTS,
    Change,
    Unchanged,
    announce_again,
    mutate,
    sent_again_when_contended,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def _require_location(location_id: str, deps: Deps, field: str = "location_id") -> Location:
    for location in deps.store.locations():
        if location.location_id == location_id:
            return location
    raise UnknownReferences([(field, f"no location {location_id}")])


def return_id_for(once: str) -> str:
    """The return a request asked under an Idempotency-Key opens (``once``: the key in its
    scope): the same key finds the same return, even when the first run died after its
    write and before its answer was stored (Powertools then runs the key again; found by
    a review: a second return was opened for the same units)."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()
    return f"ret_{digest[:16]}"


def request_return(
    order_id: str,
    request: ReturnAsked,
    deps: Deps,
    any_store: bool = False,
    once: str | None = None,
) -> OrderReturn:
    """Open a return for delivered units, within the return window. With ``any_store`` a
    return in store need not name the store (the customer's page): the store that
    receives the goods is recorded then. ``once``: the request's Idempotency-Key in its
    scope; a return it opened before is answered again, and nothing more is opened."""
    if not any_store:
        request.check()
    if request.location_id:
        check_return_location(request.channel, _require_location(request.location_id, deps))
    return_id = return_id_for(once) if once is not None else f"ret_{uuid.uuid4().hex[:16]}"
    now = deps.clock()
    window = timedelta(seconds=deps.settings.waits.return_window_seconds)
    # By post without a place named: where it is sent is kept with it, as the customer is
    # told, so that place's staff read the order and receive it (probe 194: a key bound
    # to the warehouse the page named could do neither).
    by_post = request.channel == "mail" and not request.location_id
    locations = deps.store.locations() if by_post else []

    def decide(order: Order) -> Change[OrderReturn] | Unchanged[OrderReturn]:
        opened = order.find_return(return_id)
        if opened is not None:
            return Unchanged(opened)
        lines = [ReturnLine(sku=line.sku, quantity=line.quantity) for line in request.lines]
        sent_to = order.post_destination(locations, lines) if by_post else None
        created = order.request_return(
            return_id,
            lines,
            ERASED if order_erased(order, deps) else request.reason,
            request.channel,
            sent_to.location_id if sent_to else request.location_id,
            now,
            window,
        )
        event = ReturnRequested.of(order_id, return_id, now, request.channel)
        return Change(return_ids=[return_id], events=[event], result=created)

    # 20 returns asked at once got one or two bare 409s (probe 203).
    busy = f"order {order_id} is taking other requests; send this one again"
    with sent_again_when_contended(busy, "lines"):
        created = mutate(deps, order_id, decide, attempts=CONTENDED_ATTEMPTS).result
    assert created is not None  # the decision always opens the return, or raises
    return created


def receive_return(
    return_id: str,
    location_id: str,
    deps: Deps,
    sees: Callable[[Order], bool] = lambda _order: True,
) -> Order:
    """The goods are back at ``location_id``: restock there, refund, and mark the order
    RETURNED when every unit is back. ``sees``: whether the caller may read the order; a
    return of an order it may not read is unknown to it (404), unless the goods are taken
    to a store: whichever store the customer walks into receives them."""
    location = _require_location(location_id, deps)
    try:
        order_id = deps.store.order_for_return(return_id)
    except NotFound as exc:
        raise NotFound(f"no return {return_id}", field="return_id") from exc
    now = deps.clock()
    order = deps.store.get_order(order_id)
    pending = order.find_return(return_id)
    if not (sees(order) or (pending is not None and pending.for_any_store)):
        raise NotFound(f"no return {return_id}", field="return_id")
    for line in pending.lines if pending else []:
        deps.store.ensure_stock_item(line.sku, location)
    # Web availability before the restock, to tell back-in-stock subscribers after it.
    before = stock_of((line.sku for line in pending.lines), deps) if pending else {}

    # Whether the write cleared a stopped execution's attention (its alerts then go).
    stopped_cleared: list[bool] = []

    def decide(current: Order) -> Change[str]:
        # The refund is recorded as owed in this write (keyed by the return), then settled.
        stopped_cleared.clear()
        received = current.receive_return(return_id, location_id, now)
        stock = [
            StockChange(sku=line.sku, location_id=location_id, on_hand=line.quantity)
            for line in received.lines
        ]
        entry = current.close_returned(now)
        token = None
        if entry is not None:
            # Nothing more can come back: the return window's wait ends now. An order
            # parked before the wait had its own item holds the token itself.
            token, current.returns_task_token = current.returns_task_token, None
            if current.attention and current.attention.kind is AttentionKind.WORKFLOW_STOPPED:
                # Stopped while it waited out the window: at rest now, nothing is left to
                # retry (re-probe 193: "retry it" stayed, and a retry could only be 409).
                current.attention = None
                stopped_cleared.append(True)
        received_event = ReturnReceived.of(order_id, received)
        return Change(entry=entry, stock=stock, events=[received_event], result=token)

    # A gateway failure leaves the refund owed on the order: the sweeper retries it.
    # 20 tills at once got 4 bare 409s, read as "cannot be received" (probe 202).
    busy = f"order {order_id} is taking other receipts; send this one again"
    try:
        with sent_again_when_contended(busy, "return_id"):
            written, order = settlement.write_then_settle(
                deps, order_id, decide, attempts=CONTENDED_ATTEMPTS
            )
    except Conflict:
        _finish_receipt(order_id, return_id, location_id, deps)
        raise
    token = written.result
    if written.change is not None and written.change.entry is not None:
        token = deps.store.return_wait(order_id) or token
    if token:
        deps.workflow.resume(token, {"returned": True})
    if written.change is not None and stopped_cleared:
        note = "every unit came back: the order is at rest, nothing left to retry"
        resolve_stopped(order_id, "system:return", note, deps)
    if written.change is not None:
        told_safely(partial(_told_of_receipt, before, return_id, deps), return_id)
    return order


def _told_of_receipt(before: dict[str, list[Any]], return_id: str, deps: Deps) -> int:
    """After a receipt, from one read of each SKU's levels: its subscribers, if it is back
    on the web, and its low-stock alert, if it is back above its threshold (re-probe
    193). Each SKU's subscribers apart, so that one failing leaves the next told."""
    read_at = deps.clock()
    now = stock_of(before, deps)
    told = 0
    for sku, levels in before.items():
        told += told_safely(partial(availability_changed, sku, levels, deps, now[sku]), return_id)
    told_safely(partial(low_stock_checked, sorted(before), deps, now, read_at), return_id)
    return told


def _finish_receipt(order_id: str, return_id: str, location_id: str, deps: Deps) -> None:
    """The store asks again to receive a return it received already: the first request
    may have died after its write (a Lambda's timeout after DynamoDB took it; found by a
    review: the refund waited for the sweeper, and the execution for the end of the
    return window). What it left is done now, each part once: the refund settled (the
    customer's email goes with it), the back-in-stock subscribers the restock was due to
    tell told, the receipt and the order's RETURNED told again under their first ids, the
    return window's wait released. The answer stays 409: the goods came back with the
    first request."""
    order = deps.store.get_order(order_id)
    received = order.find_return(return_id)
    if received is None or received.status is not ReturnStatus.RECEIVED:
        return
    if received.location_id != location_id:
        return
    settlement.settle(order_id, deps)
    if received.received_at is not None:
        if received.refund is not None:
            # The receipt's own event, which tells a return that gives nothing back.
            deps.events.publish(ReturnReceived.of(order_id, received).message())
        moment = received.received_at
        for sku in sorted({line.sku for line in received.lines}):
            told_safely(partial(tell_those_waiting_at, sku, moment, deps), return_id)
    if order.status is OrderStatus.RETURNED:
        announce_again(deps, order, OrderStatus.RETURNED)
        token = deps.store.return_wait(order_id)
        if token:
            deps.workflow.resume(token, {"returned": True})
