"""Workflow steps about the money: authorising the total, and rejecting an order (its
stock released, its authorisation voided)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import (
    OrderCancelled,
    PaymentDeclined,
)
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentFailure, free_payment_id
from chalicelib.domain.status_reasons import (
    CARD_DECLINED_DETAIL,
    GATEWAY_SILENT_DETAIL,
    StatusReason,
    out_of_stock_detail,
)
from chalicelib.ports import StockChange
from chalicelib.services import settlement
from chalicelib.services.alert_once import alert_once, resolve_gateway_alerts
from chalicelib.services.availability import shortage_of
from chalicelib.services.order_writes import Change, Unchanged, announce_again, mutate
from chalicelib.services.ordering import ensure_not_cancelled
from chalicelib.services.step_models import (
    Empty,
    OrderStep,
    RejectOrderInput,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


# The gateway down (retried, then given up) is a payment that could not be authorised:
# API.md's ``payment_declined``, the cause kept in ``payment.failure``.
_REJECTION_REASONS = {
    "PaymentDeclined": (StatusReason.PAYMENT_DECLINED, PaymentFailure.DECLINED),
    "PaymentGatewayUnavailable": (
        StatusReason.PAYMENT_DECLINED,
        PaymentFailure.GATEWAY_UNAVAILABLE,
    ),
    "OutOfStock": (StatusReason.OUT_OF_STOCK, None),
}


def authorize_payment(step: OrderStep, deps: Deps) -> Empty:
    """ACCEPTED → PAID: the total is authorised, nothing is taken yet. An authorisation
    that lands after a cancel is voided at once."""
    order = deps.store.get_order(step.order_id)
    ensure_not_cancelled(order)
    if order.status is not OrderStatus.ACCEPTED:
        # A retried step: its first run may have died before announcing PAID.
        announce_again(deps, order, OrderStatus.PAID)
        settlement.settle(step.order_id, deps, raise_if_owed=True, start=order)
        return Empty()
    if order.total.amount == 0:
        # Nothing to take, so no card is asked (probe 202: a free order was rejected
        # because its card was declined, or the gateway was down). Its 0.00 operations are
        # done without the gateway, under an id of its own.
        payment_id = free_payment_id(order.order_id)
    else:
        try:
            payment_id = deps.payments.authorize(order.order_id, order.total, order.payment_token)
        except PaymentDeclined as exc:
            _record_decline(step.order_id, exc.payment_id, deps)
            raise
    now = deps.clock()

    def decide(current: Order) -> Change[bool] | Unchanged[bool]:
        """The result says whether the order was cancelled while paying."""
        if current.status is OrderStatus.CANCELLED:
            if current.payment.authorized is not None:
                return Unchanged(True)
            # Recorded with the void it calls for (the order ended): settled below.
            current.record_authorization(payment_id)
            return Change(result=True)
        if current.status is not OrderStatus.ACCEPTED:
            return Unchanged(False)
        return Change(entry=current.record_payment(payment_id, now), result=False)

    # Decided first on the order read above (refused if anybody wrote since, then read
    # again); the settlement starts from the order as this write left it.
    paid = mutate(deps, step.order_id, decide, start=order)
    settlement.settle(step.order_id, deps, raise_if_owed=True, start=paid.order)
    cancelled = paid.result
    if cancelled:
        raise OrderCancelled(f"order {step.order_id} was cancelled while paying")
    # Paid again after the gateway did not answer (probe 192: its alert stayed in "needs
    # attention" for a shipped order).
    resolve_gateway_alerts(paid.order, "system:payment", "the order was paid again since", deps)
    return Empty()


def _record_decline(order_id: str, payment_id: str | None, deps: Deps) -> None:
    """Keep the gateway's payment id of a declined authorisation on the order."""

    def decide(order: Order) -> Change | None:
        if order.status is not OrderStatus.ACCEPTED or payment_id is None:
            return None
        order.record_decline(payment_id)
        return Change()

    mutate(deps, order_id, decide)


def reject_order(step: RejectOrderInput, deps: Deps) -> Empty:
    """End the order REJECTED: release what was reserved and void the authorisation, in
    one path with every other void (``settlement``); a retried step voids nothing twice."""
    reason, failure = _REJECTION_REASONS.get(step.error, (StatusReason.OUT_OF_STOCK, None))
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        if order.status in _ENDED:
            return None
        released = StockChange.releasing(order.reserved_allocations())
        # What ran out, as the reservation that gave up noted it (probe 235: read again
        # here, a unit back meanwhile left the rejection naming nothing and wishing for
        # nothing), else read again (probe 224: the rejection said "not enough stock" of a
        # two-line order whose shirts were there). None named when the stock was there but
        # spread over too many places.
        short, wished = ([], {})
        if reason is StatusReason.OUT_OF_STOCK:
            short, wished = order.out_of_stock_skus, order.out_of_stock_wished
            if not short:
                short, wished = shortage_of(order.lines, deps)
        detail = {
            PaymentFailure.DECLINED: CARD_DECLINED_DETAIL,
            PaymentFailure.GATEWAY_UNAVAILABLE: GATEWAY_SILENT_DETAIL,
            None: out_of_stock_detail(short),
        }[failure]
        entry = order.reject(reason, now, detail, failure, short, wished)
        return Change(entry=entry, stock=released)

    written, order = settlement.write_then_settle(deps, step.order_id, decide, raise_if_owed=True)
    if written.change is None and order.status is OrderStatus.REJECTED:
        # A retried step: its first run may have died before announcing REJECTED, and the
        # customer would never learn why, nor get the link to pay again.
        announce_again(deps, order, OrderStatus.REJECTED)
    if failure is PaymentFailure.GATEWAY_UNAVAILABLE:
        # The customer was told; a payment gateway that does not answer is ops' to know
        # (a probe: the order was rejected with no alert).
        alert_once(
            f"gateway:{step.order_id}",
            f"payment gateway unavailable {step.order_id}",
            {"kind": "payment_gateway_unavailable", "order_id": step.order_id},
            deps,
        )
    return Empty()


_ENDED = (OrderStatus.REJECTED, OrderStatus.CANCELLED)
