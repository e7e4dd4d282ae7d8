"""A parcel that misses the carrier's SLA: a handled branch of the real ASL, not a failure.
At the default time scale rapido's next-business-day promise runs out within seconds."""

from __future__ import annotations

from typing import Any

from tests.support import STOREFRONT, eventually, order_body
from tests.support.api import get_order
from tests.support.flow import (
    emails_to,
    fresh_sku,
    ops_alerts,
    place,
    post_carrier_event,
    states_entered,
    tracking_number,
    wait_past,
)
from tests.support.orders import wait_for_status


def test_missed_sla_alerts_ops_keeps_waiting_and_a_late_delivery_completes_the_order(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    tracking = tracking_number(shipped)
    assert shipped.fulfillments[0].shipment is not None
    assert shipped.fulfillments[0].shipment.carrier == "rapido"
    # The waits for the promise and the 72 h grace after it (a few seconds and 12 s at the
    # default scale) were fixed at dispatch. Waits computed from now on (until the parcel
    # is declared lost, after the breach) are ten times longer, so that the late webhook
    # below lands inside that wait even on a busy machine.
    settings.time_scale = settings.time_scale / 10

    # Nobody delivers: the waits for the carrier run out and the workflow records it.
    def breach_recorded() -> bool:
        shipment = deps.store.get_order(order_id).fulfillments[0].shipment
        return shipment is not None and shipment.breached_at is not None

    eventually(breach_recorded, timeout=90)
    # The scheduled SLA check (the safety net for stopped executions) may record the
    # breach first; the workflow's own HandleTimeout branch must still run.
    assert shipped.execution_arn is not None
    eventually(
        lambda: "HandleTimeout" in states_entered(deps.workflow.describe(shipped.execution_arn)),
        timeout=30,
    )
    view = get_order(client, order_id, STOREFRONT)
    assert view["sla"]["status"] == "breached"
    shipment = view["fulfillments"][0]["shipment"]
    assert shipment["sla"]["status"] == "breached"
    assert shipment["sla"]["breached_at"] is not None
    assert view["status"] == "SHIPPED"
    described = deps.workflow.describe(shipped.execution_arn)
    assert described["status"] == "RUNNING"
    assert "HandleTimeout" in states_entered(described)

    breaches = eventually(
        lambda: [a for a in ops_alerts(deps) if a.get("order_id") == order_id], timeout=10
    )
    assert [(a["kind"], a["tracking_number"]) for a in breaches] == [("sla_breached", tracking)]

    # The execution waits again (after the promise, then after the grace); the carrier's
    # late webhook completes the order.
    eventually(
        lambda: (
            states_entered(deps.workflow.describe(shipped.execution_arn)).count("AwaitCompletion")
            == 3
        ),
        timeout=10,
    )
    # Late: after the promise (a delivery dated by it would be on time after all).
    wait_past(shipped.fulfillments[0].shipment.promised_by)
    ack = post_carrier_event(client, tracking)
    assert ack["status"] == "applied"
    assert ack["order_status"] == "DELIVERED"
    delivered = wait_for_status(deps, order_id, "DELIVERED")
    view = get_order(client, order_id, STOREFRONT)
    shipment = view["fulfillments"][0]["shipment"]
    assert view["fulfillments"][0]["status"] == "DELIVERED"
    assert shipment["delivered_at"] is not None
    assert shipment["sla"]["status"] == "late"
    assert shipment["sla"]["breached_at"] is not None
    assert view["sla"]["status"] == "late"

    # The fulfillment is done: the execution moves on to the return window.
    described = eventually(
        lambda: (
            "AwaitReturns" in states_entered(d := deps.workflow.describe(shipped.execution_arn))
            and d
        ),
        timeout=15,
    )
    assert described["status"] == "RUNNING"
    states = states_entered(described)
    assert states.count("HandleTimeout") == 2
    assert states.count("AwaitCompletion") == 3

    # Nothing resolved twice: a second delivered event changes nothing, a replay is
    # recognised, and ops heard about the breach once.
    again = post_carrier_event(client, tracking)
    assert again["status"] == "applied"
    replay_body_id = "evt_replayed_once"
    assert post_carrier_event(client, tracking, event_id=replay_body_id)["status"] == "applied"
    assert post_carrier_event(client, tracking, event_id=replay_body_id)["status"] == "duplicate"
    final = deps.store.get_order(order_id)
    assert [h.status.value for h in final.history] == [h.status.value for h in delivered.history]
    assert [h.status.value for h in final.history].count("DELIVERED") == 1
    alerts = [a for a in ops_alerts(deps) if a.get("order_id") == order_id]
    assert [a["kind"] for a in alerts] == ["sla_breached"]

    stack.lambdas.drain()
    address = body["customer"]["email"]
    apologies = [m for m in emails_to(address) if "retraso" in str(m["Subject"])]
    assert len(apologies) == 1
