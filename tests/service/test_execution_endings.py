"""An order's execution that ends FAILED, TIMED_OUT or ABORTED before the order is at rest
(ops pressed Stop in the console, say) is never left silent: ops are alerted once and the
order shows it, until ops retry it (found by a probe: a stopped pick-up held its stock and
authorisation past its deadline, a stopped parcel was never declared lost, and nobody was
told). The same on moto, with the real state machine: tests/workflow/test_ops_retry.py."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind
from chalicelib.services import ordering, recovery
from chalicelib.services.order_writes import Change, mutate
from tests.service import flows


def _ended(deps: Deps, order_id: str, status: str, name: str | None = None) -> str:
    """The order's execution (or the one named) ends ``status``, and EventBridge tells."""
    workflow: Any = deps.workflow
    arn = workflow.execution_arn(name or order_id)
    workflow.end(arn, status)
    return recovery.execution_ended(arn, name or order_id, status, deps)


def _alerts(deps: Deps, order_id: str) -> list[dict[str, Any]]:
    events: Any = deps.events
    return [m for _, m in events.alerts if m.get("order_id") == order_id]


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
    retried = recovery.retry_name(order.order_id, 1)
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
