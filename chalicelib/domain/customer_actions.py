"""What a customer may do now about their own order from its tracking page: cancel it,
return lines, ask a question or complain (a ticket), or pay again after a declined card.

Each rule is a pure function of the few facts it needs; ``facts_of`` reads those facts off
an order once, so the page, its JSON ``actions`` and the self-service routes agree."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import ActionNotAvailable
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import Payment
from chalicelib.domain.status_reasons import CARD_DECLINED_DETAIL

# The contract's 48 hours to pay again; services pass the scaled duration in.
PAYMENT_RETRY_WINDOW = timedelta(hours=48)
# Cards a customer may have declined after the first decline. A probe tried card after
# card through one rejected order's link (the link is the only credential): card testing,
# with one gateway authorisation and one rejection email for each. A checkout's few
# tries, then a new order. A gateway that did not answer declined no card (a re-probe:
# our outage used up the customer's tries), so it does not count.
MAX_PAYMENT_RETRIES = 3
# The history entry of an order reopened to be paid again.
PAID_AGAIN_DETAIL = "paying again after a declined card"

# Statuses an order can still be cancelled in: nothing has left a location yet.
CANCELLABLE_STATUSES = frozenset({"ACCEPTED", "PAID", "RESERVED", "READY_FOR_PICKUP"})
# Fulfillment statuses that mean goods were handed over (even if since lost or returned).
HANDED_OVER = frozenset({"SHIPPED", "DELIVERED", "RETURNED", "LOST"})


class CustomerAction(StrEnum):
    """The self-service actions of the customer's page, in the order the page shows them."""

    CANCEL = "cancel"
    RETURN = "return"
    TICKET = "ticket"
    PAY = "pay"


class ReturnableLine(DeferredModel):
    """Units of one SKU the customer may still send back."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    quantity: int = Field(gt=0)


class OrderFacts(DeferredModel):
    """What the customer's actions depend on, read off an order (``facts_of``)."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: str
    status_reason: str | None = None
    fulfillment_statuses: tuple[str, ...] = ()
    customer_id: str | None = None
    returnable: tuple[ReturnableLine, ...] = ()
    # None while the order is not delivered, or when no window is known (no limit).
    return_window_ends: datetime | None = None
    # When the order was first rejected (its time to pay again runs from then); None if
    # it never was.
    rejected_at: datetime | None = None
    # ``MAX_PAYMENT_RETRIES`` cards it was paid again with were declined: no other may
    # be tried (``payment_tries_used``).
    pay_tries_used: bool = False
    # The order holds as many returns as it can (``Order.room_for_a_return``).
    returns_full: bool = False


class PayWithdrawn(StrEnum):
    """Why paying again, within its window, is not offered after all: the page says so
    (the rejection email told the customer they could)."""

    OUT_OF_STOCK = "out_of_stock"  # a unit sold out since the decline
    PRICE_GONE = "price_gone"  # its coupon or promotion went to other orders since
    TRIES_USED = "tries_used"  # ``MAX_PAYMENT_RETRIES`` cards were declined as well


class CustomerActions(DeferredModel):
    """The actions possible now, with what the forms need: the lines still returnable and
    the deadlines to show."""

    actions: list[CustomerAction]
    returnable: list[ReturnableLine] = Field(default_factory=list)
    return_until: datetime | None = None
    pay_until: datetime | None = None
    pay_withdrawn: PayWithdrawn | None = None
    # When the time to pay again ran out, once it has: the page says so rather than only
    # dropping the form the rejection email pointed to (a probe).
    pay_ended: datetime | None = None
    # When the return window closed, once it has with units still unreturned: the page
    # and the delivered email had named the window (a probe saw the form just vanish).
    return_ended: datetime | None = None
    # Units are left to return, but the order holds as many returns as it can: the page
    # says to write to us (probe 202: it offered a return every request then refused).
    returns_full: bool = False
    # Until when the page's ticket form rests: the order's questions for a day were sent.
    tickets_paused_until: datetime | None = None

    def allows(self, action: CustomerAction) -> bool:
        """Whether ``action`` is possible now."""
        return action in self.actions

    def require(self, action: CustomerAction) -> None:
        """``ActionNotAvailable`` (409) unless ``action`` is possible now."""
        if not self.allows(action):
            # Named as every other refusal by the order's state is (found by a probe: the
            # problem's errors were empty).
            raise ActionNotAvailable(
                f"{action.value} is not possible for this order now", field="status"
            )

    def codes(self) -> list[str]:
        """The JSON form's ``"actions"``: the possible actions' codes, in page order."""
        return [action.value for action in self.actions]


def lines_left_to_return(order: Order) -> tuple[ReturnableLine, ...]:
    """Each product the order can still send back, named, with its units left."""
    names: dict[str, str] = {}
    for line in order.lines:
        names.setdefault(line.sku, line.name)
    return tuple(
        ReturnableLine(sku=sku, name=names.get(sku, sku), quantity=quantity)
        for sku, quantity in order.returnable_quantities().items()
        if quantity > 0
    )


def facts_of(order: Order, return_window: timedelta | None = None) -> OrderFacts:
    """The facts the actions depend on; ``return_window`` is the length to use for an order
    placed before the window became one of its terms (as ``Order.request_return`` does)."""
    ends = order.returns_window_ends
    delivered_at = order.delivered_at()
    if ends is None and return_window is not None and delivered_at is not None:
        ends = delivered_at + return_window
    returnable = lines_left_to_return(order)
    # The first decline starts the time to pay again: declining again does not extend it
    # (a probe kept an order, and its ended promotion's coupon, payable for weeks so).
    rejected_at = next((e.at for e in order.history if e.status is OrderStatus.REJECTED), None)
    return OrderFacts(
        order_id=order.order_id,
        status=order.status.value,
        status_reason=order.status_reason.value if order.status_reason else None,
        fulfillment_statuses=tuple(f.status.value for f in order.fulfillments),
        customer_id=order.customer_id,
        returnable=returnable,
        return_window_ends=ends if order.status is OrderStatus.DELIVERED else None,
        rejected_at=rejected_at,
        pay_tries_used=payment_tries_used(order.history),
        returns_full=not order.room_for_a_return(),
    )


def payment_tries_used(history: Iterable[HistoryEntry]) -> bool:
    """Whether ``MAX_PAYMENT_RETRIES`` times the order was paid again and the bank declined
    the new card (each reopening's rejection that followed it, when it was a decline): the
    page, the refusal and the last rejection email all read it here."""
    declined, reopened = 0, False
    for entry in history:
        if entry.status is OrderStatus.ACCEPTED and entry.detail == PAID_AGAIN_DETAIL:
            reopened = True
        elif entry.status is OrderStatus.REJECTED and reopened:
            declined += entry.detail == CARD_DECLINED_DETAIL
            reopened = False
    return declined >= MAX_PAYMENT_RETRIES


def can_cancel(status: str, fulfillment_statuses: Iterable[str]) -> bool:
    """Cancelling is possible until anything is shipped (or otherwise handed over)."""
    return status in CANCELLABLE_STATUSES and not any(
        s in HANDED_OVER for s in fulfillment_statuses
    )


def return_window_open(status: str, window_ends: datetime | None, now: datetime) -> bool:
    """The return window opens on delivery and ends at ``window_ends`` (that instant still
    counts); an order with no known end has no limit."""
    return status == "DELIVERED" and (window_ends is None or now <= window_ends)


def returnable_lines(facts: OrderFacts, now: datetime) -> list[ReturnableLine]:
    """The lines and quantities that can be asked back now: none outside the window."""
    if not return_window_open(facts.status, facts.return_window_ends, now):
        return []
    return list(facts.returnable)


def can_open_ticket(customer_id: str | None) -> bool:
    """A question or complaint goes on the customer's record: the order must have a known
    customer (an anonymous till receipt not yet claimed has none)."""
    return bool(customer_id)


def payment_retry_deadline(
    status: str, status_reason: str | None, rejected_at: datetime | None, window: timedelta
) -> datetime | None:
    """Until when the customer may pay again: ``window`` after a ``payment_declined``
    rejection; None for any other order."""
    if status != "REJECTED" or status_reason != "payment_declined" or rejected_at is None:
        return None
    return rejected_at + window


def can_pay_again(
    status: str,
    status_reason: str | None,
    rejected_at: datetime | None,
    now: datetime,
    window: timedelta,
) -> bool:
    """Paying again is possible within ``window`` of a ``payment_declined`` rejection (the
    last instant included)."""
    deadline = payment_retry_deadline(status, status_reason, rejected_at, window)
    return deadline is not None and now <= deadline


def available_actions(
    facts: OrderFacts, now: datetime, payment_retry_window: timedelta = PAYMENT_RETRY_WINDOW
) -> CustomerActions:
    """Every action possible now, in page order, with the returnable lines and deadlines."""
    actions: list[CustomerAction] = []
    if can_cancel(facts.status, facts.fulfillment_statuses):
        actions.append(CustomerAction.CANCEL)
    returnable = returnable_lines(facts, now)
    full = bool(returnable) and facts.returns_full
    if full:
        returnable = []
    if returnable:
        actions.append(CustomerAction.RETURN)
    if can_open_ticket(facts.customer_id):
        actions.append(CustomerAction.TICKET)
    pay_until = payment_retry_deadline(
        facts.status, facts.status_reason, facts.rejected_at, payment_retry_window
    )
    withdrawn = None
    if pay_until is not None and now <= pay_until:
        if facts.pay_tries_used:
            withdrawn = PayWithdrawn.TRIES_USED
        else:
            actions.append(CustomerAction.PAY)
    window_ends = facts.return_window_ends
    return_closed = (
        facts.status == "DELIVERED"
        and bool(facts.returnable)
        and window_ends is not None
        and now > window_ends
    )
    return CustomerActions(
        actions=actions,
        returnable=returnable,
        return_until=facts.return_window_ends if returnable else None,
        pay_until=pay_until if CustomerAction.PAY in actions else None,
        pay_withdrawn=withdrawn,
        pay_ended=pay_until if pay_until is not None and now > pay_until else None,
        return_ended=window_ends if return_closed else None,
        returns_full=full,
    )


def reopen_for_payment(
    order: Order,
    payment_token: str,
    at: datetime,
    window: timedelta = PAYMENT_RETRY_WINDOW,
) -> HistoryEntry:
    """The customer pays again after a declined card: the same order goes back to
    ``ACCEPTED`` with the new card token and no payment, ready for a new execution.
    ``ActionNotAvailable`` outside the window or for any other order."""
    facts = facts_of(order)
    if not can_pay_again(facts.status, facts.status_reason, facts.rejected_at, at, window):
        declined = payment_retry_deadline(
            facts.status, facts.status_reason, facts.rejected_at, window
        )
        raise ActionNotAvailable(
            f"order {order.order_id} is {facts.status}: only an order rejected for a declined "
            "card can be paid again"
            if declined is None
            else f"order {order.order_id} cannot be paid again: the time to pay again after "
            "its declined card has passed",
            field="payment",
        )
    if facts.pay_tries_used:
        raise ActionNotAvailable(
            f"order {order.order_id} cannot be paid again: {MAX_PAYMENT_RETRIES} more cards "
            "were declined for it; place a new order",
            field="payment",
        )
    # The one way back from REJECTED, so not in the forward-only transition table: the
    # order restarts its lifecycle; its history keeps the rejection.
    order.status = OrderStatus.ACCEPTED
    order.status_reason = None
    order.payment = Payment()
    order.payment_token = payment_token
    entry = HistoryEntry(status=OrderStatus.ACCEPTED, at=at, detail=PAID_AGAIN_DETAIL)
    order.history.append(entry)
    return entry
