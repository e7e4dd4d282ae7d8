"""The scheduled SLA check: a safety net for shipments whose execution can no longer
record the breach itself (here: it was stopped). It reads the sparse index of open
shipments by due time, a bounded number of pages, and records each breach once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from chalicelib.domain.errors import ConcurrentModification
from chalicelib.services.sla import check_overdue_shipments, record_breach
from infra.local.stack import REGION
from tests.support import OPS, eventually, order_body
from tests.support.api import get_order
from tests.support.flow import fresh_sku, ops_alerts, place, states_entered, stop_if_running
from tests.support.orders import wait_for_status

# One query per due day over the last days_back=2 days and today, each one page here.
MAX_PAGES = 6


def _late_tickets(client: Any, customer_id: str, order_id: str) -> list[dict[str, Any]]:
    view = client.http.get(f"/customers/{customer_id}", headers=OPS)
    assert view.status_code == 200, view.body
    return [
        t
        for t in view.json_body["tickets"]
        if t["type"] == "late_delivery" and t["order_id"] == order_id
    ]


def test_scheduled_check_records_the_breach_of_a_stopped_execution_once(
    client: Any, deps: Any, stack: Any, parked: list[str]
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    assert shipped.execution_arn is not None and shipped.customer_id is not None
    shipment = shipped.fulfillments[0].shipment
    assert shipment is not None and shipment.breached_at is None

    # No timer will fire for this shipment any more: its execution is stopped.
    boto3.client("stepfunctions", region_name=REGION).stop_execution(
        executionArn=shipped.execution_arn
    )
    eventually(lambda: deps.workflow.status(shipped.execution_arn) != "RUNNING", timeout=15)

    # Past the promise, the check records nothing: the grace after it is still running.
    wait = (shipment.promised_by - datetime.now(UTC)).total_seconds() + 0.5
    assert wait < 30, f"promised_by {shipment.promised_by} is too far away for this test"
    time.sleep(max(0.0, wait))
    stack.scheduler.fire("check_sla", stack.app_module.app.handler_map["check_sla"])
    within_grace = deps.store.get_order(order_id).fulfillments[0].shipment
    assert within_grace is not None and within_grace.breached_at is None
    assert get_order(client, order_id, OPS)["sla"]["status"] == "at_risk"

    # Past the promise and its 72 h grace (12 s at the tests' time scale).
    wait = (shipment.breaks_at - datetime.now(UTC)).total_seconds() + 0.5
    assert wait < 30, f"breach_due {shipment.breach_due} is too far away for this test"
    time.sleep(max(0.0, wait))

    # The stack's own scheduler may run the check meanwhile too; either way, once.
    runs = stack.scheduler.runs["check_sla"]
    stack.scheduler.fire("check_sla", stack.app_module.app.handler_map["check_sla"])
    assert stack.scheduler.runs["check_sla"] >= runs + 1

    order = deps.store.get_order(order_id)
    late = order.fulfillments[0].shipment
    assert late is not None
    assert late.sla_status == "breached"
    assert late.breached_at == shipment.breaks_at
    assert order.status.value == "SHIPPED"
    view = get_order(client, order_id, OPS)
    assert view["fulfillments"][0]["shipment"]["sla"]["status"] == "breached"
    assert view["fulfillments"][0]["shipment"]["sla"]["breached_at"] is not None
    assert view["sla"]["status"] == "breached"

    def of_order(kind: str) -> list[dict[str, Any]]:
        return [a for a in ops_alerts(deps) if a.get("order_id") == order_id and a["kind"] == kind]

    alerts = eventually(lambda: of_order("sla_breached"), timeout=10)
    assert [a["tracking_number"] for a in alerts] == [late.tracking_number]
    # The stop itself was told to ops as well, once (recovery.execution_ended).
    assert len(eventually(lambda: of_order("workflow_stopped"), timeout=10)) == 1
    tickets = eventually(lambda: _late_tickets(client, order.customer_id or "", order_id))
    assert len(tickets) == 1

    # Firing again records nothing twice; the breached shipment has left the open index.
    stack.scheduler.fire("check_sla", stack.app_module.app.handler_map["check_sla"])
    outcome = check_overdue_shipments(deps)
    assert outcome["pages_read"] <= MAX_PAGES
    assert outcome["pages_read"] >= 3
    stack.lambdas.drain()
    again = deps.store.get_order(order_id)
    assert again.fulfillments[0].shipment is not None
    assert again.fulfillments[0].shipment.breached_at == late.breached_at
    assert len(_late_tickets(client, order.customer_id or "", order_id)) == 1
    assert len(of_order("sla_breached")) == 1 and len(of_order("workflow_stopped")) == 1
    # The stopped execution ran no timeout handler: the check alone recorded the breach.
    described = deps.workflow.describe(shipped.execution_arn)
    assert "HandleTimeout" not in states_entered(described)


def test_a_breach_recorder_that_loses_the_race_does_not_alert_again(
    client: Any, deps: Any, stack: Any, parked: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two recorders (the execution's timeout step and the schedule) decide on the same
    # order; the one whose write loses sees the breach already recorded on its re-read and
    # must not alert with what it had decided before.
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    # Only the two recorders this test makes: the execution's own timeout step would be a
    # third, and the stack's other threads share this store (and so the patched method).
    stop_if_running(deps, order_id)
    fulfillment_id = shipped.fulfillments[0].fulfillment_id
    real_save = deps.store.save_order
    raced: list[bool] = []
    this_test = threading.current_thread()

    def save_after_the_other_recorder(order: Any, *args: Any) -> Any:
        if threading.current_thread() is not this_test or order.order_id != order_id:
            return real_save(order, *args)
        if not raced:
            raced.append(True)
            # The other recorder's write lands first (it alerts itself), so ours fails.
            monkeypatch.setattr(deps.store, "save_order", real_save)
            assert record_breach(order_id, fulfillment_id, deps) is True
            raise ConcurrentModification("the order changed under this write")
        return real_save(order, *args)

    monkeypatch.setattr(deps.store, "save_order", save_after_the_other_recorder)
    assert record_breach(order_id, fulfillment_id, deps) is False

    breaches = [
        a for a in ops_alerts(deps) if a.get("order_id") == order_id and a["kind"] == "sla_breached"
    ]
    assert len(breaches) == 1
