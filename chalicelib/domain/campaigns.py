"""Campaign figures: which campaign an order counts for, and what each of its events adds.

An order counts for one campaign at most:
- the campaign of the coupon it redeemed, whatever its channel (a printed flyer's code
  used at a store till counts for the flyer's campaign), else
- the ``campaign`` of its ``attribution`` (the storefront's UTM tags), else none.
A coupon is proof the campaign reached the shopper; an attribution tag is the last click,
so the coupon wins when they differ.

The projection keeps per campaign: ``orders`` placed, ``by_channel`` (orders placed per
channel), ``new_customers`` and ``returning_customers`` (customers who bought through
it, each counted once per campaign, when their first order in it is paid: new when they
had bought nothing before it anywhere, an order declined or cancelled being no purchase;
a shopper whose card was declined is no customer won (probe 190), nor one whose order
ended cancelled or rejected after it was paid (probe 215): their count passes to their
earliest other order in the campaign still a purchase, new or returning as of that one,
or is taken off; anonymous orders count as neither), and ``revenue``: what the
campaign's orders bring, each order's share being its money kept, as the customer 360's
lifetime value counts it (``OrderContribution.kept``): nothing until paid, nothing once
rejected or cancelled, and less what was never charged (a part voided: a pick-up not
collected) or given back (a lost parcel, a return). The placed order's counts are
increments (applying the same event twice is the caller's to prevent: the projection
records what it applied); the revenue share is state, set from the order as it is now, so
events may come late, twice or out of order.
"""

from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.promotions import ChannelName

ZERO = Decimal("0.00")


class Attribution(DeferredModel):
    """Where an order or quote came from, as the storefront tags it."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    campaign: str | None = Field(default=None, min_length=1, max_length=100)
    source: str | None = Field(default=None, min_length=1, max_length=100)
    medium: str | None = Field(default=None, min_length=1, max_length=100)


class OrderEventKind(StrEnum):
    """The order events the campaign projection counts by increments: placed counts the
    order, paid its customer."""

    PLACED = "placed"
    PAID = "paid"


class CustomerKind(StrEnum):
    """Whether the order was the customer's first."""

    NEW = "new"
    RETURNING = "returning"


class CampaignOrderEvent(DeferredModel):
    """What the projection needs to know of an order event."""

    model_config = ConfigDict(frozen=True)

    kind: OrderEventKind
    order_id: str
    channel: ChannelName
    placed_at: datetime | None = None
    customer: CustomerKind | None = None
    # The customer (after merges) ``customer`` is about.
    customer_id: str | None = None
    attribution: Attribution | None = None
    coupon_campaign: str | None = None


class CampaignIncrement(DeferredModel):
    """What to add to one campaign's counters (revenue may be negative)."""

    model_config = ConfigDict(frozen=True)

    campaign: str
    orders: int = 0
    revenue: Decimal = ZERO
    new_customers: int = 0
    returning_customers: int = 0
    by_channel: dict[str, int] = Field(default_factory=dict)
    # Whom ``new_customers`` or ``returning_customers`` counts: once per campaign, so the
    # store adds them only for a customer not counted in it before (else lists the order
    # among their others); and which order counts them, placed when (two records merged
    # keep the earlier one's count).
    customer_id: str | None = None
    placed_at: datetime | None = None
    order_id: str | None = None

    def without_customer(self) -> "CampaignIncrement":
        """The same order counted for a customer the campaign already counts."""
        return self.model_copy(
            update={"new_customers": 0, "returning_customers": 0, "customer_id": None}
        )

    def moves_nothing(self) -> bool:
        """Whether it adds nothing to the counters (a paid order of a customer counted)."""
        return not (
            self.orders
            or self.revenue
            or self.new_customers
            or self.returning_customers
            or any(self.by_channel.values())
        )

    def customer_kind(self) -> CustomerKind | None:
        """What the increment counts its customer as, if it counts one."""
        if self.customer_id is None:
            return None
        return CustomerKind.NEW if self.new_customers else CustomerKind.RETURNING

    def counted(self) -> "CountedCustomer | None":
        """The count of its customer it puts, as first written (version 1), if it
        counts one: the store's and its fake's alike."""
        kind = self.customer_kind()
        if kind is None:
            return None
        return CountedCustomer(
            campaign=self.campaign,
            kind=kind,
            placed_at=self.placed_at,
            order_id=self.order_id,
            version=1,
        )


class CampaignCounters(DeferredModel):
    """A campaign's figures, as ``GET /analytics/campaigns`` shows them."""

    campaign: str
    orders: int = 0
    revenue: Decimal = ZERO
    new_customers: int = 0
    returning_customers: int = 0
    by_channel: dict[str, int] = Field(default_factory=dict)

    def plus(self, increment: CampaignIncrement) -> "CampaignCounters":
        """These counters with an increment added."""
        if increment.campaign != self.campaign:
            raise ValueError(f"an increment of {increment.campaign} on {self.campaign}")
        by_channel = dict(self.by_channel)
        for channel, count in increment.by_channel.items():
            by_channel[channel] = by_channel.get(channel, 0) + count
        return CampaignCounters(
            campaign=self.campaign,
            orders=self.orders + increment.orders,
            revenue=self.revenue + increment.revenue,
            new_customers=self.new_customers + increment.new_customers,
            returning_customers=self.returning_customers + increment.returning_customers,
            by_channel=by_channel,
        )


def campaign_of(attribution: Attribution | None, coupon_campaign: str | None) -> str | None:
    """The campaign an order counts for: its coupon's, else its attribution's."""
    if coupon_campaign:
        return coupon_campaign
    return attribution.campaign if attribution is not None else None


def increments(event: CampaignOrderEvent) -> CampaignIncrement | None:
    """What the event adds to its campaign's counters; ``None`` when it counts for no
    campaign or changes nothing."""
    campaign = campaign_of(event.attribution, event.coupon_campaign)
    if campaign is None:
        return None
    if event.kind is OrderEventKind.PLACED:
        return CampaignIncrement(campaign=campaign, orders=1, by_channel={event.channel: 1})
    if event.customer is None:
        return None  # paid by an anonymous shopper: no customer to count
    return CampaignIncrement(
        campaign=campaign,
        new_customers=int(event.customer is CustomerKind.NEW),
        returning_customers=int(event.customer is CustomerKind.RETURNING),
        customer_id=event.customer_id,
        placed_at=event.placed_at,
        order_id=event.order_id,
    )


class CampaignPurchase(DeferredModel):
    """An order of a counted customer's in the campaign that is a purchase (paid, neither
    rejected nor cancelled) and does not count them: it will if the one that does ends."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    placed_at: datetime


class CountedCustomer(DeferredModel):
    """How a campaign counts one customer record: as new or returning, from the order
    ``order_id`` placed at ``placed_at`` (no ``order_id``: counted before it was kept),
    with the record's ``others`` orders in the campaign, oldest first. ``version`` counts
    the store's writes of it (0: none known), the guard of a write made from a read."""

    model_config = ConfigDict(frozen=True)

    campaign: str
    kind: CustomerKind
    placed_at: datetime | None = None
    order_id: str | None = None
    others: tuple[CampaignPurchase, ...] = ()
    version: int = 0

    def counts(self, order_id: str, placed_at: datetime) -> bool:
        """Whether that order is the one counting the customer (a count kept before its
        order was is known by when its order was placed)."""
        if self.order_id is not None:
            return self.order_id == order_id
        return self.placed_at == placed_at

    def lists(self, order_id: str) -> bool:
        """Whether that order is among the others."""
        return any(other.order_id == order_id for other in self.others)

    def purchase(self) -> CampaignPurchase | None:
        """The counting order as one of the others (None when it is not known)."""
        if self.order_id is None or self.placed_at is None:
            return None
        return CampaignPurchase(order_id=self.order_id, placed_at=self.placed_at)

    def with_others(self, others: Iterable[CampaignPurchase]) -> "CountedCustomer":
        """The same count with these others (the counting order never among them)."""
        kept = {o.order_id: o for o in others if o.order_id != self.order_id}
        ordered = sorted(kept.values(), key=lambda o: (o.placed_at, o.order_id))
        return self.model_copy(update={"others": tuple(ordered)})

    def without(self, order_ids: Collection[str]) -> "CountedCustomer":
        """The same count, these orders no longer among the others."""
        return self.with_others(o for o in self.others if o.order_id not in order_ids)

    def passed_to(self, purchase: CampaignPurchase, kind: CustomerKind) -> "CountedCustomer":
        """The count made by ``purchase`` instead (counted as ``kind``), which leaves
        the others."""
        return self.model_copy(
            update={"order_id": purchase.order_id, "placed_at": purchase.placed_at, "kind": kind}
        ).without({purchase.order_id})

    def first(self, other: "CountedCustomer") -> "CountedCustomer":
        """Of two records' counts in one campaign, found to be one person's: the one of
        the earlier order (the person's first in the campaign); ``self`` on a tie."""
        if other.placed_at is not None and (
            self.placed_at is None or other.placed_at < self.placed_at
        ):
            return other
        return self

    def joined(self, other: "CountedCustomer") -> "CountedCustomer":
        """``first`` of the two, the other's orders among its others: each is a purchase
        of the person's in the campaign, to count them if the kept one ends."""
        kept = self.first(other)
        dropped = other if kept is self else self
        dropped_order = dropped.purchase()
        return kept.with_others(
            [*kept.others, *dropped.others, *([dropped_order] if dropped_order else [])]
        )
