"""The events published on the order-events topic, as types, named in the past tense.

``message()`` is the dict published to SNS, written to the outbox and read by the
subscribers: its keys, their order and values (timestamps as ``isoformat()``, money as
``Money``'s JSON) are the wire format, unchanged from when these were built by hand. An
event's id is derived from its cause, so subscribers count it once however often it is
delivered.
"""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, PlainSerializer

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import Fulfillment, Shipment
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentOperation, PaymentOperationType
from chalicelib.domain.returns import OrderReturn
from chalicelib.domain.tickets import Ticket

# ``isoformat()`` (``+00:00``), not pydantic's JSON form (``Z``): the wire format.
Timestamp = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str)]


class Event(DeferredModel):
    """One event on the order-events topic; each kind declares ``type`` first, then
    ``event_id``, then its facts, in the order they go on the wire."""

    model_config = ConfigDict(frozen=True)

    def message(self) -> dict[str, Any]:
        """The event as published."""
        return self.model_dump(mode="json")


class OrderStatusChanged(Event):
    """The order moved to a new status (one per history entry)."""

    type: Literal["order.status_changed"] = "order.status_changed"
    event_id: str
    order_id: str
    status: str
    status_reason: str | None
    detail: str
    at: Timestamp
    customer_id: str | None
    channel: str
    total: Money

    @classmethod
    def of(cls, order: Order, entry: HistoryEntry) -> "OrderStatusChanged":
        """The event of ``entry``; its id is the history item's key."""
        index = order.history.index(entry) + 1
        return cls(
            event_id=f"{order.order_id}:{index:03d}:{entry.status.value}",
            order_id=order.order_id,
            status=entry.status.value,
            status_reason=order.status_reason.value if order.status_reason else None,
            detail=entry.detail,
            at=entry.at,
            customer_id=order.customer_id,
            channel=order.channel.value,
            total=order.total,
        )


class OrderClaimed(Event):
    """A customer claimed an anonymous store order with its receipt code."""

    type: Literal["order.claimed"] = "order.claimed"
    event_id: str
    order_id: str
    customer_id: str
    channel: str
    total: Money
    at: Timestamp

    @classmethod
    def of(cls, order: Order, at: datetime) -> "OrderClaimed":
        """The claim of ``order``, now that it names its customer."""
        assert order.customer_id is not None
        return cls(
            event_id=f"{order.order_id}:claimed",
            order_id=order.order_id,
            customer_id=order.customer_id,
            channel=order.channel.value,
            total=order.total,
            at=at,
        )


class LinkRenewed(Event):
    """Ops revoked the order's tracking links (a leaked one): the customer is sent the
    new one, or every link they hold is dead (probe 199)."""

    type: Literal["order.link_renewed"] = "order.link_renewed"
    event_id: str
    order_id: str
    generation: int
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, generation: int, at: datetime) -> "LinkRenewed":
        """The links of generation ``generation`` replacing every earlier one."""
        return cls(
            event_id=f"{order_id}:LINK:{generation}",
            order_id=order_id,
            generation=generation,
            at=at,
        )


class ReturnRequested(Event):
    """The customer opened a return (``channel``: ``mail`` or ``store``, how the goods
    come back; absent on events published before it was)."""

    type: Literal["return.requested"] = "return.requested"
    event_id: str
    order_id: str
    return_id: str
    at: Timestamp
    channel: str | None = None

    @classmethod
    def of(
        cls, order_id: str, return_id: str, at: datetime, channel: str | None = None
    ) -> "ReturnRequested":
        """The opening of return ``return_id``."""
        return cls(
            event_id=f"{order_id}:{return_id}:REQUESTED",
            order_id=order_id,
            return_id=return_id,
            at=at,
            channel=channel,
        )


class ReturnReceived(Event):
    """A return's goods arrived at ``location_id``; ``refund`` is what they give back. A
    refund is told by its own event once the gateway confirmed it (the email can then say
    it is done); a return that gives nothing back (its lines were free after discounts)
    is told by this one."""

    type: Literal["return.received"] = "return.received"
    event_id: str
    order_id: str
    return_id: str
    location_id: str
    refund: Money
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, received: OrderReturn) -> "ReturnReceived":
        """The receipt of return ``received``."""
        if received.received_at is None or received.location_id is None:
            raise ValueError(f"return {received.return_id} was not received")
        if received.refund is None:
            raise ValueError(f"return {received.return_id} has no refund worked out")
        return cls(
            event_id=f"{order_id}:{received.return_id}:RECEIVED",
            order_id=order_id,
            return_id=received.return_id,
            location_id=received.location_id,
            refund=received.refund,
            at=received.received_at,
        )


class ReadyForPickup(Event):
    """A pick-up is waiting at its store."""

    type: Literal["fulfillment.ready_for_pickup"] = "fulfillment.ready_for_pickup"
    event_id: str
    order_id: str
    fulfillment_id: str
    location_id: str
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, fulfillment: Fulfillment, at: datetime) -> "ReadyForPickup":
        """``fulfillment`` became ready for pick-up."""
        return cls(
            event_id=f"{order_id}:{fulfillment.fulfillment_id}:READY_FOR_PICKUP",
            order_id=order_id,
            fulfillment_id=fulfillment.fulfillment_id,
            location_id=fulfillment.location_id,
            at=at,
        )


class _ParcelEvent(Event):
    """Something that happened to one parcel, told with its carrier and tracking number."""

    # The last part of the event id, after the order and the fulfillment.
    suffix: ClassVar[str]

    type: str = ""  # each kind's own, first on the wire
    event_id: str
    order_id: str
    fulfillment_id: str
    carrier: str
    tracking_number: str
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, fulfillment_id: str, shipment: Shipment, at: datetime) -> Self:
        """``shipment`` of ``fulfillment_id``, at ``at``."""
        return cls(
            event_id=f"{order_id}:{fulfillment_id}:{cls.suffix}",
            order_id=order_id,
            fulfillment_id=fulfillment_id,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            at=at,
        )


class ShipmentSent(_ParcelEvent):
    """A parcel was handed to its carrier (one per shipment, however many leave: the
    order's SHIPPED status changes only once)."""

    suffix = "SHIPPED"
    type: Literal["fulfillment.shipped"] = "fulfillment.shipped"


class ParcelDelivered(_ParcelEvent):
    """A parcel reached the customer while the rest of the order is still on its way: the
    order is not DELIVERED yet, so no delivered email tells it (a probe: a mixed order's
    customer never heard their parcel arrived)."""

    suffix = "DELIVERED"
    type: Literal["fulfillment.delivered"] = "fulfillment.delivered"


class _PartGivenBack(Event):
    """A fulfillment cancelled before its hand-over: restocked, its share voided."""

    # The last part of the event id, after the order and the fulfillment.
    suffix: ClassVar[str]

    type: str = ""  # each kind's own, first on the wire
    event_id: str
    order_id: str
    fulfillment_id: str
    location_id: str
    voided: Money
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, fulfillment: Fulfillment, voided: Money, at: datetime) -> Self:
        """``fulfillment`` was cancelled, ``voided`` no longer taken."""
        return cls(
            event_id=f"{order_id}:{fulfillment.fulfillment_id}:{cls.suffix}",
            order_id=order_id,
            fulfillment_id=fulfillment.fulfillment_id,
            location_id=fulfillment.location_id,
            voided=voided,
            at=at,
        )


class NotCollected(_PartGivenBack):
    """A pick-up was not collected in time."""

    suffix = "NOT_COLLECTED"
    type: Literal["fulfillment.not_collected"] = "fulfillment.not_collected"


class FulfillmentCancelled(_PartGivenBack):
    """A fulfillment not yet handed over was cancelled while the rest of the order carries
    on (its workflow failed or was stopped). An order cancelled whole is told by its status
    change instead."""

    suffix = "CANCELLED"
    type: Literal["fulfillment.cancelled"] = "fulfillment.cancelled"


class SlaBreached(Event):
    """A shipment missed its carrier's promise (the customer gets an apology)."""

    type: Literal["shipment.sla_breached"] = "shipment.sla_breached"
    event_id: str
    order_id: str
    fulfillment_id: str
    customer_id: str | None
    carrier: str
    at: Timestamp

    @classmethod
    def of(
        cls, order: Order, fulfillment_id: str, shipment: Shipment, at: datetime
    ) -> "SlaBreached":
        """The breach of ``shipment``, recorded at ``at``."""
        return cls(
            event_id=f"{order.order_id}:{fulfillment_id}:SLA_BREACHED",
            order_id=order.order_id,
            fulfillment_id=fulfillment_id,
            customer_id=order.customer_id,
            carrier=shipment.carrier,
            at=at,
        )


class ParcelLost(Event):
    """A parcel was declared lost and refunded."""

    type: Literal["fulfillment.lost"] = "fulfillment.lost"
    event_id: str
    order_id: str
    fulfillment_id: str
    customer_id: str | None
    carrier: str | None
    tracking_number: str | None
    refund: Money
    at: Timestamp

    @classmethod
    def of(
        cls, order: Order, fulfillment: Fulfillment, refund: Money, at: datetime
    ) -> "ParcelLost":
        """``fulfillment``'s parcel is lost; ``refund`` was given back."""
        shipment = fulfillment.shipment
        return cls(
            event_id=f"{order.order_id}:{fulfillment.fulfillment_id}:LOST",
            order_id=order.order_id,
            fulfillment_id=fulfillment.fulfillment_id,
            customer_id=order.customer_id,
            carrier=shipment.carrier if shipment else None,
            tracking_number=shipment.tracking_number if shipment else None,
            refund=refund,
            at=at,
        )


PaymentEventType = Literal["payment.capture", "payment.void", "payment.refund"]
_PAYMENT_EVENT_TYPES: dict[PaymentOperationType, PaymentEventType] = {
    PaymentOperationType.CAPTURE: "payment.capture",
    PaymentOperationType.VOID: "payment.void",
    PaymentOperationType.REFUND: "payment.refund",
}


class PaymentConfirmed(Event):
    """The gateway confirmed a capture, void or refund."""

    type: PaymentEventType
    event_id: str
    order_id: str
    amount: Money
    at: Timestamp

    @classmethod
    def of(cls, order_id: str, op: PaymentOperation, at: datetime) -> "PaymentConfirmed":
        """``op`` is done; its id is the operation's key."""
        return cls(
            type=_PAYMENT_EVENT_TYPES[op.type],
            event_id=f"{op.key}:DONE",
            order_id=order_id,
            amount=op.amount,
            at=at,
        )


TicketEventType = Literal["ticket.opened", "ticket.resolved"]


class TicketChanged(Event):
    """A customer-service ticket was opened or resolved (the customer is emailed)."""

    type: TicketEventType
    event_id: str
    ticket_id: str
    customer_id: str | None  # None for an anonymous store order's complaint
    order_id: str | None
    at: str

    @classmethod
    def of(cls, kind: TicketEventType, ticket: Ticket, at: str) -> "TicketChanged":
        """The ``kind`` event of ``ticket``."""
        return cls(
            type=kind,
            event_id=f"{ticket.ticket_id}:{kind.split('.')[1]}",
            ticket_id=ticket.ticket_id,
            customer_id=ticket.customer_id,
            order_id=ticket.order_id,
            at=at,
        )
