"""Cancelling an order, on fakes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.orders import OrderStatus, StatusReason
from chalicelib.services import (
    console,
    fulfillment_steps,
    ordering,
    payment_steps,
    recovery,
    settlement,
    stock_steps,
)
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway, RecordingEvents
from tests.fakes.outside import FakeWorkflow
from tests.service import flows


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def test_cancelling_before_payment_moves_no_money(deps: Deps) -> None:
    order = flows.place(deps)
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.status_reason is StatusReason.CUSTOMER_REQUEST
    assert _gateway(deps).calls == []


def test_cancelling_after_authorising_voids_the_whole_authorisation(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    ordering.cancel_order(order.order_id, deps)
    assert _gateway(deps).total("void") == order.total.amount
    assert deps.store.get_order(order.order_id).payment.owed() == []


def test_cancelling_twice_answers_the_same_and_voids_once(deps: Deps) -> None:
    order = flows.reserved(deps)
    first = ordering.cancel_order(order.order_id, deps)
    second = ordering.cancel_order(order.order_id, deps)
    assert first.status is second.status is OrderStatus.CANCELLED
    # The lines' void and the shipping fee's (39.90 of T-shirts pay the 4.95 fee), each
    # once: together exactly what was authorised.
    assert order.total.amount == order.lines[0].line_total.amount + Decimal("4.95")
    voids = [amount for kind, _, amount in _gateway(deps).calls if kind == "void"]
    assert sorted(voids) == [Decimal("4.95"), order.lines[0].line_total.amount]
    assert _gateway(deps).total("void") == order.total.amount
    events = deps.events
    assert isinstance(events, RecordingEvents)
    cancelled = [e for e in events.of_type("order.status_changed") if e["status"] == "CANCELLED"]
    # Told again by the second (the first may have died before telling), under one id.
    assert len({e["event_id"] for e in cancelled}) == 1


def test_a_shipped_order_cannot_be_cancelled(deps: Deps) -> None:
    order = flows.shipped(deps)
    with pytest.raises(Conflict):
        ordering.cancel_order(order.order_id, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.SHIPPED
    assert _gateway(deps).total("void") == 0


def test_a_void_the_gateway_misses_stays_owed_until_the_sweeper_makes_it(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _gateway(deps).unavailable = 1
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.status is OrderStatus.CANCELLED
    assert [op.type.value for op in cancelled.payment.owed()] == ["void"]
    assert deps.store.orders_owing(10) == [order.order_id]
    assert settlement.sweep(deps) == {"orders": 1, "settled": 1, "errors": 0}
    assert _gateway(deps).total("void") == order.total.amount
    assert deps.store.orders_owing(10) == []


def test_cancelling_an_unknown_order_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound):
        ordering.cancel_order("ord_missing", deps)


def _execution_status(deps: Deps, order_id: str) -> str | None:
    return deps.workflow.status(deps.workflow.execution_arn(order_id))


@pytest.mark.parametrize("picking_seconds", [172_800, 5])
def test_a_cancel_during_long_handling_stops_the_execution_no_wait_would_end(
    deps: Deps, picking_seconds: int
) -> None:
    # A probe (18 of 18): the execution sat in its handling Wait, which no token ends,
    # until the wait ran out (two days unscaled) after the order was cancelled. A wait
    # with seconds left runs out, and the execution ends as any cancelled one.
    deps.settings.handling_seconds = int(picking_seconds * deps.settings.time_scale)
    order = flows.reserved(deps)
    assert order.fulfillments and all(f.task_token is None for f in order.fulfillments)
    assert _execution_status(deps, order.order_id) == "RUNNING"

    ordering.cancel_order(order.order_id, deps)

    stopped = picking_seconds > ordering.HANDLING_LEFT_TO_RUN_OUT
    assert _execution_status(deps, order.order_id) == ("ABORTED" if stopped else "RUNNING")
    # Asked again, nothing more to stop.
    ordering.cancel_order(order.order_id, deps)
    assert _execution_status(deps, order.order_id) == ("ABORTED" if stopped else "RUNNING")


@pytest.mark.parametrize("stage", ["placed", "paid", "parked"])
def test_a_cancel_the_execution_notices_itself_stops_nothing(deps: Deps, stage: str) -> None:
    # Before its stock is reserved a step runs (it sees the cancel within seconds); once a
    # wait is parked, failing its token ends the execution where the ASL says.
    pickup = [line for line in flows.MIXED if line["fulfillment"] == "pickup"]
    order = flows.place(deps, lines=pickup, shipping_address=None)
    if stage != "placed":
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    if stage == "parked":
        stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
        (part,) = deps.store.get_order(order.order_id).fulfillments
        fulfillment_steps.dispatch_and_await(flows.dispatch_step(order, part.fulfillment_id), deps)
    ordering.cancel_order(order.order_id, deps)
    assert _execution_status(deps, order.order_id) == "RUNNING"
    if stage == "parked":
        assert isinstance(deps.workflow, FakeWorkflow)
        assert [token for token, *_ in deps.workflow.failed] == ["token-1"]


def test_a_cancel_asked_again_stops_what_the_first_one_could_not(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first request died at its stop (after the cancel was written): the client asks
    # again, and the execution must not stay in its handling Wait for two days.
    deps.settings.handling_seconds = int(172_800 * deps.settings.time_scale)
    order = flows.reserved(deps)
    stop = deps.workflow.stop

    def dies(execution_arn: str, error: str, cause: str) -> bool:
        monkeypatch.setattr(deps.workflow, "stop", stop)
        raise ConnectionError("the Lambda died here")

    monkeypatch.setattr(deps.workflow, "stop", dies)
    with pytest.raises(ConnectionError):
        ordering.cancel_order(order.order_id, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.CANCELLED
    assert _execution_status(deps, order.order_id) == "RUNNING"

    ordering.cancel_order(order.order_id, deps)

    assert _execution_status(deps, order.order_id) == "ABORTED"


def test_the_console_lists_a_stopped_execution_with_where_its_order_stands(deps: Deps) -> None:
    # A cancel during a long picking time stops the execution (ABORTED, nothing held):
    # the console's list tells it from a stop that left an order half-way.
    deps.settings.handling_seconds = int(172_800 * deps.settings.time_scale)
    cancelled = flows.reserved(deps)
    ordering.cancel_order(cancelled.order_id, deps)
    halfway = flows.reserved(deps)
    assert isinstance(deps.workflow, FakeWorkflow)
    deps.workflow.end(deps.workflow.execution_arn(halfway.order_id), "ABORTED")  # ops stopped it
    running = flows.place(deps)
    # Stopped, and its stop compensated: cancelled, at rest, but marked for ops (probe
    # 207: drawn grey as a harmless stop while its alert stood under "Needs attention").
    compensated = flows.reserved(deps)
    arn = deps.workflow.execution_arn(compensated.order_id)
    deps.workflow.end(arn, "ABORTED")
    recovery.execution_ended(arn, compensated.order_id, "ABORTED", deps)
    assert deps.store.get_order(compensated.order_id).status is OrderStatus.CANCELLED

    listed = console.executions_overview(None, 50, deps)

    rows = {row["order_id"]: row for row in listed["executions"]}
    assert rows[cancelled.order_id]["order_status"] == "CANCELLED"
    assert rows[cancelled.order_id]["order_attention"] is False
    assert rows[compensated.order_id]["order_status"] == "CANCELLED"
    assert rows[compensated.order_id]["order_attention"] is True
    assert rows[halfway.order_id]["order_status"] == "RESERVED"
    assert rows[running.order_id]["status"] == "RUNNING"
    assert rows[running.order_id]["order_status"] is None
    stopped = console.executions_overview("ABORTED", 50, deps)
    assert stopped["counts"]["ABORTED"] == 3
    assert {row["order_id"] for row in stopped["executions"]} == {
        cancelled.order_id,
        halfway.order_id,
        compensated.order_id,
    }


def _rows_by_execution(deps: Deps) -> dict[str, dict[str, Any]]:
    return {
        r["execution_arn"]: r for r in console.executions_overview(None, 50, deps)["executions"]
    }


def test_the_console_lists_a_stop_an_ops_retry_carries_on_as_retried(deps: Deps) -> None:
    # Probe 256: the stopped row stayed red once ops had retried it, as if still to do.
    halfway = flows.shipped(deps)
    assert isinstance(deps.workflow, FakeWorkflow)
    arn = deps.workflow.execution_arn(halfway.order_id)
    deps.workflow.end(arn, "ABORTED")
    recovery.execution_ended(arn, halfway.order_id, "ABORTED", deps)
    before = {
        row["execution_arn"]: row
        for row in console.executions_overview(None, 50, deps)["executions"]
    }
    assert before[arn]["retried"] is False and before[arn]["order_attention"] is True

    recovery.retry_execution(halfway.order_id, "ops:test", deps)

    after = {
        row["execution_arn"]: row
        for row in console.executions_overview(None, 50, deps)["executions"]
    }
    assert after[arn]["retried"] is True and after[arn]["order_attention"] is False
    (newer,) = [row for a, row in after.items() if a != arn and row["order_id"] == halfway.order_id]
    assert newer["retried"] is False
