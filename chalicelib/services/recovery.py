"""Ops restarts an order whose execution failed, timed out or was stopped.

Redrive is not available locally and execution names are unique, so a retry is a new
execution, ``<order id>-r<n>``, with the order's usual input plus the status it had
reached. Every step is idempotent and skips work already recorded (the payment, the
reservation, dispatched fulfillments), so the new execution carries on from there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.errors import Conflict, IdempotencyKeyReused, NotFound
from chalicelib.domain.execution_names import ops_retry_name, order_of_execution
from chalicelib.domain.order_status import AT_REST, OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind, ExecutionRetry, Order
from chalicelib.services import settlement
from chalicelib.services.alert_once import alert_once, resolve_compensated, resolve_stopped
from chalicelib.services.compensation import (
    announce_cancellations_again,
    cancel_what_was_not_handed_over,
    cancelled_at,
    show_compensation_failed,
)
from chalicelib.services.order_writes import Change, Unchanged, mutate, publish
from chalicelib.services.ordering import workflow_input

if TYPE_CHECKING:
    from chalicelib.composition import Deps

RETRYABLE = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class RetryOutcome:
    """The retry recorded on the order, and whether this call only found it again."""

    retry: ExecutionRetry
    replayed: bool


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
        retry_asked, asked_reason = replay
        if asked_reason != reason:
            # The same key with another body is 422 (API.md's Conventions; a probe got 202).
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different body", field="Idempotency-Key"
            )
        return RetryOutcome(retry_asked, replayed=True)
    current = order.execution_arn or deps.workflow.execution_arn(order_id)
    status = deps.workflow.status(current)
    if status is not None and status not in RETRYABLE:
        raise Conflict(
            f"the order's execution is {status}; only a FAILED, TIMED_OUT or ABORTED "
            "execution is retried",
            field="order_id",
        )
    if order.status in AT_REST:
        raise Conflict(
            f"the order is {order.status.value}; there is nothing to resume", field="order_id"
        )
    if order.nothing_left_to_carry_on():
        raise Conflict(
            "every part of the order ended without reaching the customer (lost or "
            "cancelled); there is nothing to resume",
            field="order_id",
        )
    attempt = len(order.retries) + 1
    if status is None:
        # The order names an execution nobody started (a pay-again or a retry being
        # started, or whose start failed): start that one, under its own name, not another
        # beside it (probe 26F: an ops retry racing a customer's pay-again ran two
        # executions on one order, and a cancel stopped only the one the order named).
        name, payload = _unstarted(order, current, deps)
    else:
        name = ops_retry_name(order_id, attempt)
        payload = workflow_input(order_id, deps) | {
            "resume": {"status": order.status.value, "attempt": attempt}
        }
    # Two starts of one name, whoever makes them, are one execution.
    arn = deps.workflow.start_named(name, payload)
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
                # The racing request recorded this execution already. Under this key with
                # another reason, this request is no replay of it (probe 161: 202).
                if idempotency_key is None:
                    return Unchanged(RetryOutcome(earlier, replayed=True))
                asked, asked_reason = earlier.asked_with(idempotency_key)
                if asked and asked_reason != reason:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different body",
                        field="Idempotency-Key",
                    )
                if asked:
                    return Unchanged(RetryOutcome(earlier, replayed=True))
                # Another request started it: this key answers this retry from now on
                # (re-probe 269: sent again, it was 409, the execution running).
                earlier.joined_keys[idempotency_key] = reason
                return Change(result=RetryOutcome(earlier, replayed=True))
        latest.retries.append(retry)
        latest.execution_arn = arn
        if latest.attention is not None and latest.attention.kind in CARRIED_ON:
            latest.attention = None  # the stopped or compensated workflow carries on
        return Change(result=RetryOutcome(retry, replayed=False))

    outcome = mutate(deps, order_id, decide).result
    assert outcome is not None  # both decisions name the execution
    if not outcome.replayed:
        _resolve_stopped_alerts(order_id, by, attempt, deps)
    return outcome


def _unstarted(order: Order, execution_arn: str, deps: Deps) -> tuple[str, dict[str, object]]:
    """The name and input of the execution ``order`` names and nobody started: as its own
    starter gives them (an ops retry says what it resumed; a pay-again and the first
    execution start from the order as it is)."""
    name = execution_arn.rsplit(":", 1)[-1]
    payload = workflow_input(order.order_id, deps)
    named = next((r for r in order.retries if r.execution_arn == execution_arn), None)
    if named is not None and name.endswith(f"-r{named.attempt}"):
        payload |= {"resume": {"status": named.resumed_from.value, "attempt": named.attempt}}
    return name, payload


def _resolve_stopped_alerts(order_id: str, by: str, attempt: int, deps: Deps) -> None:
    """The order's open ``workflow_stopped`` and ``workflow_compensated`` alerts are dealt
    with once a retry carries it on: the console's "needs attention" list would otherwise
    keep them until someone resolved each by hand (found by a probe; probe 236: the
    compensated one stayed, with the order delivered)."""
    note = f"retry {attempt} carries the order on"
    resolve_stopped(order_id, by, note, deps)
    resolve_compensated(order_id, by, note, deps)


def _same_key(
    order: Order, idempotency_key: str | None
) -> tuple[ExecutionRetry, str | None] | None:
    """The retry a request under ``idempotency_key`` asked for, with its reason."""
    if not idempotency_key:
        return None
    for retry in order.retries:
        asked, reason = retry.asked_with(idempotency_key)
        if asked:
            return retry, reason
    return None


# What a retry carries on: the order shows it no more. A failed compensation still owes
# what it could not settle, and stays.
CARRIED_ON = (AttentionKind.WORKFLOW_STOPPED, AttentionKind.COMPENSATED)
# What an ended execution leaves alone: compensated, or told, already.
ENDED_ON_PURPOSE = (
    AttentionKind.COMPENSATED,
    AttentionKind.COMPENSATION_FAILED,
    AttentionKind.WORKFLOW_STOPPED,
)
# What ``execution_ended`` did, and the fulfillments it cancelled.
Ended = tuple[str, list[str]]


def execution_ended(
    execution_arn: str, name: str, status: str, deps: Deps, state_machine_arn: str = ""
) -> str:
    """An order's execution ended FAILED, TIMED_OUT or ABORTED (Step Functions tells
    EventBridge; ops may have stopped it in the console). Nothing would finish the order
    then, and API.md allows no such ending with stock still reserved or money captured
    beyond what the customer keeps. So, unless the order is at rest or a newer execution
    carries it, it is compensated as a failed step is: what was not handed over is
    cancelled (stock released, its share voided or refunded; the whole order CANCELLED,
    ``processing_error``, when nothing was), ops are alerted once and the order shows it
    (``Attention``) until a retry carries on what was handed over (``retry_execution``).
    An order that shows something already (the workflow's own compensation ends it FAILED,
    having alerted ops) is left as it is. A gateway failure leaves the money owed on the
    order, for the sweeper. Safe to receive twice (EventBridge delivers at least once).
    Returns what it did, for the log."""
    ours = deps.settings.state_machine_arn
    if status not in RETRYABLE or (ours and state_machine_arn and state_machine_arn != ours):
        return "ignored"
    order_id = order_of_execution(name)
    ended = f"the order's execution ended {status}"
    now = deps.clock()

    def compensate(current: Order) -> Change[Ended] | Unchanged[Ended]:
        if (current.execution_arn or deps.workflow.execution_arn(order_id)) != execution_arn:
            return Unchanged(("superseded", []))  # a newer execution carries the order
        if current.status in AT_REST or current.nothing_left_to_carry_on():
            # Nothing for a retry to carry on (every part lost or cancelled already: the
            # scheduled check declares a parcel lost before this ending may be told).
            return Unchanged(("at_rest", []))
        if _shown_for_this_execution(current, execution_arn):
            # Told already, or the workflow ended on purpose after alerting ops itself (a
            # compensation, done or failed, ends it FAILED and marks the order).
            return Unchanged(("already_shown", []))
        change = cancel_what_was_not_handed_over(current, now, f"{ended}; compensated")
        cancelled = change.result or []
        current.attention = Attention(
            kind=AttentionKind.WORKFLOW_STOPPED, detail=_stopped(ended, current, cancelled), at=now
        )
        outcome = "compensated" if cancelled else "alerted"
        done: Ended = (outcome, cancelled)
        return Change(entry=change.entry, stock=change.stock, events=change.events, result=done)

    try:
        written = mutate(deps, order_id, compensate, announce=False)
    except NotFound:
        return "no_such_order"
    except Exception as error:
        # The compensation itself failed (probe 249: a reservation gone from the stock
        # item refused the release, and the order stayed RESERVED, its authorisation held,
        # with nobody told). Told and shown as when the workflow's own compensation cannot
        # finish; EventBridge's next delivery finds it shown.
        _compensation_failed(order_id, execution_arn, ended, error, deps)
        raise
    outcome, cancelled = written.result or ("", [])
    if written.change is None:
        if outcome != "superseded" and _shown_for_this_execution(written.order, execution_arn):
            _tell_stop_again(written.order, execution_arn, status, deps)
        return outcome
    try:
        # Void or refund the cancelled share; a gateway failure leaves it owed on the
        # order, and the sweeper retries it (it alerts ops if it keeps failing).
        settled = settlement.settle(order_id, deps).settled
    finally:
        # Announced once settled, so that the customer's email says what was given back.
        publish(deps, written.order, written.change)
        _alert_stopped(written.order, execution_arn, status, cancelled, deps)
    if not settled:
        return f"{outcome}_money_owed"
    return outcome


def _compensation_failed(
    order_id: str, execution_arn: str, ended: str, error: Exception, deps: Deps
) -> None:
    """Ops' alert (once per execution), then the order's attention: the alert first, so
    that an order that cannot be written is still listed."""
    why = f"{type(error).__name__}: {error}"
    alert_once(
        f"compensation_failed:{execution_arn}",
        f"order compensation failed {order_id}",
        {
            "kind": "compensation_failed",
            "order_id": order_id,
            "execution_arn": execution_arn,
            "error": {"Error": type(error).__name__, "Cause": str(error)[:500]},
        },
        deps,
    )
    detail = f"{ended}; compensation could not finish ({why}); stock and money may be held"
    show_compensation_failed(
        order_id, detail, deps, lambda order: _shown_for_this_execution(order, execution_arn)
    )


def _alert_stopped(
    order: Order, execution_arn: str, status: str, cancelled: list[str], deps: Deps
) -> None:
    """Ops' alert about an ended execution: once per execution, however often told."""
    alert_once(
        f"stopped:{execution_arn}",
        f"order workflow {status.lower()} {order.order_id}",
        {
            "kind": "workflow_stopped",
            "order_id": order.order_id,
            "execution_arn": execution_arn,
            "execution_status": status,
            "status": order.status.value,
            "cancelled_fulfillments": cancelled,
        },
        deps,
    )


def _tell_stop_again(order: Order, execution_arn: str, status: str, deps: Deps) -> None:
    """EventBridge's next delivery of an ending this function recorded: the run that
    recorded it may have died before settling and telling, and neither the customer nor
    ops would hear of it. What was cancelled is settled and announced again, under the
    first ids and moment (a delivery after one that did announce sends nothing twice),
    and ops are alerted if they were not."""
    attention = order.attention
    if attention is None or attention.kind is not AttentionKind.WORKFLOW_STOPPED:
        return  # the workflow's own compensation tells, and is retried, itself
    cancelled = [f.fulfillment_id for f in cancelled_at(order, attention.at)]
    try:
        settlement.settle(order.order_id, deps)
    finally:
        announce_cancellations_again(deps, order, attention.at)
        _alert_stopped(order, execution_arn, status, cancelled, deps)


def _shown_for_this_execution(order: Order, execution_arn: str) -> bool:
    """Whether the order shows already how this execution ended: an attention of an ending
    set since the execution started. One left by an execution a retry replaced (a
    compensation ops retried past) says nothing about this one."""
    attention = order.attention
    if attention is None or attention.kind not in ENDED_ON_PURPOSE:
        return False
    retry = next((r for r in order.retries if r.execution_arn == execution_arn), None)
    return retry is None or attention.at >= retry.at


def _stopped(ended: str, order: Order, cancelled: list[str]) -> str:
    """What the order shows ops about its ended execution."""
    if order.status is OrderStatus.CANCELLED:
        return f"{ended} before anything was handed over: the order was cancelled"
    if cancelled:
        return (
            f"{ended}: {', '.join(cancelled)} not handed over, cancelled; retry it from the "
            "console to carry the rest on"
        )
    return f"{ended}; retry it from the console to carry it on"
