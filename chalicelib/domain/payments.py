"""The order's payment: authorised once, then captured, voided and refunded operation by
operation, each keyed by its cause."""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money


class PaymentStatus(StrEnum):
    """Where the money is."""

    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    DECLINED = "DECLINED"
    FAILED = "FAILED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    # The order was cancelled before anything was authorised: nothing will be taken.
    CANCELLED = "CANCELLED"


class PaymentFailure(StrEnum):
    """Why the authorisation failed (the order's ``status_reason`` is ``payment_declined``
    either way)."""

    DECLINED = "declined"  # the card was declined
    GATEWAY_UNAVAILABLE = "gateway_unavailable"  # the gateway did not answer, retries spent


class PaymentOperationType(StrEnum):
    """What the gateway is asked to do with the authorised money."""

    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class OperationStatus(StrEnum):
    """An operation is recorded as owed before it is attempted, and done once the gateway
    confirmed it."""

    OWED = "owed"
    DONE = "done"


class PaymentOperation(DeferredModel):
    """One capture, void or refund, keyed by its cause (``<order>:<fulfillment>:capture``,
    ``<order>:<return>:refund``...): the key is the gateway's idempotency key, so one cause
    can move money once, however often it is attempted."""

    key: str
    type: PaymentOperationType
    amount: Money
    status: OperationStatus = OperationStatus.OWED
    recorded_at: datetime
    done_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    last_failed_at: datetime | None = None
    alerted: bool = False

    def due(self, now: datetime, retry_told_every: timedelta) -> bool:
        """Whether the sweep tries it now: at every sweep until ops are told it keeps
        failing, then once every ``retry_told_every`` (what needs a person is neither
        hammered at the gateway nor rewritten on the order every few minutes)."""
        if not self.alerted or self.last_failed_at is None:
            return True
        return now >= self.last_failed_at + retry_told_every


class Payment(DeferredModel):
    """The single payment of an order: authorised at order, captured per fulfillment at
    hand-over, the rest voided; refunds only of what was captured."""

    status: PaymentStatus = PaymentStatus.PENDING
    payment_id: str | None = None
    authorized: Money | None = None
    captured: Money | None = None
    refunded: Money | None = None
    voided: Money | None = None
    # Set when the authorisation failed: declined, or the gateway unavailable.
    failure: PaymentFailure | None = None
    operations: list[PaymentOperation] = Field(default_factory=list)
    # Whether the store keeps this order in its list of orders with money owed (the
    # sweeper's marker); internal.
    listed_as_owed: bool = False

    def owed(self) -> list[PaymentOperation]:
        """Operations recorded and not yet confirmed by the gateway."""
        return [op for op in self.operations if op.status is OperationStatus.OWED]

    def released(self) -> Money | None:
        """What will never be charged: voided, and the voids still owed (the gateway was
        down; the sweeper makes them). The customer's cancellation email counts both (a
        probe: with the void owed, it had no "not charged" row)."""
        owed = [op.amount for op in self.owed() if op.type is PaymentOperationType.VOID]
        if not owed:
            return self.voided
        return sum(owed, self.voided or Money.zero(owed[0].currency))

    def due_since(self, listed_since: datetime | None) -> datetime | None:
        """Where the order stands in the sweeper's list (longest waiting first) while it
        owes anything, given where it stood (``listed_since``, None when not listed): it
        keeps its place, from its first owed operation, until a try fails; then it goes
        behind those waiting since before that failure. Otherwise a page of orders the
        gateway refuses for good (an authorisation expired) would keep the head of the
        list, and every later order from a try (found by a review). None: owes nothing."""
        owed = self.owed()
        if not owed:
            return None
        since = listed_since or min(op.recorded_at for op in owed)
        failures = [op.last_failed_at for op in owed if op.last_failed_at is not None]
        return max([since, *failures])


FREE_PAYMENT_PREFIX = "free_"


def free_payment_id(order_id: str) -> str:
    """The payment id of an order of 0.00, which no gateway is asked about."""
    return f"{FREE_PAYMENT_PREFIX}{order_id}"


def order_of_free_payment(payment_id: str) -> str | None:
    """The order a 0.00 payment id names, or None for a gateway's payment id."""
    if payment_id.startswith(FREE_PAYMENT_PREFIX):
        return payment_id.removeprefix(FREE_PAYMENT_PREFIX)
    return None
