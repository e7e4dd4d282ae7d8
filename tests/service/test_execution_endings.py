"""An order's execution that ends FAILED, TIMED_OUT or ABORTED before the order is at rest
(ops pressed Stop in the console, say) is never left silent or holding anything: what was
not handed over is cancelled (its stock released, its share voided), ops are alerted once
and the order shows it, until ops retry what was handed over (found by a probe: a stopped
pick-up held its stock and authorisation past its deadline, a stopped parcel was never
declared lost, and nobody was told; API.md: no execution ends so "with stock still
reserved for it"). The same on moto, with the real state machine:
tests/workflow/test_ops_retry.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.alerts import AlertRecordingPublisher
from chalicelib.deps import Deps
from chalicelib.domain.alerts import AlertStatus
from chalicelib.domain.errors import Conflict, IdempotencyKeyReused, OutOfStock, PaymentDeclined
from chalicelib.domain.execution_names import ops_retry_name, payment_retry_name
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind, Order
from chalicelib.domain.payments import PaymentStatus
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.services import (
    alerts,
    compensation,
    console,
    fulfillment_steps,
    lost_parcels,
    ordering,
    payment_steps,
    recovery,
    returns,
    self_service,
    settlement,
    stock_steps,
)
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.sla import lost_deadline
from chalicelib.services.step_models import FulfillmentStep, OrderStep, RejectOrderInput
from infra.local.demo_data import load_demo_data
from tests.fakes import Clock, FakeGateway, RecordingEvents, fake_deps
from tests.fakes.outside import FakeAlertLog
from tests.service import flows
from tests.support.races import meanwhile_before


def _ended(deps: Deps, order_id: str, status: str, name: str | None = None) -> str:
    """The order's execution (or the one named) ends ``status``, and EventBridge tells."""
    workflow: Any = deps.workflow
    arn = workflow.execution_arn(name or order_id)
    workflow.end(arn, status)
    return recovery.execution_ended(arn, name or order_id, status, deps)


def _alerts(deps: Deps, order_id: str) -> list[dict[str, Any]]:
    events: Any = deps.events
    return [m for _, m in events.alerts if m.get("order_id") == order_id]


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def _held(deps: Deps, sku: str = "TSHIRT-BLK-M") -> dict[str, int]:
    return {level.location_id: level.reserved for level in deps.store.stock_levels(sku)}


def _declined(deps: Deps) -> Order:
    """An order whose card was declined: REJECTED, to be paid again."""
    declined = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    step = OrderStep(order_id=declined.order_id)
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(step, deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=declined.order_id, error="PaymentDeclined"), deps
    )
    return declined


def _cancellations(deps: Deps, order_id: str) -> list[dict[str, Any]]:
    events = deps.events
    assert isinstance(events, RecordingEvents)
    return [
        e
        for e in events.of_type("order.status_changed")
        if e["order_id"] == order_id and e["status"] == "CANCELLED"
    ]


@pytest.mark.parametrize("status", ["ABORTED", "FAILED", "TIMED_OUT"])
def test_an_order_stopped_before_anything_left_is_cancelled_and_holds_nothing(
    deps: Deps, status: str
) -> None:
    before = _held(deps)
    order = flows.reserved(deps)
    assert sum(_held(deps).values()) == sum(before.values()) + 2

    first = _ended(deps, order.order_id, status)
    again = recovery.execution_ended(
        deps.workflow.execution_arn(order.order_id), order.order_id, status, deps
    )

    assert (first, again) == ("compensated", "at_rest")
    assert _held(deps) == before  # released once
    assert _gateway(deps).total("void") == order.total.amount
    assert _gateway(deps).total("capture") == 0
    shown = deps.store.get_order(order.order_id)
    assert shown.status is OrderStatus.CANCELLED
    assert shown.status_reason is StatusReason.PROCESSING_ERROR
    assert [f.status for f in shown.fulfillments] == [FulfillmentStatus.CANCELLED]
    assert shown.payment.owed() == []
    assert shown.attention is not None
    assert shown.attention.kind is AttentionKind.WORKFLOW_STOPPED
    assert status in shown.attention.detail and "cancelled" in shown.attention.detail
    (alert,) = _alerts(deps, order.order_id)
    assert alert["kind"] == "workflow_stopped" and alert["status"] == "CANCELLED"
    assert alert["cancelled_fulfillments"] == [order.fulfillments[0].fulfillment_id]
    # The second delivery tells again (its first may have died before telling), under
    # the one event id: the customer is emailed once.
    assert len({e["event_id"] for e in _cancellations(deps, order.order_id)}) == 1
    subjects = [mail["parts"].split("\n", 1)[0] for mail in flows.mail_everything(deps)]
    # (The confirmation, handled this late, is moved past: the order is cancelled.)
    assert subjects == [f"Tu pedido {order.order_id} ha sido cancelado"]
    # Nothing is left to resume.
    with pytest.raises(Conflict):
        recovery.retry_execution(order.order_id, "ops:test", deps)


def test_an_order_stopped_before_its_payment_was_authorised_shows_nothing_owed(
    deps: Deps,
) -> None:
    # Probe 169: stopped while the gateway was down (its authorisation being retried),
    # the order was cancelled by the compensation with its payment PENDING for good, as
    # if money were still to be taken; cancelled through the API it showed CANCELLED.
    order = flows.place(deps)
    assert order.payment.status is PaymentStatus.PENDING

    # ("alerted": it had no part to cancel yet; the order itself is cancelled.)
    assert _ended(deps, order.order_id, "ABORTED") == "alerted"

    shown = deps.store.get_order(order.order_id)
    assert shown.status is OrderStatus.CANCELLED
    assert shown.status_reason is StatusReason.PROCESSING_ERROR
    assert shown.payment.status is PaymentStatus.CANCELLED
    assert _gateway(deps).calls == []


def test_an_order_stopped_after_its_parcel_left_gives_back_only_the_pickup(deps: Deps) -> None:
    before = _held(deps)
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)
    captured = _gateway(deps).total("capture")
    assert captured > 0

    assert _ended(deps, order.order_id, "ABORTED") == "compensated"

    shown = deps.store.get_order(order.order_id)
    assert shown.status is OrderStatus.SHIPPED  # the parcel is still on its way
    statuses = {f.fulfillment_id: f.status for f in shown.fulfillments}
    assert statuses == {
        parcel.fulfillment_id: FulfillmentStatus.SHIPPED,
        pickup.fulfillment_id: FulfillmentStatus.CANCELLED,
    }
    assert _held(deps)["ST-MADRID"] == before["ST-MADRID"]  # the pick-up's unit released
    # The customer keeps the parcel's capture; the rest of the authorisation is voided.
    assert _gateway(deps).total("capture") == captured
    assert _gateway(deps).total("void") == order.total.amount - captured
    assert shown.payment.owed() == []
    (alert,) = _alerts(deps, order.order_id)
    assert alert["cancelled_fulfillments"] == [pickup.fulfillment_id]
    assert shown.attention is not None and "retry" in shown.attention.detail
    # The order is not cancelled whole; the customer is told of the pick-up alone.
    assert _cancellations(deps, order.order_id) == []
    events = deps.events
    assert isinstance(events, RecordingEvents)
    pickups = events.of_type("fulfillment.cancelled")
    (told,) = [e for e in pickups if e["order_id"] == order.order_id]
    assert told["fulfillment_id"] == pickup.fulfillment_id
    assert told["voided"]["amount"] == f"{order.total.amount - captured:.2f}"

    # Ops carry the parcel on: the retry is allowed and clears what the order showed.
    recovery.retry_execution(order.order_id, "ops:test", deps)
    assert deps.store.get_order(order.order_id).attention is None


def test_a_gateway_down_leaves_the_void_owed_for_the_sweeper(deps: Deps) -> None:
    before = _held(deps)
    order = flows.reserved(deps)
    _gateway(deps).unavailable = 10

    assert _ended(deps, order.order_id, "TIMED_OUT") == "compensated_money_owed"

    # The stock is back and the order says what happened; the void waits for the gateway.
    assert _held(deps) == before
    shown = deps.store.get_order(order.order_id)
    assert shown.status is OrderStatus.CANCELLED
    assert shown.payment.owed()
    assert deps.store.orders_owing(10) == [order.order_id]
    assert len(_alerts(deps, order.order_id)) == 1
    _gateway(deps).unavailable = 0
    assert settlement.sweep(deps)["settled"] == 1
    assert _gateway(deps).total("void") == order.total.amount


@pytest.mark.parametrize("status", ["ABORTED", "FAILED", "TIMED_OUT"])
def test_an_order_whose_execution_ended_unfinished_is_told_to_ops_once(
    deps: Deps, status: str
) -> None:
    order = flows.shipped(deps)

    first = _ended(deps, order.order_id, status)
    again = recovery.execution_ended(
        deps.workflow.execution_arn(order.order_id), order.order_id, status, deps
    )

    assert (first, again) == ("alerted", "already_shown")
    (alert,) = _alerts(deps, order.order_id)
    assert alert["kind"] == "workflow_stopped" and alert["execution_status"] == status
    shown = deps.store.get_order(order.order_id)
    assert shown.attention is not None
    assert shown.attention.kind is AttentionKind.WORKFLOW_STOPPED
    assert status in shown.attention.detail
    assert shown.status is OrderStatus.SHIPPED  # nothing else changed


def test_a_retry_carries_the_order_on_and_clears_what_it_showed(deps: Deps) -> None:
    order = flows.shipped(deps)
    _ended(deps, order.order_id, "ABORTED")

    outcome = recovery.retry_execution(order.order_id, "ops:test", deps)

    assert outcome.retry.previous_status == "ABORTED"
    assert deps.store.get_order(order.order_id).attention is None
    # The old execution's ending, told late, is about an execution the order left behind.
    late = recovery.execution_ended(
        deps.workflow.execution_arn(order.order_id), order.order_id, "ABORTED", deps
    )
    assert late == "superseded"
    assert deps.store.get_order(order.order_id).attention is None
    # The retry's own ending is told as the first was.
    retried = ops_retry_name(order.order_id, 1)
    assert _ended(deps, order.order_id, "FAILED", name=retried) == "alerted"
    assert len(_alerts(deps, order.order_id)) == 2


def test_an_order_at_rest_or_a_success_or_another_machine_is_not_told(deps: Deps) -> None:
    cancelled = flows.reserved(deps)
    ordering.cancel_order(cancelled.order_id, deps, None)
    assert _ended(deps, cancelled.order_id, "ABORTED") == "at_rest"
    shipped = flows.shipped(deps)
    assert _ended(deps, shipped.order_id, "SUCCEEDED") == "ignored"
    assert recovery.execution_ended("arn:x", "ord_nobody", "FAILED", deps) == "no_such_order"
    deps.settings.state_machine_arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"
    other = recovery.execution_ended(
        deps.workflow.execution_arn(shipped.order_id),
        shipped.order_id,
        "ABORTED",
        deps,
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:other",
    )
    assert other == "ignored"
    for order_id in (cancelled.order_id, shipped.order_id):
        assert _alerts(deps, order_id) == []
        assert deps.store.get_order(order_id).attention is None


def test_the_workflows_own_compensation_ending_it_failed_is_not_told_twice(deps: Deps) -> None:
    """The state machine ends FAILED on purpose after a compensation, which alerted ops and
    marked the order already."""
    order = flows.shipped(deps)

    def compensated(current: Any) -> Any:
        current.attention = Attention(kind=AttentionKind.COMPENSATED, detail="x", at=deps.clock())
        return Change()

    mutate(deps, order.order_id, compensated)

    assert _ended(deps, order.order_id, "FAILED") == "already_shown"
    assert _alerts(deps, order.order_id) == []
    shown = deps.store.get_order(order.order_id).attention
    assert shown is not None and shown.kind is AttentionKind.COMPENSATED


def _compensated_after_its_parcel_left(deps: Deps) -> Order:
    """A mixed order whose parcel left, then compensated by the workflow (a step failed):
    its pick-up cancelled, the order marked."""
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)
    compensation.compensate(
        compensation.CompensateInput(order_id=order.order_id, error={"Error": "Boom"}), deps
    )
    return order


def test_a_retry_stopped_after_an_earlier_compensation_is_compensated_and_told(
    deps: Deps,
) -> None:
    """Found by a probe: the workflow compensated a mixed order (its pick-up failed) and
    marked it; ops retried it to carry the parcel on; the retry was then stopped, and its
    ending was taken as told already by the earlier compensation's mark."""
    order = _compensated_after_its_parcel_left(deps)
    assert _ended(deps, order.order_id, "FAILED") == "already_shown"  # its own ending
    deps.clock.advance(minutes=5)  # type: ignore[attr-defined]
    recovery.retry_execution(order.order_id, "ops:test", deps)
    deps.clock.advance(minutes=5)  # type: ignore[attr-defined]

    retried = ops_retry_name(order.order_id, 1)
    assert _ended(deps, order.order_id, "ABORTED", name=retried) == "alerted"

    shown = deps.store.get_order(order.order_id)
    assert shown.attention is not None
    assert shown.attention.kind is AttentionKind.WORKFLOW_STOPPED
    (alert,) = [a for a in _alerts(deps, order.order_id) if a["kind"] == "workflow_stopped"]
    assert alert["execution_status"] == "ABORTED"
    again = recovery.execution_ended(deps.workflow.execution_arn(retried), retried, "ABORTED", deps)
    assert again == "already_shown"


def test_an_order_at_rest_is_not_retried(deps: Deps) -> None:
    """Found by a probe: a RETURNED order's retry answered 202 and started an execution
    with nothing to do, as if it were not at rest."""
    order = flows.delivered(deps)
    store = next(loc.location_id for loc in deps.store.locations() if loc.type.value == "store")
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 2}],
            "reason": "too small",
            "channel": "store",
            "location_id": store,
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    returns.receive_return(opened.return_id, store, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.RETURNED
    _ended(deps, order.order_id, "ABORTED")

    with pytest.raises(Conflict, match="RETURNED"):
        recovery.retry_execution(order.order_id, "ops:test", deps)
    assert deps.store.get_order(order.order_id).retries == []


def _with_alert_log() -> tuple[Deps, Clock, FakeAlertLog]:
    """Fakes whose alert log records what ``alert_ops`` sends, as the deployed publisher
    does, with the demo data."""
    clock, log = Clock(), FakeAlertLog()
    deps = fake_deps(
        clock=clock, alerts=log, events=AlertRecordingPublisher(RecordingEvents(), log, clock)
    )
    load_demo_data(deps.store)
    return deps, clock, log


def test_a_retry_resolves_the_stopped_alerts_it_answers() -> None:
    """Found by a probe: the stop's alert stayed open in the console's "needs attention"
    list after ops had retried the order. The alert log records what ``alert_ops`` sends,
    as the deployed publisher does."""
    deps, clock, log = _with_alert_log()
    order = flows.shipped(deps)
    other = flows.shipped(deps)
    for each in (order, other):
        _ended(deps, each.order_id, "ABORTED")
    clock.advance(minutes=1)

    recovery.retry_execution(order.order_id, "ops:console", deps)

    (resolved,) = log.list(order.order_id, None, 10)
    assert resolved.kind == "workflow_stopped" and resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_by == "ops:console" and "retry 1" in (resolved.resolution_note or "")
    (untouched,) = log.list(other.order_id, None, 10)
    assert untouched.status is AlertStatus.OPEN


def test_a_stopped_execution_of_an_order_paid_again_is_compensated(deps: Deps) -> None:
    """Found by a probe: an order paid again after a declined card runs as
    ``<order id>-pay<n>``, which was taken for an order id of its own; its stop was
    dropped as "no such order", and the order kept its stock and authorisation."""
    before = _held(deps)
    declined = _declined(deps)
    step = OrderStep(order_id=declined.order_id)
    self_service.pay_again(declined.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(step, deps)
    stock_steps.reserve_stock(step, deps)
    assert sum(_held(deps).values()) == sum(before.values()) + 2

    name = payment_retry_name(declined.order_id, 1)
    assert _ended(deps, declined.order_id, "ABORTED", name=name) == "compensated"

    shown = deps.store.get_order(declined.order_id)
    assert shown.status is OrderStatus.CANCELLED
    assert _held(deps) == before
    assert shown.payment.owed() == []


def test_resolving_the_stop_alert_of_an_order_at_rest_clears_what_it_shows() -> None:
    """Found by a probe: a stopped order compensated to ``CANCELLED`` showed
    ``attention`` forever; its retry is 409 and resolving the alert left it. Resolving the
    alert now clears it on an order at rest; an order whose parcel is still on its way
    keeps it until ops retry it."""
    deps, _clock, log = _with_alert_log()
    at_rest = flows.reserved(deps)
    under_way = flows.shipped(deps)
    for each in (at_rest, under_way):
        _ended(deps, each.order_id, "ABORTED")
        assert deps.store.get_order(each.order_id).attention is not None
    assert deps.store.get_order(at_rest.order_id).status is OrderStatus.CANCELLED

    for each in (at_rest, under_way):
        (alert,) = log.list(each.order_id, AlertStatus.OPEN, 10)
        alerts.resolve_alert(alert.alert_id, "ops:console", "looked at", deps)

    assert deps.store.get_order(at_rest.order_id).attention is None
    kept = deps.store.get_order(under_way.order_id).attention
    assert kept is not None and kept.kind is AttentionKind.WORKFLOW_STOPPED


def test_a_retry_after_the_workflows_own_compensation_clears_it_and_resolves_its_alert() -> None:
    # Probe 236: the workflow compensated a shipped order (a step failed), ops retried it,
    # and the order was delivered; it still showed "compensated", and the
    # workflow_compensated alert stayed open in "needs attention".
    deps, clock, log = _with_alert_log()
    order = _compensated_after_its_parcel_left(deps)
    shown = deps.store.get_order(order.order_id).attention
    assert shown is not None and shown.kind is AttentionKind.COMPENSATED
    _ended(deps, order.order_id, "FAILED")
    clock.advance(minutes=1)

    recovery.retry_execution(order.order_id, "ops:console", deps)

    assert deps.store.get_order(order.order_id).attention is None
    (resolved,) = log.list(order.order_id, None, 10)
    assert resolved.kind == "workflow_compensated" and resolved.status is AlertStatus.RESOLVED
    assert "retry 1" in (resolved.resolution_note or "")


def test_a_retry_of_an_order_at_rest_is_refused_naming_the_order(deps: Deps) -> None:
    order = flows.reserved(deps)
    ordering.cancel_order(order.order_id, deps)
    _ended(deps, order.order_id, "ABORTED")

    with pytest.raises(Conflict) as refused:
        recovery.retry_execution(order.order_id, "ops:test", deps)

    assert refused.value.field == "order_id"


def test_a_stop_whose_compensation_cannot_finish_alerts_ops_and_shows_on_the_order() -> None:
    # Probe 249: the reservation was gone from the stock item when ops stopped the
    # execution, so releasing it failed; the order stayed RESERVED with its authorisation
    # held, and neither the alerts nor the order said anything.
    deps, _, log = _with_alert_log()
    order = flows.reserved(deps)
    for level in deps.store.stock_levels("TSHIRT-BLK-M"):
        deps.store.put_stock(level.model_copy(update={"reserved": 0}))

    with pytest.raises(OutOfStock):
        _ended(deps, order.order_id, "ABORTED")
    again = recovery.execution_ended(
        deps.workflow.execution_arn(order.order_id), order.order_id, "ABORTED", deps
    )

    assert again == "already_shown"
    (listed,) = log.list(order.order_id, AlertStatus.OPEN, 10)
    assert listed.kind == "compensation_failed"
    assert listed.facts["error"]["Error"] == "OutOfStock"
    shown = deps.store.get_order(order.order_id)
    assert shown.status is OrderStatus.RESERVED
    assert shown.attention is not None
    assert shown.attention.kind is AttentionKind.COMPENSATION_FAILED
    assert "ABORTED" in shown.attention.detail and "OutOfStock" in shown.attention.detail


def test_a_stopped_orders_last_parcel_declared_lost_leaves_nothing_to_retry() -> None:
    # Probe 26B: the scheduled check declared the stopped order's only parcel lost and
    # refunded it, but "retry it" stayed on the order and in "Needs attention", and a
    # retry waited out a picking time for nothing.
    deps, clock, log = _with_alert_log()
    order = flows.shipped(deps)
    _ended(deps, order.order_id, "ABORTED")
    stopped = deps.store.get_order(order.order_id)
    assert stopped.attention is not None
    assert stopped.attention.kind is AttentionKind.WORKFLOW_STOPPED
    shipment = stopped.fulfillments[0].shipment
    assert shipment is not None
    # The check runs every few minutes: it records the breach, then declares the loss.
    clock.now = shipment.breaks_at + timedelta(minutes=5)
    lost_parcels.check_watched_shipments(deps)
    clock.now = lost_deadline(shipment.promised_by, deps) + timedelta(minutes=5)

    lost_parcels.check_watched_shipments(deps)

    lost = deps.store.get_order(order.order_id)
    assert lost.fulfillments[0].status is FulfillmentStatus.LOST
    assert lost.attention is None
    kinds = {a.kind: a.status for a in log.list(order.order_id, None, 10)}
    assert kinds["workflow_stopped"] is AlertStatus.RESOLVED
    with pytest.raises(Conflict) as refused:
        recovery.retry_execution(order.order_id, "ops:console", deps)
    assert refused.value.field == "order_id"
    # The console's list draws its stopped execution as at rest (probe 268: red).
    (row,) = [
        r
        for r in console.executions_overview(None, 10, deps)["executions"]
        if r["order_id"] == order.order_id
    ]
    assert row["status"] == "ABORTED" and row["order_nothing_left"] is True
    # The stop told again (EventBridge delivers at least once) shows nothing new.
    _ended(deps, order.order_id, "ABORTED")
    assert deps.store.get_order(order.order_id).attention is None


def test_an_ops_retry_racing_a_pay_again_starts_the_execution_it_names_not_another(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 26F: the pay-again names its execution on the order before starting it; an ops
    # retry in between saw it "not started", started "-r2" beside "-pay1", and a cancel
    # then stopped only the one the order named.
    declined = _declined(deps)
    workflow: Any = deps.workflow
    retried = meanwhile_before(
        monkeypatch,
        workflow,
        "start_named",
        lambda: recovery.retry_execution(declined.order_id, "ops:console", deps),
    )
    self_service.pay_again(declined.order_id, "tok_visa", deps)

    named = payment_retry_name(declined.order_id, 1)
    assert sorted(workflow.started) == sorted([declined.order_id, named])
    order = deps.store.get_order(declined.order_id)
    assert order.execution_arn == workflow.execution_arn(named)
    assert retried[0].retry.execution_arn == order.execution_arn
    assert [r.execution_arn for r in order.retries] == [order.execution_arn]


def test_a_retry_that_another_start_overtook_answers_its_key_again(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Re-probe 269: two ops retries at once (keys A and B) both got 202, one "replayed";
    # B sent again was 409, the execution running, its key recorded nowhere.
    order = flows.shipped(deps)
    _ended(deps, order.order_id, "ABORTED")
    raced = meanwhile_before(
        monkeypatch,
        deps.workflow,
        "start_named",
        lambda: recovery.retry_execution(order.order_id, "ops:b", deps, "key-b", "x"),
    )
    first = recovery.retry_execution(order.order_id, "ops:a", deps, "key-a", "x")
    monkeypatch.undo()
    (second,) = raced

    assert first.retry.execution_arn == second.retry.execution_arn
    for key, outcome in (("key-a", first), ("key-b", second)):
        again = recovery.retry_execution(order.order_id, "ops:a", deps, key, "x")
        assert again.replayed and again.retry.execution_arn == outcome.retry.execution_arn
    with pytest.raises(IdempotencyKeyReused):
        recovery.retry_execution(order.order_id, "ops:b", deps, "key-b", "another reason")
    assert len(deps.store.get_order(order.order_id).retries) == 1
