"""The order lifecycle on the real order.asl.json executed by moto, driven through the API
and the carrier webhook: what the customer, the store and ops see at each outcome."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tests.support import JSON, OPS, STORE, STOREFRONT, order_body
from tests.support.api import get_order
from tests.support.flow import (
    amounts,
    fresh_sku,
    ledger_of,
    ops_alerts,
    place,
    place_then_sell_out,
    post_carrier_event,
    raw_history,
    reserved_while_picking,
    states_entered,
    stock_of,
    tracking_number,
    wait_for_execution,
    wait_until_settled,
)
from tests.support.orders import wait_for_status


def _statuses(order: Any) -> list[str]:
    return [entry.status.value for entry in order.history]


def test_web_order_is_delivered_then_returned_in_store_and_refunded(
    client: Any, deps: Any, settings: Any
) -> None:
    # A 40 s carrier SLA: the delivery below is on time even on a busy machine.
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 10, "ST-MADRID": 3}, price="25.00")
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}]))

    wait_for_status(deps, order_id, "SHIPPED")
    shipped = wait_until_settled(deps, order_id)
    assert _statuses(shipped) == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]
    # Captured at hand-over (the shipment booked), not at PAID.
    assert shipped.payment.status.value == "CAPTURED"
    assert shipped.payment.captured is not None
    assert shipped.payment.captured.amount == Decimal("50.00")
    # Shipped from the warehouse: the units left its shelf, nothing stays reserved.
    assert stock_of(deps, sku) == {"WH-GETAFE": (8, 0), "ST-MADRID": (3, 0)}

    ack = post_carrier_event(client, tracking_number(shipped))
    assert ack["status"] == "applied"
    assert ack["order_status"] == "DELIVERED"
    delivered = wait_for_status(deps, order_id, "DELIVERED")
    assert delivered.fulfillments[0].status.value == "DELIVERED"

    requested = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STOREFRONT | JSON,
        body=json.dumps(
            {
                "lines": [{"sku": sku, "quantity": 2}],
                "reason": "too small",
                "channel": "store",
                "location_id": "ST-MADRID",
            }
        ),
    )
    assert requested.status_code == 201, requested.body
    assert requested.json_body["status"] == "REQUESTED"
    return_id = requested.json_body["return_id"]

    received = client.http.post(
        f"/returns/{return_id}/receive",
        headers=STORE | JSON,
        body=json.dumps({"location_id": "ST-MADRID"}),
    )
    assert received.status_code == 200, received.body
    assert received.json_body["status"] == "RECEIVED"
    assert received.json_body["order_status"] == "RETURNED"
    assert received.json_body["refund"] == {"amount": "50.00", "currency": "EUR"}

    # Restocked where the goods came back, not where they left from.
    assert stock_of(deps, sku) == {"WH-GETAFE": (8, 0), "ST-MADRID": (5, 0)}
    returned = deps.store.get_order(order_id)
    assert returned.status.value == "RETURNED"
    assert _statuses(returned) == [
        "ACCEPTED",
        "PAID",
        "RESERVED",
        "SHIPPED",
        "DELIVERED",
        "RETURNED",
    ]
    assert returned.payment.status.value == "REFUNDED"
    assert returned.payment.refunded == returned.total
    ledger = ledger_of(deps, returned)
    assert amounts(ledger) == {
        "authorized": "50.00",
        "captured": "50.00",
        "refunded": "50.00",
        "voided": "0.00",
    }
    assert [(op["type"], op["key"]) for op in ledger["operations"][1:]] == [
        ("capture", f"{order_id}:{order_id}-F1:capture"),
        ("refund", f"{order_id}:{return_id}:refund"),
    ]

    described = wait_for_execution(deps, returned)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described) == [
        "AuthorizePayment",
        "ReserveStock",
        "FulfilEach",
        "AwaitHandover",
        "AwaitCompletion",
        "AwaitReturns",
        "OrderClosed",
    ]


def test_declined_card_rejects_the_order_with_nothing_reserved_or_charged(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}],
        payment={"method": "card", "token": "tok_declined"},
    )
    order_id = place(client, body)

    order = wait_for_status(deps, order_id, "REJECTED")
    assert order.status_reason is not None
    assert order.status_reason.value == "payment_declined"
    assert _statuses(order) == ["ACCEPTED", "REJECTED"]
    assert order.payment.status.value == "DECLINED"
    assert order.fulfillments == []
    assert stock_of(deps, sku) == {"WH-GETAFE": (5, 0)}
    # The gateway's payment id of the decline is kept; nothing was ever held.
    assert amounts(ledger_of(deps, order)) == {
        "authorized": "0.00",
        "captured": "0.00",
        "refunded": "0.00",
        "voided": "0.00",
    }

    described = wait_for_execution(deps, order)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described) == ["AuthorizePayment", "RejectOrder", "OrderRejected"]


def test_out_of_stock_rejects_and_voids_the_authorisation_in_full(client: Any, deps: Any) -> None:
    # Three units can ship (two in the warehouse, one in a store that ships); three are
    # ordered and accepted, then the tills sell them before the execution reserves them.
    sku = fresh_sku(deps, {"WH-GETAFE": 2, "ST-MADRID": 1}, price="12.50")
    body = order_body(lines=[{"sku": sku, "quantity": 3, "fulfillment": "ship"}])
    order_id = place_then_sell_out(deps, body, sku)

    rejected = wait_for_status(deps, order_id, "REJECTED")
    # The refund is recorded by the same step, just after the status: read the end state.
    described = wait_for_execution(deps, rejected)
    order = deps.store.get_order(order_id)
    assert order.status_reason is not None
    assert order.status_reason.value == "out_of_stock"
    assert _statuses(order) == ["ACCEPTED", "PAID", "REJECTED"]

    # Voided, not refunded: nothing was ever taken from the customer. The total is the
    # goods (37.50, below the 50.00 threshold) and the 4.95 mainland fee.
    assert amounts(ledger_of(deps, order)) == {
        "authorized": "42.45",
        "captured": "0.00",
        "refunded": "0.00",
        "voided": "42.45",
    }
    assert order.payment.status.value == "VOIDED"
    assert order.payment.voided == order.total
    assert order.payment.owed() == []

    # Nothing held for it: the tills sold every unit, and the rejection reserved none.
    assert stock_of(deps, sku) == {"WH-GETAFE": (0, 0), "ST-MADRID": (0, 0)}
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described) == [
        "AuthorizePayment",
        "ReserveStock",
        "RejectOrder",
        "OrderRejected",
    ]


def test_cancel_before_shipping_releases_stock_voids_and_ends_the_execution(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, sku = reserved_while_picking(client, deps, settings, picking_seconds=120)
    assert stock_of(deps, sku) == {"WH-GETAFE": (6, 2)}

    response = client.http.post(
        f"/orders/{order_id}/cancel",
        headers=STOREFRONT | JSON,
        body=json.dumps({"reason": "changed my mind"}),
    )
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "CANCELLED"
    assert response.json_body["status_reason"] == "customer_request"
    assert stock_of(deps, sku) == {"WH-GETAFE": (6, 0)}
    assert response.json_body["payment"]["status"] == "VOIDED"
    assert response.json_body["payment"]["refunded"] == {"amount": "0.00", "currency": "EUR"}
    assert response.json_body["payment"]["captured"] == {"amount": "0.00", "currency": "EUR"}

    # No wait is parked during picking for the cancel to end, and two minutes of it are
    # left: the cancel stops the execution, which ends in its handover Wait, not when the
    # picking time runs out (a probe: it stayed RUNNING to the end of the wait), and
    # nobody is alerted: nothing is held. (With seconds left it runs out and the execution
    # ends SUCCEEDED: tests/acceptance/test_rejections_and_cancel.py.)
    cancelled = deps.store.get_order(order_id)
    described = wait_for_execution(deps, cancelled, timeout=60)
    assert described["status"] == "ABORTED"
    assert states_entered(described)[-1] == "AwaitHandover"
    assert not [a for a in ops_alerts(deps) if a.get("order_id") == order_id]
    # The console's list says the stopped execution's order was cancelled, not left half-way.
    listed = client.http.get("/ops/executions?status=ABORTED&limit=1000", headers=OPS)
    (row,) = [r for r in listed.json_body["executions"] if r["order_id"] == order_id]
    assert row["order_status"] == "CANCELLED"
    assert all(f.task_token is None for f in deps.store.get_order(order_id).fulfillments)
    final = deps.store.get_order(order_id)
    assert final.status.value == "CANCELLED"
    assert _statuses(final) == ["ACCEPTED", "PAID", "RESERVED", "CANCELLED"]
    assert all(f.shipment is None for f in final.fulfillments)
    assert stock_of(deps, sku) == {"WH-GETAFE": (6, 0)}
    # The goods (30.00) and the 4.95 fee their shipment would have carried: all voided.
    assert amounts(ledger_of(deps, final)) == {
        "authorized": "34.95",
        "captured": "0.00",
        "refunded": "0.00",
        "voided": "34.95",
    }


def test_cancel_after_shipping_is_refused(client: Any, deps: Any, parked: list[str]) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 4})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    wait_for_status(deps, order_id, "SHIPPED")
    shipped = wait_until_settled(deps, order_id)

    response = client.http.post(f"/orders/{order_id}/cancel", headers=STOREFRONT | JSON)
    assert response.status_code == 409, response.body

    after = deps.store.get_order(order_id)
    assert after.status.value == "SHIPPED"
    assert after.history == shipped.history
    assert after.payment.status.value == "CAPTURED"
    assert amounts(ledger_of(deps, after))["refunded"] == "0.00"
    assert stock_of(deps, sku) == {"WH-GETAFE": (3, 0)}


def test_payment_gateway_down_is_retried_then_rejected_with_nothing_charged(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}],
        payment={"method": "card", "token": "tok_unavailable"},
    )
    order_id = place(client, body)

    order = wait_for_status(deps, order_id, "REJECTED", timeout=60)
    assert order.status_reason is not None
    # API.md's fixed reasons: the payment could not be authorised; the cause is kept.
    assert order.status_reason.value == "payment_declined"
    assert _statuses(order) == ["ACCEPTED", "REJECTED"]
    assert order.payment.status.value == "FAILED"
    view = get_order(client, order_id, OPS)
    assert view["status_reason"] == "payment_declined"
    assert view["payment"]["failure"] == "gateway_unavailable"
    assert order.payment.payment_id is None  # the gateway never answered: nothing held
    assert stock_of(deps, sku) == {"WH-GETAFE": (5, 0)}

    described = wait_for_execution(deps, order)
    assert described["status"] == "SUCCEEDED"
    assert states_entered(described) == ["AuthorizePayment", "RejectOrder", "OrderRejected"]
    events = raw_history(described["execution_arn"])
    attempts = [
        e
        for e in events
        if e["type"] == "LambdaFunctionScheduled"
        and e["lambdaFunctionScheduledEventDetails"]["resource"].endswith("authorize_payment")
    ]
    failures = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in events
        if e["type"] == "LambdaFunctionFailed"
    ]
    # The first call and the three retries the ASL allows, each seen failing by name.
    assert len(attempts) == 4
    assert failures == ["PaymentGatewayUnavailable"] * 4
