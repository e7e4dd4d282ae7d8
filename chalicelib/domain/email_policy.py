"""Which order events send the customer an email, and which email.

By default (``notifications: "essential"``) a customer hears about what matters: one
confirmation once the order is accepted, paid and its stock reserved, one per shipment
leaving or pick-up ready, one on delivery (with the return instructions and the survey
link), one per parcel delivered while the rest of the order is still on its way, and one
for anything that goes wrong or needs them (a return by post: where to send it). A
delivered one-shipment web order sends 3: the confirmation, the shipment, the delivery.
``"all"`` adds every other status change.

``email_for`` replaces ``services.notify.should_mail`` (its ``MAILED_STATUSES`` and
``MAILED_EVENTS``); the ``EmailKind`` it returns names the email (and its template)."""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order


class NotificationPreference(StrEnum):
    """A profile's ``notifications``: what matters only, or every step too."""

    ESSENTIAL = "essential"
    ALL = "all"


DEFAULT_PREFERENCE = NotificationPreference.ESSENTIAL


class EventType(StrEnum):
    """The order events the policy reads (the ``type`` of each published event)."""

    STATUS_CHANGED = "order.status_changed"
    # One per shipment handed to its carrier, with ``fulfillment_id``, event id
    # ``<order>:<fulfillment>:SHIPPED``. Published by the wiring round: the order's SHIPPED
    # status changes once, however many parcels leave.
    SHIPMENT_SENT = "fulfillment.shipped"
    PICKUP_READY = "fulfillment.ready_for_pickup"
    # A parcel delivered while other parts are still under way (the order is not DELIVERED).
    PARCEL_DELIVERED = "fulfillment.delivered"
    NOT_COLLECTED = "fulfillment.not_collected"
    # Part of an order cancelled while the rest carries on (a failed or stopped workflow).
    FULFILLMENT_CANCELLED = "fulfillment.cancelled"
    PARCEL_LOST = "fulfillment.lost"
    SLA_BREACHED = "shipment.sla_breached"
    RETURN_REQUESTED = "return.requested"
    # Every receipt; it mails only for a return that gives nothing back (a refund is told
    # by its own event, once the money is back).
    RETURN_RECEIVED = "return.received"
    # A refund the gateway confirmed; ``event_id`` is ``<operation key>:DONE`` and the key
    # says what it refunds (``domain.settlement``).
    REFUNDED = "payment.refund"
    # Ops revoked the order's tracking links: the customer gets the new one.
    LINK_RENEWED = "order.link_renewed"


class EmailKind(StrEnum):
    """Each email a customer can get; the value names its template."""

    CONFIRMATION = "confirmation"
    SHIPMENT_SENT = "shipment_sent"
    PICKUP_READY = "pickup_ready"
    DELIVERED = "delivered"
    PARCEL_DELIVERED = "parcel_delivered"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    LATE_DELIVERY = "late_delivery"
    PARCEL_LOST = "parcel_lost"
    NOT_COLLECTED = "not_collected"
    FULFILLMENT_CANCELLED = "fulfillment_cancelled"
    RETURN_RECEIVED = "return_received"
    REFUND = "refund"
    LINK_RENEWED = "link_renewed"
    # Under "all" only:
    STATUS_UPDATE = "status_update"
    RETURN_REQUESTED = "return_requested"


class RefundCause(StrEnum):
    """What a refund gives back, read from its operation key."""

    RETURN = "return"
    LOST_PARCEL = "lost_parcel"
    SHIPPING = "shipping"


# Essential: a status change that is itself one of the emails that matter. The
# confirmation waits for RESERVED (paid, and the stock set aside: moments after PAID), so
# that an order that loses a race for the last units is told one thing, its rejection,
# not "confirmed" and then "sorry" (REJECTED with out_of_stock follows PAID, never RESERVED).
ESSENTIAL_STATUS_EMAILS: dict[str, EmailKind] = {
    "RESERVED": EmailKind.CONFIRMATION,
    "DELIVERED": EmailKind.DELIVERED,
    "REJECTED": EmailKind.REJECTED,
    "CANCELLED": EmailKind.CANCELLED,
}
# Essential: events about one shipment, pick-up or return.
ESSENTIAL_EVENT_EMAILS: dict[str, EmailKind] = {
    EventType.SHIPMENT_SENT: EmailKind.SHIPMENT_SENT,
    EventType.PICKUP_READY: EmailKind.PICKUP_READY,
    EventType.PARCEL_DELIVERED: EmailKind.PARCEL_DELIVERED,
    EventType.NOT_COLLECTED: EmailKind.NOT_COLLECTED,
    EventType.FULFILLMENT_CANCELLED: EmailKind.FULFILLMENT_CANCELLED,
    EventType.PARCEL_LOST: EmailKind.PARCEL_LOST,
    EventType.SLA_BREACHED: EmailKind.LATE_DELIVERY,
    EventType.LINK_RENEWED: EmailKind.LINK_RENEWED,
}
# Essential: refunds by cause. A return's refund is the "return received" email (sent
# when the money is back, so what it says is true; a return that gives nothing back is
# told at its receipt); a lost parcel's refund was told by the lost-parcel email; the
# shipping fee given back has its own email, unless it went back with a lost parcel,
# whose email told it (``told_elsewhere``).
REFUND_EMAILS: dict[RefundCause, EmailKind | None] = {
    RefundCause.RETURN: EmailKind.RETURN_RECEIVED,
    RefundCause.LOST_PARCEL: None,
    RefundCause.SHIPPING: EmailKind.REFUND,
}
# "all": every other status change, except those that coincide with a per-fulfillment
# email already sent (a parcel leaving makes the order SHIPPED, a pick-up ready or a parcel
# delivered while a pick-up waits makes it READY_FOR_PICKUP): one moment, one email.
ALL_STATUS_UPDATES = frozenset({"ACCEPTED", "PAID", "RETURNED"})
ALL_EVENT_EMAILS: dict[str, EmailKind] = {EventType.RETURN_REQUESTED: EmailKind.RETURN_REQUESTED}


class OrderEvent(DeferredModel):
    """The fields of a published event the policy reads; others are ignored, and an event
    of another kind (a ticket's, a customer's) lacking them reads as no email."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str
    event_id: str = ""
    order_id: str | None = None
    status: str | None = None
    status_reason: str | None = None
    refund: Money | None = None
    channel: str | None = None

    def refund_cause(self) -> RefundCause | None:
        """What a refund event gives back, from its key ``<order>:<cause>:refund``: a
        return (``ret_...``), the shipping fee (``shipping``) or a lost fulfillment."""
        if self.type != EventType.REFUNDED:
            return None
        key = self.event_id.removesuffix(":DONE")
        parts = key.rsplit(":", 2)
        if len(parts) != 3 or parts[2] != "refund":
            return None
        cause = parts[1]
        if cause.startswith("ret_"):
            return RefundCause.RETURN
        if cause == "shipping":
            return RefundCause.SHIPPING
        return RefundCause.LOST_PARCEL


def preference_of(profile: Mapping[str, Any] | None) -> NotificationPreference:
    """The customer's choice from their profile; essential when unset or unknown."""
    raw = (profile or {}).get("notifications")
    try:
        return NotificationPreference(str(raw).strip().lower())
    except ValueError:
        return DEFAULT_PREFERENCE


def preference_after_merge(
    survivor: Mapping[str, Any], merged: Mapping[str, Any]
) -> NotificationPreference | None:
    """The email preference the survivor of a merge keeps, or None to leave its profile
    as it is. A choice one record made is kept; two that differ keep "essential": no
    address of the person gets emails it declined (probe 184: a record that chose
    "essential", merged into one that chose "all", got every status at its own
    address)."""
    if merged.get("notifications") is None:
        return None
    theirs = preference_of(merged)
    if survivor.get("notifications") is None:
        return theirs
    ours = preference_of(survivor)
    if ours is theirs or ours is NotificationPreference.ESSENTIAL:
        return None
    return NotificationPreference.ESSENTIAL


def _essential(event: OrderEvent) -> EmailKind | None:
    if event.type == EventType.STATUS_CHANGED:
        if event.status == "CANCELLED" and event.status_reason == "not_collected":
            # The not-collected email said it: the uncollected pick-up ended the order.
            return None
        return ESSENTIAL_STATUS_EMAILS.get(event.status or "")
    if event.type == EventType.REFUNDED:
        cause = event.refund_cause()
        return REFUND_EMAILS[cause] if cause is not None else EmailKind.REFUND
    if event.type == EventType.RETURN_RECEIVED:
        # Lines made free by a discount give nothing back, so no refund event would tell
        # the customer their return arrived (probe 160).
        gives_back = event.refund is not None and event.refund.amount > 0
        return None if gives_back else EmailKind.RETURN_RECEIVED
    if event.type == EventType.RETURN_REQUESTED and event.channel == "mail":
        # Where to send the parcel, with its return number: it needs them whoever opened it
        # (probe 233: staff opened one on the phone, and the customer never learnt where).
        return EmailKind.RETURN_REQUESTED
    return ESSENTIAL_EVENT_EMAILS.get(event.type)


def email_for(
    event: Mapping[str, Any] | OrderEvent,
    preference: NotificationPreference = DEFAULT_PREFERENCE,
) -> EmailKind | None:
    """The email an order event sends under ``preference``, or None for no email."""
    parsed = event if isinstance(event, OrderEvent) else OrderEvent.model_validate(event)
    kind = _essential(parsed)
    if kind is not None or preference is NotificationPreference.ESSENTIAL:
        return kind
    if parsed.type == EventType.STATUS_CHANGED and parsed.status in ALL_STATUS_UPDATES:
        return EmailKind.STATUS_UPDATE
    return ALL_EVENT_EMAILS.get(parsed.type)


def should_mail(
    event: Mapping[str, Any] | OrderEvent,
    preference: NotificationPreference = DEFAULT_PREFERENCE,
) -> bool:
    """Whether the event means an email to the customer under ``preference``."""
    return email_for(event, preference) is not None


def told_elsewhere(email: EmailKind, event: Mapping[str, Any], order: Order) -> bool:
    """The shipping fee given back with a lost parcel is in the lost-parcel email's amount
    (services/lost_parcels.py), so its own refund email would tell it twice. The order
    shows the parcel LOST before its refunds are even owed, so this holds whenever the
    fee's refund event is handled. A return never gives the fee back once a parcel was
    delivered (domain/settlement.py), so the return-received email tells all it refunds.

    And an order that became DELIVERED because its last part out ended without reaching
    the customer (a parcel declared lost, a pick-up not collected or cancelled; the rest
    collected or delivered before) was not delivered then: "your order was delivered"
    would be false, and that part's email tells what happened, with the return window and
    the survey (probe 185: "your order was delivered" came in the same second as "your
    pick-up was cancelled")."""
    if email is EmailKind.DELIVERED:
        return _delivered_by_an_end(event, order)
    if email is not EmailKind.REFUND or OrderEvent.model_validate(event).refund_cause() != (
        RefundCause.SHIPPING
    ):
        return False
    return any(f.status is FulfillmentStatus.LOST for f in order.fulfillments)


# Emails that a later change of the order contradicts: handled after it (SNS keeps no
# order, and a failed delivery is retried minutes later), they would arrive after the email
# about that change ("confirmed" after "cancelled"; found by a review).
_UNDONE_BY_AN_END = frozenset({EmailKind.CONFIRMATION, EmailKind.PICKUP_READY})


def overtaken(email: EmailKind, order: Order, event: Mapping[str, Any] | None = None) -> bool:
    """Whether the order, read as it is now, has moved past what ``email`` would tell: a
    confirmation or a pick-up notice for an order cancelled or rejected since, a declined
    payment's email for an order paid again since, or a return's request for a return
    received since (probe 238: "send them to …, we will refund you" came after "we have
    received your return and refunded you"; its own email tells the customer)."""
    if email in _UNDONE_BY_AN_END:
        return order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
    if email is EmailKind.REJECTED:
        return order.status is not OrderStatus.REJECTED
    if email is EmailKind.RETURN_REQUESTED and event is not None:
        asked = order.find_return(event.get("return_id"))
        return asked is not None and asked.received_at is not None
    return False


def _delivered_by_an_end(event: Mapping[str, Any], order: Order) -> bool:
    """The status change is the one a part's loss or cancel made: same moment (one write)."""
    at = event.get("at")
    if not at:
        return False
    moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    return any(ended_unreached_at(f) == moment for f in order.fulfillments)


def ended_unreached_at(part: Fulfillment) -> datetime | None:
    """When a part ended without reaching the customer: lost, or cancelled."""
    if part.status is FulfillmentStatus.LOST and part.shipment is not None:
        return part.shipment.lost_at
    if part.status is FulfillmentStatus.CANCELLED:
        return part.cancelled_at
    return None


def ended_the_order(part: Fulfillment, order: Order) -> bool:
    """Whether this part's loss or cancel made the order DELIVERED (the rest had reached
    the customer): its email then tells what the delivered email would have."""
    if order.status is not OrderStatus.DELIVERED:
        return False
    ended = ended_unreached_at(part)
    return ended is not None and ended == order.delivered_at()
