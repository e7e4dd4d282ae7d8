"""Sales that would otherwise be lost, followed up: a shopper waiting for a product to come
back (``back_in_stock``) and a declined card that can still pay (``payment_retry``).

An opportunity is ``open`` until the customer is told (``notified``: the back-in-stock
email), ``converted`` when they buy (an order of that SKU after the notice; the retried
order paid), and ``lost`` when it has not converted ``LOST_AFTER`` its creation, or at
once when it never can (its person erased, its order cancelled unpaid). Every
back-in-stock subscription is one; so is every ``payment_declined`` rejection.

Its ``value`` is what it would bring until it converts, then what it brought: a wish,
its units at the catalogue price, then what its order was charged for the SKU
(``sold_by_sku``); a payment retry, its order's total throughout (fixed at placement,
and what paying again authorises)."""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from chalicelib.domain.customers import normalise_email
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import InvalidOpportunityTransition, Unprocessable
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import OrderLine

# The contract's 30 days; services pass the scaled duration in.
LOST_AFTER = timedelta(days=30)

# Sweeps that failed to tell owed back-in-stock notices before ops are alerted: 20 minutes
# at one sweep every 5 (the sweep goes on trying; a review found it tried for ever, unseen).
UNTOLD_ALERT_AFTER_SWEEPS = 4
# From then on they are tried once an hour rather than at every sweep: what keeps failing
# neither spends every run's tries nor crowds out what is owed behind it.
UNTOLD_RETRY_EVERY = timedelta(hours=1)


class OpportunityKind(StrEnum):
    """What the sale waits for."""

    BACK_IN_STOCK = "back_in_stock"
    PAYMENT_RETRY = "payment_retry"


class OpportunityStatus(StrEnum):
    """Forward: open → notified → converted or lost (open may convert or be lost); a
    conversion whose order ended without a sale is undone (``undo_conversion``)."""

    OPEN = "open"
    NOTIFIED = "notified"
    CONVERTED = "converted"
    LOST = "lost"


_NEXT: dict[OpportunityStatus, frozenset[OpportunityStatus]] = {
    OpportunityStatus.OPEN: frozenset(
        {OpportunityStatus.NOTIFIED, OpportunityStatus.CONVERTED, OpportunityStatus.LOST}
    ),
    OpportunityStatus.NOTIFIED: frozenset({OpportunityStatus.CONVERTED, OpportunityStatus.LOST}),
    OpportunityStatus.CONVERTED: frozenset(),
    OpportunityStatus.LOST: frozenset(),
}
# Still waiting to convert or be lost (each listed apart, for the review that loses them).
ACTIVE_STATUSES = (OpportunityStatus.OPEN, OpportunityStatus.NOTIFIED)
_ACTIVE = frozenset(ACTIVE_STATUSES)


class Opportunity(DeferredModel):
    """One followed-up sale. ``value`` is what it would bring, a 2-decimal string; once a
    back-in-stock wish converts, what its order brought for the SKU."""

    opportunity_id: str
    kind: OpportunityKind
    customer_id: str | None
    order_id: str | None = None
    sku: str | None = None
    status: OpportunityStatus = OpportunityStatus.OPEN
    value: str = Field(pattern=r"^\d+\.\d{2}$")
    currency: str = "EUR"
    created_at: datetime
    updated_at: datetime
    # Internal: how to recognise the customer's later order when only an email is known,
    # the subscription it follows, and the moments and order that moved it.
    email: str | None = None
    subscription_id: str | None = None
    notified_at: datetime | None = None
    converted_by: str | None = None
    # What the wish would bring, kept while ``value`` says what its converting order
    # brought: an undone conversion goes back to it. None otherwise, and on a wish
    # converted before this was kept (its value is still the wish's).
    wished: Money | None = None

    def can_move(self, new: OpportunityStatus) -> bool:
        """Whether the lifecycle allows ``new`` now (a back-in-stock sale converts only
        after its notice: before it, the shopper could not have known)."""
        if new is OpportunityStatus.CONVERTED and self.kind is OpportunityKind.BACK_IN_STOCK:
            return self.status is OpportunityStatus.NOTIFIED
        if self.told_after_its_days(new):
            return True
        return new in _NEXT[self.status]

    def told_after_its_days(self, new: OpportunityStatus) -> bool:
        """A back-in-stock wish lost after 30 days of waiting, never told, is told when its
        SKU comes back at last: the shopper may buy now, so it is ``notified`` again with
        30 days from the notice (probe 191: told and bought, it stayed ``lost``)."""
        return (
            new is OpportunityStatus.NOTIFIED
            and self.kind is OpportunityKind.BACK_IN_STOCK
            and self.status is OpportunityStatus.LOST
            and self.notified_at is None
        )

    def _move(self, new: OpportunityStatus, at: datetime) -> None:
        if not self.can_move(new):
            raise InvalidOpportunityTransition(
                f"{self.kind.value} opportunity {self.opportunity_id} is "
                f"{self.status.value}, cannot become {new.value}",
                field="status",
            )
        self.status = new
        self.updated_at = at

    def notify(self, at: datetime) -> None:
        """The customer was told (the back-in-stock email, the rejection email with the
        link to pay again)."""
        self._move(OpportunityStatus.NOTIFIED, at)
        self.notified_at = at

    def convert(self, order_id: str, at: datetime, sold: Money | None = None) -> None:
        """The customer bought: ``order_id`` is the order that converted it. ``sold``, what
        that order brought for it (a wish's SKU: ``PlacedOrder.sold``), is its value from
        now on, the wish's kept for an undo (probe 215: a wish for 2 bought 1 still counted
        2 as sold). None keeps the value: a payment retry's is its order's total already."""
        self._move(OpportunityStatus.CONVERTED, at)
        self.converted_by = order_id
        if sold is not None:
            if self.wished is None:
                self.wished = Money.of(self.value, self.currency)
            self.value, self.currency = _amount(sold), sold.currency

    def undo_conversion(self, at: datetime) -> str:
        """The order that converted it ended without a sale (cancelled, or rejected after
        it was paid; a probe saw such sales still counted as converted): a back-in-stock
        shopper is back to ``notified``, free to buy within their 30 days; a payment
        retry is ``lost``, since a cancelled order cannot be paid again. A wish is worth
        what it would bring again. Returns the order that had converted it."""
        if self.status is not OpportunityStatus.CONVERTED or self.converted_by is None:
            raise InvalidOpportunityTransition(
                f"opportunity {self.opportunity_id} is {self.status.value}, not converted",
                field="status",
            )
        undone, self.converted_by = self.converted_by, None
        if self.wished is not None:
            self.value, self.currency = _amount(self.wished), self.wished.currency
            self.wished = None
        self.status = (
            OpportunityStatus.NOTIFIED
            if self.kind is OpportunityKind.BACK_IN_STOCK
            else OpportunityStatus.LOST
        )
        self.updated_at = at
        return undone

    def _clock_start(self) -> datetime:
        # A back-in-stock shopper can buy only once told: their 30 days start at the notice
        # (a probe saw stock come back after 30 days to a wish already lost).
        if self.kind is OpportunityKind.BACK_IN_STOCK and self.notified_at is not None:
            return self.notified_at
        return self.created_at

    def due_to_lose(self, now: datetime, lost_after: timedelta = LOST_AFTER) -> bool:
        """Whether it is still open or notified ``lost_after`` its creation (a notified
        back-in-stock one: after its notice)."""
        return self.status in _ACTIVE and now >= self._clock_start() + lost_after

    def lose(self, now: datetime, lost_after: timedelta = LOST_AFTER) -> None:
        """Not converted in time: ``lost``. Refused before it is due, or once closed."""
        if self.status in _ACTIVE and not self.due_to_lose(now, lost_after):
            raise InvalidOpportunityTransition(
                f"opportunity {self.opportunity_id} is lost only from "
                f"{(self._clock_start() + lost_after).isoformat()}",
                field="status",
            )
        self._move(OpportunityStatus.LOST, now)

    def withdraw(self, at: datetime) -> bool:
        """Its person was erased, so it can never convert: ``lost`` now rather than after
        30 days. A back-in-stock wish's subscription went with them (nobody can be told or
        recognised any more); a payment retry's order can no longer be paid again, which
        is refused once its customer's data is erased (probe 215: it stayed open until the
        review). Whose order it is, is the caller's to decide. False once it is closed
        (running it again changes nothing)."""
        if self.status not in _ACTIVE:
            return False
        self._move(OpportunityStatus.LOST, at)
        return True

    def close_unpaid(self, at: datetime) -> bool:
        """A payment retry whose order was cancelled before it was paid: it can never
        convert, so it is ``lost`` now rather than after 30 days. False for any other
        kind, or once it is closed (running it again changes nothing)."""
        if self.kind is not OpportunityKind.PAYMENT_RETRY or self.status not in _ACTIVE:
            return False
        self._move(OpportunityStatus.LOST, at)
        return True

    @property
    def listed_at(self) -> str:
        """Its place in ops' list: its creation to the microsecond, then its id (unique).
        Also where a page of that list ends (its cursor)."""
        return f"{_listing_moment(self.created_at)}#{self.opportunity_id}"

    def view(self) -> dict[str, Any]:
        """A row of ``GET /ops/opportunities`` (the email stays internal)."""
        return {
            "opportunity_id": self.opportunity_id,
            "kind": self.kind.value,
            "customer_id": self.customer_id,
            # The order that converted it, once one did (probe 191: a wish made by an order
            # refused for lack of stock named that order, and the sale nowhere); before,
            # a payment retry's order, or the refused order that made a wish.
            "order_id": self.converted_by or self.order_id,
            "sku": self.sku,
            "status": self.status.value,
            "value": self.value,
            "currency": self.currency,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _amount(value: Money) -> str:
    return str(Money.of(value.amount, value.currency).amount)


def payment_retry_opportunity(
    order_id: str, customer_id: str | None, total: Money, at: datetime
) -> Opportunity:
    """A ``payment_declined`` rejection: worth the order's total. One per order (a fixed id:
    the same order declined again is the same opportunity)."""
    return Opportunity(
        opportunity_id=f"opp_retry_{order_id}",
        kind=OpportunityKind.PAYMENT_RETRY,
        customer_id=customer_id,
        order_id=order_id,
        value=_amount(total),
        currency=total.currency,
        created_at=at,
        updated_at=at,
    )


class SubscriptionSource(StrEnum):
    """Who asked: the shopper, or an order refused or rejected for lack of stock."""

    EXPLICIT = "explicit"
    OUT_OF_STOCK = "out_of_stock"


class SubscriptionStatus(StrEnum):
    """Open until its one back-in-stock email, then closed; an erased person's open
    subscription is closed without one (``erased``)."""

    OPEN = "open"
    NOTIFIED = "notified"
    ERASED = "erased"


class BackInStockSubscription(DeferredModel):
    """A wish to be told when a SKU is back on the web."""

    subscription_id: str
    sku: str
    email: str
    customer_id: str | None = None
    source: SubscriptionSource = SubscriptionSource.EXPLICIT
    # The refused or rejected order it comes from, if any.
    order_id: str | None = None
    quantity: int = Field(default=1, gt=0)
    status: SubscriptionStatus = SubscriptionStatus.OPEN
    created_at: datetime
    notified_at: datetime | None = None
    # The language of the order refused or rejected (what the shopper was reading); a
    # wish made on the product page has none: the customer's, else Spanish.
    locale: str | None = None
    # Whether the web had none of it when it was asked (None: asked before this was kept).
    # One asked while out, still open while some is on the web, missed its crossing.
    asked_while_out: bool | None = None

    def covered_by(self, available: int) -> bool:
        """Whether the web's ``available`` units are what it waits for, outside a crossing
        from 0 (which tells every open wish): any, for one asked while the web had none (it
        missed its crossing, probe 208); all its ``quantity`` for one asked while the web
        had some (probe 224: a wish for 3 asked at 1 waited for the web to sell out and
        come back, and was never told with 51 there), or kept before this was known (None:
        whether it was asked while out is not known, so the units it wanted, never fewer)."""
        if self.asked_while_out:
            return available > 0
        return available >= self.quantity

    def notify(self, at: datetime) -> None:
        """Its one email went out; it is closed. A second notice is refused."""
        if self.status is not SubscriptionStatus.OPEN:
            raise InvalidOpportunityTransition(
                f"subscription {self.subscription_id} was notified already", field="status"
            )
        self.status = SubscriptionStatus.NOTIFIED
        self.notified_at = at


def subscribe(
    subscription_id: str,
    sku: str,
    email: str,
    at: datetime,
    customer_id: str | None = None,
    source: SubscriptionSource = SubscriptionSource.EXPLICIT,
    order_id: str | None = None,
    quantity: int = 1,
    locale: str | None = None,
) -> BackInStockSubscription:
    """A new open subscription; the email is validated and normalised (``Unprocessable``
    naming ``email`` when it is not an address)."""
    return BackInStockSubscription(
        subscription_id=subscription_id,
        sku=sku,
        email=normalise_email(email),
        customer_id=customer_id,
        source=source,
        order_id=order_id,
        quantity=quantity,
        created_at=at,
        locale=locale,
    )


def find_open(
    subscriptions: Iterable[BackInStockSubscription], sku: str, email: str
) -> BackInStockSubscription | None:
    """The shopper's open subscription to ``sku`` if there is one: asking twice before the
    product is back is one wish (one email), not two."""
    wanted = normalise_email(email)
    for subscription in subscriptions:
        if (
            subscription.sku == sku
            and subscription.email == wanted
            and subscription.status is SubscriptionStatus.OPEN
        ):
            return subscription
    return None


def shortage_subscriptions(
    reference: str,
    short: Mapping[str, int],
    email: str | None,
    at: datetime,
    customer_id: str | None = None,
    order_id: str | None = None,
    locale: str | None = None,
) -> list[BackInStockSubscription]:
    """The subscriptions an order refused or rejected for lack of stock gives its customer,
    one per missing SKU. ``reference`` names the refusal (the order id, or the refused
    request's idempotency key): the ids derive from it, so a retried step or request
    subscribes nobody twice. None without an email to write to."""
    if not email:
        return []
    address = normalise_email(email)
    return [
        subscribe(
            "sub_" + hashlib.sha256(f"{reference}\n{sku}".encode()).hexdigest()[:20],
            sku,
            address,
            at,
            customer_id=customer_id,
            source=SubscriptionSource.OUT_OF_STOCK,
            order_id=order_id,
            quantity=max(1, quantity),
            locale=locale,
        )
        for sku, quantity in sorted(short.items())
    ]


def back_in_stock_opportunity(
    subscription: BackInStockSubscription, unit_price: Money
) -> Opportunity:
    """The opportunity a subscription is: worth the units wanted at the catalogue price."""
    return Opportunity(
        opportunity_id=f"opp_{subscription.subscription_id}",
        kind=OpportunityKind.BACK_IN_STOCK,
        customer_id=subscription.customer_id,
        order_id=subscription.order_id,
        sku=subscription.sku,
        value=_amount(unit_price.times(subscription.quantity)),
        currency=unit_price.currency,
        created_at=subscription.created_at,
        updated_at=subscription.created_at,
        email=subscription.email,
        subscription_id=subscription.subscription_id,
    )


def crossed_from_zero(before: int, after: int) -> bool:
    """Whether web availability went from none to some: the moment to tell subscribers."""
    return before <= 0 < after


def due_notifications(
    subscriptions: Iterable[BackInStockSubscription], sku: str, before: int, after: int
) -> list[BackInStockSubscription]:
    """The subscriptions to ``sku`` to email now: every open one, when availability crossed
    from 0; else those the ``after`` units cover (``covered_by``): one asked while there
    was none, while some is on the web (a crossing came since, and whoever wrote it read
    it as none: probe 208, two cancels at once each counted the other's units as there
    before, and nobody was ever told), one asked while there were too few, once the web
    has the units it wanted (probe 224). Each is notified (closed) as its email goes, so
    a change seen twice emails nobody twice."""
    waiting = [s for s in subscriptions if s.sku == sku and s.status is SubscriptionStatus.OPEN]
    if crossed_from_zero(before, after):
        return waiting
    return covered(waiting, after)


def covered(
    subscriptions: Iterable[BackInStockSubscription], available: int
) -> list[BackInStockSubscription]:
    """The open subscriptions the web's ``available`` units cover (``covered_by``)."""
    return [
        s for s in subscriptions if s.status is SubscriptionStatus.OPEN and s.covered_by(available)
    ]


def waiting_at(
    subscriptions: Iterable[BackInStockSubscription], sku: str, moment: datetime, available: int
) -> list[BackInStockSubscription]:
    """The open subscriptions to ``sku`` opened by ``moment`` that the web's ``available``
    units cover now (``covered_by``): those a stock write that brought units back at that
    moment was due to tell. One asked while some was on the web only once the web has all
    it wanted: the write run again cannot know it crossed from 0 (probe 208: a cancel sent
    twice told a wish for more than the web's 2 "back in stock")."""
    return [s for s in covered(subscriptions, available) if s.sku == sku and s.created_at <= moment]


class OpportunityPage(DeferredModel):
    """One page of ops' list, newest first, and the ``listed_at`` of its last (oldest) one
    when older ones follow (None at the end)."""

    opportunities: list[Opportunity]
    last_listed: str | None = None


def _listing_moment(moment: datetime) -> str:
    """A moment as ``listed_at`` begins: UTC to the microsecond, always the same length,
    so that text order is time order."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def listed_by(moment: datetime) -> str:
    """The last ``listed_at`` an opportunity created by ``moment`` can have ("~" sorts
    after every character an id holds)."""
    return f"{_listing_moment(moment)}#~"


class OwedNotices(DeferredModel):
    """Back-in-stock notices a stock write owes: it brought ``sku`` back on the web at
    ``moment``, and telling its subscribers failed (the email provider down). Those still
    open that were opened by ``moment`` are told by a scheduled sweep (``waiting_at``);
    ``attempts`` counts the sweeps that failed to, the last at ``last_failed_at``."""

    model_config = ConfigDict(frozen=True)

    sku: str
    moment: datetime
    attempts: int = 0
    last_failed_at: datetime | None = None

    def untold_too_long(self) -> bool:
        """Whether ops are to be told: the sweeps keep failing (an address the provider
        always refuses, or the provider down that long)."""
        return self.attempts >= UNTOLD_ALERT_AFTER_SWEEPS

    def due(self, now: datetime, retry_every: timedelta = UNTOLD_RETRY_EVERY) -> bool:
        """Whether a sweep at ``now`` tries it: every sweep until ops are alerted, then
        once every ``retry_every``."""
        if not self.untold_too_long() or self.last_failed_at is None:
            return True
        return now >= self.last_failed_at + retry_every


def next_to_tell(
    owed: Iterable[OwedNotices],
    now: datetime,
    limit: int,
    retry_every: timedelta = UNTOLD_RETRY_EVERY,
) -> list[OwedNotices]:
    """What a sweep tries: the owed notices due, the least tried first, then the oldest; at
    most ``limit``. One that keeps failing never holds back the others (found by a review:
    the oldest ``limit`` were tried at every sweep, and any owed behind them never)."""
    due = [o for o in owed if o.due(now, retry_every)]
    return sorted(due, key=lambda o: (o.attempts, o.moment, o.sku))[:limit]


def sold_by_sku(lines: Iterable[OrderLine], currency: str) -> dict[str, Money]:
    """What the customer pays for each SKU's units on an order, the value of the wish it
    converts: every line of the SKU (shipped or collected) as charged, that is after its
    share of the discount and with the tax the customer pays on it (included in a mainland
    price, on top in the Canaries), like the catalogue price a wish is valued at. The
    shipping fee is left out: it is no SKU's, and would count once per wish an order
    converts. These are the amounts the books capture for those units
    (``line_values``). A line priced before the engine: its total."""
    sold: dict[str, Money] = {}
    for line in lines:
        charged = line.charged if line.charged is not None else line.line_total
        sold[line.sku] = sold.get(line.sku, Money.zero(currency)) + charged
    return sold


class PlacedOrder(DeferredModel):
    """What conversion is judged on: who ordered what, and when; and what each SKU's units
    brought (``sold_by_sku``; empty when not known)."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str | None = None
    email: str | None = None
    skus: frozenset[str]
    placed_at: datetime
    sold: dict[str, Money] = Field(default_factory=dict)

    @classmethod
    def of(cls, order: Order, customer_id: str | None, email: str | None) -> "PlacedOrder":
        """The order as conversion judges it, bought by ``customer_id`` or ``email``."""
        return cls(
            order_id=order.order_id,
            customer_id=customer_id,
            email=email,
            skus=frozenset(line.sku for line in order.lines),
            placed_at=order.placed_at,
            sold=sold_by_sku(order.lines, order.total.currency),
        )

    def brought(self, sku: str | None) -> Money | None:
        """What the order brought for ``sku``; None when that is not known."""
        return self.sold.get(sku) if sku is not None else None


def converts_back_in_stock(opportunity: Opportunity, placed: PlacedOrder) -> bool:
    """A notified back-in-stock opportunity converts on an order of its SKU placed after
    the notice by the same customer (the same customer id, or the same email for a bare
    email subscription)."""
    if (
        opportunity.kind is not OpportunityKind.BACK_IN_STOCK
        or opportunity.status is not OpportunityStatus.NOTIFIED
        or opportunity.notified_at is None
        or opportunity.sku not in placed.skus
        or placed.placed_at < opportunity.notified_at
    ):
        return False
    if opportunity.customer_id and opportunity.customer_id == placed.customer_id:
        return True
    return opportunity.email is not None and opportunity.email == _address(placed.email)


def _address(email: str | None) -> str | None:
    # The order's contact, in the subscriptions' normal form; not an address, no match.
    if not email:
        return None
    try:
        return normalise_email(email)
    except Unprocessable:
        return None


def converts_payment_retry(opportunity: Opportunity, paid_order_id: str) -> bool:
    """A payment-retry opportunity converts when its order is paid."""
    return (
        opportunity.kind is OpportunityKind.PAYMENT_RETRY
        and opportunity.status in _ACTIVE
        and opportunity.order_id == paid_order_id
    )


def convert_on_order(
    opportunities: Iterable[Opportunity], placed: PlacedOrder, at: datetime
) -> list[Opportunity]:
    """Convert the back-in-stock opportunities the placed order fulfils, one per SKU:
    the latest notice's when the shopper was told more than once (one sale is counted
    once), each worth what the order brought for its SKU; returns them."""
    fulfilled = [o for o in opportunities if converts_back_in_stock(o, placed)]
    # Oldest notice first, so each SKU keeps its latest (every one fulfilled was notified).
    latest = {o.sku: o for o in sorted(fulfilled, key=lambda o: o.notified_at or o.created_at)}
    converted = list(latest.values())
    for opportunity in converted:
        opportunity.convert(placed.order_id, at, placed.brought(opportunity.sku))
    return converted


def convert_on_payment(
    opportunities: Iterable[Opportunity], paid_order_id: str, at: datetime
) -> list[Opportunity]:
    """Convert the payment-retry opportunity of an order just paid; returns it (or none)."""
    converted = [o for o in opportunities if converts_payment_retry(o, paid_order_id)]
    for opportunity in converted:
        opportunity.convert(paid_order_id, at)
    return converted
