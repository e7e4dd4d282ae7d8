"""The order's lifecycle: the statuses a customer sees, the moves between them, and the
status an order's fulfillments add up to."""

from datetime import datetime
from enum import StrEnum

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import (
    CLOSED_UNDELIVERED,
    FULFILLMENT_RANK,
    Fulfillment,
    FulfillmentStatus,
)


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
    # the other as fulfillments progress.
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
# Orders at rest: nothing is reserved, authorised or waited for any more.
AT_REST = (OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.RETURNED)


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """Whether ``current`` may move to ``new``."""
    return new in ALLOWED_TRANSITIONS[current]


class HistoryEntry(DeferredModel):
    """One status change, or a part's change that left the status as it was
    (``fulfillment_id``), as the customer and ops see it."""

    status: OrderStatus
    at: datetime
    detail: str
    # What the caller wrote with the change (a cancel's reason), kept apart from the
    # detail we write: it may be personal, and erasing the customer erases it.
    note: str | None = None
    # The part the entry is about when the order's status did not change with it (a
    # pick-up not collected or a parcel lost or delivered while other parts go on): the
    # history explains the order at rest (a probe: a voided pick-up was in no entry).
    # Such an entry keeps the order's status, and is announced by its part's own event.
    fulfillment_id: str | None = None

    @property
    def changes_status(self) -> bool:
        """Whether the order became ``status`` here (not a part's entry)."""
        return self.fulfillment_id is None


def status_of_fulfillments(fulfillments: list[Fulfillment]) -> OrderStatus | None:
    """The least advanced active fulfillment's status, as an order status; None when no
    fulfillment has started or all were cancelled or lost."""
    active = [f for f in fulfillments if f.status not in CLOSED_UNDELIVERED]
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
