"""The typed events put on the wire exactly what subscribers and the outbox have always
read: the same keys in the same order, timestamps as ``isoformat()``, money as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.domain.events import (
    NotCollected,
    OrderClaimed,
    OrderStatusChanged,
    ParcelLost,
    PaymentConfirmed,
    ReadyForPickup,
    ReturnReceived,
    ReturnRequested,
    SlaBreached,
    TicketChanged,
)
from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentOperation, PaymentOperationType
from chalicelib.domain.returns import OrderReturn, ReturnLine
from chalicelib.domain.tickets import Ticket, TicketType
from tests.support.builders import NOW, WAREHOUSE, allocate, line, paid, pickup, reserved, shipment

EUR_12 = {"amount": "12.00", "currency": "EUR"}


def test_status_changed_is_keyed_by_its_history_entry() -> None:
    placed = paid(line("CAP-RED", 1))
    placed.customer_id = "cus_1"
    entry = placed.history[-1]

    message = OrderStatusChanged.of(placed, entry).message()

    assert list(message.items()) == [
        ("type", "order.status_changed"),
        ("event_id", f"{placed.order_id}:001:PAID"),
        ("order_id", placed.order_id),
        ("status", "PAID"),
        ("status_reason", None),
        ("detail", "payment of 12.00 authorised"),
        ("at", "2026-03-02T10:00:00+00:00"),
        ("customer_id", "cus_1"),
        ("channel", "web"),
        ("total", EUR_12),
    ]
    assert json.loads(json.dumps(message)) == message


def test_fulfillment_events_name_the_fulfillment_and_its_location() -> None:
    placed = reserved([pickup("CAP-RED", 1)], [allocate("CAP-RED", "ST-SOL", 1)])
    (only,) = placed.fulfillments
    oid, fid = placed.order_id, only.fulfillment_id

    assert ReadyForPickup.of(oid, only, NOW).message() == {
        "type": "fulfillment.ready_for_pickup",
        "event_id": f"{oid}:{fid}:READY_FOR_PICKUP",
        "order_id": oid,
        "fulfillment_id": fid,
        "location_id": "ST-SOL",
        "at": "2026-03-02T10:00:00+00:00",
    }
    not_collected = NotCollected.of(oid, only, Money.of("12.00"), NOW).message()
    assert list(not_collected) == [
        "type",
        "event_id",
        "order_id",
        "fulfillment_id",
        "location_id",
        "voided",
        "at",
    ]
    assert not_collected["event_id"] == f"{oid}:{fid}:NOT_COLLECTED"
    assert not_collected["voided"] == EUR_12


def test_shipment_events_carry_the_carrier() -> None:
    placed = reserved([line("CAP-RED", 1)], [allocate("CAP-RED", WAREHOUSE, 1)])
    (only,) = placed.fulfillments
    booked = shipment()
    placed.dispatch_shipment(only.fulfillment_id, booked, NOW)
    later = NOW + timedelta(days=2)

    breached = SlaBreached.of(placed, only.fulfillment_id, booked, later).message()
    lost = ParcelLost.of(placed, only, Money.of("12.00"), later).message()

    assert breached == {
        "type": "shipment.sla_breached",
        "event_id": f"{placed.order_id}:{only.fulfillment_id}:SLA_BREACHED",
        "order_id": placed.order_id,
        "fulfillment_id": only.fulfillment_id,
        "customer_id": None,
        "carrier": booked.carrier,
        "at": "2026-03-04T10:00:00+00:00",
    }
    assert list(lost) == [
        "type",
        "event_id",
        "order_id",
        "fulfillment_id",
        "customer_id",
        "carrier",
        "tracking_number",
        "refund",
        "at",
    ]
    assert lost["tracking_number"] == booked.tracking_number
    assert lost["refund"] == EUR_12


def test_payment_event_type_follows_the_operation() -> None:
    for kind in PaymentOperationType:
        op = PaymentOperation(
            key=f"ord_1:F1:{kind.value}", type=kind, amount=Money.of("12.00"), recorded_at=NOW
        )
        assert PaymentConfirmed.of("ord_1", op, NOW).message() == {
            "type": f"payment.{kind.value}",
            "event_id": f"ord_1:F1:{kind.value}:DONE",
            "order_id": "ord_1",
            "amount": EUR_12,
            "at": "2026-03-02T10:00:00+00:00",
        }


def test_claim_return_and_ticket_events() -> None:
    placed = paid(line("CAP-RED", 1))
    placed.customer_id = "cus_9"
    claimed = OrderClaimed.of(placed, NOW).message()
    assert list(claimed) == [
        "type",
        "event_id",
        "order_id",
        "customer_id",
        "channel",
        "total",
        "at",
    ]
    assert claimed["event_id"] == f"{placed.order_id}:claimed"
    assert ReturnRequested.of("ord_1", "ret_1", NOW, "mail").message() == {
        "type": "return.requested",
        "event_id": "ord_1:ret_1:REQUESTED",
        "order_id": "ord_1",
        "return_id": "ret_1",
        "at": "2026-03-02T10:00:00+00:00",
        "channel": "mail",
    }
    ticket = Ticket(
        ticket_id="tkt_1",
        customer_id="cus_9",
        type=TicketType.LATE_DELIVERY,
        subject="late",
        description="late",
        channel="system",
        opened_at=NOW,
    )
    assert TicketChanged.of("ticket.resolved", ticket, "t").message() == {
        "type": "ticket.resolved",
        "event_id": "tkt_1:resolved",
        "ticket_id": "tkt_1",
        "customer_id": "cus_9",
        "order_id": None,
        "at": "t",
    }


def test_a_return_received_names_its_store_and_what_it_gives_back() -> None:
    opened = OrderReturn(
        return_id="ret_1",
        lines=[ReturnLine(sku="TSHIRT-BLK-M", quantity=1)],
        reason="too small",
        channel="store",
        location_id="ST-MADRID",
        requested_at=NOW,
    )
    with pytest.raises(ValueError, match="ret_1 was not received"):
        ReturnReceived.of("ord_1", opened)
    opened.receive("ST-BARCELONA", NOW + timedelta(days=2), Money.of("0.00"), [])
    assert ReturnReceived.of("ord_1", opened).message() == {
        "type": "return.received",
        "event_id": "ord_1:ret_1:RECEIVED",
        "order_id": "ord_1",
        "return_id": "ret_1",
        "location_id": "ST-BARCELONA",
        "refund": {"amount": "0.00", "currency": "EUR"},
        "at": "2026-03-04T10:00:00+00:00",
    }
