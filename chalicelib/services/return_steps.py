"""Workflow step for the return window: parking its wait (the state machine times it
with the whole window, from the execution's input)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.step_models import (
    AwaitInput,
    Empty,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def _return_window_ends(order: Order, deps: Deps) -> datetime | None:
    """When the order's return window closes: fixed at delivery (or, for an order placed
    before the window was one of its terms, the configured window from delivery)."""
    if order.returns_window_ends is not None:
        return order.returns_window_ends
    delivered_at = order.delivered_at()
    if delivered_at is None:
        return None
    return delivered_at + timedelta(seconds=deps.settings.waits.return_window_seconds)


def await_returns(step: AwaitInput, deps: Deps) -> Empty:
    """Park the token for the return window; release it at once when there is nothing to
    wait for (nothing delivered, the window closed, or everything already back).

    The token is parked beside the order, not on it (``park_return_wait``). A return that
    closes the order releases the parked token; one that closed it while this step parked
    found nothing parked, so the order is read again after parking and, if it is no
    longer waiting for returns, the step releases the token itself."""
    now = deps.clock()
    order = deps.store.get_order(step.order_id)
    ends = _return_window_ends(order, deps)
    if not _waits_for_returns(order, ends, now):
        deps.workflow.resume(step.task_token, {"already": "closed"})
        return Empty()
    assert ends is not None
    if order.returns_window_ends is None:  # placed before the window was one of its terms
        _keep_window_end(step.order_id, ends, deps)
    deps.store.park_return_wait(step.order_id, step.task_token, ends)
    again = deps.store.get_order(step.order_id)
    if not _waits_for_returns(again, ends, now):
        # Released here or by that return, whichever comes second is refused as stale.
        parked = deps.store.return_wait(step.order_id)
        if parked is not None:
            deps.workflow.resume(parked, {"already": "closed"})
    return Empty()


def _waits_for_returns(order: Order, ends: datetime | None, now: datetime) -> bool:
    return order.status is OrderStatus.DELIVERED and ends is not None and ends > now


def _keep_window_end(order_id: str, ends: datetime, deps: Deps) -> None:
    """Write the window's end on an order that does not carry it yet."""

    def decide(order: Order) -> Change | None:
        if order.returns_window_ends is not None:
            return None
        order.returns_window_ends = ends
        return Change()

    mutate(deps, order_id, decide)
