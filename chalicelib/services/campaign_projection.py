"""Campaign figures kept from order events (domain/campaigns.py says what each adds): the
order is read for its attribution, its coupon's campaign and its customer. The placed
order's counts are applied once per event id, so redelivered events count nothing twice;
its revenue share is set from the order as it is now, after any event that can move it
(a status, a void, a refund, a lost parcel), and the counters move by the difference.
``GET /analytics/campaigns`` reads the counters, not orders."""

from __future__ import annotations

from datetime import datetime
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
from chalicelib.domain.contributions import order_contribution
from chalicelib.domain.errors import ConcurrentModification, NotFound
from chalicelib.domain.order_status import OrderStatus
from chalicelib.ports import CustomerRecord
from chalicelib.services.event_reads import EventReads

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.orders import Order

# What can move an order's revenue share: a status that pays or ends it (accepted again
# after a declined card, paid, rejected, cancelled), and the gateway's confirmation of a
# void or a refund, which settlement publishes in the write that records it (a part not
# collected or cancelled, a lost parcel, a return). Other events are not read for it.
_MONEY_STATUSES = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.PAID, OrderStatus.REJECTED, OrderStatus.CANCELLED}
)
_MONEY_EVENTS = frozenset({"payment.void", "payment.refund"})
# Attempts at the share's conditional write before the delivery fails (and is retried).
_SHARE_ATTEMPTS = 5


def _position(event_id: str) -> int:
    """The history position of a status event (its id is ``<order>:<nnn>:<STATUS>``)."""
    parts = event_id.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def coupon_campaign(order: Order, deps: Deps, automatic: bool = False) -> str | None:
    """The campaign of the coupon the order redeemed, if any (``automatic``: of the
    automatic promotion it got instead)."""
    pricing = order.pricing
    for taken in pricing.redemptions if pricing else []:
        if (taken.code is None) is not automatic:
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


def _bought_before(customer_id: str, placed_at: datetime, deps: Deps) -> bool:
    """Whether the customer's 360 holds a purchase placed before ``placed_at``: an order
    paid and neither rejected nor cancelled (its summary's contribution counts), as the
    360's own figures count one. Summaries come oldest first, so the search stops at
    the first purchase or at ``placed_at``."""
    placed = placed_at.isoformat()
    cursor: str | None = None
    while True:
        page, cursor = deps.customers.records(
            customer_id, CustomerRecord.ORDERS, limit=_SUMMARIES_PAGE, cursor=cursor
        )
        for summary in page:
            if str(summary.get("placed_at", "")) >= placed:
                return False
            if (summary.get("contribution") or {}).get("counted"):
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
    bought = _bought_before(customer_id, order.placed_at, deps)
    return (CustomerKind.RETURNING if bought else CustomerKind.NEW), customer_id


def recount_after_merge(customer_id: str, deps: Deps) -> int:
    """After a merge brought another record's history to ``customer_id``: each campaign's
    count of the person asked again whether they had bought before the order that
    counted them (a re-probe: a survivor who had bought stayed new where the merged
    record's first order was kept). Returns how many counts changed."""
    changed = 0
    for counted in deps.store.campaign_counts(customer_id):
        if counted.placed_at is None:
            continue
        bought = _bought_before(customer_id, counted.placed_at, deps)
        kind = CustomerKind.RETURNING if bought else CustomerKind.NEW
        if kind is not counted.kind:
            changed += deps.store.recount_campaign_customer(customer_id, counted, kind)
    return changed


def project_campaign_event(
    event: dict[str, Any], deps: Deps, reads: EventReads | None = None
) -> bool:
    """Apply one order event to its campaign's figures; True if it changed them.
    ``reads``: the delivery's shared reads."""
    if not event.get("order_id"):
        return False
    if event.get("type") == "order.status_changed":
        if event.get("status") not in _MONEY_STATUSES:
            return False
    elif event.get("type") not in _MONEY_EVENTS:
        return False
    reads = reads or EventReads(deps)
    order = reads.order(str(event["order_id"]))
    attribution = order.pricing.attribution if order.pricing else None
    from_coupon = coupon_campaign(order, deps)
    if from_coupon is None and (attribution is None or attribution.campaign is None):
        # An automatic promotion tagged with a campaign counts the orders that got it
        # and name no campaign of their own: it reached them whether or not they saw it,
        # so a coupon or a tag says more (probe 190: such a campaign counted no order).
        from_coupon = coupon_campaign(order, deps, automatic=True)
    campaign = campaign_of(attribution, from_coupon)
    if campaign is None:
        return False
    counted = False
    event_id = str(event.get("event_id", ""))
    status = event.get("status") if event.get("type") == "order.status_changed" else None
    # Accepted again after a declined card: counted when first placed.
    placed = status == OrderStatus.ACCEPTED.value and _position(event_id) == 1
    # Its customer once it is paid, as when the event happened: the same count however
    # late the event is projected (an order cancelled after it was paid still counts).
    paid = status == OrderStatus.PAID.value
    if placed or paid:
        customer, customer_id = _customer_kind(order, deps, reads) if paid else (None, None)
        increment = increments(
            CampaignOrderEvent(
                kind=OrderEventKind.PLACED if placed else OrderEventKind.PAID,
                order_id=order.order_id,
                channel=order.channel.value,
                placed_at=order.placed_at,
                customer=customer,
                customer_id=customer_id,
                attribution=attribution,
                coupon_campaign=from_coupon,
            )
        )
        if increment is not None:
            epoch = int(deps.clock().timestamp())
            counted = deps.store.apply_campaign_increment(event_id, increment, epoch)
    return _sync_revenue(campaign, order, deps) or counted


def _sync_revenue(campaign: str, first: Order, deps: Deps) -> bool:
    """Set the order's revenue share from its state now; True if it moved. The share is
    read before the order, so the order read is at least as new as the state the share
    was set from; a share moved meanwhile is read again."""
    for attempt in range(_SHARE_ATTEMPTS):
        previous = deps.store.campaign_order_revenue(first.order_id)
        share = previous if previous is not None else Decimal(0)
        if attempt == 0 and order_contribution(first).kept == share:
            return False  # the delivery's read (as of the event or newer) is counted
        order = deps.store.get_order(first.order_id)
        revenue = order_contribution(order).kept
        if revenue == share:
            return False
        if deps.store.set_campaign_order_revenue(campaign, order.order_id, revenue, previous):
            return True
    raise ConcurrentModification(
        f"the campaign revenue of order {first.order_id} kept moving", field="order_id"
    )


def report(deps: Deps) -> list[CampaignCounters]:
    """Every campaign's figures, by name; revenue to the cent."""
    return [
        counters.model_copy(update={"revenue": counters.revenue.quantize(Decimal("0.01"))})
        for counters in deps.store.campaign_counters()
    ]
