"""Money follows the goods: what the gateway must capture, void and refund, computed from
the order's own (versioned) state, never from who is asking.

Every operation is keyed by its cause: ``<order>:<fulfillment>:capture`` at hand-over,
``<order>:<fulfillment>:void`` for a part never handed over, ``<order>:order:void`` when
the order ends before anything was reserved, ``<order>:<return>:refund`` for a return
received, ``<order>:<fulfillment>:refund`` for a lost parcel, and ``<order>:shipping:*``
for the part of the total that is not lines (the shipping fee; it goes with the first
shipment). A cause happens once, so its key is derived once; a key already recorded is
never recorded again. That is why cancel, reject, not-collected, return and lost-parcel
can never pay out twice, whichever of them races which.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from chalicelib.domain.fulfillments import (
    HANDED_OVER,
    REACHED,
    Fulfillment,
    FulfillmentStatus,
    FulfillmentType,
)
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind, Order
from chalicelib.domain.payments import (
    OperationStatus,
    PaymentOperation,
    PaymentOperationType,
    PaymentStatus,
)
from chalicelib.domain.returns import ReturnStatus

ENDED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})
# Captures first (a refund needs the money captured), then voids, then refunds.
_ORDER = {
    PaymentOperationType.CAPTURE: 0,
    PaymentOperationType.VOID: 1,
    PaymentOperationType.REFUND: 2,
}
# Failed attempts of one operation before ops are told (the sandbox's flaky tokens fail
# twice, a real gateway's blips a few times: below this, retries handle it).
ALERT_AFTER_ATTEMPTS = 4
# Once ops are told, the sweep tries such an operation once an hour (scaled), not at
# every run: a workflow step or a new write that owes money still tries at once.
RETRY_TOLD_EVERY = timedelta(hours=1)

Wanted = tuple[str, PaymentOperationType, Money]


def _zero(order: Order) -> Money:
    return Money.zero(order.total.currency)


def fulfillment_value(order: Order, fulfillment: Fulfillment) -> Money:
    """What a fulfillment's lines cost the customer, all in (domain/line_values.py)."""
    return order.fulfillment_value(fulfillment)


def extra_value(order: Order) -> Money:
    """The part of the total that is not lines: the shipping fee with its tax on top."""
    lines = sum((line.charged or line.line_total for line in order.lines), _zero(order))
    extra = order.total - lines
    return extra if extra.amount > 0 else _zero(order)


def _extra_group(order: Order) -> list[Fulfillment]:
    """The fulfillments the shipping fee travels with: the shipments, or every fulfillment
    of an order without one."""
    ships = [f for f in order.fulfillments if f.type is FulfillmentType.SHIP]
    return ships or list(order.fulfillments)


def _shipping_given_back(order: Order, group: list[Fulfillment]) -> bool:
    """The shipping fee goes back only when no shipment can reach the customer any more
    and none did: each one lost (the retailer's failure) or never handed over. Once a
    shipment was delivered the fee is kept, whatever comes back afterwards (API.md, "The
    books always balance": the customer keeps "shipping if any shipment was delivered"),
    so a return, even of the whole order, refunds the goods and never the fee."""
    if any(f.status in REACHED for f in group):
        return False
    return all(f.status is FulfillmentStatus.LOST or _dead(order, f) for f in group)


def _dead(order: Order, fulfillment: Fulfillment) -> bool:
    """Never to be handed over: cancelled, or left behind by an order that ended."""
    if fulfillment.status is FulfillmentStatus.CANCELLED:
        return True
    return order.status in ENDED and fulfillment.status not in HANDED_OVER


def wanted_operations(order: Order) -> list[Wanted]:
    """Every capture, void and refund the order's state calls for, by key: those that move
    money (one of 0.00 is never asked of the gateway; it counts as done, ``_account``)."""
    return [w for w in _wanted(order) if w[2].amount > 0]


def _free_kinds(order: Order) -> set[PaymentOperationType]:
    """The kinds of the 0.00 operations the state of an order of 0.00 calls for. An order
    with money reads its status from what the gateway confirmed, as before: a free part
    handed over must not make it read CAPTURED while its captures are still owed."""
    authorized = order.payment.authorized
    if authorized is None or authorized.amount > 0:
        return set()
    return {kind for _, kind, amount in _wanted(order) if amount.amount == 0}


def _wanted(order: Order) -> list[Wanted]:
    """Every operation the order's state calls for, 0.00 ones included."""
    payment = order.payment
    if payment.authorized is None or payment.payment_id is None:
        return []
    oid = order.order_id
    wanted: list[Wanted] = []
    if not order.fulfillments:
        if order.status in ENDED:
            wanted.append((f"{oid}:order:void", PaymentOperationType.VOID, payment.authorized))
        return wanted
    for f in order.fulfillments:
        value = fulfillment_value(order, f)
        if f.status in HANDED_OVER:
            wanted.append(
                (f"{oid}:{f.fulfillment_id}:capture", PaymentOperationType.CAPTURE, value)
            )
        elif _dead(order, f):
            wanted.append((f"{oid}:{f.fulfillment_id}:void", PaymentOperationType.VOID, value))
        if f.status is FulfillmentStatus.LOST:
            wanted.append((f"{oid}:{f.fulfillment_id}:refund", PaymentOperationType.REFUND, value))
    extra = extra_value(order)
    if extra.amount > 0:
        group = _extra_group(order)
        handed = [f for f in group if f.status in HANDED_OVER]
        if handed:
            wanted.append((f"{oid}:shipping:capture", PaymentOperationType.CAPTURE, extra))
            if _shipping_given_back(order, group):
                wanted.append((f"{oid}:shipping:refund", PaymentOperationType.REFUND, extra))
        elif all(_dead(order, f) for f in group):
            wanted.append((f"{oid}:shipping:void", PaymentOperationType.VOID, extra))
    for ret in order.returns:
        if ret.status is ReturnStatus.RECEIVED and ret.refund is not None:
            wanted.append(
                (return_refund_key(oid, ret.return_id), PaymentOperationType.REFUND, ret.refund)
            )
    return wanted


def record_owed(order: Order, at: datetime) -> list[PaymentOperation]:
    """Record, as owed, every operation the state calls for that is not recorded yet; the
    caller writes them in the same conditional write as the change that caused them."""
    known = {op.key for op in order.payment.operations}
    new = [
        PaymentOperation(key=key, type=kind, amount=amount, recorded_at=at)
        for key, kind, amount in wanted_operations(order)
        if key not in known
    ]
    if new:
        order.payment.operations = order.payment.operations + new
    if _free_kinds(order):
        _account(order)  # a 0.00 operation is done as soon as it is wanted
    return new


def owed_in_order(order: Order) -> list[PaymentOperation]:
    """Owed operations in the order they must be attempted."""
    return sorted(order.payment.owed(), key=lambda op: (_ORDER[op.type], op.recorded_at, op.key))


def _sum(order: Order, kind: PaymentOperationType) -> Money:
    done = [
        op.amount
        for op in order.payment.operations
        if op.type is kind and op.status is OperationStatus.DONE
    ]
    return sum(done, _zero(order))


def confirm(order: Order, key: str, at: datetime) -> bool:
    """The gateway confirmed an operation: mark it done and recompute the payment's
    totals and status. False if it was done already."""
    op = next((o for o in order.payment.operations if o.key == key), None)
    if op is None or op.status is OperationStatus.DONE:
        return False
    op.status = OperationStatus.DONE
    op.done_at = at
    _account(order)
    payment = order.payment
    if (
        not payment.owed()
        and order.attention is not None
        and order.attention.kind is AttentionKind.PAYMENT
    ):
        order.attention = None  # what ops were told about is settled now
    return True


def _account(order: Order) -> None:
    """The payment's totals and status from the operations done, where a 0.00 operation
    the state calls for counts as done at once: it moves nothing, so the gateway is never
    asked. An order of 0.00 (a 100 % coupon) owes only such operations, and its payment
    read AUTHORIZED for good, cancelled or returned, counted in open authorisations (a
    tester's finding); it now reads as any other order's would. Kinds decide, amounts
    only where they tell more: a 0.00 refund beside money kept captured (a shipping fee)
    refunds nothing."""
    payment = order.payment
    done = {op.type for op in payment.operations if op.status is OperationStatus.DONE}
    done |= _free_kinds(order)
    payment.captured = _sum(order, PaymentOperationType.CAPTURE)
    payment.voided = _sum(order, PaymentOperationType.VOID)
    payment.refunded = _sum(order, PaymentOperationType.REFUND)
    if PaymentOperationType.REFUND in done and payment.refunded.amount >= payment.captured.amount:
        payment.status = PaymentStatus.REFUNDED
    elif payment.refunded.amount > 0:
        payment.status = PaymentStatus.PARTIALLY_REFUNDED
    elif PaymentOperationType.CAPTURE in done:
        payment.status = PaymentStatus.CAPTURED
    elif (
        PaymentOperationType.VOID in done
        and payment.authorized is not None
        and payment.voided.amount >= payment.authorized.amount
    ):
        payment.status = PaymentStatus.VOIDED


def record_failure(order: Order, key: str, error: str, at: datetime) -> bool:
    """An attempt failed; True when ops must be told now (once per operation)."""
    op = next((o for o in order.payment.operations if o.key == key), None)
    if op is None or op.status is OperationStatus.DONE:
        return False
    op.attempts += 1
    op.last_error = error[:300]
    op.last_failed_at = at
    if op.attempts >= ALERT_AFTER_ATTEMPTS and not op.alerted:
        op.alerted = True
        order.attention = Attention(
            kind=AttentionKind.PAYMENT,
            detail=f"{op.type.value} {op.key} of {op.amount.amount} still owed after "
            f"{op.attempts} attempts: {op.last_error}",
            at=at,
        )
        return True
    return False


def kept_value(order: Order) -> Money:
    """What the customer keeps: lines delivered less what was refunded for returns, plus
    the shipping fee if any shipment was handed over and the fee was not given back (it
    is kept once a shipment was delivered, ``_shipping_given_back``)."""
    reached = [f for f in order.fulfillments if f.status in REACHED]
    kept = sum((order.fulfillment_value(f) for f in reached), _zero(order))
    for ret in order.returns:
        if ret.status is ReturnStatus.RECEIVED and ret.refund is not None:
            kept = kept - ret.refund
    group = _extra_group(order)
    handed = any(f.status in HANDED_OVER for f in group)
    if handed and not _shipping_given_back(order, group):
        kept = kept + extra_value(order)
    return kept


def return_refund_key(order_id: str, return_id: str) -> str:
    """The key (the gateway's idempotency key) of a received return's refund."""
    return f"{order_id}:{return_id}:refund"


def return_refund_status(order: Order, return_id: str) -> Literal["refunded", "pending"] | None:
    """Whether a received return's refund went through at the gateway (``refunded``) or is
    owed, retried by the sweeper (``pending``); None when it refunds nothing."""
    key = return_refund_key(order.order_id, return_id)
    for operation in order.payment.operations:
        if operation.key == key:
            return "refunded" if operation.status is OperationStatus.DONE else "pending"
    return None
