"""What a customer does about their own order from its tracking page, authorised by the
tracking token alone: cancel, ask for a return, ask a question or complain, pay again after
a declined card. Each first asks ``domain.customer_actions`` whether the action is possible
now (409 otherwise), then reuses the service every other channel uses."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.customer_actions import (
    PAID_AGAIN_DETAIL,
    PAYMENT_RETRY_WINDOW,
    CustomerAction,
    CustomerActions,
    PayWithdrawn,
    available_actions,
    facts_of,
    reopen_for_payment,
)
from chalicelib.domain.errors import (
    ActionNotAvailable,
    CouponUsedUp,
    PromotionUsedUp,
    QuotePriceTaken,
    UnservableLines,
)
from chalicelib.domain.execution_names import payment_retry_name
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import ExecutionRetry, Order
from chalicelib.domain.placement import Channel
from chalicelib.domain.requests import ReturnAsked
from chalicelib.domain.returns import OrderReturn
from chalicelib.domain.tickets import Ticket, TicketType
from chalicelib.services import ordering, returns, tickets
from chalicelib.services.after_sale_records import order_customer, order_erased
from chalicelib.services.availability import refuse_unservable
from chalicelib.services.opportunities import subscribe_order_shortage
from chalicelib.services.order_writes import Change, Mutation, announce_again, mutate, publish
from chalicelib.services.ordering import workflow_input
from chalicelib.services.promotions import redemptions_free_again

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# Who the console says restarted the workflow when the customer pays again.
CUSTOMER = "customer"
# API Gateway ends a request at 29 s (the api_handler Lambda's timeout is 28 s): a
# payment retry written longer ago whose execution never started was written by a
# request that died; a younger one's request may still be about to start it. Real time,
# not scaled: it is how long a request lives, not a business wait.
REQUEST_LIFETIME = timedelta(seconds=30)
# Tickets opened through one order's page: each mails the customer and lands in the
# support queue, and the link is the only credential (probe 165 opened 40, 40 emails).
# Five per order, then a day's pause, in real time as the code lockouts are.
MAX_PAGE_TICKETS = 5
PAGE_TICKETS_PAUSE_SECONDS = 24 * 60 * 60


def actions_now(order: Order, deps: Deps, erased: bool | None = None) -> CustomerActions:
    """The actions possible now, with the scaled return and payment-retry windows.
    ``erased``: whether the order's customer was erased, when the caller read it already
    (``order_erased``)."""
    waits = deps.settings.waits
    facts = facts_of(order, timedelta(seconds=waits.return_window_seconds))
    if erased is None:
        erased = order_erased(order, deps)
    if erased:
        # Nothing new is written about an erased customer: no ticket, as for an order
        # without a customer.
        facts = facts.model_copy(update={"customer_id": None})
    actions = available_actions(facts, deps.clock(), waits.duration(PAYMENT_RETRY_WINDOW))
    if actions.allows(CustomerAction.PAY):
        # For an erased customer the order would be cancelled at once (nothing can be sent
        # to them): not offered. Otherwise not offered when paying would be refused, and
        # the page says why (the rejection email said they could).
        withdrawn = None if erased else _pay_withdrawn(order, deps)
        if erased or withdrawn is not None:
            actions.actions.remove(CustomerAction.PAY)
            actions.pay_until = None
            actions.pay_withdrawn = withdrawn
    return actions


def actions_shown(order: Order, deps: Deps, erased: bool | None = None) -> CustomerActions:
    """``actions_now`` as the page and its JSON offer them: no ticket form while the
    order's questions for a day were sent (the post would be 429; a re-probe saw the form
    offered all the same). One read of the order's ticket counter; the posts themselves
    are refused by the counter, so a form shown a moment late is still answered 429."""
    actions = actions_now(order, deps, erased)
    if actions.allows(CustomerAction.TICKET):
        paused = deps.access.lock_ends(_page_tickets_scope(order.order_id), deps.clock())
        if paused is not None:
            actions.actions.remove(CustomerAction.TICKET)
            actions.tickets_paused_until = paused
    return actions


def _page_tickets_scope(order_id: str) -> str:
    """The counter of the tickets sent from an order's page."""
    return f"page-tickets#{order_id}"


def _pay_withdrawn(order: Order, deps: Deps) -> PayWithdrawn | None:
    """Why ``pay_again`` would refuse the order now, read and never held: out of stock
    (its lines not covered), or at its price (its coupon or promotion went to others)."""
    try:
        refuse_unservable(order.lines, deps)
    except UnservableLines:
        return PayWithdrawn.OUT_OF_STOCK
    if not redemptions_free_again(order.pricing, deps):
        return PayWithdrawn.PRICE_GONE
    return None


def cancel(order: Order, deps: Deps, reason: str | None = None) -> Order:
    """Cancel before anything shipped; asking again once cancelled answers the same. The
    refusal names what was handed over, as the staff routes' does."""
    refusal = order.cancel_refusal()
    if order.status is not OrderStatus.CANCELLED and refusal is not None:
        raise ActionNotAvailable(refusal, field="status")
    return ordering.cancel_order(order.order_id, deps, reason, "cancelled by the customer")


def request_return(
    order: Order, request: ReturnAsked, deps: Deps, once: str | None = None
) -> OrderReturn:
    """Ask to send delivered units back, within the window. A return in store without a
    store named goes to the store the order came from or was collected at, if any, and
    otherwise to whichever store the customer takes it to. ``once``: the request's
    Idempotency-Key in its scope; the return it opened before is answered again (before
    the action is checked: that return may have been for every unit left)."""
    if once is not None:
        return_id = returns.return_id_for(once)
        opened = order.find_return(return_id)
        if opened is not None:
            return opened
    actions_now(order, deps).require(CustomerAction.RETURN)
    if request.channel == "store" and not request.location_id:
        store = order.store_id or next(
            (f.location_id for f in order.fulfillments if f.type.value == "pickup"), None
        )
        request = request.model_copy(update={"location_id": store})
    return returns.request_return(order.order_id, request, deps, any_store=True, once=once)


def ticket_id_for(order_id: str, once: str) -> str:
    """The ticket a customer's request opens (``once``: its Idempotency-Key in its scope,
    with its body): the same request finds the same ticket."""
    digest = hashlib.sha256(f"{order_id}\n{once}".encode("utf-8", "surrogatepass"))
    return f"tkt_{digest.hexdigest()[:16]}"


def open_ticket(
    order: Order,
    subject: str,
    description: str,
    type: TicketType,
    once: str | None,
    deps: Deps,
) -> Ticket:
    """A question or complaint on the customer's record, linked to this order; the same
    ``once`` (the request's Idempotency-Key in its scope, with its body) finds the same
    ticket, and without one each call opens another. The sixth new ticket of an order
    within its pause is 429 (``TooManyAttempts``)."""
    actions_now(order, deps).require(CustomerAction.TICKET)
    scope, now = _page_tickets_scope(order.order_id), deps.clock()
    opened = deps.access.begin_attempt(
        scope,
        now,
        MAX_PAGE_TICKETS,
        PAGE_TICKETS_PAUSE_SECONDS,
        "token",
        # Said as what it is, not as a guess (a re-probe read "too many attempts").
        locked=f"{MAX_PAGE_TICKETS} questions were sent from this order's page within a "
        "day; they will be answered, and more can be sent after Retry-After",
    )
    deps.access.attempt_failed(scope, opened, now, MAX_PAGE_TICKETS, PAGE_TICKETS_PAUSE_SECONDS)
    # On the record the order is for now (a split record's, for an order its proven
    # identifier alone brought to the record it was placed under).
    customer_id = order_customer(order, deps)[0]
    assert customer_id is not None  # the ticket action needs a known customer
    return tickets.open_ticket(
        customer_id,
        type,
        subject,
        description,
        order.order_id,
        # Written on the order's page, whatever channel the order came through (probe 230:
        # a phone order's read "phone", as if the customer had called).
        Channel.WEB.value,
        deps,
        ticket_id=ticket_id_for(order.order_id, once) if once else None,
    )


def pay_again(order_id: str, payment_token: str, deps: Deps) -> Order:
    """After a ``payment_declined`` rejection, within the (scaled) 48 hours: the same order
    goes back to ACCEPTED with the new card and on through a new execution of the same
    state machine, recorded on the order as a restart so that the console shows both.
    ``ActionNotAvailable`` (409) for any other order or after the window."""
    now = deps.clock()
    window = deps.settings.waits.duration(PAYMENT_RETRY_WINDOW)
    read = deps.store.get_order(order_id)
    unstarted = _payment_retry_not_started(read, deps)
    if unstarted is not None:
        if read.payment_token != payment_token and now - unstarted.at < REQUEST_LIFETIME:
            # Another request, maybe still alive, is starting it with its card (a probe:
            # both got 202, and one card was never tried). The same card is the same ask.
            raise _being_paid_with_another_card(order_id)
        return _start_payment_retry(read, unstarted, payment_token, deps)

    def decide(order: Order) -> Change[ExecutionRetry]:
        if order_erased(order, deps):
            # Nothing could be sent to them: the order would be cancelled at once, the card
            # held for nothing (``actions_now`` offers no ``pay`` either).
            raise ActionNotAvailable(
                f"order {order_id} cannot be paid again: its customer's data was erased",
                field="payment",
            )
        entry = reopen_for_payment(order, payment_token, now, window)
        # Goods gone since the decline: refused as POST /orders refuses them (409
        # out-of-stock), before the new card is authorised and voided for nothing.
        refuse_unservable(order.lines, deps)
        attempt = len(order.retries) + 1
        arn = deps.workflow.execution_arn(payment_retry_name(order_id, attempt))
        restart = ExecutionRetry(
            attempt=attempt,
            at=now,
            by=CUSTOMER,
            execution_arn=arn,
            previous_execution_arn=order.execution_arn or deps.workflow.execution_arn(order_id),
            previous_status="SUCCEEDED",  # the first execution ended in OrderRejected
            resumed_from=OrderStatus.REJECTED,
            reason=PAID_AGAIN_DETAIL,
        )
        order.retries.append(restart)
        order.execution_arn = arn
        return Change(entry=entry, result=restart)

    try:
        written = mutate(deps, order_id, decide, announce=False, start=read)
    except UnservableLines as refused:
        # As for an order refused at placement: told when what was missing is back.
        subscribe_order_shortage(deps.store.get_order(order_id), refused.short, deps)
        raise
    except (PromotionUsedUp, CouponUsedUp, QuotePriceTaken) as exc:
        # Its coupon or automatic promotion went to other orders since the decline (or its
        # quote's price to another order on the quote): named as what the customer sent
        # (probes read ``quote_id`` for an order that had no quote, and ``coupon`` for a
        # request that has none).
        raise ActionNotAvailable(
            f"order {order_id} cannot be paid again at its price: {exc.detail}",
            field="payment",
        ) from exc
    restart = written.result
    assert restart is not None  # the decision reopens the order, or raises
    # Written first, started second: an execution never runs for a still-rejected order.
    # Should the start fail, the order waits ACCEPTED and an ops retry carries it on.
    deps.workflow.start_named(
        payment_retry_name(order_id, restart.attempt), workflow_input(order_id, deps)
    )
    report_paid_again(deps, written)
    return written.order


def _payment_retry_not_started(order: Order, deps: Deps) -> ExecutionRetry | None:
    """The customer's payment retry the order records and whose execution was never
    started: the request that wrote it died before starting it (a Lambda stopped by its
    timeout), and the order would wait ACCEPTED for good, refusing to be paid again."""
    if order.status is not OrderStatus.ACCEPTED or not order.retries:
        return None
    retry = order.retries[-1]
    if (
        retry.by != CUSTOMER
        or retry.resumed_from is not OrderStatus.REJECTED
        or retry.execution_arn != order.execution_arn
        or deps.workflow.status(retry.execution_arn) is not None
    ):
        return None
    return retry


def _start_payment_retry(
    read: Order, retry: ExecutionRetry, payment_token: str, deps: Deps
) -> Order:
    """Start the execution of a payment retry written by a request that died (a second
    start of the same name is the same execution), with the card asked for now, and
    announce the order paid again under the first event's id. ``read``: the order as
    just read (``mutate``'s ``start``). The retry is taken over first, its time made now:
    a request taking it over later with another card is refused for a request's lifetime,
    as the dead request's was not."""
    order_id = read.order_id
    now = deps.clock()
    read_at = retry.at  # ``read`` is changed in place by the first decision

    def take_over(order: Order) -> Change | None:
        taken = order.retries[-1]
        if order.execution_arn != retry.execution_arn:
            return None
        if taken.at != read_at:  # another request took it over since it was read
            if order.payment_token == payment_token:
                return None  # the same ask
            raise _being_paid_with_another_card(order_id)
        order.payment_token = payment_token
        taken.at = now
        return Change()

    order = mutate(deps, order_id, take_over, start=read).order
    deps.workflow.start_named(
        payment_retry_name(order_id, retry.attempt), workflow_input(order_id, deps)
    )
    announce_again(deps, order, OrderStatus.ACCEPTED)
    return order


def _being_paid_with_another_card(order_id: str) -> ActionNotAvailable:
    return ActionNotAvailable(
        f"order {order_id} is already being paid again with another card; should that "
        "card be declined, this one can be used then",
        field="payment",
    )


def report_paid_again(deps: Deps, written: Mutation[ExecutionRetry]) -> None:
    """The one place a paid-again order is announced: the ``order.status_changed`` event
    to ACCEPTED with the detail ``PAID_AGAIN_DETAIL`` (its PAID one follows from the
    workflow, as for any order). Payment-retry opportunities convert on these."""
    if written.change is not None:
        publish(deps, written.order, written.change)
