"""Response models, named by role; they are what the OpenAPI document describes."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, WithJsonSchema

from chalicelib.domain.customers import IdentifierType
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import (
    FulfillmentStatus,
    FulfillmentType,
    SlaStatus,
    sla_severity,
)
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentFailure, PaymentStatus
from chalicelib.domain.placement import Channel
from chalicelib.domain.pricing import TaxBreakdown
from chalicelib.domain.regions import TaxName
from chalicelib.domain.returns import OrderReturn, ReturnStatus
from chalicelib.domain.settlement import return_refund_status
from chalicelib.domain.status_reasons import StatusReason


class PlaceOrderResponse(DeferredModel):
    """``POST /orders``: the order was accepted; everything else happens asynchronously."""

    order_id: str
    status: str
    customer_id: str | None
    total: Money
    tracking_url: str
    execution_arn: str | None = None
    # Anonymous store orders: the code that lets the customer claim the order later.
    receipt_code: str | None = None


class ShipmentSla(DeferredModel):
    """A parcel against its carrier's promise."""

    promised_by: str
    status: SlaStatus
    breached_at: str | None


class ShipmentResponse(DeferredModel):
    """A carrier booking."""

    carrier: str
    service_level: str
    tracking_number: str
    tracking_url: str
    promised_by: str
    delivered_at: str | None = None
    sla: ShipmentSla
    events: list[dict[str, str]] = Field(default=[])


class PartLine(DeferredModel):
    """Units of a SKU in one part of an order or in one return."""

    sku: str
    quantity: int


class FulfillmentResponse(DeferredModel):
    """One fulfillment of an order."""

    fulfillment_id: str
    type: FulfillmentType
    location_id: str
    status: FulfillmentStatus
    status_reason: StatusReason | None = None
    lines: list[PartLine]
    shipment: ShipmentResponse | None = None
    pickup_code: str | None = None
    pickup_deadline: str | None = None
    # Made ready while its store was shut: when the store opens (else null).
    collect_from: str | None = None


_MONEY_SHOWN = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}},
}

# The shapes API.md fixes, declared in the OpenAPI document (a probe: they were free-form
# objects, which any answer matches); kept as plain mappings in the code, since the
# customer's view of an order drops some of their fields.
PaymentShown = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Where the order's money is (payment_id and owed: the "
            "retailer's, for its API keys; never on the customer's page)",
            "required": ["status", "authorized", "captured", "refunded"],
            "properties": {
                "status": {"type": "string", "enum": [s.value for s in PaymentStatus]},
                "payment_id": {"type": ["string", "null"]},
                "authorized": _MONEY_SHOWN,
                "captured": _MONEY_SHOWN,
                "refunded": _MONEY_SHOWN,
                "voided": _MONEY_SHOWN,
                "failure": {"enum": [*(f.value for f in PaymentFailure), None]},
                "owed": {"type": "array", "items": {"type": "object"}},
            },
        }
    ),
]
HistoryEntryShown = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "One status change, or a part's own change that left the status "
            "as it was (fulfillment_id) (note: the reason a person gave; the retailer's, "
            "for its API keys; never on the customer's page)",
            "required": ["status", "at", "detail"],
            "properties": {
                "status": {"type": "string", "enum": [s.value for s in OrderStatus]},
                "at": {"type": "string", "format": "date-time"},
                "detail": {"type": "string"},
                "note": {"type": ["string", "null"]},
                "fulfillment_id": {
                    "type": ["string", "null"],
                    "description": "The part the entry is about when the order's status "
                    "did not change with it (a pick-up not collected, a parcel lost or "
                    "delivered while other parts go on); null for a status change",
                },
            },
        }
    ),
]


def payment_view(order: Order) -> dict[str, Any]:
    """``payment`` in ``GET /orders/{id}``: money objects, zero as ``"0.00"``, and the
    operations still owed to or by the gateway."""
    payment = order.payment
    zero = Money.zero(order.total.currency)

    def money(value: Money | None) -> dict[str, Any]:
        return (value or zero).model_dump(mode="json")

    return {
        "status": payment.status.value,
        "payment_id": payment.payment_id,
        "authorized": money(payment.authorized),
        "captured": money(payment.captured),
        "refunded": money(payment.refunded),
        "voided": money(payment.voided),
        # Why the authorisation failed (``declined``, ``gateway_unavailable``); the order's
        # ``status_reason`` is ``payment_declined`` either way.
        "failure": payment.failure.value if payment.failure else None,
        "owed": [
            {
                "type": op.type.value,
                "key": op.key,
                "amount": money(op.amount),
                "attempts": op.attempts,
                "last_error": op.last_error,
            }
            for op in payment.owed()
        ],
    }


class TaxResponse(DeferredModel):
    """A tax; ``included`` when the prices already hold it."""

    name: TaxName
    # As API.md writes it: "0.21", "0" for none.
    rate: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    amount: Money
    included: bool

    @classmethod
    def of(cls, tax: TaxBreakdown) -> Self:
        """As the API shows it."""
        return cls.model_validate(tax.shown())


class OrderTaxResponse(TaxResponse):
    """The order's tax; ``included`` when the prices already hold it."""


class TrackedLine(DeferredModel):
    """A line as the customer's page shows it."""

    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    # Its share of the order's discount (absent on orders priced before it was kept).
    discount: Money | None = None


class OrderLineResponse(TrackedLine):
    """A line of an order as placed: what the customer's page shows of it, and how it is
    handed over."""

    fulfillment: FulfillmentType
    location_id: str | None = None
    # What the customer pays for the line all in (null on orders priced before it was
    # kept).
    charged: Money | None = None


class ReturnShown(DeferredModel):
    """A return of an order, as staff and the order's holder read it."""

    return_id: str
    status: ReturnStatus
    lines: list[PartLine]
    reason: str
    channel: Literal["store", "mail"]
    # Where the goods are: the location named, then the one that received them.
    location_id: str | None = None
    # The location named when it was asked for, kept once another received the goods.
    requested_location_id: str | None = None
    requested_at: str
    received_at: str | None = None
    refund: Money | None = None
    refund_status: Literal["refunded", "pending"] | None = None


class OrderPromotion(DeferredModel):
    """A promotion the order got, and what it took off."""

    promotion_id: str
    name: str
    amount: Money


class OrderResponse(DeferredModel):
    """``GET /orders/{order_id}``."""

    order_id: str
    status: OrderStatus
    status_reason: StatusReason | None
    channel: Channel
    store_id: str | None
    customer_id: str | None
    # As placed: True when only identifiers merely attached to the record it was placed
    # under brought the order there (the 360 marks what that record's token leaves out,
    # after merges and splits too; README, customer tokens).
    customer_unvouched: bool = False
    lines: list[OrderLineResponse]
    total: Money
    payment: PaymentShown
    # Set when ops were alerted about the order (money owed after retries, a compensation
    # that could not finish); null otherwise.
    attention: dict[str, Any] | None = None
    fulfillments: list[FulfillmentResponse]
    sourcing_reason: str | None
    returns: list[ReturnShown]
    history: list[HistoryEntryShown]
    # The worst of its parcels' (null without one).
    sla: ShipmentSla | None
    placed_at: str
    # Null for a store key bound to another store than the one that sold it (it acts as
    # the customer: ``Principal.sees_tracking_link``).
    tracking_url: str | None
    execution_arn: str | None
    # The price breakdown (POST /quotes' fields); null for orders placed before it.
    subtotal: Money | None = None
    discount: Money | None = None
    shipping: Money | None = None
    tax: OrderTaxResponse | None = None
    # Every tax the order holds, tax's first (a Canary parcel's IGIC, a Madrid pick-up's IVA).
    taxes: list[OrderTaxResponse] | None = None
    quote_id: str | None = None
    # The coupon redeemed and every promotion applied, each with what it took off.
    coupon: str | None = None
    promotions: list[OrderPromotion] | None = None

    @classmethod
    def from_order(
        cls,
        order: Order,
        tracking_url: str | None,
        sees_pickup_code_at: Callable[[str], bool] = lambda _location_id: False,
        now: datetime | None = None,
    ) -> "OrderResponse":
        """The API view of an order; each pick-up's code only where
        ``sees_pickup_code_at`` its store (store staff there and ops), none by default."""
        fulfillments = []
        worst: dict[str, str | None] | None = None
        for f in order.fulfillments:
            shipment = None
            if f.shipment is not None:
                sla = f.shipment.sla(now)
                if worst is None or sla_severity(sla) > sla_severity(worst):
                    worst = sla
                shipment = ShipmentResponse(
                    carrier=f.shipment.carrier,
                    service_level=f.shipment.service_level,
                    tracking_number=f.shipment.tracking_number,
                    tracking_url=f.shipment.tracking_url,
                    promised_by=f.shipment.shown_promise.isoformat(),
                    delivered_at=(
                        f.shipment.delivered_at.isoformat() if f.shipment.delivered_at else None
                    ),
                    sla=sla,
                    events=f.shipment.events,
                )
            fulfillments.append(
                FulfillmentResponse(
                    fulfillment_id=f.fulfillment_id,
                    type=f.type.value,
                    location_id=f.location_id,
                    status=f.status.value,
                    status_reason=f.status_reason.value if f.status_reason else None,
                    lines=[line.model_dump(mode="json") for line in f.lines],
                    shipment=shipment,
                    pickup_code=f.pickup_code if sees_pickup_code_at(f.location_id) else None,
                    pickup_deadline=f.pickup_deadline.isoformat() if f.pickup_deadline else None,
                    collect_from=f.collect_from.isoformat() if f.collect_from else None,
                )
            )
        return cls(
            order_id=order.order_id,
            status=order.status.value,
            status_reason=order.status_reason.value if order.status_reason else None,
            channel=order.channel.value,
            store_id=order.store_id,
            customer_id=order.customer_id,
            customer_unvouched=order.customer_unvouched,
            lines=[
                line.model_dump(mode="json", exclude={"discount"}) | line.discount_shown()
                for line in order.lines
            ],
            total=order.total,
            payment=payment_view(order),
            attention=order.attention.model_dump(mode="json") if order.attention else None,
            fulfillments=fulfillments,
            sourcing_reason=order.sourcing_reason,
            returns=[
                {
                    **r.model_dump(mode="json"),
                    "refund_status": return_refund_status(order, r.return_id),
                }
                for r in order.returns
            ],
            history=[h.model_dump(mode="json") for h in order.history],
            sla=worst,
            placed_at=order.placed_at.isoformat(),
            tracking_url=tracking_url,
            execution_arn=order.execution_arn,
            **_breakdown(order),
        )


# What only staff read of an order's payment: the gateway's id and the operations owed
# to it, with the gateway's own error text.
_STAFF_PAYMENT_FIELDS = ("payment_id", "owed")


def customer_view(seen: OrderResponse) -> OrderResponse:
    """What the tracking token's holder may read of the order, as a self-service action
    answers it: no staff note (a cancel's reason), ops' attention, sourcing, execution or
    dealings with the gateway (a probe read a staff-only cancel reason through the
    customer's own cancel, which answers again whenever asked)."""
    return seen.model_copy(
        update={
            "history": [
                {name: value for name, value in entry.items() if name != "note"}
                for entry in seen.history
            ],
            "attention": None,
            "sourcing_reason": None,
            "execution_arn": None,
            "customer_unvouched": False,
            "payment": {
                name: value
                for name, value in seen.payment.items()
                if name not in _STAFF_PAYMENT_FIELDS
            },
        }
    )


def _breakdown(order: Order) -> dict[str, Any]:
    pricing = order.pricing
    if pricing is None:
        return {}
    return pricing.shown() | {"tax": pricing.tax.shown(), "quote_id": pricing.quote_id}


class ReturnResponse(DeferredModel):
    """A return as created or received."""

    return_id: str
    order_id: str
    status: str
    refund: Money | None = None
    # Received: whether the refund went through at the gateway, or is owed and retried by
    # the sweeper (the gateway failed); ``refund`` is its amount either way.
    refund_status: Literal["refunded", "pending"] | None = None
    order_status: str | None = None

    @classmethod
    def opened(cls, created: OrderReturn, order_id: str) -> "ReturnResponse":
        """A return just asked for."""
        return cls(return_id=created.return_id, order_id=order_id, status=created.status.value)


class CarrierEventResponse(DeferredModel):
    """The acknowledgement a carrier gets."""

    event_id: str
    # applied: it changed what it tells; duplicate: its event_id was seen before (no
    # effect); ignored: no parcel of ours has its tracking number (ops are alerted).
    status: Literal["applied", "duplicate", "ignored"]
    reason: str | None = None
    order_status: OrderStatus | None = None


class ProductResponse(DeferredModel):
    """A catalogue entry."""

    sku: str
    name: str
    price: Money


class CatalogResponse(DeferredModel):
    """``GET /catalog``."""

    products: list[ProductResponse]


class LocationResponse(DeferredModel):
    """A store or warehouse."""

    location_id: str
    type: str
    name: str
    city: str
    pickup: bool
    ships: bool
    postal_code: str | None = None
    # Street and number: where a customer collects, and where a return by post is sent.
    address: str | None = None


class LocationsResponse(DeferredModel):
    """``GET /locations``."""

    locations: list[LocationResponse]


class StockAtLocation(DeferredModel):
    """One SKU at one location."""

    location_id: str
    type: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    ships: bool
    pickup: bool


class InventoryResponse(DeferredModel):
    """``GET /inventory/{sku}``."""

    sku: str
    available_to_promise: int
    on_hand: int
    reserved: int
    locations: list[StockAtLocation]


class CustomerResolutionResponse(DeferredModel):
    """``POST /customers``."""

    customer_id: str
    matched_by: IdentifierType | None
    created: bool


class ExecutionStateResponse(DeferredModel):
    """One state the execution went through."""

    state: str
    type: str
    entered: str | None
    exited: str | None


class ExecutionResponse(DeferredModel):
    """``GET /ops/orders/{order_id}/execution``."""

    order_id: str
    execution_arn: str
    status: str
    started_at: str | None
    stopped_at: str | None
    history: list[ExecutionStateResponse]
    console_url: str


class HealthResponse(DeferredModel):
    """``GET /health``."""

    status: str
    stage: str


class TrackedPromotion(DeferredModel):
    """A promotion as the customer's page names it."""

    name: str
    amount: Money


class TrackedPlace(DeferredModel):
    """A location as a customer finds it."""

    name: str
    address: str


class TrackedSendTo(TrackedPlace):
    """Where a return by post goes (the return id goes inside the parcel)."""

    location_id: str


class CarrierSaid(DeferredModel):
    """What the carrier last reported about a parcel."""

    type: str = Field(description="in_transit, out_for_delivery, delivered or exception")
    occurred_at: str


class TrackedShipment(DeferredModel):
    """A parcel as the customer's page shows it."""

    carrier: str
    tracking_number: str
    tracking_url: str
    promised_by: str
    sla: ShipmentSla
    last_event: CarrierSaid | None


class TrackedFulfillment(DeferredModel):
    """A part of the order as the customer's page shows it: a pick-up's code and deadline
    only while it waits in the store."""

    fulfillment_id: str
    type: FulfillmentType
    location_id: str
    location: TrackedPlace | None
    status: FulfillmentStatus
    status_reason: StatusReason | None
    lines: list[PartLine]
    pickup_code: str | None = None
    pickup_deadline: str | None = None
    # Made ready while its store was shut: when the store opens (else null).
    collect_from: str | None = None
    shipment: TrackedShipment | None


class TrackedReturn(DeferredModel):
    """A return as the customer's page lists it."""

    return_id: str
    status: ReturnStatus
    channel: Literal["store", "mail"]
    lines: list[PartLine]
    location_id: str | None
    requested_at: str
    received_at: str | None
    # Once the gateway made it; ``refund_status`` is ``pending`` while it is owed.
    refund: Money | None
    refund_status: Literal["refunded", "pending"] | None
    # By post, until received.
    send_to: TrackedSendTo | None


class TrackingResponse(DeferredModel):
    """``GET /track/{token}`` as JSON."""

    order_id: str
    status: str
    status_reason: str | None
    placed_at: str
    total: Money
    # The breakdown the HTML page shows (absent for orders priced before it was kept);
    # every tax, the one on top first, and each promotion by name with what it took off.
    subtotal: Money | None = None
    discount: Money | None = None
    shipping: Money | None = None
    tax: OrderTaxResponse | None = None
    taxes: list[OrderTaxResponse] | None = None
    promotions: list[TrackedPromotion] | None = None
    lines: list[TrackedLine]
    timeline: list[HistoryEntryShown]
    fulfillments: list[TrackedFulfillment]
    returns: list[TrackedReturn]
    # What the card saw besides the total: parts never handed over released from the
    # authorisation, and what was refunded (null when nothing).
    not_charged: Money | None = None
    refunded: Money | None = None
    # The signed satisfaction survey link, once the order was delivered.
    survey_url: str | None = None
    # What the customer may do now: a subset of cancel, return, ticket, pay, in page order.
    actions: list[Literal["cancel", "return", "ticket", "pay"]] = Field(default_factory=list)
    # Until when ``ticket`` is left out: the order's questions for a day were sent.
    tickets_paused_until: datetime | None = None
