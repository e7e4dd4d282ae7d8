"""Steps of an order's life as the workflow runs them, for service tests on fakes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from chalicelib.deps import Deps
from chalicelib.domain.errors import PaymentDeclined
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import (
    carrier_events,
    customer_projection,
    fulfillment_steps,
    notify,
    ordering,
    payment_steps,
    stock_steps,
    tickets,
)
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.step_models import (
    DispatchInput,
    FulfillmentStep,
    OrderStep,
    RejectOrderInput,
)
from tests.fakes import Outgoing, RecordingEvents


class Killed(BaseException):
    """A function stopped by its Lambda timeout: nothing after this point of it runs (a
    BaseException, so that no ``except Exception`` of the code under test catches it)."""


# One black T-shirt shipped, one to collect at Madrid.
MIXED = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"},
]


def body(**overrides: Any) -> dict[str, Any]:
    """A valid web order for two black T-shirts, shipped to Madrid."""
    values: dict[str, Any] = {
        "channel": "web",
        "customer": {"email": f"c-{uuid.uuid4().hex[:8]}@example.com", "name": "Ana"},
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"}],
        "shipping_address": {
            "name": "Ana",
            "line1": "Calle Mayor 1",
            "city": "Madrid",
            "postal_code": "28013",
            "country": "ES",
        },
        "payment": {"method": "card", "token": "tok_visa"},
        "consent": {"terms_version": "2026-01", "privacy_version": "2026-01", "accepted": True},
    }
    return values | overrides


def place(deps: Deps, **overrides: Any) -> Order:
    """Place an order; returns it as stored."""
    order_id = f"ord_{uuid.uuid4().hex[:12]}"
    request = PlaceOrderRequest.model_validate(body(**overrides))
    return ordering.place_order(request, order_id, deps, "demo-shop")


def projected(deps: Deps, order: Order) -> Order:
    """The order's summary in its customer's 360, as the order's event projects it."""
    entry = next(e for e in reversed(order.history) if e.changes_status)
    event = OrderStatusChanged.of(order, entry).message()
    assert customer_projection.project_order_event(event, deps)
    return order


def reserved(deps: Deps, **overrides: Any) -> Order:
    """An order placed, paid (authorised) and with its stock reserved."""
    order = place(deps, **overrides)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    return deps.store.get_order(order.order_id)


def declined(deps: Deps, **overrides: Any) -> Order:
    """An order whose card was declined, rejected as the workflow rejects it."""
    order = place(deps, payment={"method": "card", "token": "tok_declined"}, **overrides)
    try:
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    except PaymentDeclined:
        payment_steps.reject_order(
            RejectOrderInput(order_id=order.order_id, error="PaymentDeclined"), deps
        )
    else:
        raise AssertionError("tok_declined was authorised")
    return deps.store.get_order(order.order_id)


def parcel_step(order: Order) -> FulfillmentStep:
    """The workflow's step input for the order's one fulfillment."""
    (parcel,) = order.fulfillments
    return FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)


def shipped(deps: Deps, **overrides: Any) -> Order:
    """An order whose every fulfillment was handed to its carrier."""
    order = reserved(deps, **overrides)
    for each in order.fulfillments:
        step = FulfillmentStep(order_id=order.order_id, fulfillment_id=each.fulfillment_id)
        fulfillment_steps.dispatch_fulfillment(step, deps)
    return deps.store.get_order(order.order_id)


def delivered(deps: Deps, **overrides: Any) -> Order:
    """A shipped order its carrier delivered."""
    order = shipped(deps, **overrides)

    def deliver(current: Order) -> Change:
        entries = [current.deliver(f.fulfillment_id, deps.clock()) for f in current.fulfillments]
        return Change(entry=next((e for e in reversed(entries) if e is not None), None))

    return mutate(deps, order.order_id, deliver).order


def carrier_event(deps: Deps, carrier: str, tracking_number: str, **fields: Any) -> dict[str, Any]:
    """Deliver a signed carrier webhook to the service."""
    event = {
        "event_id": f"evt_{uuid.uuid4().hex[:10]}",
        "tracking_number": tracking_number,
        "type": "delivered",
        "occurred_at": deps.clock().isoformat(),
    } | fields
    raw = json.dumps(event).encode()
    stamp = int(time.time())
    secret = deps.secrets.carrier_secret(carrier)
    signature = carrier_events.sign(secret, stamp, raw)
    return carrier_events.handle_carrier_event(carrier, raw, signature, deps)


def sell_out(deps: Deps, sku: str) -> None:
    """The shop floor sells every unit of ``sku`` not yet promised to an order, as POS sales
    would: an order accepted before this loses its race for the stock."""
    from chalicelib.domain.requests import RecordMovementRequest
    from chalicelib.services import inventory

    for level in deps.store.stock_levels(sku):
        if level.available > 0:
            sale = {"sku": sku, "location_id": level.location_id, "type": "sale"}
            request = RecordMovementRequest.model_validate(sale | {"quantity": level.available})
            inventory.record_movement(request, deps)


def dying_at(deps: Deps, value: str, field: str = "status") -> None:
    """Make the next publish of an event whose ``field`` is ``value`` die."""
    events = deps.events
    assert isinstance(events, RecordingEvents)
    publish = events.publish
    armed = [True]

    def dying(event: dict[str, Any]) -> None:
        if armed[0] and event.get(field) == value:
            armed[0] = False
            raise Killed
        publish(event)

    events.publish = dying  # type: ignore[method-assign]


def mail_everything(deps: Deps) -> list[dict[str, str]]:
    """Deliver every published event to the email subscriber (again, as SNS may deliver
    it); every message sent so far."""
    assert isinstance(deps.events, RecordingEvents) and isinstance(deps.mailer, Outgoing)
    for event in list(deps.events.published):
        if "order_id" in event and "ticket_id" not in event:
            notify.on_order_event(event, deps)
    return deps.mailer.sent


def mail_ticket_events(deps: Deps) -> list[str]:
    """Deliver every ticket event to the email subscriber; each email sent now, its subject
    and parts."""
    assert isinstance(deps.events, RecordingEvents) and isinstance(deps.mailer, Outgoing)
    before = len(deps.mailer.sent)
    for event in list(deps.events.published):
        if tickets.is_ticket_event(event):
            tickets.mail_ticket_event(event, deps)
    return [mail["parts"] for mail in deps.mailer.sent[before:]]


def dispatch_step(order: Order, fulfillment_id: str, wait_seconds: int = 3600) -> DispatchInput:
    """What the workflow hands the dispatch of one of the order's fulfilments, its wait
    entered when the order was placed."""
    return DispatchInput(
        order_id=order.order_id,
        fulfillment_id=fulfillment_id,
        task_token="token-1",
        wait_seconds=wait_seconds,
        entered_at=order.placed_at,
    )
