"""Customer emails, sent by the subscriber of order events; each event mails once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.orders import Order
from chalicelib.services.emails import Email, compose, send_once
from chalicelib.services.sla import LATE_DELIVERY_GRACE_HOURS
from chalicelib.services.tracking import tracking_url

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# Order statuses the customer is told about; READY_FOR_PICKUP goes out per fulfillment,
# with its pick-up code, instead.
MAILED_STATUSES = {
    "ACCEPTED",
    "PAID",
    "RESERVED",
    "SHIPPED",
    "DELIVERED",
    "RETURNED",
    "REJECTED",
    "CANCELLED",
}
MAILED_EVENTS = {
    "fulfillment.ready_for_pickup",
    "fulfillment.not_collected",
    "fulfillment.lost",
    "shipment.sla_breached",
    "return.requested",
}

LABELS: dict[str, dict[str, Any]] = {
    "es": {
        "status": {
            "ACCEPTED": "recibido",
            "PAID": "pagado",
            "RESERVED": "en preparación",
            "SHIPPED": "enviado",
            "READY_FOR_PICKUP": "listo para recoger",
            "DELIVERED": "entregado",
            "RETURNED": "devuelto",
            "REJECTED": "no completado",
            "CANCELLED": "cancelado",
        },
        "reason": {
            "payment_declined": "la tarjeta fue rechazada",
            "payment_unavailable": "no pudimos contactar con el banco",
            "out_of_stock": "sin existencias suficientes",
            "customer_request": "a petición tuya",
            "not_collected": "no recogido a tiempo",
            "processing_error": "un error nuestro al procesarlo",
        },
        "track": "Seguir mi pedido",
    },
    "en": {
        "status": {
            "ACCEPTED": "received",
            "PAID": "paid",
            "RESERVED": "being prepared",
            "SHIPPED": "shipped",
            "READY_FOR_PICKUP": "ready for pick-up",
            "DELIVERED": "delivered",
            "RETURNED": "returned",
            "REJECTED": "not completed",
            "CANCELLED": "cancelled",
        },
        "reason": {
            "payment_declined": "the card was declined",
            "payment_unavailable": "we could not reach the bank",
            "out_of_stock": "not enough stock",
            "customer_request": "at your request",
            "not_collected": "not collected in time",
            "processing_error": "an error on our side while processing it",
        },
        "track": "Track my order",
    },
}


def render_email(event: dict[str, Any], order: Order, deps: Deps) -> Email:
    """The email for one event, in the customer's language."""
    locale = order.contact.locale if order.contact.locale in LABELS else "es"
    labels = LABELS[locale]
    kind = str(event["type"])
    status = str(event.get("status", order.status.value))
    fulfillment = (
        order.fulfillment(str(event["fulfillment_id"])) if event.get("fulfillment_id") else None
    )
    shipments = [f.shipment for f in order.fulfillments if f.shipment is not None]
    locations = {loc.location_id: loc.name for loc in deps.store.locations()}
    promised = fulfillment.shipment.promised_by if fulfillment and fulfillment.shipment else None
    context: dict[str, Any] = {
        "kind": kind,
        "status": status,
        "order": order,
        "locale": locale,
        "status_label": labels["status"].get(status, status),
        "reason_label": labels["reason"].get(
            order.status_reason.value if order.status_reason else "", ""
        ),
        "refunded": (
            f"{order.payment.refunded.amount} {order.payment.refunded.currency}"
            if order.payment.refunded and order.payment.refunded.amount > 0
            else ""
        ),
        "shipments": [
            {
                **s.model_dump(mode="json"),
                "promised_by": s.promised_by.strftime("%Y-%m-%d %H:%M UTC"),
            }
            for s in shipments
        ],
        "tracking_url": tracking_url(order.order_id, deps),
        "return_days": deps.settings.return_window_days,
        "lost_days": deps.settings.lost_parcel_days,
        "location_name": locations.get(fulfillment.location_id, "") if fulfillment else "",
        "pickup_code": fulfillment.pickup_code if fulfillment else "",
        "pickup_deadline": (
            fulfillment.pickup_deadline.strftime("%Y-%m-%d %H:%M UTC")
            if fulfillment and fulfillment.pickup_deadline
            else ""
        ),
        "promised_by": promised.strftime("%Y-%m-%d %H:%M UTC") if promised else "",
        "parcel": (
            f"{fulfillment.shipment.carrier} {fulfillment.shipment.tracking_number}"
            if fulfillment and fulfillment.shipment
            else ""
        ),
        "new_estimate": (
            (promised + timedelta(hours=LATE_DELIVERY_GRACE_HOURS // 3)).strftime("%Y-%m-%d")
            if promised
            else ""
        ),
        "return_id": event.get("return_id", ""),
        "fulfillment_refund": (
            f"{event['refund']['amount']} {event['refund']['currency']}"
            if event.get("refund")
            else ""
        ),
        "fulfillment_voided": (
            f"{event['voided']['amount']} {event['voided']['currency']}"
            if event.get("voided")
            else ""
        ),
        "track_label": labels["track"],
    }
    return compose("subject", "order_event", locale, context)


def should_mail(event: dict[str, Any]) -> bool:
    """Whether this event means an email to the customer."""
    kind = event.get("type")
    if kind == "order.status_changed":
        return event.get("status") in MAILED_STATUSES
    return kind in MAILED_EVENTS


def on_order_event(event: dict[str, Any], deps: Deps) -> str | None:
    """Email the customer about an event, once however often it is delivered. Returns the
    message id, or None when nothing was sent."""
    if not should_mail(event):
        return None
    order = deps.store.get_order(str(event["order_id"]))
    if not order.contact.email:
        return None
    return send_once(
        str(event["event_id"]), order.contact.email, lambda: render_email(event, order, deps), deps
    )
