"""An order at rest, on the real order.asl.json: a cancel ends the execution at once; a
parcel the carrier never confirms keeps the execution waiting after its breach, then is
declared LOST, refunded, emailed about and alerted on; the return window runs from the
delivery."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.errors import PaymentGatewayUnavailable
from chalicelib.domain.orders import Order
from chalicelib.services import lost_parcels
from chalicelib.services.carrier_events import sign
from chalicelib.services.order_writes import Change, mutate
from tests.support import (
    CARRIER_SECRET,
    JSON,
    OPS,
    STORE,
    STOREFRONT,
    eventually,
    order_body,
    pickup_order_body,
)
from tests.support.api import get_order
from tests.support.flow import (
    emails_to,
    fresh_sku,
    ops_alerts,
    parts_of,
    place,
    post_carrier_event,
    return_wait_parked,
    states_entered,
    stock_of,
    stop_if_running,
    tracking_number,
    wait_for_execution,
)
from tests.support.orders import wait_for_status


def _alerts_of(deps: Any, order_id: str) -> list[dict[str, Any]]:
    return [a for a in ops_alerts(deps) if a.get("order_id") == order_id]


def test_cancelling_a_pickup_waiting_at_the_store_ends_its_execution_at_once(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # A pick-up window of many minutes: only the cancel can end this execution in time.
    settings.time_scale = settings.time_scale / 100
    sku = fresh_sku(deps, {"ST-VALENCIA": 4})
    order_id = place(client, pickup_order_body(sku, 2))
    parked.append(order_id)

    # Ready at the store, and the execution parked on the collection's task token.
    def parked_at_store() -> Any:
        order = deps.store.get_order(order_id)
        return order if order.fulfillments and order.fulfillments[0].task_token else None

    ready = eventually(parked_at_store, timeout=30)
    assert ready.status.value == "READY_FOR_PICKUP"
    assert stock_of(deps, sku) == {"ST-VALENCIA": (4, 2)}
    assert ready.execution_arn is not None
    assert deps.workflow.describe(ready.execution_arn)["status"] == "RUNNING"

    response = client.http.post(
        f"/orders/{order_id}/cancel",
        headers=STOREFRONT | JSON,
        body=json.dumps({"reason": "changed my mind"}),
    )
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "CANCELLED"

    described = wait_for_execution(deps, ready, timeout=30)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described)[-1] == "OrderCancelled"
    # As ops read it: every state left, the waiting one too, though its task failed into
    # the catch with no exit event (a probe read "exited": null for it).
    execution = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS).json_body
    waited = [row for row in execution["history"] if row["state"] == "AwaitCompletion"]
    assert waited and all(row["exited"] for row in execution["history"]), execution["history"]
    cancelled = deps.store.get_order(order_id)
    assert cancelled.status.value == "CANCELLED"
    assert [f.task_token for f in cancelled.fulfillments] == [None]
    # Nothing was handed over: the authorisation is voided, nothing refunded.
    assert cancelled.payment.status.value == "VOIDED"
    # The units went back on the store's shelf, free to sell.
    assert stock_of(deps, sku) == {"ST-VALENCIA": (4, 0)}

    # Nothing waits any more: the store cannot collect it, a second cancel changes nothing.
    code = ready.fulfillments[0].pickup_code
    collect = client.http.post(
        f"/fulfillments/{ready.fulfillments[0].fulfillment_id}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": code}),
    )
    assert collect.status_code == 409, collect.body
    again = client.http.post(f"/orders/{order_id}/cancel", headers=STOREFRONT | JSON)
    assert again.status_code == 200, again.body
    assert stock_of(deps, sku) == {"ST-VALENCIA": (4, 0)}


def test_an_unconfirmed_parcel_keeps_waiting_after_its_breach_then_is_lost_and_refunded(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    # Twice the usual scale: the promise is a few seconds away, the 72 h grace after it 6 s, the
    # lost deadline (30 days after the promise) 60 s.
    settings.time_scale = settings.time_scale * 2
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="30.00")
    body = order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    body["customer"]["locale"] = "en"
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    assert shipped.execution_arn is not None
    tracking = tracking_number(shipped)
    shipped_parcel = shipped.fulfillments[0].shipment
    assert shipped_parcel is not None

    def alert_kinds() -> list[str]:
        return [a["kind"] for a in _alerts_of(deps, order_id)]

    # Past the promise, within the grace: late but not breached, nobody told yet.
    eventually(
        lambda: (
            states_entered(deps.workflow.describe(shipped.execution_arn)).count("AwaitCompletion")
            >= 2
        ),
        timeout=60,
    )
    view = get_order(client, order_id, OPS)
    if "sla_breached" not in alert_kinds():  # unless a busy machine is past the grace
        assert view["fulfillments"][0]["shipment"]["sla"]["status"] == "at_risk"
        assert view["fulfillments"][0]["shipment"]["sla"]["breached_at"] is None

    # Past the promise plus the grace: breached, a late_delivery ticket, ops alerted.
    eventually(lambda: "sla_breached" in alert_kinds(), timeout=60)
    view = get_order(client, order_id, OPS)
    sla = view["fulfillments"][0]["shipment"]["sla"]
    assert sla["status"] == "breached"
    grace = timedelta(seconds=settings.waits.seconds(72 * 3600))
    assert sla["breached_at"] == (shipped_parcel.promised_by + grace).isoformat()

    def tickets_of_order() -> list[tuple[str, str]]:
        customer = client.http.get(f"/customers/{shipped.customer_id}", headers=OPS).json_body
        return [(t["type"], t["status"]) for t in customer["tickets"] if t["order_id"] == order_id]

    # The ticket is written after the ops alert (sla.record_breach), so it may lag it.
    assert eventually(tickets_of_order, timeout=30) == [("late_delivery", "open")]

    # After the breach the execution waits on for the carrier.
    described = eventually(
        lambda: (
            d
            if states_entered(d := deps.workflow.describe(shipped.execution_arn)).count(
                "AwaitCompletion"
            )
            >= 3
            else None
        ),
        timeout=30,
    )
    assert described["status"] == "RUNNING"
    still = deps.store.get_order(order_id)
    assert still.status.value == "SHIPPED"
    assert still.fulfillments[0].status.value == "SHIPPED"
    assert _nothing_refunded(still)

    # The lost deadline: LOST, refunded, emailed, alerted; only then does the execution end.
    described = wait_for_execution(deps, shipped, timeout=120)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described)[-1] == "OrderClosed"
    lost = deps.store.get_order(order_id)
    assert lost.fulfillments[0].status.value == "LOST"
    # Every parcel lost: the order keeps its status; the fulfillment says what happened.
    assert lost.status.value == "SHIPPED"
    assert lost.payment.status.value == "REFUNDED"
    assert lost.payment.refunded is not None
    assert lost.payment.refunded.amount == Decimal("60.00")
    assert _gateway_refunds(deps, lost) == [
        (f"{order_id}:{lost.fulfillments[0].fulfillment_id}:refund", "60.00")
    ]
    assert alert_kinds() == ["sla_breached", "parcel_lost"]
    listed = client.http.get(f"/ops/alerts?order_id={order_id}", headers=OPS).json_body
    # What is left to deal with is the loss: the earlier alerts point to it.
    assert [(a["kind"], a["status"]) for a in listed["alerts"]] == [
        ("parcel_lost", "open"),
        ("sla_breached", "resolved"),
    ]
    timeline = client.http.get(f"/ops/orders/{order_id}/timeline", headers=OPS).json_body
    titles = [e["title"] for e in timeline["entries"]]
    assert "parcel lost" in titles
    assert "ops alert: parcel_lost (open)" in titles
    view = get_order(client, order_id, STOREFRONT)
    assert view["fulfillments"][0]["status"] == "LOST"
    assert view["payment"]["refunded"] == {"amount": "60.00", "currency": "EUR"}

    stack.lambdas.drain()
    lost_mail = [m for m in emails_to(body["customer"]["email"]) if "lost" in str(m["Subject"])]
    assert len(lost_mail) == 1
    text = parts_of(lost_mail[0])["text/plain"]
    assert "€60.00" in text  # Babel, in the customer's language
    assert tracking in text

    # The carrier turns up after all: recorded, no status goes back, no second refund, and
    # ops are told to settle it with the customer.
    ack = post_carrier_event(client, tracking)
    assert ack["status"] == "applied"
    after = deps.store.get_order(order_id)
    assert after.fulfillments[0].status.value == "LOST"
    assert after.fulfillments[0].shipment is not None
    assert after.fulfillments[0].shipment.delivered_at is not None
    assert after.status.value == "SHIPPED"
    assert after.payment.refunded == lost.payment.refunded
    assert alert_kinds()[-1] == "delivered_after_lost"
    refused = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STOREFRONT | JSON,
        body=json.dumps({"lines": [{"sku": sku, "quantity": 1}], "reason": "x", "channel": "mail"}),
    )
    assert refused.status_code == 409, refused.body


def _ask_return(client: Any, order_id: str, sku: str) -> Any:
    return client.http.post(
        f"/orders/{order_id}/returns",
        headers=STOREFRONT | JSON,
        body=json.dumps({"lines": [{"sku": sku, "quantity": 1}], "reason": "x", "channel": "mail"}),
    )


def _handed_over_at(deps: Any, order_id: str, at: datetime) -> None:
    """Move an order's past back to ``at``, as if its parcels had left then: every status
    change so far and every shipment's hand-over."""

    def backdate(order: Order) -> Change[None]:
        for entry in order.history:
            entry.at = min(entry.at, at)
        for fulfillment in order.fulfillments:
            if fulfillment.shipment is not None:
                fulfillment.shipment.shipped_at = at
        return Change()

    mutate(deps, order_id, backdate)


def _delivered_at(client: Any, tracking: str, occurred_at: datetime) -> None:
    """A signed rapido ``delivered`` event that says when the parcel arrived."""
    raw = json.dumps(
        {
            "event_id": f"evt_{uuid.uuid4().hex[:12]}",
            "tracking_number": tracking,
            "type": "delivered",
            "occurred_at": occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()
    headers = {"X-Orquesta-Signature": sign(CARRIER_SECRET, int(time.time()), raw), **JSON}
    response = client.http.post("/carriers/rapido/events", headers=headers, body=raw)
    assert response.status_code == 200, response.body


def test_the_return_window_runs_from_the_delivery(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # A 40 s SLA: the deliveries below are on time; the return window is 20 minutes.
    settings.time_scale = settings.time_scale / 10
    window = timedelta(seconds=settings.waits.seconds(30 * 86400))
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}]))
    parked.append(order_id)
    late_id = place(client, order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}]))
    parked.append(late_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    late_shipped = wait_for_status(deps, late_id, "SHIPPED")

    before = _ask_return(client, order_id, sku)
    assert before.status_code == 409, before.body
    assert before.json_body["errors"][0]["field"] == "status"

    # Delivered now: the window runs 30 days (scaled) from this moment, and the execution
    # holds the order open for what is left of it.
    post_carrier_event(client, tracking_number(shipped))
    delivered = wait_for_status(deps, order_id, "DELIVERED")
    delivered_at = delivered.delivered_at()
    assert delivered_at is not None
    assert delivered.returns_window_ends == delivered_at + window
    assert shipped.execution_arn is not None
    eventually(lambda: return_wait_parked(deps, order_id), timeout=30)
    described = deps.workflow.describe(shipped.execution_arn)
    assert described["status"] == "RUNNING"
    assert states_entered(described)[-2:] == ["AwaitCompletion", "AwaitReturns"]
    within = _ask_return(client, order_id, sku)
    assert within.status_code == 201, within.body

    # The carrier confirms the other parcel late: it left 37 days (scaled) ago and
    # arrived 36 days ago. Its window has closed, so a return is refused and the execution
    # ends at once. (A delivery is never recorded before its parcel left: the hand-over is
    # moved back first.)
    arrived = datetime.now(UTC) - timedelta(seconds=settings.waits.seconds(36 * 86400))
    _handed_over_at(deps, late_id, arrived - timedelta(seconds=settings.waits.seconds(86400)))
    _delivered_at(client, tracking_number(late_shipped), arrived)
    late = wait_for_status(deps, late_id, "DELIVERED")
    assert late.returns_window_ends is not None
    assert late.returns_window_ends < datetime.now(UTC)
    refused = _ask_return(client, late_id, sku)
    assert refused.status_code == 409, refused.body
    assert refused.json_body["errors"][0]["field"] == "status"
    assert deps.store.get_order(late_id).returns == []
    closed = wait_for_execution(deps, late, timeout=30)
    assert closed["status"] == "SUCCEEDED"
    assert states_entered(closed)[-3:] == ["AwaitCompletion", "AwaitReturns", "OrderClosed"]


def test_a_lost_parcel_is_refunded_once_when_the_gateway_fails_and_the_step_is_retried(
    client: Any, deps: Any, stack: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 40 s SLA; the execution is stopped once shipped, and the steps are called here.
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 5}, price="12.50")
    body = order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}])
    order_id = place(client, body)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    stop_if_running(deps, order_id)
    fid = shipped.fulfillments[0].fulfillment_id

    real_refund = deps.payments.refund
    attempts: list[str] = []

    def refund_failing_once(payment_id: str, amount: Any, key: str) -> str:
        attempts.append(key)
        if len(attempts) == 1:
            raise PaymentGatewayUnavailable("the gateway did not answer")
        return str(real_refund(payment_id, amount, key))

    # The scheduler's sweep of owed money would otherwise retry the failed refund itself
    # whenever a loaded machine lets it run between the two calls below.
    with stack.scheduler.paused():
        monkeypatch.setattr(deps.payments, "refund", refund_failing_once)
        with pytest.raises(PaymentGatewayUnavailable):
            lost_parcels.declare_lost(order_id, fid, deps)
        half = deps.store.get_order(order_id)
        assert half.fulfillments[0].status.value == "LOST"
        # Two refunds are owed, the goods' and the fee's (nothing was delivered): the first
        # attempted failed and stays owed; not everything is back yet.
        owed_refunds = [op.key for op in half.payment.owed() if op.type.value == "refund"]
        assert len(owed_refunds) == 1
        assert half.payment.refunded is None or half.payment.refunded.amount < Decimal("29.95")
        assert "parcel_lost" not in [a["kind"] for a in _alerts_of(deps, order_id)]

        # The workflow retries the step: the refund is made and recorded once, then announced.
        assert lost_parcels.follow_up_late_shipment(order_id, fid, deps) is None
        assert lost_parcels.follow_up_late_shipment(order_id, fid, deps) is None
        lost_parcels.settle_lost_parcel(order_id, fid, deps)
    settled = deps.store.get_order(order_id)
    # The goods (25.00) and the 4.95 fee their only shipment paid: nothing was delivered.
    assert settled.payment.refunded is not None
    assert settled.payment.refunded.amount == Decimal("29.95")
    assert settled.fulfillments[0].refunded == settled.payment.refunded
    assert sorted(_gateway_refunds(deps, settled)) == sorted(
        [(f"{order_id}:{fid}:refund", "25.00"), (f"{order_id}:shipping:refund", "4.95")]
    )
    assert [a["kind"] for a in _alerts_of(deps, order_id)].count("parcel_lost") == 1
    stack.lambdas.drain()
    lost_mail = [m for m in emails_to(body["customer"]["email"]) if "perdido" in str(m["Subject"])]
    assert len(lost_mail) == 1
    assert "29,95\xa0€" in parts_of(lost_mail[0])["text/plain"]  # Babel, in Spanish


def _nothing_refunded(order: Any) -> bool:
    return order.payment.refunded is None or order.payment.refunded.amount == 0


def _gateway_refunds(deps: Any, order: Any) -> list[tuple[str, str]]:
    """The refunds the sandbox gateway's own ledger holds for the order's payment."""
    statement = deps.payments.statement(order.payment.payment_id)
    return [
        (op["key"], op["amount"]["amount"])
        for op in statement["operations"]
        if op["type"] == "refund"
    ]
