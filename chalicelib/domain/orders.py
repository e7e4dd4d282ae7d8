"""The order, the aggregate root: its lines, fulfillments (``domain.fulfillments``), payment
(``domain.payments``), returns (``domain.returns``) and the status it may move to."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from chalicelib.domain.catalog import Location
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import (
    Conflict,
    InvalidTransition,
    OrderCancelled,
    Unprocessable,
)
from chalicelib.domain.fulfillments import (
    CLOSED_UNDELIVERED,
    HANDED_OVER,
    HELD,
    Fulfillment,
    FulfillmentLine,  # also re-exported: callers build orders from this module
    FulfillmentStatus,
    FulfillmentType,
    Shipment,
    group_allocations,
)
from chalicelib.domain.inventory import Allocation
from chalicelib.domain.line_values import (
    cost_nothing,
    fulfillment_values,
    fulfillments_back,
    returned_value,
    units_taken,
)
from chalicelib.domain.money import Money
from chalicelib.domain.order_pricing import OrderPricing
from chalicelib.domain.order_status import (
    CANCELLABLE,
    HistoryEntry,
    OrderStatus,
    can_transition,
    status_of_fulfillments,
)
from chalicelib.domain.payments import Payment, PaymentFailure, PaymentStatus
from chalicelib.domain.placement import (
    Channel,
    Consent,
    CustomerContact,
    OrderLine,
    ShippingAddress,
)
from chalicelib.domain.regions import Destination, place_in_spain
from chalicelib.domain.returns import (
    MAX_RETURNS,
    RETURNS_BYTES,
    OrderReturn,
    ReturnLine,
    ReturnStatus,
    check_on_order,
    everything_back,
    mail_return_destination,
    open_return,
    post_destination,
    returnable,
    taken_bytes,
)
from chalicelib.domain.status_reasons import STAFF_CANCEL_CAUSES, StatusReason, rejection_cause


class AttentionKind(StrEnum):
    """Why a person must look at the order."""

    PAYMENT = "payment"  # money still owed after retries
    COMPENSATED = "compensated"  # a workflow step failed; the order was compensated
    COMPENSATION_FAILED = "compensation_failed"
    # The order's execution ended FAILED, TIMED_OUT or ABORTED before the order was at rest.
    WORKFLOW_STOPPED = "workflow_stopped"


class Attention(DeferredModel):
    """Something about the order a person must look at (money still owed after retries,
    a compensation that could not finish)."""

    kind: AttentionKind
    detail: str
    at: datetime


class ExecutionRetry(DeferredModel):
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
    # Other requests' Idempotency-Keys that asked for this same execution as it started
    # (an ops retry racing another, or a customer's pay-again), each with its reason: the
    # same key sent again answers this retry, as it first did (re-probe 269: 409).
    joined_keys: dict[str, str | None] = Field(default_factory=dict)

    def asked_with(self, idempotency_key: str) -> tuple[bool, str | None]:
        """Whether a request under ``idempotency_key`` asked for this retry, and with
        what reason."""
        if self.idempotency_key == idempotency_key:
            return True, self.reason
        if idempotency_key in self.joined_keys:
            return True, self.joined_keys[idempotency_key]
        return False, None


class Order(DeferredModel):
    """An order and everything that happened to it. Methods decide; they do no I/O."""

    order_id: str
    status: OrderStatus = OrderStatus.ACCEPTED
    status_reason: StatusReason | None = None
    channel: Channel
    store_id: str | None = None
    # The API client that placed the order (orders belong to it); None before clients.
    client_id: str | None = None
    customer_id: str | None = None
    # True when only identifiers merely attached to the customer's record (named next to
    # another, never proven nor founding it) led to it: whoever holds that record's token
    # may not be who placed this order, so the token's views leave it out.
    customer_unvouched: bool = False
    contact: CustomerContact
    # The contact's email or phone that another customer's record owned when the order
    # named it (the order went to the first identifier's owner), by field: that record's
    # erasure takes it off the order, even when it ran before the order was projected.
    contact_owned_by: dict[str, str] = Field(default_factory=dict)
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
    # The placing request's body, hashed (``domain.request_digests``): its Idempotency-Key
    # used again with another body is refused even once the key's record has run out.
    request_digest: str | None = None
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
    pricing: OrderPricing | None = None  # the engine's breakdown; None if placed before it
    # The SKUs an ``out_of_stock`` rejection found short, in line order (probe 224: the
    # customer was not told which product ran out); empty otherwise, and then not stored.
    out_of_stock_skus: list[str] = Field(default_factory=list)
    # Of those, the SKUs the web lacked too at that moment, with the units wanted: what the
    # rejection's email promises a notice of and its wish follows, read once (probe 231:
    # the two read the stock apart, and a unit back between them left a promise unkept).
    out_of_stock_wished: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _reason_of_the_contract(cls, data: object) -> object:
        """Orders rejected before the gateway's unavailability was a payment failure read
        as API.md's ``payment_declined``, the cause kept in ``payment.failure``."""
        if not isinstance(data, dict) or data.get("status_reason") != "payment_unavailable":
            return data
        fixed = data | {"status_reason": StatusReason.PAYMENT_DECLINED.value}
        failure = {"failure": PaymentFailure.GATEWAY_UNAVAILABLE.value}
        payment = data.get("payment")
        if isinstance(payment, dict):
            fixed["payment"] = payment | failure
        elif payment is None:
            fixed["payment"] = {"status": PaymentStatus.FAILED.value} | failure
        return fixed

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
        if new is OrderStatus.CANCELLED and self.payment.status is PaymentStatus.PENDING:
            # Nothing authorised: nothing will be (an authorisation landing after this is
            # voided at once); "PENDING" for good read as money still expected. Every way
            # an order is cancelled comes here (probe 169: one cancelled by the workflow's
            # compensation, stopped while the gateway was down, showed PENDING for good).
            self.payment = self.payment.model_copy(update={"status": PaymentStatus.CANCELLED})
        if new is OrderStatus.DELIVERED and self.return_window_seconds is not None:
            self.returns_window_ends = at + timedelta(seconds=self.return_window_seconds)
        entry = HistoryEntry(status=new, at=at, detail=detail)
        self.history.append(entry)
        return entry

    def destination(self) -> Destination | None:
        """Where the order's parcels go, when it is in Spain (its regional calendar)."""
        address = self.shipping_address
        return place_in_spain(address.country, address.postal_code) if address else None

    def reason_cause(self) -> str | None:
        """The status reason, told finer where the order knows more: a ``payment_declined``
        rejection whose gateway never answered is ``gateway_unavailable`` to the customer,
        and a cancel a store or customer service made is theirs, not the customer's."""
        if self.status_reason is None:
            return None
        if (
            self.status_reason is StatusReason.PAYMENT_DECLINED
            and self.payment.failure is PaymentFailure.GATEWAY_UNAVAILABLE
        ):
            return PaymentFailure.GATEWAY_UNAVAILABLE.value
        if self.status_reason is StatusReason.CUSTOMER_REQUEST:
            # A cancel by a store or customer service is told as theirs.
            ended = next(
                (e for e in reversed(self.history) if e.status is self.status and e.changes_status),
                None,
            )
            if ended is not None and ended.detail in STAFF_CANCEL_CAUSES:
                return STAFF_CANCEL_CAUSES[ended.detail]
        return self.status_reason.value

    def contents_of(self, part: Fulfillment) -> str:
        """The units and names a part holds (``1 × Gorra; 2 × Bolsa``); empty when it is
        the order's only part (the order's lines say it)."""
        return self.units_named(part.lines) if len(self.fulfillments) > 1 else ""

    def return_costs_nothing(self, returned: OrderReturn) -> bool:
        """Whether ``returned`` can give nothing back: every unit of its SKUs that reached
        the customer was charged nothing (``line_values.cost_nothing``)."""
        return cost_nothing(self.lines, self.fulfillments, returned.lines)

    def units_named(self, lines: Iterable[ReturnLine | FulfillmentLine]) -> str:
        """``lines`` (a part's, a return's) as people read them: ``1 × Gorra; 2 × Bolsa``."""
        names = {line.sku: line.name for line in self.lines}
        return "; ".join(f"{line.quantity} × {names.get(line.sku, line.sku)}" for line in lines)

    def out_of_stock_names(self) -> list[str]:
        """The catalogue names of the products a rejection for lack of stock found short,
        each once, in line order (two lines of one SKU name it once)."""
        short = set(self.out_of_stock_skus)
        return list(dict.fromkeys(line.name for line in self.lines if line.sku in short))

    def short_at_pickup_names(self) -> list[str]:
        """Of ``out_of_stock_names``, the products short only at the store they were to be
        collected from: the web had them (probe 232: a pick-up short at Valencia, with 250
        online, read as sold out everywhere)."""
        at_store = {
            line.sku
            for line in self.lines
            if line.fulfillment is FulfillmentType.PICKUP
            and line.sku in self.out_of_stock_skus
            and line.sku not in self.out_of_stock_wished
        }
        return list(dict.fromkeys(line.name for line in self.lines if line.sku in at_store))

    def step_causes(self) -> list[str | None]:
        """Each history entry's cause, for an ending (REJECTED, CANCELLED) that has one:
        the order's own ending says ``reason_cause``; a rejection the order was paid again
        after says the cause its entry recorded."""
        changes = [i for i, e in enumerate(self.history) if e.changes_status]
        last = changes[-1] if changes else -1
        causes: list[str | None] = []
        for index, entry in enumerate(self.history):
            if not entry.changes_status:
                causes.append(None)
            elif index == last and entry.status is self.status:
                causes.append(self.reason_cause())
            elif entry.status is OrderStatus.REJECTED:
                causes.append(rejection_cause(entry.detail))
            else:
                causes.append(None)
        return causes

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
        self.payment = Payment(
            status=PaymentStatus.DECLINED, payment_id=payment_id, failure=PaymentFailure.DECLINED
        )

    def reject(
        self,
        reason: StatusReason,
        at: datetime,
        detail: str,
        failure: PaymentFailure | None = None,
        short_skus: Sequence[str] = (),
        wished: Mapping[str, int] | None = None,
    ) -> HistoryEntry:
        """End the order unfulfilled for a business reason; a payment that could not be
        authorised says why in ``failure`` (declined unless told otherwise), a lack of
        stock which SKUs ran out in ``short_skus``, and which of them the web lacked too
        (``wished``: SKU to units wanted)."""
        if reason is StatusReason.OUT_OF_STOCK:
            self.note_shortage(short_skus, wished or {})
        if reason is StatusReason.PAYMENT_DECLINED:
            if failure is PaymentFailure.GATEWAY_UNAVAILABLE:
                self.payment = Payment(status=PaymentStatus.FAILED, failure=failure)
            else:
                self.payment = Payment(
                    status=PaymentStatus.DECLINED,
                    payment_id=self.payment.payment_id,
                    failure=PaymentFailure.DECLINED,
                )
        return self.move_to(OrderStatus.REJECTED, at, detail, reason)

    def note_shortage(self, short_skus: Sequence[str], wished: Mapping[str, int]) -> None:
        """Which SKUs the stock could not cover, and which of them the web lacked too, as
        the reservation that gave up found them: what its rejection says."""
        self.out_of_stock_skus = list(short_skus)
        self.out_of_stock_wished = dict(wished)

    def reserve(
        self, allocations: list[Allocation], sourcing_reason: str, at: datetime
    ) -> HistoryEntry:
        """Group the allocated units into fulfillments: one per pick-up store and one per
        ship-from location."""
        pickup_units: dict[tuple[str, str | None], int] = {}
        for line in self.lines:
            if line.fulfillment is FulfillmentType.PICKUP:
                key = (line.sku, line.location_id)
                pickup_units[key] = pickup_units.get(key, 0) + line.quantity
        self.fulfillments = group_allocations(self.order_id, pickup_units, allocations)
        self.sourcing_reason = sourcing_reason
        return self.move_to(OrderStatus.RESERVED, at, sourcing_reason)

    def reserved_allocations(self) -> list[Allocation]:
        """Units held for this order, by location (what a cancel releases)."""
        return [a for f in self.fulfillments if f.status in HELD for a in f.allocations()]

    def fulfillment(self, fulfillment_id: str) -> Fulfillment:
        """One of this order's fulfillments."""
        found = self.find_fulfillment(fulfillment_id)
        if found is None:
            raise Unprocessable(
                f"no fulfillment {fulfillment_id} on this order", field="fulfillment_id"
            )
        return found

    def find_fulfillment(self, fulfillment_id: str) -> Fulfillment | None:
        """One of this order's fulfillments, or None."""
        return next((f for f in self.fulfillments if f.fulfillment_id == fulfillment_id), None)

    def derived_status(self) -> OrderStatus | None:
        """The order status its fulfillments add up to (``status_of_fulfillments``)."""
        return status_of_fulfillments(self.fulfillments)

    def sync_status(self, at: datetime, detail: str) -> HistoryEntry | None:
        """Move the order to its fulfillments' status if that changed."""
        derived = self.derived_status()
        if derived is None or derived is self.status or derived is OrderStatus.RESERVED:
            return None
        return self.move_to(derived, at, detail)

    def _status_or_part(
        self, fulfillment_id: str, at: datetime, detail: str, part_detail: str
    ) -> HistoryEntry | None:
        """``sync_status`` after a part reached its end (delivered, collected, lost); when
        the order's status stays, the part's own entry (``part_detail``) is recorded
        instead, and None returned: nothing for the order's status to announce (the part's
        own event does)."""
        entry = self.sync_status(at, detail)
        if entry is None:
            self._part_entry(fulfillment_id, at, part_detail)
        return entry

    def parts_cancelled(
        self, fulfillment_ids: list[str], at: datetime, detail: str
    ) -> HistoryEntry | None:
        """``sync_status`` after parts were cancelled while the rest carries on (not
        collected, or a failed or stopped workflow's compensation); when the order's status
        stays, each part gets its own entry, saying why it was cancelled (a re-probe: a
        pick-up the compensation cancelled was in no entry)."""
        entry = self.sync_status(at, detail)
        if entry is None:
            for fulfillment_id in fulfillment_ids:
                why = self.fulfillment(fulfillment_id).status_reason
                said = f"{fulfillment_id} {why.value}" if why else f"{fulfillment_id} cancelled"
                self._part_entry(fulfillment_id, at, said)
        return entry

    def _part_entry(self, fulfillment_id: str, at: datetime, detail: str) -> None:
        """A part's own entry, under the order's status (``HistoryEntry.fulfillment_id``)."""
        part = HistoryEntry(status=self.status, at=at, detail=detail, fulfillment_id=fulfillment_id)
        self.history.append(part)

    def dispatch_shipment(
        self, fulfillment_id: str, shipment: Shipment, at: datetime
    ) -> HistoryEntry | None:
        """A ship fulfillment was handed to its carrier."""
        self._require_dispatchable()
        if not self.fulfillment(fulfillment_id).hand_to_carrier(shipment):
            return None
        return self.sync_status(at, self._handed_over())

    def ready_for_pickup(
        self,
        fulfillment_id: str,
        pickup_code: str,
        deadline: datetime,
        at: datetime,
        collect_from: datetime | None = None,
    ) -> HistoryEntry | None:
        """A pick-up fulfillment is waiting at its store (from ``collect_from`` when the
        store is shut at ``at``)."""
        self._require_dispatchable()
        fulfillment = self.fulfillment(fulfillment_id)
        if not fulfillment.wait_in_store(pickup_code, deadline, at, collect_from):
            return None
        return self.sync_status(at, self._handed_over())

    def _handed_over(self) -> str:
        """Every part handed over so far, one phrase each, for the entry that moves the
        order on: with several parts the order moves only with the last one, and a probe
        found a mixed order whose history said "ready for pick-up" and nothing of its
        parcel, booked a moment before."""
        phrases = []
        for part in self.fulfillments:
            moving = part.status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED)
            if part.shipment is not None and moving:
                shipment = part.shipment
                phrases.append(
                    f"shipped with {shipment.carrier}, tracking {shipment.tracking_number}"
                )
            elif part.status is FulfillmentStatus.READY_FOR_PICKUP:
                phrases.append(f"ready for pick-up at {part.location_id}")
            elif part.type is FulfillmentType.PICKUP and part.status is FulfillmentStatus.DELIVERED:
                phrases.append(f"collected at {part.location_id}")
        return "; ".join(phrases)

    def _require_dispatchable(self) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise OrderCancelled(f"order {self.order_id} was cancelled")
        if self.status not in (
            OrderStatus.RESERVED,
            OrderStatus.SHIPPED,
            OrderStatus.READY_FOR_PICKUP,
        ):
            raise InvalidTransition(f"order {self.order_id} is {self.status}")

    def fulfillment_by_tracking(self, carrier: str, tracking_number: str) -> Fulfillment:
        """The fulfillment a carrier's tracking number belongs to."""
        found = self.find_by_tracking(carrier, tracking_number)
        if found is None:
            raise Unprocessable(
                f"no shipment {tracking_number} on this order", field="tracking_number"
            )
        return found

    def may_still_dispatch(self, fulfillment_id: str) -> bool:
        """Whether a dispatch may still hand this fulfillment over: it waits, and the order
        was neither cancelled nor rejected."""
        waiting = self.find_fulfillment(fulfillment_id)
        return (
            waiting is not None
            and waiting.status is FulfillmentStatus.PENDING
            and self.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
        )

    def find_by_tracking(self, carrier: str, tracking_number: str) -> Fulfillment | None:
        """The fulfillment a carrier's tracking number belongs to, or None."""
        for fulfillment in self.fulfillments:
            shipment = fulfillment.shipment
            if (
                shipment
                and shipment.carrier == carrier
                and shipment.tracking_number == tracking_number
            ):
                return fulfillment
        return None

    def deliver(
        self, fulfillment_id: str, at: datetime, told_late: bool = False
    ) -> HistoryEntry | None:
        """A fulfillment reached the customer (delivered or collected); the order is
        DELIVERED once every active fulfillment is. ``told_late``: the carrier told of the
        delivery after the grace (``Shipment.record_delivery``)."""
        fulfillment = self.fulfillment(fulfillment_id)
        if fulfillment.status is FulfillmentStatus.DELIVERED:
            return None
        detail = fulfillment.reach_customer(at, told_late)
        # The part keeps the moment it reached the customer; the order's entry comes no
        # earlier than its last one, so its history stays in order (probe 200: a parcel
        # told after its sibling was recorded at the sibling's later moment, and late),
        # and after it when told later still: at the moment of another part's end, it
        # read as made by that end, whose email had said the rest was still on its way,
        # and no delivered email went (probe 217).
        last = self.history[-1].at if self.history else at
        entry_at = at if at >= last else last + timedelta(microseconds=1)
        return self._status_or_part(fulfillment_id, entry_at, detail, f"{fulfillment_id} {detail}")

    def lose_fulfillment(
        self, fulfillment_id: str, at: datetime
    ) -> tuple[Money, HistoryEntry | None]:
        """A shipped parcel the carrier never confirmed is declared LOST: what its lines cost
        (owed back to the customer), and the order's new status if it changed (the other
        fulfillments decide it; with every parcel lost the order keeps its status)."""
        fulfillment = self.fulfillment(fulfillment_id)
        shipment = fulfillment.declare_lost(at)
        lost = f"{fulfillment_id} lost by {shipment.carrier}"
        return self.fulfillment_value(fulfillment), self._status_or_part(
            fulfillment_id, at, lost, lost
        )

    def carrier_event_moment(
        self, fulfillment: Fulfillment, reported: datetime, now: datetime
    ) -> datetime:
        """The moment to record for a carrier's event on ``fulfillment``'s parcel: the
        reported one, never before the parcel left, never after ``now``. Other parts'
        changes do not move it (``deliver`` keeps the order's history in order)."""
        assert fulfillment.shipment is not None
        return fulfillment.shipment.event_moment(reported, now, fulfillment.shipment.shipped_at)

    def delivered_after_loss(self, fulfillment_id: str, at: datetime) -> bool:
        """A parcel declared LOST is reported delivered (``Fulfillment.delivered_after_loss``)."""
        return self.fulfillment(fulfillment_id).delivered_after_loss(at)

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

    def became_at(self, status: OrderStatus) -> datetime | None:
        """When the order last became ``status``, if it ever did."""
        return next(
            (e.at for e in reversed(self.history) if e.status is status and e.changes_status),
            None,
        )

    def delivered_at(self) -> datetime | None:
        """When the order became DELIVERED (its return window opens then)."""
        return self.became_at(OrderStatus.DELIVERED)

    def cancel_fulfillment(
        self, fulfillment_id: str, reason: StatusReason, at: datetime
    ) -> tuple[list[Allocation], Money, HistoryEntry | None]:
        """Cancel one fulfillment (an uncollected pick-up): what to release, the value that
        is no longer handed over (voided), and the order's new status if it changed."""
        fulfillment = self.fulfillment(fulfillment_id)
        released = fulfillment.cancel(reason, at)
        voided = self.fulfillment_value(fulfillment)
        detail = f"{fulfillment_id} {reason.value}"
        if all(f.status is FulfillmentStatus.CANCELLED for f in self.fulfillments):
            return released, voided, self.move_to(OrderStatus.CANCELLED, at, detail, reason)
        if self.status is OrderStatus.RESERVED and self.derived_status() is not None:
            # Another part was handed over while this one still waited (the order moves
            # with its last part): its entry says what was, and when that part already
            # reached the customer the order passes its hand-over on the way.
            if self.derived_status() is OrderStatus.DELIVERED:
                shipped = any(f.shipment is not None for f in self.fulfillments)
                handed = OrderStatus.SHIPPED if shipped else OrderStatus.READY_FOR_PICKUP
                self.move_to(handed, at, self._handed_over())
            else:
                detail = f"{self._handed_over()}; {detail}"
        return released, voided, self.parts_cancelled([fulfillment_id], at, detail)

    def cancel_refusal(self, payable_again: bool = False) -> str | None:
        """Why the order can no longer be cancelled, or None while it can.
        ``payable_again``: rejected for a declined card, it may still be paid again (and
        so be cancelled, which ends that)."""
        # Anything handed over (even if since lost or returned) can no longer be cancelled.
        dispatched = [f.fulfillment_id for f in self.fulfillments if f.status in HANDED_OVER]
        if self.status in CANCELLABLE and not dispatched:
            return None
        if self.status is OrderStatus.REJECTED and payable_again:
            return None
        # Say why when the status alone does not (a probe: a READY_FOR_PICKUP order with
        # a part already collected was refused "because" it is READY_FOR_PICKUP).
        why = f"; {', '.join(dispatched)} handed over already" if dispatched else ""
        return f"order {self.order_id} is {self.status} and can no longer be cancelled{why}"

    def cancel(
        self,
        at: datetime,
        reason: StatusReason,
        detail: str,
        note: str | None = None,
        payable_again: bool = False,
    ) -> HistoryEntry:
        """Cancel before anything left a location (409 afterwards); ``note`` is what the
        caller wrote, if anything; ``payable_again`` as ``cancel_refusal`` reads it."""
        refusal = self.cancel_refusal(payable_again)
        if refusal is not None:
            raise Conflict(refusal, field="status")
        for fulfillment in self.fulfillments:
            # Each part says why, as the order does; one cancelled before keeps its reason.
            if fulfillment.status is not FulfillmentStatus.CANCELLED:
                fulfillment.status = FulfillmentStatus.CANCELLED
                fulfillment.status_reason = reason
        if self.status is OrderStatus.REJECTED:
            # The other way out of REJECTED besides paying again, which it ends: so not in
            # the forward-only transition table. Nothing is held: the rejection released it.
            self.status, self.status_reason = OrderStatus.CANCELLED, reason
            entry = HistoryEntry(status=OrderStatus.CANCELLED, at=at, detail=detail)
            self.history.append(entry)
        else:
            entry = self.move_to(OrderStatus.CANCELLED, at, detail, reason)
        entry.note = note
        return entry

    def kept_quantities(self) -> dict[str, int]:
        """Units per SKU the customer keeps: ordered, less cancelled and lost fulfillments (an
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
        return returnable(self.kept_quantities(), self.returns)

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
        check_on_order(lines, {line.sku for line in self.lines})
        if self.status is not OrderStatus.DELIVERED:
            raise Conflict(
                f"order {self.order_id} is {self.status}; only delivered orders can be returned",
                field="status",
            )
        self._check_room_for_a_return(return_id, lines, reason)
        ends = self.returns_window_ends
        delivered_at = self.delivered_at()
        if ends is None and window is not None and delivered_at is not None:
            ends = delivered_at + window  # placed before the window was a term of the order
        order_return = open_return(
            return_id,
            lines,
            reason,
            channel,
            location_id,
            at,
            ends,
            self.returnable_quantities(),
        )
        self.returns.append(order_return)
        return order_return

    def room_for_a_return(self, asked_bytes: int = 200) -> bool:
        """Whether the order can hold one more return of ``asked_bytes`` (by default a
        short one, of one line): fewer than ``MAX_RETURNS``, and ``RETURNS_BYTES`` in all,
        counting for each return not yet received the most its receipt adds to it for
        where its units came from (``taken_bytes``), so that every return, received, fits."""
        held = sum(len(r.model_dump_json().encode()) for r in self.returns)
        held += sum(
            self._taken_bytes(r.lines) for r in self.returns if r.status is ReturnStatus.REQUESTED
        )
        return len(self.returns) < MAX_RETURNS and held + asked_bytes <= RETURNS_BYTES

    def _taken_bytes(self, lines: Sequence[ReturnLine]) -> int:
        """The most bytes receiving ``lines`` adds to their return (``taken_bytes``)."""
        carriers: dict[str, list[str]] = {}
        for fulfillment in self.fulfillments:
            if fulfillment.status not in CLOSED_UNDELIVERED:
                for fline in fulfillment.lines:
                    carriers.setdefault(fline.sku, []).append(fulfillment.fulfillment_id)
        return taken_bytes(lines, carriers)

    def _check_room_for_a_return(
        self, return_id: str, lines: list[ReturnLine], reason: str
    ) -> None:
        """409 once the order holds ``MAX_RETURNS`` returns, or returns of ``RETURNS_BYTES``
        in all: they are stored in the order's item, whose size is bounded, and the room
        left is for receiving them and refunding (probe 201: 93 returns of one unit with
        long reasons filled it, the next returns and receipts were 500s, and goods that
        came back could not be refunded)."""
        if len(self.returns) >= MAX_RETURNS:
            raise Conflict(
                f"order {self.order_id} has {MAX_RETURNS} returns, as many as one order "
                "holds; write to us about the rest",
                field="lines",
            )
        asked = len(reason.encode()) + sum(len(line.sku.encode()) + 32 for line in lines)
        asked += self._taken_bytes(lines)
        if not self.room_for_a_return(asked + len(return_id)):
            raise Conflict(
                f"order {self.order_id} holds as many returns as it can; write to us about "
                "the rest",
                field="lines",
            )

    def fulfillment_value(self, fulfillment: Fulfillment) -> Money:
        """What a fulfilment's units cost the customer, all in: the one place its money is
        counted (``domain.settlement`` owes it; see domain/line_values.py)."""
        values = fulfillment_values(self.lines, self.fulfillments, self.total.currency)
        return values[fulfillment.fulfillment_id]

    def mail_return_address(
        self, returned: OrderReturn, locations: Sequence[Location]
    ) -> Location | None:
        """Where this order's return by post is sent (``mail_return_destination``): its
        parcels left from the locations its shipments name."""
        return mail_return_destination(returned, self._shipped_from(returned.lines), locations)

    def post_destination(
        self, locations: Sequence[Location], lines: Sequence[ReturnLine] = ()
    ) -> Location | None:
        """Where a return by post of ``lines`` naming no location is sent
        (``post_destination``)."""
        return post_destination(None, self._shipped_from(lines), locations)

    def _shipped_from(self, lines: Sequence[ReturnLine] = ()) -> list[str]:
        """Where the order's parcels left from: the parcel that carried most of the units
        ``lines`` send back first (that stock's home: a probe's return of a parcel from
        Madrid was sent to the warehouse of the order's other parcel), then in order."""
        back = {line.sku: line.quantity for line in lines}
        parcels = [f for f in self.fulfillments if f.type is FulfillmentType.SHIP]

        def carried(part: Fulfillment) -> int:
            return sum(min(line.quantity, back.get(line.sku, 0)) for line in part.lines)

        return [f.location_id for f in sorted(parcels, key=carried, reverse=True)]

    def find_return(self, return_id: object) -> OrderReturn | None:
        """The order's return ``return_id``, or None."""
        return next((r for r in self.returns if r.return_id == return_id), None)

    def receive_return(self, return_id: str, location_id: str, at: datetime) -> OrderReturn:
        """The goods of a return arrived at a location, to be refunded (``close_returned``
        ends the order once every unit is back)."""
        order_return = self.find_return(return_id)
        if order_return is None:
            raise Unprocessable(f"no return {return_id} on this order", field="return_id")
        taken = units_taken(
            self.fulfillments, self.returns, order_return.lines, location_id, order_return.channel
        )
        refund = returned_value(
            self.lines, self.fulfillments, self.returns, taken, self.total.currency
        )
        order_return.receive(location_id, at, refund, taken)
        # A fulfilment whose every unit is back is RETURNED (the order, once all are).
        back = fulfillments_back(self.fulfillments, self.returns)
        for fulfillment in self.fulfillments:
            if (
                fulfillment.fulfillment_id in back
                and fulfillment.status is FulfillmentStatus.DELIVERED
            ):
                fulfillment.status = FulfillmentStatus.RETURNED
        return order_return

    def close_returned(self, at: datetime) -> HistoryEntry | None:
        """Once every unit delivered is back, the delivered fulfillments and the order are
        RETURNED: the new status, else None."""
        if self.status is not OrderStatus.DELIVERED or not self.everything_returned():
            return None
        for fulfillment in self.fulfillments:
            if fulfillment.status is FulfillmentStatus.DELIVERED:
                fulfillment.status = FulfillmentStatus.RETURNED
        # A part lost or never collected was refunded or voided, not returned: say so. The
        # refund is owed in this write and settled after it (a gateway down leaves it for the
        # sweeper: a probe read "refunded" with nothing refunded), so "recorded", not "done".
        never_received = any(f.status in CLOSED_UNDELIVERED for f in self.fulfillments)
        detail = (
            "every unit received returned, its refund recorded; the rest never reached the customer"
            if never_received
            else "every unit returned, its refund recorded"
        )
        return self.move_to(OrderStatus.RETURNED, at, detail)

    def nothing_left_to_carry_on(self) -> bool:
        """Whether no execution has anything left to do for the order: every part of it
        ended without reaching the customer (lost, cancelled), so no parcel is on its way
        and no return window opens (a stopped order whose only parcel was declared lost;
        probe 26B: "retry it" stayed, and a retry waited out a picking time for nothing)."""
        return bool(self.fulfillments) and all(
            f.status in CLOSED_UNDELIVERED for f in self.fulfillments
        )

    def everything_returned(self) -> bool:
        """Whether every unit sold has come back."""
        return everything_back(self.kept_quantities(), self.returns)
