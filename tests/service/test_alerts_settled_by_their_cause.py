"""Alerts ops no longer need to act on are resolved when their cause goes, on fakes whose
alert log records what ``alert_ops`` sends (as the deployed publisher does): a SKU back
above its low-stock threshold, an order paid again after the gateway did not answer
(probe 192: both stayed in "needs attention" for good, and low-stock ones piled up)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.alerts import AlertRecordingPublisher
from chalicelib.deps import Deps
from chalicelib.domain.alerts import AlertStatus, OpsAlert
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import inventory, payment_steps, self_service
from chalicelib.services.step_models import OrderStep, RejectOrderInput
from infra.local.demo_data import load_demo_data
from tests.fakes import Clock, RecordingEvents, fake_deps
from tests.fakes.outside import FakeAlertLog
from tests.service import flows
from tests.support.catalogue import fresh_sku


@pytest.fixture
def alerting() -> tuple[Deps, FakeAlertLog]:
    clock, log = Clock(), FakeAlertLog()
    built = fake_deps(
        clock=clock, alerts=log, events=AlertRecordingPublisher(RecordingEvents(), log, clock)
    )
    load_demo_data(built.store)
    return built, log


def _of_kind(log: FakeAlertLog, kind: str, status: AlertStatus) -> list[OpsAlert]:
    return [a for a in log.list(None, status, 100, kind=kind)]


def _move(deps: Deps, sku: str, kind: str, quantity: int) -> None:
    request = RecordMovementRequest.model_validate(
        {"sku": sku, "location_id": "WH-GETAFE", "type": kind, "quantity": quantity}
    )
    inventory.record_movement(request, deps)


def test_a_sku_back_above_its_threshold_resolves_its_low_stock_alert(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    deps, log = alerting
    sku = fresh_sku(deps, {"WH-GETAFE": 4}, threshold=3)
    other = fresh_sku(deps, {"WH-GETAFE": 4}, threshold=3)
    _move(deps, sku, "sale", 3)
    _move(deps, other, "sale", 3)
    assert len(_of_kind(log, "low_stock", AlertStatus.OPEN)) == 2

    _move(deps, sku, "receipt", 50)

    (still_low,) = _of_kind(log, "low_stock", AlertStatus.OPEN)
    assert still_low.facts["sku"] == other
    (resolved,) = _of_kind(log, "low_stock", AlertStatus.RESOLVED)
    assert resolved.facts["sku"] == sku
    # Below again: one new alert, the only one open for it (not two, one saying 1 left).
    _move(deps, sku, "sale", 51)
    low_again = [a for a in _of_kind(log, "low_stock", AlertStatus.OPEN) if a.facts["sku"] == sku]
    assert [a.facts["available_to_promise"] for a in low_again] == [0]


def _rejected_unanswered(deps: Deps) -> Order:
    """An order rejected because the payment gateway did not answer (ops alerted)."""
    order = flows.place(deps, payment={"method": "card", "token": "tok_unavailable"})
    reject = RejectOrderInput(order_id=order.order_id, error="PaymentGatewayUnavailable")
    payment_steps.reject_order(reject, deps)
    return order


def test_an_order_paid_again_after_the_gateway_was_silent_resolves_its_alert(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    deps, log = alerting
    order, silent = _rejected_unanswered(deps), _rejected_unanswered(deps)
    assert len(_of_kind(log, "payment_gateway_unavailable", AlertStatus.OPEN)) == 2

    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    (open_,) = _of_kind(log, "payment_gateway_unavailable", AlertStatus.OPEN)
    assert open_.order_id == silent.order_id  # the other order still needs ops
    (resolved,) = _of_kind(log, "payment_gateway_unavailable", AlertStatus.RESOLVED)
    assert resolved.order_id == order.order_id


def test_a_cancel_giving_units_back_above_the_threshold_resolves_the_alert(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    # Re-probe 193: a cancel (and a return received, a pick-up not collected) took the SKU
    # back above its threshold and left the alert open, so the next dip raised none.
    from chalicelib.services import ordering

    deps, log = alerting
    sku = fresh_sku(deps, {"WH-GETAFE": 4}, threshold=3)
    order = flows.reserved(deps, lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    (low,) = _of_kind(log, "low_stock", AlertStatus.OPEN)
    assert low.facts["sku"] == sku

    ordering.cancel_order(order.order_id, deps)

    assert _of_kind(log, "low_stock", AlertStatus.OPEN) == []
    # The next dip is told again.
    flows.reserved(deps, lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    (again,) = _of_kind(log, "low_stock", AlertStatus.OPEN)
    assert again.facts["available_to_promise"] == 2


def test_a_return_received_above_the_threshold_resolves_the_alert(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    from chalicelib.domain.requests import RequestReturnRequest
    from chalicelib.services import returns

    deps, log = alerting
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, threshold=4)
    order = flows.delivered(deps, lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    assert len(_of_kind(log, "low_stock", AlertStatus.OPEN)) == 1
    asked = RequestReturnRequest.model_validate(
        {"lines": [{"sku": sku, "quantity": 2}], "reason": "talla", "channel": "mail"}
    )
    opened = returns.request_return(order.order_id, asked, deps)

    returns.receive_return(opened.return_id, "WH-GETAFE", deps)

    assert _of_kind(log, "low_stock", AlertStatus.OPEN) == []


def test_an_order_cancelled_after_the_gateway_was_silent_resolves_its_alert(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    # Re-probe 193: staff may cancel it while it may be paid again; its alert stayed open.
    from chalicelib.services import ordering

    deps, log = alerting
    order = _rejected_unanswered(deps)
    assert len(_of_kind(log, "payment_gateway_unavailable", AlertStatus.OPEN)) == 1

    ordering.cancel_order(order.order_id, deps)

    assert _of_kind(log, "payment_gateway_unavailable", AlertStatus.OPEN) == []
    (resolved,) = _of_kind(log, "payment_gateway_unavailable", AlertStatus.RESOLVED)
    assert resolved.order_id == order.order_id


def test_a_delivered_order_whose_execution_stopped_is_at_rest_once_every_unit_is_back(
    alerting: tuple[Deps, FakeAlertLog],
) -> None:
    # Re-probe 193: its execution stopped while it waited out the return window; once
    # RETURNED, it still said "retry it" and its alert stayed open, though a retry could
    # only answer 409.
    from chalicelib.domain.requests import RequestReturnRequest
    from chalicelib.services import recovery, returns

    deps, log = alerting
    order = flows.delivered(deps)
    arn = deps.workflow.execution_arn(order.order_id)
    recovery.execution_ended(arn, order.order_id, "ABORTED", deps)
    stopped = deps.store.get_order(order.order_id)
    assert stopped.attention is not None
    assert len(_of_kind(log, "workflow_stopped", AlertStatus.OPEN)) == 1
    every_unit = [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]
    asked = RequestReturnRequest.model_validate(
        {"lines": every_unit, "reason": "talla", "channel": "mail"}
    )
    opened = returns.request_return(order.order_id, asked, deps)

    returned = returns.receive_return(opened.return_id, "WH-GETAFE", deps)

    assert returned.status.value == "RETURNED"
    assert returned.attention is None
    assert _of_kind(log, "workflow_stopped", AlertStatus.OPEN) == []
