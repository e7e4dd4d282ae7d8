"""Parcels the carrier never confirms: past the promise the workflow keeps waiting through
the grace, then records the breach (apology, ticket, ops alert), waits on, and 30 days
(scaled) after the promise declares the parcel LOST, refunds it, emails the customer and
alerts ops. Only then does the wait end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.events import ParcelLost
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus
from chalicelib.domain.money import Money
from chalicelib.domain.orders import AttentionKind, Order
from chalicelib.domain.payments import OperationStatus
from chalicelib.domain.tickets import BY_LOST_PARCELS
from chalicelib.services import settlement
from chalicelib.services.alert_once import alert_once, resolve_stopped
from chalicelib.services.alerts import late_parcel_lost
from chalicelib.services.order_writes import Change, announce_delivered_again, mutate
from chalicelib.services.sla import (
    breach_once,
    check_overdue_shipments,
    lost_deadline,
    note_late_ticket,
    settle_parcel_problems,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def check_watched_shipments(deps: Deps) -> dict[str, int]:
    """The scheduled SLA check: breaches the workflow did not record, and parcels past their
    lost deadline whose execution no longer waits (``sla.check_overdue_shipments``): declared
    lost, or, declared already and their refund not yet done (the gateway failed), refunded
    and told now."""
    return check_overdue_shipments(deps, declare_lost)


def follow_up_late_shipment(order_id: str, fulfillment_id: str, deps: Deps) -> int | None:
    """A wait ran out. Returns how many seconds to keep waiting, or None when the workflow
    is done with this parcel (delivered, or declared lost and settled).

    At the promise: the grace begins and nobody is told yet (the parcel reads ``at_risk``;
    delivered within the grace, its delivery is its only email). At the end of the grace:
    the breach is recorded (apology, ticket, ops alert). At the lost deadline: the parcel is
    LOST."""
    order = deps.store.get_order(order_id)
    fulfillment = order.fulfillment(fulfillment_id)
    shipment = fulfillment.shipment
    if fulfillment.parcel_out() and shipment is not None:
        grace_left = (shipment.breaks_at - deps.clock()).total_seconds()
        if grace_left >= 1:
            return int(grace_left) + 1
    _, order = breach_once(order_id, fulfillment_id, deps, start=order)
    fulfillment = order.fulfillment(fulfillment_id)
    shipment = fulfillment.shipment
    if fulfillment.status is FulfillmentStatus.LOST:
        settle_lost_parcel(order_id, fulfillment_id, deps)  # a retry after a failed refund
        return None
    # The delivery's request may have died after its write, before telling the customer
    # or releasing this wait, and the carrier may never have sent it again.
    announce_delivered_again(deps, order, fulfillment_id)
    if fulfillment.status is not FulfillmentStatus.SHIPPED or shipment is None:
        return None
    lost_left = (lost_deadline(shipment.promised_by, deps) - deps.clock()).total_seconds()
    if lost_left >= 1:
        return int(lost_left) + 1
    declare_lost(order_id, fulfillment_id, deps)
    return None


def declare_lost(order_id: str, fulfillment_id: str, deps: Deps) -> Order:
    """Mark a still-unconfirmed parcel LOST (the other fulfillments set the order's status),
    then refund it, email the customer and alert ops; for a parcel LOST already whose
    refund failed, the refund, email and alert now (each once)."""
    now = deps.clock()
    nothing_left: list[bool] = []

    def decide(order: Order) -> Change | None:
        nothing_left.clear()
        fulfillment = order.fulfillment(fulfillment_id)
        if fulfillment.status is not FulfillmentStatus.SHIPPED:
            return None
        _, entry = order.lose_fulfillment(fulfillment_id, now)
        fulfillment.task_token = None
        stopped = order.attention and order.attention.kind is AttentionKind.WORKFLOW_STOPPED
        if stopped and order.nothing_left_to_carry_on():
            # Its execution was stopped and this was the last part on its way: a retry
            # would have nothing to carry on, so "retry it" goes (the refund is this
            # function's, below).
            order.attention = None
            nothing_left.append(True)
        # Its record closes as lost: the scorecard counts it late, not open past due.
        return Change(entry=entry, shipments=[fulfillment])

    written = mutate(deps, order_id, decide)
    if written.change is not None and nothing_left:
        note = "every parcel was declared lost and is refunded: nothing left to retry"
        resolve_stopped(order_id, "system:lost_parcels", note, deps)
    return settle_lost_parcel(order_id, fulfillment_id, deps)


def settle_lost_parcel(order_id: str, fulfillment_id: str, deps: Deps) -> Order:
    """Refund a LOST parcel, then tell the customer (``fulfillment.lost``, mailed) and ops.
    Safe to repeat: the refund is recorded once, the event is mailed once per id, ops are
    alerted once."""
    order = deps.store.get_order(order_id)
    if order.fulfillment(fulfillment_id).status is not FulfillmentStatus.LOST:
        return order
    order = _refund_lost_fulfillment(order, fulfillment_id, deps)
    fulfillment = order.fulfillment(fulfillment_id)
    refund = fulfillment.refunded or Money.zero(order.total.currency)
    shipment = fulfillment.shipment
    lost_at = shipment.lost_at if shipment and shipment.lost_at else deps.clock()
    facts = _parcel_facts(order, fulfillment, "parcel_lost") | {
        "refund": refund.model_dump(mode="json")
    }
    deps.events.publish(ParcelLost.of(order, fulfillment, refund, lost_at).message())
    alert_once(f"lost:{order_id}:{fulfillment_id}", f"parcel lost {order_id}", facts, deps)
    late_parcel_lost(order_id, fulfillment_id, deps)
    given_back = f"{refund.amount} {refund.currency}"
    note = f"The parcel was declared lost at {lost_at.isoformat()}; {given_back} was refunded."
    note_late_ticket(order_id, fulfillment_id, note, BY_LOST_PARCELS, deps)
    if shipment is not None:
        told = "the parcel was declared lost and refunded: see its parcel_lost alert"
        settle_parcel_problems(order_id, shipment, BY_LOST_PARCELS, told, note, deps)
    return order


def _refund_lost_fulfillment(order: Order, fulfillment_id: str, deps: Deps) -> Order:
    """Give back the lost parcel's captured value through the one settlement path:
    declaring it LOST recorded the refund owed (``<order>:<fulfillment>:refund``, in the same
    write), ``settle`` attempts it (a gateway failure raises, and the workflow retries the
    step). The amount given back is then kept on the fulfillment for the console and the
    customer's email."""
    settled = settlement.settle(order.order_id, deps, raise_if_owed=True)
    current = settled.order or deps.store.get_order(order.order_id)
    key = f"{order.order_id}:{fulfillment_id}:refund"
    done = next(
        (
            op.amount
            for op in current.payment.operations
            if op.key == key and op.status is OperationStatus.DONE
        ),
        Money.zero(current.total.currency),
    )

    done = done + _shipping_given_back_with(current, fulfillment_id)

    def record(latest: Order) -> Change | None:
        lost = latest.fulfillment(fulfillment_id)
        if lost.refunded is not None:
            return None
        lost.refunded = done
        # Its record leaves the watched shipments: nothing is left for the SLA check to do.
        return Change(shipments=[lost] if lost.shipment is not None else [])

    return mutate(deps, order.order_id, record).order


def _shipping_given_back_with(order: Order, fulfillment_id: str) -> Money:
    """The shipping fee given back because this parcel was lost (the last shipment kept,
    domain/settlement.py), so that the customer is told the whole amount: the fee is
    reported with one lost parcel only (one that reported it was refunded more than its
    goods)."""
    key = f"{order.order_id}:shipping:refund"
    fee = next(
        (
            op.amount
            for op in order.payment.operations
            if op.key == key and op.status is OperationStatus.DONE
        ),
        None,
    )
    if fee is None:
        return Money.zero(order.total.currency)
    for other in order.fulfillments:
        if other.fulfillment_id == fulfillment_id or other.refunded is None:
            continue
        if other.refunded.amount > order.fulfillment_value(other).amount:
            return Money.zero(order.total.currency)
    return fee


def _parcel_facts(order: Order, fulfillment: Fulfillment, kind: str) -> dict[str, Any]:
    shipment = fulfillment.shipment
    return {
        "kind": kind,
        "order_id": order.order_id,
        "fulfillment_id": fulfillment.fulfillment_id,
        "carrier": shipment.carrier if shipment else None,
        "tracking_number": shipment.tracking_number if shipment else None,
        "promised_by": shipment.promised_by.isoformat() if shipment else None,
    }
