"""Helpers for the workflow tests: place orders through the app, drive them with carrier
webhooks and store actions, and read what a customer, a store and ops would see."""

from __future__ import annotations

import email
import json
import time
import uuid
from datetime import datetime
from email.message import Message
from email.policy import default as default_policy
from typing import Any

import boto3

from chalicelib.domain.orders import Order
from infra.local.adaptations import execution_endings_held
from infra.local.stack import ACCOUNT_ID, REGION
from tests.support import (
    JSON,
    STORE,
    STOREFRONT,
    eventually,
    idempotency_key,
    order_body,
    signed_event,
)
from tests.support.catalogue import fresh_sku as fresh_sku  # re-exported for the stack tests
from tests.support.orders import wait_for_status

TERMINAL_EXECUTION = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def table_of_its_own(deps: Any) -> str:
    """An empty table with the app table's keys and indexes, on the stack's DynamoDB, for a
    test that asserts on table-wide figures (aggregates, counters) which other tests' work
    in the shared table also moves. Returns its name."""
    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)
    shared = dynamodb.describe_table(TableName=deps.settings.table_name)["Table"]
    name = f"{deps.settings.table_name}-own-{uuid.uuid4().hex[:10]}"
    indexes = [
        {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
        for index in shared.get("GlobalSecondaryIndexes", [])
    ]
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=shared["AttributeDefinitions"],
        KeySchema=shared["KeySchema"],
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    return name


def stock_of(deps: Any, sku: str) -> dict[str, tuple[int, int]]:
    """``{location id: (on_hand, reserved)}`` for one SKU."""
    return {
        level.location_id: (level.on_hand, level.reserved) for level in deps.store.stock_levels(sku)
    }


def place(client: Any, body: dict[str, Any], headers: dict[str, str] = STOREFRONT) -> str:
    """POST /orders; returns the order id of the 202."""
    response = client.http.post(
        "/orders", headers=headers | JSON | idempotency_key(), body=json.dumps(body)
    )
    assert response.status_code == 202, response.body
    assert response.json_body["status"] == "ACCEPTED"
    return str(response.json_body["order_id"])


def reserved_while_picking(
    client: Any, deps: Any, settings: Any, picking_seconds: int = 15
) -> tuple[str, str]:
    """Two units of a fresh SKU (15.00, six in the warehouse) ordered and reserved, with
    ``picking_seconds`` real-world seconds of picking ahead (handling time is divided by
    the time scale): the order can still be cancelled. (order id, sku)"""
    settings.handling_seconds = int(picking_seconds * settings.time_scale)
    sku = fresh_sku(deps, {"WH-GETAFE": 6}, price="15.00")
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 2, "fulfillment": "ship"}]))
    wait_for_status(deps, order_id, "RESERVED")
    return order_id, sku


def wait_for_execution(deps: Any, order: Order, timeout: float = 30.0) -> dict[str, Any]:
    """The execution's description once it has ended."""
    assert order.execution_arn

    def probe() -> dict[str, Any] | None:
        described: dict[str, Any] = deps.workflow.describe(order.execution_arn)
        return described if described["status"] in TERMINAL_EXECUTION else None

    return eventually(probe, timeout=timeout, every=0.1)


def states_entered(described: dict[str, Any]) -> list[str]:
    """Names of the states the execution entered, in order."""
    return [row["state"] for row in described["history"]]


def raw_history(execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history (GetExecutionHistory)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def stop_if_running(deps: Any, order_id: str) -> None:
    """End an order's execution that is still waiting (keeps few executions parked)."""
    arn = deps.workflow.execution_arn(order_id)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    try:
        # A test tidying up, not ops stopping an order: the app is not told.
        with execution_endings_held():
            if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                sfn.stop_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        pass


def return_wait_parked(deps: Any, order_id: str) -> bool:
    """Whether the execution has parked the order's return window wait (read, not taken)."""
    from chalicelib.adapters.dynamodb import keys

    return deps.store.table.get(keys.return_wait(order_id)) is not None


def tracking_number(order: Order) -> str:
    """The tracking number of the order's only shipment."""
    shipments = [f.shipment for f in order.fulfillments if f.shipment is not None]
    assert len(shipments) == 1, shipments
    return shipments[0].tracking_number


def post_carrier_event(
    client: Any, tracking: str, kind: str = "delivered", event_id: str | None = None
) -> dict[str, Any]:
    """A signed rapido webhook; returns the acknowledgement."""
    body, headers = signed_event(tracking, kind, event_id=event_id)
    response = client.http.post("/carriers/rapido/events", headers=headers, body=body)
    assert response.status_code == 200, response.body
    ack: dict[str, Any] = response.json_body
    return ack


def wait_past(promise: datetime) -> None:
    """Wait until the wall clock is a second past ``promise`` (a scaled wait puts it a few
    seconds ahead): a carrier event sent after it, dated in whole seconds, is after it."""
    eventually(lambda: time.time() > promise.timestamp() + 1, timeout=60)


def return_at_store(
    client: Any, order_id: str, lines: list[dict[str, Any]], reason: str = "not for me"
) -> dict[str, Any]:
    """A return asked for and received at ST-MADRID, as the store's till does it; the
    receipt's body."""
    requested = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STORE | JSON,
        body=json.dumps(
            {"lines": lines, "reason": reason, "channel": "store", "location_id": "ST-MADRID"}
        ),
    )
    assert requested.status_code == 201, requested.body
    received = client.http.post(
        f"/returns/{requested.json_body['return_id']}/receive",
        headers=STORE | JSON,
        body=json.dumps({"location_id": "ST-MADRID"}),
    )
    assert received.status_code == 200, received.body
    body: dict[str, Any] = received.json_body
    return body


def emails_to(address: str) -> list[Message]:
    """Every email SES accepted for ``address``, parsed."""
    from moto.ses.models import ses_backends

    backend = ses_backends[ACCOUNT_ID][REGION]
    messages = []
    for sent in list(backend.sent_messages):
        raw = getattr(sent, "raw_data", None)
        if raw is None or address not in getattr(sent, "destinations", []):
            continue
        messages.append(email.message_from_string(raw, policy=default_policy))
    return messages


def parts_of(message: Message) -> dict[str, str]:
    """``{content type: decoded text}`` of a MIME message's leaf parts."""
    return {
        part.get_content_type(): part.get_content()  # type: ignore[attr-defined]
        for part in message.walk()
        if not part.is_multipart()
    }


def ops_alerts(deps: Any) -> list[dict[str, Any]]:
    """Every message published to the ops alerts topic, parsed."""
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT_ID][REGION].topics[deps.settings.ops_alerts_topic_arn]
    return [json.loads(message) for _, message, *_ in list(topic.sent_notifications)]


def warehouse_and_store(qty_warehouse: int, qty_store: int = 0) -> dict[str, int]:
    """Stock for a fresh SKU: the warehouse ships first; ST-MADRID takes returns."""
    stock = {"WH-GETAFE": qty_warehouse}
    if qty_store:
        stock["ST-MADRID"] = qty_store
    return stock


def ledger_of(deps: Any, order: Order) -> dict[str, Any]:
    """The sandbox gateway's own ledger of the order's payment (the truth the order's
    books are held against)."""
    assert order.payment.payment_id, "the order has no payment"
    ledger: dict[str, Any] = deps.payments.statement(order.payment.payment_id)
    return ledger


def amounts(ledger: dict[str, Any]) -> dict[str, str]:
    """``{"authorized": "30.00", "captured": ..., "refunded": ..., "voided": ...}``."""
    return {k: ledger[k]["amount"] for k in ("authorized", "captured", "refunded", "voided")}


def wait_until_settled(deps: Any, order_id: str, timeout: float = 30.0) -> Order:
    """The order once nothing is owed to or by the gateway (captures at hand-over, voids
    and refunds are settled just after the status change that calls for them)."""

    def probe() -> Order | None:
        order: Order = deps.store.get_order(order_id)
        return order if not order.payment.owed() else None

    return eventually(probe, timeout=timeout)


class _HeldStart:
    """A workflow whose ``start`` waits for the test to let the execution go."""

    def __init__(self, workflow: Any) -> None:
        self._workflow = workflow

    def start(self, order_id: str, payload: dict[str, Any]) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._workflow, name)


def place_held(deps: Any, body: dict[str, Any]) -> str:
    """An order accepted (as the demo storefront) whose execution is not started: it stays
    ACCEPTED until the test starts it (``deps.workflow.start``) or drives its steps by
    hand. Returns the order id."""
    import dataclasses
    import hashlib

    from chalicelib.domain.requests import PlaceOrderRequest
    from chalicelib.services import ordering

    order_id = f"ord_{uuid.uuid4().hex[:20]}"
    held = dataclasses.replace(deps, workflow=_HeldStart(deps.workflow))
    key = "demo-storefront"
    # The client the demo storefront's key acts as, as authentication names it.
    client_id = (
        deps.secrets.api_keys()[key].client_id or hashlib.sha256(key.encode()).hexdigest()[:16]
    )
    ordering.place_order(PlaceOrderRequest.model_validate(body), order_id, held, client_id)
    return order_id


def place_then_sell_out(
    deps: Any, body: dict[str, Any], sku: str, keep: dict[str, int] | None = None
) -> str:
    """A race lost after acceptance, made deterministic: the order is accepted (as the
    demo storefront) while its stock is there, the shop floor's tills then sell every
    unit of ``sku`` not yet promised (but ``keep``'s units at its locations), and only
    then does the order's execution start, to find too little left. Returns the order id."""
    from chalicelib.domain.requests import RecordMovementRequest
    from chalicelib.services import inventory, ordering

    order_id = place_held(deps, body)
    for level in deps.store.stock_levels(sku):
        sold = level.available - (keep or {}).get(level.location_id, 0)
        if sold > 0:
            sale = {"sku": sku, "location_id": level.location_id, "type": "sale"}
            inventory.record_movement(
                RecordMovementRequest.model_validate(sale | {"quantity": sold}), deps
            )
    deps.workflow.start(order_id, ordering.workflow_input(order_id, deps))
    return order_id


def receive_at_warehouse(client: Any, sku: str, quantity: int) -> None:
    """Stock received at the warehouse, as the back office records it: the web
    availability crosses from 0 (the back-in-stock emails go out within the request)."""
    moved = client.http.post(
        "/inventory/movements",
        headers=STORE | JSON | idempotency_key(),
        body=json.dumps(
            {
                "sku": sku,
                "location_id": "WH-GETAFE",
                "type": "receipt",
                "quantity": quantity,
                "reference": "restock",
            }
        ),
    )
    assert moved.status_code in (200, 201), moved.body
