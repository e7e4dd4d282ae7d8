"""Ops restart an order whose execution ended without success: a new execution, named
``<order id>-r<n>``, carries on from the status the order had reached, and every step it
replays skips the work already recorded (no second charge, reservation or booking)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3

from chalicelib.services import lost_parcels
from infra.local.adaptations import execution_endings_held
from infra.local.stack import REGION
from tests.support import (
    JSON,
    OPS,
    STOREFRONT,
    assert_problem,
    eventually,
    order_body,
    pickup_order_body,
)
from tests.support.flow import (
    amounts,
    emails_to,
    fresh_sku,
    ledger_of,
    place,
    post_carrier_event,
    states_entered,
    stock_of,
    stop_if_running,
    tracking_number,
    wait_until_settled,
)
from tests.support.orders import wait_for_status

RETRYABLE = {"FAILED", "TIMED_OUT", "ABORTED"}


def _stop(deps: Any, execution_arn: str) -> str:
    """Stop the execution for real and return the status it ended with."""
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=execution_arn)
    status: str = eventually(
        lambda: (s := deps.workflow.status(execution_arn)) in RETRYABLE and s, timeout=15
    )
    return status


def _retry(client: Any, order_id: str, headers: dict[str, str] = OPS, **extra: str) -> Any:
    return client.http.post(
        f"/ops/orders/{order_id}/retry",
        headers=headers | JSON | extra,
        body=json.dumps({"reason": "execution stopped in a test"}),
    )


def _parked_on_delivery(
    deps: Any, order_id: str, execution_arn: str, only: str | None = None
) -> bool:
    """The execution waits for the carrier, its token on each fulfillment (or ``only``)."""
    described = deps.workflow.describe(execution_arn)
    order = deps.store.get_order(order_id)
    waiting = [f for f in order.fulfillments if only in (None, f.fulfillment_id)]
    parked = bool(waiting) and all(f.task_token for f in waiting)
    return "AwaitCompletion" in states_entered(described) and parked


def test_a_stopped_shipped_order_is_retried_and_carries_on_to_delivery(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    first_arn = shipped.execution_arn
    assert first_arn is not None
    eventually(lambda: _parked_on_delivery(deps, order_id, first_arn), timeout=15)
    # Waits computed from now on (the grace period after a breach) are ten times longer,
    # so that the delivery below lands while the new execution still waits for it.
    settings.time_scale = settings.time_scale / 10

    # A running execution is not retried, and only ops may retry.
    assert _retry(client, order_id).status_code == 409
    assert _retry(client, order_id, STOREFRONT).status_code == 403
    assert _retry(client, "ord_does_not_exist").status_code == 404

    ended_as = _stop(deps, first_arn)
    assert _retry(client, order_id, STOREFRONT).status_code == 403

    response = _retry(client, order_id, **{"Idempotency-Key": "retry-once"})
    assert response.status_code == 202, response.body
    retried = response.json_body
    assert retried["attempt"] == 1
    assert retried["execution_arn"].endswith(f":{order_id}-r1")
    assert retried["execution_status"] == "RUNNING"
    assert retried["resumed_from"] == "SHIPPED"
    assert retried["previous_execution_arn"] == first_arn
    assert retried["previous_status"] == ended_as
    assert retried["replayed"] is False
    new_arn = retried["execution_arn"]

    # Idempotent: the same key finds the same retry; another retry while it runs is refused.
    again = _retry(client, order_id, **{"Idempotency-Key": "retry-once"})
    assert again.status_code == 202, again.body
    assert again.json_body["execution_arn"] == new_arn
    assert again.json_body["replayed"] is True
    assert _retry(client, order_id).status_code == 409
    assert _retry(client, order_id, **{"Idempotency-Key": "another"}).status_code == 409
    # The same key with another reason is 422 naming the header (a probe: 202, replayed).
    other_reason = client.http.post(
        f"/ops/orders/{order_id}/retry",
        headers=OPS | JSON | {"Idempotency-Key": "retry-once"},
        body=json.dumps({"reason": "another reason"}),
    )
    assert_problem(other_reason, 422, "Idempotency-Key")

    # Recorded on the order; ops see the new execution.
    order = deps.store.get_order(order_id)
    assert order.execution_arn == new_arn
    assert [(r.attempt, r.execution_arn, r.previous_status) for r in order.retries] == [
        (1, new_arn, ended_as)
    ]
    assert order.retries[0].by.startswith("ops:")
    assert order.retries[0].reason == "execution stopped in a test"
    execution = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)
    assert execution.status_code == 200, execution.body
    assert execution.json_body["execution_arn"] == new_arn
    timeline = client.http.get(f"/ops/orders/{order_id}/timeline", headers=OPS)
    assert timeline.status_code == 200, timeline.body
    assert [e["title"] for e in timeline.json_body["entries"] if e["kind"] == "retry"] == [
        "Retry 1"
    ]

    # The new execution replays payment, reservation and dispatch as no-ops and parks on
    # the same shipment; the carrier's delivery completes the order through it.
    eventually(lambda: _parked_on_delivery(deps, order_id, new_arn), timeout=20)
    assert tracking_number(deps.store.get_order(order_id)) == tracking_number(shipped)
    ack = post_carrier_event(client, tracking_number(shipped))
    assert ack["status"] == "applied"
    assert ack["order_status"] == "DELIVERED"
    wait_for_status(deps, order_id, "DELIVERED")
    described = eventually(
        lambda: "AwaitReturns" in states_entered(d := deps.workflow.describe(new_arn)) and d,
        timeout=15,
    )
    assert described["status"] == "RUNNING"
    assert deps.workflow.status(first_arn) == ended_as

    final = deps.store.get_order(order_id)
    statuses = [h.status.value for h in final.history]
    assert statuses == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED", "DELIVERED"]
    assert final.payment.payment_id == shipped.payment.payment_id
    assert stock_of(deps, sku)["WH-GETAFE"] == (4, 0)

    # Listed under the order it runs, not under its execution's name.
    rows = deps.workflow.list_executions("RUNNING", 1000)
    assert {r["order_id"] for r in rows if r["execution_arn"] == new_arn} == {order_id}


def test_an_order_whose_ending_went_untold_resumes_from_reserved(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    """An execution stopped before dispatch whose ending never reached the app (an
    EventBridge delivery lost): the order still holds its stock, and ops retry it from
    where it was. A told ending compensates instead (the pick-up test below)."""
    sku = fresh_sku(deps, {"WH-GETAFE": 3})
    # A long picking-and-packing wait: the execution is stopped while the order is RESERVED.
    settings.handling_seconds = int(settings.time_scale * 600)
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}]))
    parked.append(order_id)
    reserved = wait_for_status(deps, order_id, "RESERVED")
    first_arn = reserved.execution_arn
    assert first_arn is not None
    eventually(
        lambda: "AwaitHandover" in states_entered(deps.workflow.describe(first_arn)), timeout=15
    )
    with execution_endings_held():
        _stop(deps, first_arn)
    assert stock_of(deps, sku)["WH-GETAFE"] == (3, 2)

    settings.handling_seconds = 0
    settings.time_scale = settings.time_scale / 10
    response = _retry(client, order_id)
    assert response.status_code == 202, response.body
    assert response.json_body["resumed_from"] == "RESERVED"
    new_arn = response.json_body["execution_arn"]
    assert new_arn.endswith(f":{order_id}-r1")

    # Dispatch happens once, in the new execution; delivery completes the order.
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    eventually(lambda: _parked_on_delivery(deps, order_id, new_arn), timeout=20)
    assert post_carrier_event(client, tracking_number(shipped))["status"] == "applied"
    final = wait_for_status(deps, order_id, "DELIVERED")
    assert [h.status.value for h in final.history] == [
        "ACCEPTED",
        "PAID",
        "RESERVED",
        "SHIPPED",
        "DELIVERED",
    ]
    assert stock_of(deps, sku)["WH-GETAFE"] == (1, 0)
    assert "AwaitCompletion" not in states_entered(deps.workflow.describe(first_arn))


def test_a_stopped_pickup_is_cancelled_its_stock_released_and_its_money_voided(
    client: Any, deps: Any, stack: Any, parked: list[str]
) -> None:
    """Found by a probe: a pick-up whose execution ops stopped kept its stock and its
    authorisation past its deadline, and nobody was told. API.md allows no execution to
    end so with stock still reserved for it. Step Functions tells EventBridge how the
    execution ended; the order is compensated as a failed step's is, the customer and ops
    are told once, and the order shows it (the real state machine, the stop through Step
    Functions)."""
    sku = fresh_sku(deps, {"ST-VALENCIA": 2})
    body = pickup_order_body(sku)
    order_id = place(client, body)
    parked.append(order_id)
    ready = wait_for_status(deps, order_id, "READY_FOR_PICKUP")
    assert ready.execution_arn is not None
    assert stock_of(deps, sku)["ST-VALENCIA"] == (2, 1)

    assert _stop(deps, ready.execution_arn) == "ABORTED"

    cancelled = wait_for_status(deps, order_id, "CANCELLED", settled=True)
    assert cancelled.status_reason.value == "processing_error"
    assert stock_of(deps, sku)["ST-VALENCIA"] == (2, 0)
    ledger = amounts(ledger_of(deps, cancelled))
    assert ledger["voided"] == ledger["authorized"] == f"{cancelled.total.amount:.2f}"
    assert ledger["captured"] == "0.00"

    def told() -> list[dict[str, Any]]:
        alerts = client.http.get(f"/ops/alerts?order_id={order_id}", headers=OPS).json_body
        return [a for a in alerts["alerts"] if a["kind"] == "workflow_stopped"]

    (alert,) = eventually(told)
    assert alert["status"] == "open" and "aborted" in alert["detail"]
    shown = client.http.get(f"/orders/{order_id}", headers=OPS).json_body
    assert shown["attention"]["kind"] == "workflow_stopped"
    assert shown["status"] == "CANCELLED"

    # The email follows the compensation's events through the subscriber: waited for.
    def cancellations() -> list[str]:
        subjects = [str(m["Subject"]) for m in emails_to(body["customer"]["email"])]
        return [s for s in subjects if "cancel" in s.lower()]

    assert len(eventually(cancellations)) == 1
    stack.lambdas.drain()
    assert len(cancellations()) == 1  # and no second one once every delivery is done

    # Nothing is left to carry on.
    assert _retry(client, order_id).status_code == 409
    assert len(told()) == 1


def test_a_mixed_order_stopped_gives_back_its_pickup_and_its_parcel_carries_on(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any
) -> None:
    """The parcel left; the pick-up waits at the store. A stop cancels the pick-up alone
    (its unit back on the shelf, its share voided, the customer told), and ops retry the
    order to carry the parcel on to its delivery."""
    sku = fresh_sku(deps, {"WH-GETAFE": 1, "ST-MADRID": 1})
    body = order_body(
        lines=[
            {"sku": sku, "quantity": 1, "fulfillment": "ship"},
            {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"},
        ]
    )
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED", settled=True)
    assert shipped.execution_arn is not None
    eventually(lambda: _parked_on_delivery(deps, order_id, shipped.execution_arn), timeout=15)
    settings.time_scale = settings.time_scale / 10  # the retry's waits outlast the test

    assert _stop(deps, shipped.execution_arn) == "ABORTED"

    def pickup_cancelled() -> Any:
        order = deps.store.get_order(order_id)
        kinds = {f.type.value: f.status.value for f in order.fulfillments}
        return order if kinds == {"ship": "SHIPPED", "pickup": "CANCELLED"} else None

    eventually(pickup_cancelled)
    stopped = wait_until_settled(deps, order_id)
    assert stopped.status.value == "SHIPPED"
    assert stock_of(deps, sku) == {"WH-GETAFE": (0, 0), "ST-MADRID": (1, 0)}
    ledger = amounts(ledger_of(deps, stopped))
    parcel = next(f for f in stopped.fulfillments if f.type.value == "ship")
    pickup = next(f for f in stopped.fulfillments if f.type.value == "pickup")
    assert ledger["voided"] == f"{stopped.fulfillment_value(pickup).amount:.2f}"
    assert Decimal(ledger["captured"]) + Decimal(ledger["voided"]) == stopped.total.amount
    part_cancelled = f"Parte de tu pedido {order_id} se ha cancelado"

    def told() -> list[str]:
        subjects = [str(m["Subject"]) for m in emails_to(body["customer"]["email"])]
        return [s for s in subjects if s == part_cancelled]

    assert eventually(told) == [part_cancelled]  # after the compensation's events
    stack.lambdas.drain()
    assert told() == [part_cancelled]  # once

    retried = _retry(client, order_id)
    assert retried.status_code == 202, retried.body
    new_arn = retried.json_body["execution_arn"]
    alerts = client.http.get(f"/ops/alerts?order_id={order_id}", headers=OPS).json_body
    stopped_alerts = [a for a in alerts["alerts"] if a["kind"] == "workflow_stopped"]
    assert [a["status"] for a in stopped_alerts] == ["resolved"]  # the retry answered it
    eventually(lambda: _parked_on_delivery(deps, order_id, new_arn, parcel.fulfillment_id))
    assert post_carrier_event(client, tracking_number(stopped))["status"] == "applied"
    final = wait_for_status(deps, order_id, "DELIVERED", settled=True)
    assert amounts(ledger_of(deps, final)) == ledger | {"refunded": "0.00"}
    assert stock_of(deps, sku) == {"WH-GETAFE": (0, 0), "ST-MADRID": (1, 0)}


def test_a_stop_the_local_stack_holds_back_is_not_told(
    client: Any, deps: Any, stack: Any, parked: list[str]
) -> None:
    """Tests tidy their executions up with ``stop_if_running``, and the stack stops every
    execution when it stops: those stops are not ops', and the app is not told of them."""
    order_id = place(client, order_body())
    shipped = wait_for_status(deps, order_id, "SHIPPED")
    assert shipped.execution_arn is not None

    stop_if_running(deps, order_id)
    eventually(lambda: deps.workflow.status(shipped.execution_arn) == "ABORTED", timeout=15)
    stack.lambdas.drain()

    alerts = client.http.get(f"/ops/alerts?order_id={order_id}", headers=OPS).json_body
    assert [a for a in alerts["alerts"] if a["kind"] == "workflow_stopped"] == []
    assert deps.store.get_order(order_id).attention is None


def test_a_parcel_travelling_when_its_execution_was_stopped_is_still_declared_lost(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # A probe: ops stopped the execution while the parcel travelled, and nobody retried.
    # The scheduled check recorded the breach, but nothing declared the parcel lost, and
    # its money stayed captured. API.md: 30 days after the promise (scaled) it is LOST,
    # refunded, the customer told. The scheduled check (``check_sla``) now declares it.
    settings.time_scale = settings.time_scale * 8  # the lost deadline some seconds away
    sku = fresh_sku(deps, {"WH-GETAFE": 3}, price="30.00")
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    order_id = place(client, body)
    parked.append(order_id)
    shipped = wait_for_status(deps, order_id, "SHIPPED", settled=True)
    assert shipped.execution_arn is not None
    eventually(lambda: _parked_on_delivery(deps, order_id, shipped.execution_arn), timeout=15)
    assert _stop(deps, shipped.execution_arn) == "ABORTED"
    captured = wait_until_settled(deps, order_id).payment.captured
    assert captured is not None and captured.amount > 0

    def lost_by_the_check() -> Any:
        lost_parcels.check_watched_shipments(deps)
        order = deps.store.get_order(order_id)
        return order if order.fulfillments[0].status.value == "LOST" else None

    lost = eventually(lost_by_the_check, timeout=90)

    settled = wait_until_settled(deps, order_id)
    assert settled.payment.refunded == captured  # nothing reached the customer
    ledger = amounts(ledger_of(deps, settled))
    assert ledger["refunded"] == ledger["captured"] == f"{captured.amount:.2f}"
    assert deps.workflow.status(shipped.execution_arn) == "ABORTED"  # no execution did it

    def kinds() -> set[str]:
        listed = client.http.get(f"/ops/alerts?order_id={order_id}", headers=OPS).json_body
        return {alert["kind"] for alert in listed["alerts"]}

    # Nothing is left to retry (probe 26B: "retry it" stayed, and a retry waited out a
    # picking time for nothing): the stop's alert is resolved, or, when the stack's watcher
    # of ended executions runs after the check declared the loss, never raised.
    assert eventually(lambda: "parcel_lost" in kinds(), timeout=30)
    assert eventually(lambda: deps.store.get_order(order_id).attention is None)
    open_alerts = client.http.get(
        f"/ops/alerts?order_id={order_id}&status=open", headers=OPS
    ).json_body["alerts"]
    assert "workflow_stopped" not in {alert["kind"] for alert in open_alerts}
    assert_problem(_retry(client, order_id), 409, "order_id")
    lost_subject = f"Tu paquete del pedido {lost.order_id} se ha perdido: te devolvemos el dinero"

    def subjects() -> list[str]:
        return [str(m["Subject"]) for m in emails_to(body["customer"]["email"])]

    assert eventually(lambda: lost_subject in subjects())
