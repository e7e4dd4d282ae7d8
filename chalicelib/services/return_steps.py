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
