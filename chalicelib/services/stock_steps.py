"""The workflow step that sources every line and reserves the stock."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from chalicelib.domain.availability import plan_for
from chalicelib.domain.errors import (
    ConcurrentModification,
    OutOfStock,
)
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import MAX_RESERVED_LINES
from chalicelib.ports import StockChange
from chalicelib.services.availability import demands_of, shortage_in, stock_of
from chalicelib.services.fulfillment_steps import first_wait_seconds
from chalicelib.services.inventory import check_low_stock_of
from chalicelib.services.order_writes import Change, announce_again, mutate
from chalicelib.services.ordering import ensure_not_cancelled
from chalicelib.services.step_models import (
    FulfillmentRef,
    OrderStep,
    ReservationOutput,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


RESERVE_ATTEMPTS = 3


def reserve_stock(step: OrderStep, deps: Deps) -> ReservationOutput:
    """PAID → RESERVED: source every line and reserve it all in one transaction."""
    now = deps.clock()
    last_read: dict[str, list[StockLevel]] = {}

    def decide(order: Order) -> Change | None:
        ensure_not_cancelled(order)
        if order.status is not OrderStatus.PAID:
            return None
        stock = stock_of((line.sku for line in order.lines), deps)
        last_read.clear()
        last_read.update(stock)
        # As the request's lines were judged when it was placed (``refuse_unservable``).
        plan = plan_for(demands_of(order.lines), stock)
        if len(plan.allocations) > MAX_RESERVED_LINES:
            # Split across locations, the lines no longer fit one transaction: the stock
            # cannot be promised all at once, so the order is refused like any shortage.
            raise OutOfStock(
                f"{len(plan.allocations)} allocations exceed one transaction", field="lines"
            )
        entry = order.reserve(plan.allocations, plan.reason, now)
        return Change(entry=entry, stock=StockChange.reserving(plan.allocations))

    # Someone may take the stock between our read and our write (``OutOfStock`` from the
    # write): plan again from the fresh counts, and give up only when the stock is really
    # not there.
    try:
        written = mutate(
            deps,
            step.order_id,
            decide,
            lost_race=(OutOfStock, ConcurrentModification),
            attempts=RESERVE_ATTEMPTS,
        )
    except OutOfStock:
        _note_shortage(step.order_id, last_read, deps)
        raise
    if written.change is not None:
        check_low_stock_of([change.sku for change in written.change.stock], deps)
    else:
        # A retried step: its first run may have died before announcing RESERVED.
        announce_again(deps, written.order, OrderStatus.RESERVED)
    return _reservation_of(written.order, deps)


def _note_shortage(order_id: str, stock: dict[str, list[StockLevel]], deps: Deps) -> None:
    """Keep on the order what the stock, as the reservation last read it, could not cover,
    for its rejection to say: read again then, a unit back meanwhile would leave it naming
    nothing (probe 235). Nothing when that read covered it all (the stock was taken between
    the read and the write, or it was spread over too many places): the rejection reads
    it again."""
    if not stock:
        return

    def decide(order: Order) -> Change | None:
        if order.status is not OrderStatus.PAID or order.out_of_stock_skus:
            return None
        short, wished = shortage_in(order.lines, stock)
        if not short:
            return None
        order.note_shortage(short, wished)
        return Change()

    # The order keeps changing: its rejection reads the stock again.
    with contextlib.suppress(ConcurrentModification):
        mutate(deps, order_id, decide)


def _reservation_of(order: Order, deps: Deps) -> ReservationOutput:
    return ReservationOutput(
        fulfillments=[
            FulfillmentRef(
                fulfillment_id=f.fulfillment_id,
                type=f.type,
                wait_seconds=first_wait_seconds(order, f, deps),
            )
            for f in order.fulfillments
        ]
    )
