"""Campaign figures kept from order events (domain/campaigns.py says what each adds): the
order is read for its attribution, its coupon's campaign and its customer. The placed
order's counts are applied once per event id, so redelivered events count nothing twice;
its customer is counted while it is a purchase, and an end without a sale (cancelled,
rejected) passes their count to another of their orders in the campaign or takes it off;
its revenue share is set from the order as it is now, after any event that can move it
(a status, a void, a refund, a lost parcel), and the counters move by the difference.
``GET /analytics/campaigns`` reads the counters, not orders."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignOrderEvent,
    CampaignPurchase,
    CountedCustomer,
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
# The statuses that may end an order without a sale: its customer counted by it no more.
_ENDINGS = frozenset({OrderStatus.REJECTED.value, OrderStatus.CANCELLED.value})
# Attempts at the share's conditional write before the delivery fails (and is retried).
_SHARE_ATTEMPTS = 5
# Attempts at taking an ended order's count off (or unlisting it) while the count keeps
# changing (other orders listed or ending at once), before the delivery fails.
_COUNT_ATTEMPTS = 5


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


def _bought_before(
    customer_id: str, placed_at: datetime, deps: Deps, ended: Collection[str] = ()
) -> bool:
    """Whether the customer's 360 holds a purchase placed before ``placed_at``: an order
    paid and neither rejected nor cancelled (its summary's contribution counts), as the
    360's own figures count one; ``ended``: orders known to be none, whatever their
    summary says yet. Summaries come oldest first, so the search stops at the first
    purchase or at ``placed_at``."""
    placed = placed_at.isoformat()
    cursor: str | None = None
    while True:
        page, cursor = deps.customers.records(
            customer_id, CustomerRecord.ORDERS, limit=_SUMMARIES_PAGE, cursor=cursor
        )
        for summary in page:
            if str(summary.get("placed_at", "")) >= placed:
                return False
            if summary.get("order_id") in ended:
                continue
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
    return recount_customer(customer_id, deps)


def recount_customer(customer_id: str, deps: Deps, ended: Collection[str] = ()) -> int:
    """Each campaign's count of the customer asked again whether they had bought before
    the order that counts them (``ended``: orders known to be no purchase, whatever their
    summary says yet). Returns how many counts changed."""
    changed = 0
    for listed in deps.store.campaign_counts(customer_id):
        counted: CountedCustomer | None = listed
        for _ in range(_COUNT_ATTEMPTS):
            if counted is None or counted.placed_at is None:
                break
            bought = _bought_before(customer_id, counted.placed_at, deps, ended)
            kind = CustomerKind.RETURNING if bought else CustomerKind.NEW
            if kind is counted.kind:
                break
            if deps.store.recount_campaign_customer(customer_id, counted, kind):
                changed += 1
                break
            # Refused: the count changed since it was read (another order listed on it,
            # or passed on by one that ended): asked again about the count as it is now.
            counted = deps.store.campaign_count(customer_id, listed.campaign)
    return changed


def project_campaign_event(
    event: dict[str, Any], deps: Deps, reads: EventReads | None = None
) -> bool:
    """Apply one order event to its campaign's figures; True if it changed them.
    ``reads``: the delivery's shared reads."""
    if not event.get("order_id"):
        return False
    claimed = event.get("type") == "order.claimed"
    if event.get("type") == "order.status_changed":
        if event.get("status") not in _MONEY_STATUSES:
            return False
    elif event.get("type") not in _MONEY_EVENTS and not claimed:
        return False
    reads = reads or EventReads(deps)
    order = reads.order(str(event["order_id"]))
    # Any order of theirs ending unsold, in a campaign or not, may have been the purchase
    # that made them a returning customer in a campaign since (probe 222: they stayed
    # returning once their only earlier purchase was cancelled).
    recounted = _recount_after_an_end(order, event, deps, reads)
    attribution = order.pricing.attribution if order.pricing else None
    from_coupon = coupon_campaign(order, deps)
    if from_coupon is None and (attribution is None or attribution.campaign is None):
        # An automatic promotion tagged with a campaign counts the orders that got it
        # and name no campaign of their own: it reached them whether or not they saw it,
        # so a coupon or a tag says more (probe 190: such a campaign counted no order).
        from_coupon = coupon_campaign(order, deps, automatic=True)
    campaign = campaign_of(attribution, from_coupon)
    if campaign is None:
        return recounted
    counted = recounted
    event_id = str(event.get("event_id", ""))
    status = event.get("status") if event.get("type") == "order.status_changed" else None
    # Accepted again after a declined card: counted when first placed.
    placed = status == OrderStatus.ACCEPTED.value and _position(event_id) == 1
    # Its customer once it is paid, and only while it is a purchase (probe 215: orders
    # cancelled or rejected after payment counted their customers as won): the PAID
    # event of an order that ended already counts no one, its end takes the count off.
    # A till sale claimed later counts its claimant then (probe 230: it was paid with no
    # customer to count, and its claim counted nobody); new or returning as of the sale.
    paid = (status == OrderStatus.PAID.value or claimed) and order_contribution(order).counted
    if status in _ENDINGS and not order_contribution(order).counted:
        counted = _uncount(order, campaign, deps, reads)
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
            if (
                customer_id is not None
                and not order_contribution(deps.store.get_order(order.order_id)).counted
            ):
                # It ended while it was being counted, and its end's delivery may have
                # looked for the count before it was written: taken off here then.
                counted = _uncount(order, campaign, deps, reads) or counted
        if customer is not None and customer_id is not None:
            # Also when the increment was applied by an earlier delivery of this event
            # that died before this: the count passes once, then there is nothing to do.
            passed_on = _counted_from_the_earliest(order, campaign, customer, customer_id, deps)
            counted = passed_on or counted
    return _sync_revenue(campaign, order, deps) or counted


def _recount_after_an_end(
    order: Order, event: dict[str, Any], deps: Deps, reads: EventReads
) -> bool:
    """The customer's counts asked again once one of their orders ended unsold, or was
    paid after a declined card (a purchase since, at the moment it was placed: probe 223
    saw the campaign's later order stay "new" until an unrelated order ended): one query
    of their counts, most often none; True if one changed."""
    status = event.get("status") if event.get("type") == "order.status_changed" else None
    counted = order_contribution(order).counted
    ending = status in _ENDINGS and not counted
    paid_again = status == OrderStatus.PAID.value and bool(order.retries) and counted
    if not (ending or paid_again) or order.customer_id is None:
        return False
    try:
        customer_id = reads.canonical_customer(order.customer_id)[0]
    except NotFound:
        return False
    return recount_customer(customer_id, deps, {order.order_id} if ending else ()) > 0


def _uncount(order: Order, campaign: str, deps: Deps, reads: EventReads) -> bool:
    """The order ended without a sale: its customer counted by it no more (their earliest
    other order in the campaign still a purchase counts them instead, new or returning
    as of that one), nor listed by it; True if the figures moved. Each write is made on
    the condition of the count read (an order listed, a merge, another order ending at
    once), and read again when refused; once done, a redelivery finds nothing to do."""
    if order.customer_id is None:
        return False
    try:
        customer_id = reads.canonical_customer(order.customer_id)[0]
    except NotFound:
        return False
    for _ in range(_COUNT_ATTEMPTS):
        stored = deps.store.campaign_count(customer_id, campaign)
        if stored is None:
            return False
        if stored.counts(order.order_id, order.placed_at):
            new = _successor(customer_id, stored, order, deps)
        elif stored.lists(order.order_id):
            new = stored.without({order.order_id})
        else:
            return False
        if deps.store.replace_campaign_count(customer_id, stored, new):
            return new is None or new.kind is not stored.kind
    raise ConcurrentModification(
        f"the campaign {campaign}'s count of customer {customer_id} kept moving",
        field="customer_id",
    )


def _counted_from_the_earliest(
    order: Order, campaign: str, kind: CustomerKind, customer_id: str, deps: Deps
) -> bool:
    """A purchase placed before the order counting its customer in the campaign counts
    them instead, as ``kind`` (as of itself), the other listed (probe 226: declined, then
    a second order paid, then the first paid again: counted returning from the second,
    with the first their first order in the campaign and nothing bought before it). True
    if the figures moved."""
    for _ in range(_COUNT_ATTEMPTS):
        stored = deps.store.campaign_count(customer_id, campaign)
        if (
            stored is None
            or stored.counts(order.order_id, order.placed_at)
            or stored.placed_at is None
            or stored.placed_at <= order.placed_at
        ):
            return False
        if not order_contribution(deps.store.get_order(order.order_id)).counted:
            return False  # it ended meanwhile: its end's delivery takes care of the count
        counting = stored.purchase()
        earliest = CampaignPurchase(order_id=order.order_id, placed_at=order.placed_at)
        passed = stored.passed_to(earliest, kind)  # the earlier one leaves the others
        new = passed.with_others([*passed.others, *([counting] if counting else [])])
        if deps.store.replace_campaign_count(customer_id, stored, new):
            return new.kind is not stored.kind
    raise ConcurrentModification(
        f"the campaign {campaign}'s count of customer {customer_id} kept moving",
        field="customer_id",
    )


def _successor(
    customer_id: str, stored: CountedCustomer, ended: Order, deps: Deps
) -> CountedCustomer | None:
    """The count passed to the earliest of the others still a purchase (an order listed
    may have ended without its end's delivery having unlisted it yet: left out too), or
    None when none is."""
    gone = {ended.order_id}
    for other in stored.others:
        try:
            bought = order_contribution(deps.store.get_order(other.order_id)).counted
        except NotFound:
            bought = False
        if not bought:
            gone.add(other.order_id)
            continue
        before = _bought_before(customer_id, other.placed_at, deps, gone)
        kind = CustomerKind.RETURNING if before else CustomerKind.NEW
        return stored.without(gone).passed_to(other, kind)
    return None


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
