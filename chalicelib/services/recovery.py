"""Ops restarts an order whose execution failed, timed out or was stopped.

Redrive is not available locally and execution names are unique, so a retry is a new
execution, ``<order id>-r<n>``, with the order's usual input plus the status it had
reached. Every step is idempotent and skips work already recorded (the payment, the
reservation, dispatched fulfillments), so the new execution carries on from there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.errors import Conflict
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import ExecutionRetry, Order
from chalicelib.services.order_writes import Change, Unchanged, mutate
from chalicelib.services.ordering import workflow_input

if TYPE_CHECKING:
    from chalicelib.composition import Deps

RETRYABLE = ("FAILED", "TIMED_OUT", "ABORTED")
# Orders that ended before anything could be resumed: a retry would have nothing to do.
NOTHING_TO_RESUME = (OrderStatus.REJECTED, OrderStatus.CANCELLED)


@dataclass(frozen=True)
class RetryOutcome:
    """The retry recorded on the order, and whether this call only found it again."""

    retry: ExecutionRetry
    replayed: bool


def retry_name(order_id: str, attempt: int) -> str:
    """The name of an order's ``attempt``-th retry execution."""
    return f"{order_id}-r{attempt}"


def retry_execution(
    order_id: str,
    by: str,
    deps: Deps,
    idempotency_key: str | None = None,
    reason: str | None = None,
) -> RetryOutcome:
    """Start a new execution for an order whose current one ended without success.
    ``NotFound`` for an unknown order; ``Conflict`` while an execution is running or
    after one succeeded. The same ``idempotency_key`` answers with the same retry."""
    order = deps.store.get_order(order_id)
    replay = _same_key(order, idempotency_key)
    if replay is not None:
        return RetryOutcome(replay, replayed=True)
    current = order.execution_arn or deps.workflow.execution_arn(order_id)
    status = deps.workflow.status(current)
    if status is not None and status not in RETRYABLE:
        raise Conflict(
            f"the order's execution is {status}; only a FAILED, TIMED_OUT or ABORTED "
            "execution is retried",
            field="order_id",
        )
    if order.status in NOTHING_TO_RESUME:
        raise Conflict(f"the order is {order.status.value}; there is nothing to resume")
    attempt = len(order.retries) + 1
    payload = workflow_input(order_id, deps) | {
        "resume": {"status": order.status.value, "attempt": attempt}
    }
    # Two retries racing from the same read start the same name: one execution.
    arn = deps.workflow.start_named(retry_name(order_id, attempt), payload)
    retry = ExecutionRetry(
        attempt=attempt,
        at=deps.clock(),
        by=by,
        execution_arn=arn,
        previous_execution_arn=current,
        previous_status=status or "NOT_STARTED",
        resumed_from=order.status,
        reason=reason,
        idempotency_key=idempotency_key,
    )

    def decide(latest: Order) -> Change[RetryOutcome] | Unchanged[RetryOutcome]:
        for earlier in latest.retries:
            if earlier.execution_arn == arn:
                # The racing request recorded this execution already.
                return Unchanged(RetryOutcome(earlier, replayed=True))
        latest.retries.append(retry)
        latest.execution_arn = arn
        return Change(result=RetryOutcome(retry, replayed=False))

    outcome = mutate(deps, order_id, decide).result
    assert outcome is not None  # both decisions name the execution
    return outcome


def _same_key(order: Order, idempotency_key: str | None) -> ExecutionRetry | None:
    if not idempotency_key:
        return None
    for retry in order.retries:
        if retry.idempotency_key == idempotency_key:
            return retry
    return None
