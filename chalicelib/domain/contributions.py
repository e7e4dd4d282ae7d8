"""What an order adds to its customer's figures and to its campaign's revenue."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.domain.customers import OrderContribution, contribution_of
from chalicelib.domain.orders import Order


def order_contribution(order: Order) -> OrderContribution:
    """What the order adds to its customer's figures now (and to its campaign's revenue)."""
    return contribution_of(
        status=order.status.value,
        channel=order.channel.value,
        total=order.total.amount,
        # Counted once paid (authorised); what is never handed over is voided: the whole
        # order when it ends cancelled or rejected (not counted), else the part voided.
        captured=order.payment.authorized is not None,
        refunded=order.payment.refunded.amount if order.payment.refunded else Decimal(0),
        placed_at=order.placed_at,
        voided=order.payment.voided.amount if order.payment.voided else Decimal(0),
    )
