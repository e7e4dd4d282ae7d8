"""Campaign figures kept from order events (domain/campaigns.py says what each adds): the
order is read for its attribution, its coupon's campaign, its customer and whether it
was paid before it ended; the increment is applied once per event id, so redelivered
events count nothing twice. ``GET /analytics/campaigns`` reads the counters, not orders."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignOrderEvent,
    CustomerKind,
    OrderEventKind,
    campaign_of,
    increments,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.order_status import OrderStatus
from chalicelib.ports import CustomerRecord
from chalicelib.services.event_reads import EventReads

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.orders import Order

_KINDS = {
    OrderStatus.ACCEPTED.value: OrderEventKind.PLACED,
    OrderStatus.PAID.value: OrderEventKind.PAID,
    OrderStatus.REJECTED.value: OrderEventKind.REJECTED,
    OrderStatus.CANCELLED.value: OrderEventKind.CANCELLED,
}


def _position(event_id: str) -> int:
    """The history position of a status event (its id is ``<order>:<nnn>:<STATUS>``)."""
    parts = event_id.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def _paid_before(order: Order, position: int) -> bool:
    """Whether the order was paid (authorised) since it was last accepted, before the
    history entry at ``position``: then a ``paid`` event counted its revenue."""
    paid = False
    for entry in order.history[: max(position - 1, 0)]:
        if entry.status is OrderStatus.ACCEPTED:
            paid = False
        elif entry.status is OrderStatus.PAID:
            paid = True
    return paid


def coupon_campaign(order: Order, deps: Deps) -> str | None:
    """The campaign of the coupon the order redeemed, if any."""
    pricing = order.pricing
    for taken in pricing.redemptions if pricing else []:
        if taken.code is None:
            continue
        try:
            campaign = deps.store.promotion(taken.promotion_id).promotion.campaign
        except NotFound:
            continue
        if campaign:
            return campaign
    return None


# Order summaries read per page while looking for an earlier purchase.
_SUMMARIES_PAGE = 25


def _bought_before(customer_id: str, order: Order, deps: Deps) -> bool:
    """Whether the customer's 360 holds a purchase placed before ``order``: an order
    paid and neither rejected nor cancelled (its summary's contribution counts), as the
    360's own figures count one. Summaries come oldest first, so the search stops at
    the first purchase or at ``order``'s own time."""
    placed = order.placed_at.isoformat()
    cursor: str | None = None
    while True:
        page, cursor = deps.customers.records(
            customer_id, CustomerRecord.ORDERS, limit=_SUMMARIES_PAGE, cursor=cursor
        )
        for summary in page:
            if str(summary.get("placed_at", "")) >= placed:
                return False
            if summary.get("order_id") != order.order_id and (
                (summary.get("contribution") or {}).get("counted")
            ):
                return True
        if cursor is None:
            return False


def _customer_kind(
    order: Order, deps: Deps, reads: EventReads
) -> tuple[CustomerKind | None, str | None]:
    """New when the customer bought nothing before this order (an earlier order
    declined or cancelled is no purchase: a probe saw such customers counted as
    returning while their 360 said prospect); anonymous: neither. And the customer
    (after merges)."""
    if order.customer_id is None:
        return None, None
    try:
        customer_id = reads.canonical_customer(order.customer_id)[0]
    except NotFound:
        return None, None
    kind = CustomerKind.RETURNING if _bought_before(customer_id, order, deps) else CustomerKind.NEW
    return kind, customer_id


def project_campaign_event(
    event: dict[str, Any], deps: Deps, reads: EventReads | None = None
) -> bool:
    """Apply one order event to its campaign's figures; True if it changed them.
    ``reads``: the delivery's shared reads."""
    if event.get("type") != "order.status_changed" or not event.get("order_id"):
        return False
    kind = _KINDS.get(str(event.get("status")))
    event_id = str(event.get("event_id", ""))
    position = _position(event_id)
    if kind is None or not position:
        return False
    if kind is OrderEventKind.PLACED and position != 1:
        return False  # accepted again after a declined card: counted when first placed
    reads = reads or EventReads(deps)
    order = reads.order(str(event["order_id"]))
    attribution = order.pricing.attribution if order.pricing else None
    from_coupon = coupon_campaign(order, deps)
    if campaign_of(attribution, from_coupon) is None:
        return False
    customer, customer_id = (
        _customer_kind(order, deps, reads) if kind is OrderEventKind.PLACED else (None, None)
    )
    increment = increments(
        CampaignOrderEvent(
            kind=kind,
            order_id=order.order_id,
            channel=order.channel.value,
            total=order.total.amount,
            customer=customer,
            customer_id=customer_id,
            attribution=attribution,
            coupon_campaign=from_coupon,
            was_paid=_paid_before(order, position),
        )
    )
    if increment is None:
        return False
    epoch = int(deps.clock().timestamp())
    return deps.store.apply_campaign_increment(event_id, increment, epoch)


def report(deps: Deps) -> list[CampaignCounters]:
    """Every campaign's figures, by name; revenue to the cent."""
    return [
        counters.model_copy(update={"revenue": counters.revenue.quantize(Decimal("0.01"))})
        for counters in deps.store.campaign_counters()
    ]
