"""The saga's catch-all: a workflow step failed in a way nobody planned for. Nothing may be
left stranded: what was never handed over is cancelled (its stock released, its share
voided), what is owed is settled, the outcome is recorded on the order and ops are told."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.events import Event, FulfillmentCancelled
from chalicelib.domain.fulfillments import HELD, Fulfillment, FulfillmentStatus
from chalicelib.domain.order_status import CANCELLABLE, OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind, Order
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.ports import StockChange
from chalicelib.services import settlement
from chalicelib.services.alert_once import alert_once, record_alert_once
from chalicelib.services.order_writes import (
    Change,
    announce_again_at,
    mutate,
    tell_given_back_again,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


class CompensateInput(DeferredModel):
    """The order and the error the workflow caught (``Error`` and ``Cause``)."""

    order_id: str
    error: dict[str, Any] | None = None


class CompensationOutput(DeferredModel):
    """What compensation did."""

    order_id: str
    status: str
    cancelled_fulfillments: list[str]
    settled: bool


def _describe(error: dict[str, Any] | None) -> str:
    if not error:
        return "unknown error"
    kind = str(error.get("Error", "error"))
    cause = str(error.get("Cause", ""))[:300]
    return f"{kind}: {cause}" if cause else kind


def _stop(order: Order, now: datetime) -> tuple[list[Fulfillment], list[StockChange]]:
    """Cancel the fulfillments still held for a hand-over that will not come now; them,
    and the units to release."""
    cancelled: list[Fulfillment] = []
    released: list[StockChange] = []
    for fulfillment in order.fulfillments:
        if fulfillment.status in HELD:
            reason = StatusReason.PROCESSING_ERROR
            released += StockChange.releasing(fulfillment.cancel(reason, now))
            fulfillment.task_token = None
            cancelled.append(fulfillment)
    return cancelled, released


def cancel_what_was_not_handed_over(order: Order, now: datetime, detail: str) -> Change[list[str]]:
    """Cancel the fulfillments still waiting for a hand-over (their stock released) and
    the order itself if nothing was handed over; the change's result names the cancelled
    fulfillments. What their share owes (a void, a refund) is recorded when settled."""
    cancelled, released = _stop(order, now)
    ids = [f.fulfillment_id for f in cancelled]
    handed_over = [f for f in order.fulfillments if f.status is not FulfillmentStatus.CANCELLED]
    if order.status in CANCELLABLE and not handed_over:
        whole = order.move_to(OrderStatus.CANCELLED, now, detail, StatusReason.PROCESSING_ERROR)
        return Change(entry=whole, stock=released, result=ids)
    # The rest carries on: the customer is told of each part cancelled (a pick-up they were
    # told to collect, a parcel they wait for), since the order's status may not change.
    told: list[Event] = [
        FulfillmentCancelled.of(order.order_id, f, order.fulfillment_value(f), now)
        for f in cancelled
    ]
    entry = order.parts_cancelled(ids, now, detail) if ids else None
    return Change(entry=entry, stock=released, events=told, result=ids)


def announce_cancellations_again(deps: Deps, order: Order, at: datetime) -> None:
    """What ``cancel_what_was_not_handed_over`` wrote at ``at``, announced again under its
    first ids and moment: for a compensation run again that finds itself done, whose first
    run may have died between the write and the publish (the customer would never hear
    that the order, or a part of it, was cancelled and the money given back, nor the
    back-in-stock subscribers of the units it gave back)."""
    announce_again_at(deps, order, at)
    tell_given_back_again(deps, order, at)
    if order.status is OrderStatus.CANCELLED and order.history[-1].at == at:
        return  # cancelled whole: told by the status change alone
    for fulfillment in cancelled_at(order, at):
        voided = order.fulfillment_value(fulfillment)
        told = FulfillmentCancelled.of(order.order_id, fulfillment, voided, at)
        deps.events.publish(told.message())


def cancelled_at(order: Order, at: datetime) -> list[Fulfillment]:
    """The fulfillments ``cancel_what_was_not_handed_over`` cancelled at ``at``."""
    return [
        f
        for f in order.fulfillments
        if f.cancelled_at == at and f.status_reason is StatusReason.PROCESSING_ERROR
    ]


def compensate(step: CompensateInput, deps: Deps) -> CompensationOutput:
    """Release, void and settle what a failed step left; record it and alert ops. Raises
    ``PaymentGatewayUnavailable`` if money is still owed (the workflow retries, then
    alerts ops and fails the execution loudly)."""
    now = deps.clock()
    detail = f"the workflow failed ({_describe(step.error)}); compensated"

    def decide(order: Order) -> Change[list[str]] | None:
        if order.attention is not None and order.attention.kind is AttentionKind.COMPENSATED:
            return None  # a retried compensation: done already
        change = cancel_what_was_not_handed_over(order, now, detail)
        order.attention = Attention(kind=AttentionKind.COMPENSATED, detail=detail, at=now)
        return change

    written = mutate(deps, step.order_id, decide)
    order = written.order
    cancelled = written.result or []
    attention = order.attention
    assert attention is not None  # written now, or by the run this one repeats
    if written.change is None:
        # A run again: the first may have died before telling the customer and ops.
        announce_cancellations_again(deps, order, attention.at)
        cancelled = [f.fulfillment_id for f in cancelled_at(order, attention.at)]
    alert_once(
        f"compensated:{step.order_id}:{attention.at.isoformat()}",
        f"order workflow compensated {step.order_id}",
        {
            "kind": "workflow_compensated",
            "order_id": step.order_id,
            "error": step.error or {},
            "cancelled_fulfillments": cancelled,
            "status": order.status.value,
        },
        deps,
    )
    outcome = settlement.settle(step.order_id, deps, raise_if_owed=True)
    final = outcome.order or order
    return CompensationOutput(
        order_id=step.order_id,
        status=final.status.value,
        cancelled_fulfillments=cancelled,
        settled=outcome.settled,
    )


class AttentionInput(DeferredModel):
    """The order whose compensation could not finish, and why."""

    order_id: str
    error: dict[str, Any] | None = None


def mark_compensation_failed(step: AttentionInput, deps: Deps) -> None:
    """Record among ops' alerts, then on the order, that compensation could not finish:
    the workflow publishes its own alert to the ops topic (it works when no step does),
    which the console's "Needs attention" does not read (probe 245: "Nothing needs
    attention" beside an order still holding its stock and authorisation). The alert
    first, so that an order that cannot be written is still listed (probe 246); once per
    failure of each execution (an ops retry's failure is a new one), however often this
    step is retried."""
    detail = f"compensation could not finish ({_describe(step.error)}); money may be owed"
    run = len(deps.store.get_order(step.order_id).retries)  # 0 for the first execution
    failure = hashlib.sha256(json.dumps(step.error or {}, sort_keys=True).encode()).hexdigest()
    record_alert_once(
        f"compensation_failed:{step.order_id}:{run}:{failure[:16]}",
        f"order compensation failed {step.order_id}",
        {"kind": "compensation_failed", "order_id": step.order_id, "error": step.error or {}},
        deps,
    )
    show_compensation_failed(step.order_id, detail, deps)


def show_compensation_failed(
    order_id: str,
    detail: str,
    deps: Deps,
    shown_already: Callable[[Order], bool] = lambda _order: False,
) -> None:
    """The order's ``attention``: its compensation could not finish (the one writer of it,
    for the workflow's step and for an execution stopped from outside). Called once ops'
    alert is recorded, so that an order that cannot be written is still listed; nothing is
    written to an order ``shown_already`` something for this failure."""
    at = deps.clock()

    def mark(order: Order) -> Change | None:
        if shown_already(order):
            return None
        order.attention = Attention(
            kind=AttentionKind.COMPENSATION_FAILED, detail=detail[:1000], at=at
        )
        return Change()

    mutate(deps, order_id, mark, announce=False)
