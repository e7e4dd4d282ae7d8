"""The order, the aggregate root: its lines, fulfilments (``domain.fulfillments``), payment
(``domain.payments``), returns (``domain.returns``) and the status it may move to."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from chalicelib.domain.errors import (
    Conflict,
    InvalidTransition,
    OrderCancelled,
    Unprocessable,
)
from chalicelib.domain.fulfillments import (
    CLOSED_UNDELIVERED,
    FULFILLMENT_RANK,
    Fulfillment,
    FulfillmentLine,
    FulfillmentStatus,
    FulfillmentType,
    Shipment,
)
from chalicelib.domain.inventory import Allocation
from chalicelib.domain.money import Money
from chalicelib.domain.payments import Payment, PaymentStatus
from chalicelib.domain.returns import OrderReturn, ReturnLine, ReturnStatus
from chalicelib.domain.status_reasons import StatusReason


class Channel(StrEnum):
    """Where the customer placed the order."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    KIOSK = "kiosk"
    PHONE = "phone"


class OrderStatus(StrEnum):
    """The status a customer sees."""

    ACCEPTED = "ACCEPTED"
    PAID = "PAID"
    REJECTED = "REJECTED"
    RESERVED = "RESERVED"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"


# Forward only: a status may move to these and to nothing else.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.ACCEPTED: frozenset(
        {OrderStatus.PAID, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAID: frozenset(
        {OrderStatus.RESERVED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.RESERVED: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP, OrderStatus.CANCELLED}
    ),
    # SHIPPED and READY_FOR_PICKUP are the same step for mixed orders: either may follow
    # the other as fulfilments progress.
    OrderStatus.READY_FOR_PICKUP: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SHIPPED: frozenset({OrderStatus.READY_FOR_PICKUP, OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.RETURNED}),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.RETURNED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

CANCELLABLE = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.PAID, OrderStatus.RESERVED, OrderStatus.READY_FOR_PICKUP}
)


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """Whether ``current`` may move to ``new``."""
    return new in ALLOWED_TRANSITIONS[current]


class OrderLine(BaseModel):
    """A SKU, its catalogue price and how it reaches the customer."""

    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    fulfillment: FulfillmentType
    location_id: str | None = None


class Attention(BaseModel):
    """Something about the order a person must look at (money still owed after retries,
    a compensation that could not finish)."""

    kind: str
    detail: str
    at: datetime


class HistoryEntry(BaseModel):
    """One status change, as the customer and ops see it."""

    status: OrderStatus
    at: datetime
    detail: str


class ExecutionRetry(BaseModel):
    """Ops restarted the order's workflow: a new execution that resumes from the status
    the order had reached (Step Functions names are unique, and redrive is not local)."""

    attempt: int
    at: datetime
    by: str
    execution_arn: str
    previous_execution_arn: str
    previous_status: str
    resumed_from: OrderStatus
    reason: str | None = None
    idempotency_key: str | None = None


class Consent(BaseModel):
    """The terms the customer accepted with this order."""

    terms_version: str
    privacy_version: str
    accepted_at: datetime
    channel: Channel


class CustomerContact(BaseModel):
    """How to reach the customer about this order."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    locale: str = "es"


class ShippingAddress(BaseModel):
    """Where shipped lines go."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class Order(BaseModel):
    """An order and everything that happened to it. Methods decide; they do no I/O."""

    order_id: str
    status: OrderStatus = OrderStatus.ACCEPTED
    status_reason: StatusReason | None = None
    channel: Channel
    store_id: str | None = None
    # The API client that placed the order (orders belong to it); None before clients.
    client_id: str | None = None
    customer_id: str | None = None
    contact: CustomerContact
    lines: list[OrderLine]
    total: Money
    shipping_address: ShippingAddress | None = None
    payment_token: str
    payment: Payment = Field(default_factory=Payment)
    consent: Consent | None = None
    fulfillments: list[Fulfillment] = Field(default_factory=list)
    sourcing_reason: str | None = None
    returns: list[OrderReturn] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    execution_arn: str | None = None
    # Restarts by ops, oldest first; ``execution_arn`` names the newest execution.
    retries: list[ExecutionRetry] = Field(default_factory=list)
    # Anonymous store orders: the code on the receipt that lets the customer claim it.
    receipt_code: str | None = None
    placed_at: datetime
    version: int = 0
    # Task tokens of the execution's current waits; internal, never in the API.
    delivery_task_token: str | None = None
    returns_task_token: str | None = None
    # The return window's length, a term of sale fixed at placement (already scaled); the
    # window opens when the order becomes DELIVERED and ends this long after.
    return_window_seconds: int | None = None
    returns_window_ends: datetime | None = None
    # Set when ops were alerted about this order; None while nothing needs a person.
    attention: Attention | None = None

    def move_to(
        self,
        new: OrderStatus,
        at: datetime,
        detail: str,
        reason: StatusReason | None = None,
    ) -> HistoryEntry:
        """Change status if the lifecycle allows it, and record it in the history."""
        if not can_transition(self.status, new):
            raise InvalidTransition(f"order {self.order_id} is {self.status}, cannot become {new}")
        self.status = new
        if reason is not None:
            self.status_reason = reason
        if new is OrderStatus.DELIVERED and self.return_window_seconds is not None:
            self.returns_window_ends = at + timedelta(seconds=self.return_window_seconds)
        entry = HistoryEntry(status=new, at=at, detail=detail)
        self.history.append(entry)
        return entry

    def record_authorization(self, payment_id: str) -> None:
        """The gateway authorised the order total (nothing is taken yet)."""
        self.payment = self.payment.model_copy(
            update={
                "status": PaymentStatus.AUTHORIZED,
                "payment_id": payment_id,
                "authorized": self.total,
            }
        )

    def record_payment(self, payment_id: str, at: datetime) -> HistoryEntry:
        """The gateway authorised the total: the order is PAID."""
        self.record_authorization(payment_id)
        return self.move_to(OrderStatus.PAID, at, f"payment of {self.total.amount} authorised")

    def record_decline(self, payment_id: str | None) -> None:
        """The gateway declined the card; its payment id is kept where it gave one."""
        self.payment = Payment(status=PaymentStatus.DECLINED, payment_id=payment_id)

    def reject(self, reason: StatusReason, at: datetime, detail: str) -> HistoryEntry:
        """End the order unfulfilled for a business reason."""
        if reason is StatusReason.PAYMENT_DECLINED:
            self.payment = Payment(
                status=PaymentStatus.DECLINED, payment_id=self.payment.payment_id
            )
        elif reason is StatusReason.PAYMENT_UNAVAILABLE:
            self.payment = Payment(status=PaymentStatus.FAILED)
        return self.move_to(OrderStatus.REJECTED, at, detail, reason)

    def reserve(
        self, allocations: list[Allocation], sourcing_reason: str, at: datetime
    ) -> HistoryEntry:
        """Group the allocated units into fulfilments: one per pick-up store and one per
        ship-from location."""
        groups: dict[tuple[FulfillmentType, str], dict[str, int]] = {}
        # Units still to collect per (SKU, store): a store may also ship the same SKU, and
        # those units must travel rather than join the pick-up.
        pickup_left: dict[tuple[str, str | None], int] = {}
        for line in self.lines:
            if line.fulfillment is FulfillmentType.PICKUP:
                key = (line.sku, line.location_id)
                pickup_left[key] = pickup_left.get(key, 0) + line.quantity
        for allocation in allocations:
            key = (allocation.sku, allocation.location_id)
            collected = min(allocation.quantity, pickup_left.get(key, 0))
            if collected:
                pickup_left[key] -= collected
            for kind, quantity in (
                (FulfillmentType.PICKUP, collected),
                (FulfillmentType.SHIP, allocation.quantity - collected),
            ):
                if quantity:
                    lines = groups.setdefault((kind, allocation.location_id), {})
                    lines[allocation.sku] = lines.get(allocation.sku, 0) + quantity
        self.fulfillments = [
            Fulfillment(
                fulfillment_id=f"{self.order_id}-F{index}",
                type=kind,
                location_id=location_id,
                lines=[
                    FulfillmentLine(sku=sku, quantity=qty) for sku, qty in sorted(lines.items())
                ],
            )
            for index, ((kind, location_id), lines) in enumerate(sorted(groups.items()), start=1)
        ]
        self.sourcing_reason = sourcing_reason
        return self.move_to(OrderStatus.RESERVED, at, sourcing_reason)

    def reserved_allocations(self) -> list[Allocation]:
        """Units held for this order, by location (what a cancel releases)."""
        return [
            Allocation(sku=line.sku, location_id=f.location_id, quantity=line.quantity)
            for f in self.fulfillments
            if f.status in (FulfillmentStatus.PENDING, FulfillmentStatus.READY_FOR_PICKUP)
            for line in f.lines
        ]

    def fulfillment(self, fulfillment_id: str) -> Fulfillment:
        """One of this order's fulfilments."""
        for fulfillment in self.fulfillments:
            if fulfillment.fulfillment_id == fulfillment_id:
                return fulfillment
        raise Unprocessable(f"no fulfilment {fulfillment_id} on this order", field="fulfillment_id")

    def derived_status(self) -> OrderStatus | None:
        """The least advanced active fulfilment's status, as an order status; None when no
        fulfilment has started or all were cancelled or lost."""
        active = [f for f in self.fulfillments if f.status not in CLOSED_UNDELIVERED]
        if not active:
            return None
        lowest = min(FULFILLMENT_RANK[f.status.value] for f in active)
        if lowest == 0:
            return OrderStatus.RESERVED
        if lowest == 1:
            shipped = any(f.status is FulfillmentStatus.SHIPPED for f in active)
            return OrderStatus.SHIPPED if shipped else OrderStatus.READY_FOR_PICKUP
        if lowest == 2:
            return OrderStatus.DELIVERED
        return OrderStatus.RETURNED

    def sync_status(self, at: datetime, detail: str) -> HistoryEntry | None:
        """Move the order to its fulfilments' status if that changed."""
        derived = self.derived_status()
        if derived is None or derived is self.status or derived is OrderStatus.RESERVED:
            return None
        return self.move_to(derived, at, detail)

    def dispatch_shipment(
        self, fulfillment_id: str, shipment: Shipment, at: datetime
    ) -> HistoryEntry | None:
        """A ship fulfilment was handed to its carrier."""
        self._require_dispatchable()
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.PENDING:
            return None
        fulfillment.shipment = shipment
        fulfillment.status = FulfillmentStatus.SHIPPED
        return self.sync_status(
            at, f"shipped with {shipment.carrier}, tracking {shipment.tracking_number}"
        )

    def ready_for_pickup(
        self, fulfillment_id: str, pickup_code: str, deadline: datetime, at: datetime
    ) -> HistoryEntry | None:
        """A pick-up fulfilment is waiting at its store."""
        self._require_dispatchable()
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.PENDING:
            return None
        fulfillment.status = FulfillmentStatus.READY_FOR_PICKUP
        fulfillment.pickup_code = pickup_code
        fulfillment.pickup_deadline = deadline
        return self.sync_status(at, f"ready for pick-up at {fulfillment.location_id}")

    def _require_dispatchable(self) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise OrderCancelled(f"order {self.order_id} was cancelled")
        if self.status not in (
            OrderStatus.RESERVED,
            OrderStatus.SHIPPED,
            OrderStatus.READY_FOR_PICKUP,
        ):
            raise InvalidTransition(f"order {self.order_id} is {self.status}")

    def ship_fulfillments(self) -> list[Fulfillment]:
        """Fulfilments that go to a carrier."""
        return [f for f in self.fulfillments if f.type is FulfillmentType.SHIP]

    def fulfillment_by_tracking(self, carrier: str, tracking_number: str) -> Fulfillment:
        """The fulfilment a carrier's tracking number belongs to."""
        for fulfillment in self.fulfillments:
            shipment = fulfillment.shipment
            if (
                shipment
                and shipment.carrier == carrier
                and shipment.tracking_number == tracking_number
            ):
                return fulfillment
        raise Unprocessable(f"no shipment {tracking_number} on this order", field="tracking_number")

    def deliver(self, fulfillment_id: str, at: datetime) -> HistoryEntry | None:
        """A fulfilment reached the customer (delivered or collected); the order is
        DELIVERED once every active fulfilment is."""
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status is FulfillmentStatus.DELIVERED:
            return None
        if fulfillment.status not in (
            FulfillmentStatus.SHIPPED,
            FulfillmentStatus.READY_FOR_PICKUP,
        ):
            raise Conflict(
                f"fulfilment {fulfillment_id} is {fulfillment.status}", field="fulfillment_id"
            )
        fulfillment.status = FulfillmentStatus.DELIVERED
        if fulfillment.shipment is not None:
            fulfillment.shipment.delivered_at = at
            # A breach the workflow recorded stands: with scaled waits (local stack) the
            # wait can run out long before the wall-clock promise.
            late = (
                at > fulfillment.shipment.promised_by
                or fulfillment.shipment.breached_at is not None
            )
            fulfillment.shipment.sla_status = "late" if late else "met"
            detail = f"delivered by {fulfillment.shipment.carrier}"
        else:
            detail = f"collected at {fulfillment.location_id}"
        return self.sync_status(at, detail)

    def lose_fulfillment(
        self, fulfillment_id: str, at: datetime
    ) -> tuple[Money, HistoryEntry | None]:
        """A shipped parcel the carrier never confirmed is declared LOST: what its lines cost
        (owed back to the customer), and the order's new status if it changed (the other
        fulfilments decide it; with every parcel lost the order keeps its status)."""
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.SHIPPED or fulfillment.shipment is None:
            raise Conflict(
                f"fulfilment {fulfillment_id} is {fulfillment.status}", field="fulfillment_id"
            )
        fulfillment.status = FulfillmentStatus.LOST
        fulfillment.shipment.lost_at = at
        value = self.refund_for(
            [ReturnLine(sku=f.sku, quantity=f.quantity) for f in fulfillment.lines]
        )
        return value, self.sync_status(
            at, f"{fulfillment_id} lost by {fulfillment.shipment.carrier}"
        )

    def delivered_after_loss(self, fulfillment_id: str, at: datetime) -> bool:
        """The carrier reports a parcel delivered after it was declared LOST (and refunded):
        the delivery is recorded on the shipment, the fulfilment stays LOST (no status goes
        back), and ops must settle it with the customer. True the first time."""
        fulfillment = self.fulfillment(fulfillment_id)
        shipment = fulfillment.shipment
        if fulfillment.status is not FulfillmentStatus.LOST or shipment is None:
            return False
        if shipment.delivered_at is not None:
            return False
        shipment.delivered_at = at
        shipment.sla_status = "late"
        return True

    def release_waits(self) -> list[str]:
        """Every task token the execution is parked on for this order, cleared: a cancel
        ends those waits at once."""
        tokens = [f.task_token for f in self.fulfillments if f.task_token]
        tokens += [t for t in (self.delivery_task_token, self.returns_task_token) if t]
        for fulfillment in self.fulfillments:
            fulfillment.task_token = None
        self.delivery_task_token = None
        self.returns_task_token = None
        return tokens

    def delivered_at(self) -> datetime | None:
        """When the order became DELIVERED (its return window opens then)."""
        for entry in reversed(self.history):
            if entry.status is OrderStatus.DELIVERED:
                return entry.at
        return None

    def cancel_fulfillment(
        self, fulfillment_id: str, reason: StatusReason, at: datetime
    ) -> tuple[list[Allocation], Money, HistoryEntry | None]:
        """Cancel one fulfilment (an uncollected pick-up): what to release, the value that
        is no longer handed over (voided), and the order's new status if it changed."""
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status not in (
            FulfillmentStatus.PENDING,
            FulfillmentStatus.READY_FOR_PICKUP,
        ):
            raise Conflict(
                f"fulfilment {fulfillment_id} is {fulfillment.status}", field="fulfillment_id"
            )
        released = [
            Allocation(sku=line.sku, location_id=fulfillment.location_id, quantity=line.quantity)
            for line in fulfillment.lines
        ]
        refund = self.refund_for([ReturnLine(sku=a.sku, quantity=a.quantity) for a in released])
        fulfillment.status = FulfillmentStatus.CANCELLED
        fulfillment.status_reason = reason
        if all(f.status is FulfillmentStatus.CANCELLED for f in self.fulfillments):
            return (
                released,
                refund,
                self.move_to(OrderStatus.CANCELLED, at, f"{fulfillment_id} {reason.value}", reason),
            )
        return released, refund, self.sync_status(at, f"{fulfillment_id} {reason.value}")

    def cancel(self, at: datetime, reason: StatusReason, detail: str) -> HistoryEntry:
        """Cancel before anything left a location (409 afterwards)."""
        # Anything handed over (even if since lost or returned) can no longer be cancelled.
        dispatched = any(
            f.status
            in (
                FulfillmentStatus.SHIPPED,
                FulfillmentStatus.DELIVERED,
                FulfillmentStatus.RETURNED,
                FulfillmentStatus.LOST,
            )
            for f in self.fulfillments
        )
        if self.status not in CANCELLABLE or dispatched:
            raise Conflict(
                f"order {self.order_id} is {self.status} and can no longer be cancelled",
                field="status",
            )
        for fulfillment in self.fulfillments:
            fulfillment.status = FulfillmentStatus.CANCELLED
        return self.move_to(OrderStatus.CANCELLED, at, detail, reason)

    def kept_quantities(self) -> dict[str, int]:
        """Units per SKU the customer keeps: ordered, less cancelled and lost fulfilments (an
        uncollected pick-up or a lost parcel was refunded and never reached the customer)."""
        kept: dict[str, int] = {}
        for line in self.lines:
            kept[line.sku] = kept.get(line.sku, 0) + line.quantity
        for fulfillment in self.fulfillments:
            if fulfillment.status in CLOSED_UNDELIVERED:
                for fline in fulfillment.lines:
                    kept[fline.sku] = kept.get(fline.sku, 0) - fline.quantity
        return kept

    def returnable_quantities(self) -> dict[str, int]:
        """Units per SKU delivered and not yet asked back."""
        left = self.kept_quantities()
        for ret in self.returns:
            for rline in ret.lines:
                left[rline.sku] = left.get(rline.sku, 0) - rline.quantity
        return left

    def request_return(
        self,
        return_id: str,
        lines: list[ReturnLine],
        reason: str,
        channel: str,
        location_id: str | None,
        at: datetime,
        window: timedelta | None = None,
    ) -> OrderReturn:
        """Open a return within the return window (from delivery) for units that were
        delivered; ``window`` is the length to use when the order does not carry one."""
        if self.status is not OrderStatus.DELIVERED:
            raise Conflict(
                f"order {self.order_id} is {self.status}; only delivered orders can be returned",
                field="status",
            )
        ends = self.returns_window_ends
        delivered_at = self.delivered_at()
        if ends is None and window is not None and delivered_at is not None:
            ends = delivered_at + window  # placed before the window was a term of the order
        if ends is not None and at > ends:
            raise Conflict("the return window of this order has closed", field="status")
        left = self.returnable_quantities()
        for index, rline in enumerate(lines):
            if rline.sku not in left:
                raise Conflict(f"{rline.sku} is not on this order", field=f"lines.{index}.sku")
            if rline.quantity > left[rline.sku]:
                raise Conflict(
                    f"only {left[rline.sku]} of {rline.sku} can still be returned",
                    field=f"lines.{index}.quantity",
                )
            left[rline.sku] -= rline.quantity
        order_return = OrderReturn(
            return_id=return_id,
            lines=lines,
            reason=reason,
            channel=channel,
            location_id=location_id,
            requested_at=at,
        )
        self.returns.append(order_return)
        return order_return

    def refund_for(self, lines: list[ReturnLine]) -> Money:
        """What the returned units cost the customer."""
        prices = {line.sku: line.unit_price for line in self.lines}
        total = Money.zero(self.total.currency)
        for rline in lines:
            total = total + prices[rline.sku].times(rline.quantity)
        return total

    def receive_return(self, return_id: str, location_id: str, at: datetime) -> OrderReturn:
        """The goods of a return arrived at a location; the order is RETURNED once every
        unit is back."""
        order_return = next((r for r in self.returns if r.return_id == return_id), None)
        if order_return is None:
            raise Unprocessable(f"no return {return_id} on this order", field="return_id")
        if order_return.status is ReturnStatus.RECEIVED:
            raise Conflict(f"return {return_id} was already received", field="return_id")
        order_return.status = ReturnStatus.RECEIVED
        order_return.received_at = at
        order_return.location_id = location_id
        order_return.refund = self.refund_for(order_return.lines)
        return order_return

    def everything_returned(self) -> bool:
        """Whether every unit sold has come back."""
        received: dict[str, int] = {}
        for ret in self.returns:
            if ret.status is ReturnStatus.RECEIVED:
                for rline in ret.lines:
                    received[rline.sku] = received.get(rline.sku, 0) + rline.quantity
        return all(received.get(sku, 0) >= qty for sku, qty in self.kept_quantities().items())
