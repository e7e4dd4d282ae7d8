"""Sales followed up: back-in-stock subscriptions (explicit, or given to a customer an
order was refused or rejected for lack of stock), emailed once when the SKU's web
availability crosses from 0, or covers what the wish waits for (``covered_by``: when
asked, or at a later write); payment-retry opportunities for declined cards; conversions
read from order events; and the unconverted ones lost after 30 days (scaled)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib.domain.cursors import decode_cursor_parts, encode_cursor_parts
from chalicelib.domain.customers import Identifier, IdentifierType, normalise_email
from chalicelib.domain.errors import (
    ConcurrentModification,
    InvalidCursor,
    NotFound,
)
from chalicelib.domain.inventory import StockChange, available_before_release, available_to_promise
from chalicelib.domain.opportunities import (
    LOST_AFTER,
    UNTOLD_RETRY_EVERY,
    BackInStockSubscription,
    Opportunity,
    OpportunityKind,
    OpportunityStatus,
    OwedNotices,
    PlacedOrder,
    SubscriptionSource,
    SubscriptionStatus,
    back_in_stock_opportunity,
    convert_on_order,
    convert_on_payment,
    converts_back_in_stock,
    covered,
    crossed_from_zero,
    due_notifications,
    find_open,
    next_to_tell,
    payment_retry_opportunity,
    shortage_subscriptions,
    subscribe,
    waiting_at,
)
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.settlement import ENDED
from chalicelib.ports import CustomerRecord
from chalicelib.services.alert_once import alert_once, resolve_open
from chalicelib.services.availability import shortage_of
from chalicelib.services.customers import canonical_customer, person_records
from chalicelib.services.emails import Email, compose, send_once
from chalicelib.services.event_reads import EventReads
from chalicelib.services.notify import addressee

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.domain.orders import Order

_log = logging.getLogger(__name__)


# Opportunities on a page of ops' list unless asked otherwise, and at most.
LIST_PAGE = 1000

# Failed notices after which a telling stops and leaves the rest to the sweep.
FAILURES_BEFORE_LEAVING_TO_SWEEP = 2

# Notices a stock write sends itself on a crossing from 0, to those waiting longest; the
# rest are owed to the sweep (every 5 minutes), which goes on where a run cut short
# stopped, as for notices that failed: should the SKU be gone from the web again by then,
# they wait for its next return, still open. A probe's receipt that woke 150 subscribers
# took 2.6 s to answer (about 17 ms each, locally); thousands would outlast API Gateway's
# 29 s, and none past the cut would have been owed.
NOTICES_PER_WRITE = 100

# Owed notices a sweep reads to choose which to try (kept only after a failure: few).
OWED_READ = 10_000

# The alert about back-in-stock notices the sweep keeps failing to tell; the untold
# subscriptions it names (it counts them all); the open alerts of its kind read to find it
# again.
UNTOLD_NOTICES_KIND = "back_in_stock_untold"
UNTOLD_IDS_SHOWN = 50
OPEN_ALERTS_READ = 1000


def _customer_for(email: str, deps: Deps) -> str | None:
    """The customer an address already belongs to; None for a bare email."""
    owner = deps.store.find_identifier(Identifier(type=IdentifierType.EMAIL, value=email))
    if owner is None:
        return None
    try:
        return canonical_customer(owner, deps)[0]
    except NotFound:
        return None


def _keep(subscription: BackInStockSubscription, deps: Deps) -> bool:
    """Whether it was kept: not when its id exists, nor when the address has an open
    subscription to the SKU already (another request's, made meanwhile)."""
    product = deps.store.product(subscription.sku)
    if product is None:
        raise NotFound(f"unknown SKU {subscription.sku}", field="sku")
    opportunity = back_in_stock_opportunity(subscription, product.price)
    return deps.opportunities.create_subscription(subscription, opportunity)


# Tries at an address's one open subscription: found, or made; between two tries another
# request made it (the store refused ours) or its notice closed it.
SUBSCRIBE_ATTEMPTS = 3


def subscribe_back_in_stock(
    sku: str, email: str, deps: Deps, locale: str | None = None
) -> BackInStockSubscription:
    """A shopper asks to be told when ``sku`` is back, in ``locale`` (the page's; none:
    the customer's, else Spanish): one open subscription per address and SKU (asking
    again, or twice at once, returns the open one). Asked while the web has it, it is
    told at once (probe 224: the page showed it out, units came before the click, and it
    waited for the web to sell out and come back); asked again then by an address told
    already and not yet buying, it is that told one: no second notice."""
    if deps.store.product(sku) is None:
        raise NotFound(f"unknown SKU {sku}", field="sku")
    address = normalise_email(email)
    for _ in range(SUBSCRIBE_ATTEMPTS):
        existing = find_open(deps.opportunities.open_subscriptions(sku), sku, address)
        if existing is not None:
            return existing
        out = _out_on_the_web(sku, deps)
        customer_id = _customer_for(address, deps)
        told = None if out else _told_already(sku, address, customer_id, deps)
        if told is not None:
            return told
        subscription = subscribe(
            f"sub_{uuid.uuid4().hex[:20]}",
            sku,
            address,
            deps.clock(),
            customer_id=customer_id,
            locale=locale,
        )
        subscription.asked_while_out = out
        if _keep(subscription, deps):
            _told_if_back_already([subscription], deps)
            return subscription
    raise ConcurrentModification(f"the subscriptions to {sku} kept changing; try again")


def subscribe_shortage(
    reference: str,
    short: Mapping[str, int],
    email: str | None,
    deps: Deps,
    customer_id: str | None = None,
    order_id: str | None = None,
    locale: str | None = None,
) -> list[BackInStockSubscription]:
    """Subscribe the customer of a refusal or rejection for lack of stock to the missing
    SKUs (``short``: SKU → units wanted, those the web lacks: ``UnservableLines.short``),
    to be told in ``locale`` (the order's).
    ``reference`` names the refusal (the order id, or the refused request's idempotency
    key): the same reference twice subscribes nobody twice. Unknown SKUs are left out;
    nothing without an email. Without ``customer_id`` (an order refused before it had a
    customer), the customer the email already belongs to, if any: the opportunity is
    theirs (read only: a refusal creates no customer)."""
    known = {sku: units for sku, units in short.items() if deps.store.product(sku) is not None}
    if customer_id is None and email and known:
        customer_id = _customer_for(normalise_email(email), deps)
    made = shortage_subscriptions(
        reference,
        known,
        email,
        deps.clock(),
        customer_id=customer_id,
        order_id=order_id,
        locale=locale,
    )
    for subscription in made:
        subscription.asked_while_out = _out_on_the_web(subscription.sku, deps)
    kept = [
        subscription
        for subscription in made
        if not _wished_already(subscription, deps) and _keep(subscription, deps)
    ]
    _told_if_back_already(kept, deps)
    return kept


def _out_on_the_web(sku: str, deps: Deps) -> bool:
    """Whether the web has none of ``sku`` now (what a wish asked now waits for)."""
    return _on_the_web(sku, deps) <= 0


def _on_the_web(sku: str, deps: Deps) -> int:
    """The units of ``sku`` the web can promise now."""
    return available_to_promise(deps.store.stock_levels(sku))


def _told_already(
    sku: str, address: str, customer_id: str | None, deps: Deps
) -> BackInStockSubscription | None:
    """The address's wish for ``sku`` told and not yet bought or lost, if any: asking again
    while the web has it is that wish (each ask would otherwise email the address at once,
    and "the only notice" it says it is would not be). Read from the person's own
    opportunities, not the SKU's notified ones (thousands, after a restock)."""
    held = deps.opportunities.held_by([customer_id] if customer_id else [], [address])
    for wish in held:
        if (
            wish.kind is OpportunityKind.BACK_IN_STOCK
            and wish.sku == sku
            and wish.status is OpportunityStatus.NOTIFIED
            and wish.email == address
            and wish.subscription_id is not None
        ):
            return deps.opportunities.subscription(wish.subscription_id)
    return None


def _told_if_back_already(kept: list[BackInStockSubscription], deps: Deps) -> None:
    """Wishes just kept: the stock is read again, and each is told now if the web covers
    it (``covered_by``): one asked while the web had some (an explicit wish: the product
    is there; a refusal's for more than the web had: probe 224, it waited for the web to
    sell out and come back, which may never happen) once it has the units wanted, one
    asked while out if some came back since it was read (probe 209: a receipt landing
    between the read and the write read the SKU's wishes without this one, and it stayed
    open with units on the web). Whoever tells it too, its notice goes once
    (``_tell_one``)."""
    for subscription in kept:
        if subscription.covered_by(_on_the_web(subscription.sku, deps)):
            told_safely(
                partial(_tell_back_in_stock, subscription.sku, [subscription], deps),
                after=f"a wish for {subscription.sku} was kept",
            )


def subscribe_order_shortage(
    order: Order, short: Mapping[str, int], deps: Deps, reads: EventReads | None = None
) -> list[BackInStockSubscription]:
    """``subscribe_shortage`` for an order that lacked ``short``: its customer, at the
    address its emails go to (an order by customer id alone: the record's vouched one; a
    probe found such customers never subscribed) and in its language, keyed by the order
    (its workflow's out-of-stock rejection and a refused payment subscribe nobody twice)."""
    email = order.contact.email
    if email is None and order.customer_id is not None:
        known = (reads or EventReads(deps)).known_chain(order.customer_id)
        email = addressee(order, known[0] if known else None, deps)[0]
    return subscribe_shortage(
        order.order_id,
        short,
        email,
        deps,
        customer_id=order.customer_id,
        order_id=order.order_id,
        locale=order.contact.locale,
    )


def _wished_already(subscription: BackInStockSubscription, deps: Deps) -> bool:
    """One wish per address and SKU: another open subscription (the shopper asked on the
    product page, or an earlier refusal) already covers this one."""
    found = find_open(
        deps.opportunities.open_subscriptions(subscription.sku),
        subscription.sku,
        subscription.email,
    )
    return found is not None and found.subscription_id != subscription.subscription_id


def _back_in_stock_email(subscription: BackInStockSubscription, deps: Deps) -> Email:
    product = deps.store.product(subscription.sku)
    locale = subscription.locale or "es"
    if subscription.locale is None and subscription.customer_id:
        try:
            locale = str(canonical_customer(subscription.customer_id, deps)[1].get("locale"))
        except NotFound:
            locale = "es"
    locale = locale if locale in ("es", "en") else "es"
    context = {
        "email": "back_in_stock",
        "locale": locale,
        "sku": subscription.sku,
        "product": product.name if product else subscription.sku,
        "shop_url": deps.settings.public_base_url,
        # Asked on the product page, or signed up by a refusal for lack of stock (probe
        # 199: "you asked us" to someone who never had).
        "asked": subscription.source is SubscriptionSource.EXPLICIT,
    }
    return compose("back_in_stock_subject", "back_in_stock", locale, context)


def on_availability(sku: str, before: int, after: int, deps: Deps) -> int:
    """Web availability of ``sku`` went from ``before`` to ``after``: on a crossing from
    0, every open subscription gets its one email and is closed; else those the web covers
    (``due_notifications``). Returns how many were emailed now."""
    due = due_notifications(deps.opportunities.open_subscriptions(sku), sku, before, after)
    if due and not crossed_from_zero(before, after):
        # Caught up only as far as the web covers them now: an old change delivered again
        # (1 to 2, sold out since) told one "back in stock" with none on the web (the
        # property test's hypothesis found it).
        due = covered(due, _on_the_web(sku, deps))
    return _tell_back_in_stock(sku, due, deps)


def tell_those_waiting_at(sku: str, moment: datetime, deps: Deps) -> int:
    """A stock write that added units at ``moment`` is run again (a keyed movement, a
    return's receipt asked again, a cancellation or rejection that gave reserved units
    back, run again): its first run may have died before it told the SKU's
    subscribers, or halfway through them (found by a review: they were never told, since
    the run again sees no crossing from 0). Every subscription still open that was opened
    by that moment is told now, if the web covers it (``waiting_at``); each email goes
    once."""
    waiting = deps.opportunities.open_subscriptions(sku)
    if not waiting:
        return 0
    due = waiting_at(waiting, sku, moment, _on_the_web(sku, deps))
    if not due:
        return 0
    return _tell_back_in_stock(sku, due, deps, owed_at=moment)


def _tell_back_in_stock(
    sku: str,
    due: list[BackInStockSubscription],
    deps: Deps,
    owed_at: datetime | None = None,
) -> int:
    """Email each subscription its one notice and close it (and its opportunity). When
    one fails (the email provider down), those left are owed from ``owed_at`` (now, for a
    crossing seen now) and the failure raised: the scheduled sweep tells them (found by a
    review: they waited for the SKU's next crossing from 0, which may never come). One
    address the provider always refuses holds back nobody after it; a second failure
    means the provider is down, and the rest is left to the sweep (each failure costs the
    SDK's retries)."""
    moment = owed_at or deps.clock()
    # Those waiting longest first (a re-probe: the 100 told were any 100).
    due = sorted(due, key=lambda waiting: (waiting.created_at, waiting.subscription_id))
    if owed_at is None and len(due) > NOTICES_PER_WRITE:
        # Owed before any is sent: a request killed while sending leaves the rest owed.
        deps.opportunities.owe_notices(OwedNotices(sku=sku, moment=moment))
        due = due[:NOTICES_PER_WRITE]
    emailed = 0
    failures: list[Exception] = []
    for subscription in due:
        try:
            emailed += _tell_one(subscription, deps)
        except Exception as exc:  # noqa: BLE001 - raised below, once the rest is owed
            failures.append(exc)
            if len(failures) == FAILURES_BEFORE_LEAVING_TO_SWEEP:
                break
    if failures:
        # Every subscription due was opened by now: the sweep finds those left open.
        deps.opportunities.owe_notices(OwedNotices(sku=sku, moment=moment))
        raise failures[0]
    return emailed


def _tell_one(subscription: BackInStockSubscription, deps: Deps) -> int:
    """One subscription's notice sent and closed; 1 if it was sent now. Read again first:
    the due list was read when the batch began, and a person erased since must not be
    told (a re-probe: erased during a restock of 60, they still got the notice)."""
    current = deps.opportunities.subscription(subscription.subscription_id)
    if current is None or current.status is not SubscriptionStatus.OPEN:
        return 0
    sent = send_once(
        f"backinstock:{subscription.subscription_id}",
        subscription.email,
        partial(_back_in_stock_email, subscription, deps),
        deps,
    )
    now = deps.clock()
    opportunity = deps.opportunities.opportunity(f"opp_{subscription.subscription_id}")
    subscription.notify(now)
    was = opportunity.status if opportunity is not None else OpportunityStatus.OPEN
    if opportunity is not None and opportunity.can_move(OpportunityStatus.NOTIFIED):
        # Open, or lost while it waited: told now, it has its 30 days from the notice.
        opportunity.notify(now)
    else:
        # None, or closed otherwise (lost after its notice, withdrawn): the wish is still
        # told and closed (found by a review: it stayed open, read at every crossing,
        # its email claimed).
        opportunity = None
    if not deps.opportunities.notify_subscription(subscription, opportunity, was) and sent:
        _no_copy_if_subscription_erased_meanwhile(subscription, sent, deps)
    return int(sent is not None)


def _no_copy_if_subscription_erased_meanwhile(
    subscription: BackInStockSubscription, sent: str, deps: Deps
) -> None:
    """An erasure between the read above and the send: the notice went, but the copy the
    environment keeps of it (the local outbox) goes as the erasure's own purge did. Only
    this copy: the erasure's purge took the others it had to."""
    if deps.outbox is None:
        return
    now = deps.opportunities.subscription(subscription.subscription_id)
    if now is not None and now.status is SubscriptionStatus.ERASED:
        deps.outbox.forget(set(), messages=[sent])


def tell_owed(deps: Deps, limit: int = 100) -> dict[str, int]:
    """The scheduled sweep: what stock writes owe their subscribers (``_tell_back_in_stock``
    failed) is told, each owed item forgotten once told. A SKU no longer on the web tells
    nobody and is forgotten too: its next crossing from 0 tells every open subscription.
    One that fails again stays owed for the next sweep, and the others still get theirs;
    ops are alerted once when one keeps failing, and the alert is resolved once nothing
    is left to tell. At most ``limit`` are tried (``next_to_tell``)."""
    now = deps.clock()
    owed = deps.opportunities.owed_notices(OWED_READ)
    told = emailed = errors = 0
    retry_every = deps.settings.waits.duration(UNTOLD_RETRY_EVERY)  # scaled, as the sweep's rate
    for notices in next_to_tell(owed, now, limit, retry_every):
        try:
            emailed += tell_those_waiting_at(notices.sku, notices.moment, deps)
        except Exception as exc:  # noqa: BLE001 - see above; kept owed by the failed telling
            errors += 1
            _log.warning("owed back-in-stock notices of %s failed", notices.sku, exc_info=True)
            _count_failed_sweep(notices, exc, deps)
            continue
        deps.opportunities.notices_told(notices)
        if notices.untold_too_long():
            _untold_alert_settled(notices, deps)
        told += 1
    return {"owed": len(owed), "told": told, "emailed": emailed, "errors": errors}


def _count_failed_sweep(notices: OwedNotices, error: Exception, deps: Deps) -> None:
    """One more failed sweep counted on what is owed; ops alerted (once) when it keeps
    failing (found by a review: an address the provider always refuses was tried every 5
    minutes for ever, with only a log line to show for it)."""
    counted = deps.opportunities.notices_failed(notices, deps.clock())
    if counted is None or not counted.untold_too_long():
        return
    untold = waiting_at(
        deps.opportunities.open_subscriptions(notices.sku),
        notices.sku,
        notices.moment,
        _on_the_web(notices.sku, deps),
    )
    alert_once(
        _untold_marker(notices),
        f"back-in-stock notices of {notices.sku} untold after {counted.attempts} sweeps",
        {
            "kind": UNTOLD_NOTICES_KIND,
            "sku": notices.sku,
            "owed_since": notices.moment.isoformat(),
            "attempts": counted.attempts,
            "untold": len(untold),
            # Ids, not addresses: an alert outlives a person's erasure. The error's type
            # only, for the same reason (a provider's refusal names the address).
            "subscription_ids": [s.subscription_id for s in untold[:UNTOLD_IDS_SHOWN]],
            "error": type(error).__name__,
        },
        deps,
    )


def _untold_marker(notices: OwedNotices) -> str:
    """The once-only marker of the alert about what one stock write owes."""
    return f"backinstock-untold:{notices.sku}:{notices.moment.isoformat()}"


def _untold_alert_settled(notices: OwedNotices, deps: Deps) -> int:
    """Owed notices ops were alerted about left the sweep: the open alert is resolved,
    saying so (as a late parcel's is, once delivered). Returns how many were."""
    note = (
        "nothing left for the sweep to tell: those waiting were told, or the SKU left the "
        "web and its next return tells them"
    )
    owed_since = notices.moment.isoformat()
    # Of that kind only: ops' newest open alerts of every kind may not reach it (found by
    # a review: past 1,000 newer open alerts it stayed open for good).
    return resolve_open(
        None,
        lambda alert: (
            (alert.facts.get("sku"), alert.facts.get("owed_since")) == (notices.sku, owed_since)
        ),
        "system:back_in_stock",
        note,
        deps,
        limit=OPEN_ALERTS_READ,
        kind=UNTOLD_NOTICES_KIND,
    )


def skus_given_back(changes: list[StockChange]) -> list[str]:
    """The SKUs a write gave reserved units of back, each once."""
    return sorted({c.sku for c in changes if c.gives_back})


def stock_given_back(sku: str, changes: list[StockChange], deps: Deps) -> int:
    """After a write that gave reserved units of ``sku`` back (an order cancelled,
    rejected or not collected): its subscribers are emailed if that took its web
    availability from 0. Read only when someone waits for it. One SKU at a time, so that
    a failure telling one leaves the next told (a review: it was untold, and not owed)."""
    if not deps.opportunities.open_subscriptions(sku):
        return 0
    levels = deps.store.stock_levels(sku)
    given = [c for c in changes if c.sku == sku]
    before = available_before_release(levels, given)
    return on_availability(sku, before, available_to_promise(levels), deps)


def told_safely(tell: Callable[[], int], after: str) -> int:
    """Tell back-in-stock subscribers after a stock write that stands (``after`` names it
    for the log). A failure here (the email provider down) must not fail what the caller
    did (found by a review: a receipt answered 500 with its units on the shelf): it is
    logged, and what the telling owes is told by the sweep (``tell_owed``). 0 when it
    failed."""
    try:
        return tell()
    except Exception:  # noqa: BLE001 - see above
        _log.warning("back-in-stock check after %s failed", after, exc_info=True)
        return 0


def availability_changed(
    sku: str, before_levels: list[Any], deps: Deps, levels_now: list[Any] | None = None
) -> int:
    """After a stock write: compare web availability before it with now (``levels_now``
    when the caller read them after the write)."""
    before = available_to_promise(before_levels)
    now = levels_now if levels_now is not None else deps.store.stock_levels(sku)
    return on_availability(sku, before, available_to_promise(now), deps)


def _move(opportunity: Opportunity, expected: OpportunityStatus, deps: Deps) -> bool:
    return deps.opportunities.save_opportunity(opportunity, expected)


def follow_order_event(event: dict[str, Any], deps: Deps, reads: EventReads | None = None) -> int:
    """Open, convert or subscribe from an order's status event; returns how many
    opportunities it created or moved. Safe to run twice for one event. ``reads``: the
    delivery's shared reads."""
    if event.get("type") != "order.status_changed" or not event.get("order_id"):
        return 0
    status, reason = event.get("status"), event.get("status_reason")
    reads = reads or EventReads(deps)
    order = reads.order(str(event["order_id"]))
    now = deps.clock()
    # An order that ended without a sale (after it was paid, or paid again) converted
    # nothing after all; not one paid again since this event (it is read as it is now).
    ended = status in ENDED and order.status in ENDED
    undone = _undo_conversions(order.order_id, deps, now) if ended else 0
    if status == "CANCELLED" and order.status is OrderStatus.CANCELLED:
        undone += _lose_unpaid_retry(order, deps, now)
    if status == "REJECTED" and reason == "payment_declined":
        retry = payment_retry_opportunity(order.order_id, order.customer_id, order.total, now)
        created = int(deps.opportunities.create_opportunity(retry))
        if order.status in ENDED or order.status is OrderStatus.ACCEPTED:
            # Read again now the retry exists: a PAID handler that ran between the read
            # and the create found nothing to convert, but the order was paid before it
            # ran, so this read sees it (a probe: open on a paid order, then lost).
            order = deps.store.get_order(order.order_id)
        if order.status not in ENDED and order.status is not OrderStatus.ACCEPTED:
            # Paid again already, and its PAID event handled first (SNS keeps no order;
            # found by a review): the retry converts now, or it would stay open and be
            # lost. Not while the new card is still being tried (ACCEPTED: its re-probe).
            return undone + created + _convert_payment_retry(order, deps, now)
        return undone + created
    if status == "REJECTED" and reason == "out_of_stock":
        # What the rejection recorded the web lacked: the wish its email promised, kept even
        # if stock came back meanwhile (it is then told at once; probe 231: read again
        # here, a unit back left the promise without a wish). Rejected before the rejection
        # recorded it: what is short now, a pick-up line at its store (a probe: every SKU
        # of an order short of one pick-up line was wished for); nothing short any more,
        # no wish to follow.
        wished = (
            order.out_of_stock_wished
            if order.out_of_stock_skus
            else shortage_of(order.lines, deps)[1]
        )
        if not wished:
            return undone
        return undone + len(subscribe_order_shortage(order, wished, deps, reads))
    if status == "PAID" and order.status not in ENDED:
        # A sale counts once paid: a declined or never-paid order converts nothing (a
        # probe saw one declined order count as a sale and as a retry still open); nor
        # does a paid event delivered after the order ended without a sale.
        return _convert_back_in_stock(order, deps, now) + _convert_payment_retry(order, deps, now)
    return undone


def _undo_conversions(order_id: str, deps: Deps, now: datetime) -> int:
    """An order ended without a sale: what it converted is not converted any more, unless
    another order of the customer's converts it instead."""
    undone = 0
    for opportunity in deps.opportunities.converted_by_order(order_id):
        opportunity.undo_conversion(now)
        replacement = _another_buying_order(opportunity, order_id, deps)
        if replacement is not None:
            opportunity.convert(replacement.order_id, now, replacement.brought(opportunity.sku))
        undone += deps.opportunities.undo_conversion(opportunity, order_id)
    return undone


def _another_buying_order(opportunity: Opportunity, ended: str, deps: Deps) -> PlacedOrder | None:
    """For a back-in-stock wish whose converting order ended without a sale: another order
    of the same customer for its SKU, placed after the notice and paid, not rejected or
    cancelled (a re-probe: a second order already bought it, and the wish went back to
    notified), as conversion judges it (what it brought for the SKU included). Read from
    the customer's order summaries, newest first, back to the notice; only for a wish of
    a known customer (this is rare: a sale undone)."""
    if (
        opportunity.kind is not OpportunityKind.BACK_IN_STOCK
        or opportunity.customer_id is None
        or opportunity.notified_at is None
    ):
        return None
    try:
        customer_id = canonical_customer(opportunity.customer_id, deps)[0]
    except NotFound:
        return None
    since = opportunity.notified_at.isoformat()
    cursor: str | None = None
    while True:
        page, cursor = deps.customers.records(
            customer_id, CustomerRecord.ORDERS, limit=25, newest_first=True, cursor=cursor
        )
        for summary in page:
            if str(summary.get("placed_at", "")) < since:
                return None
            order_id = str(summary.get("order_id"))
            if order_id == ended or not (summary.get("contribution") or {}).get("counted"):
                continue
            order = deps.store.get_order(order_id)
            placed = PlacedOrder.of(order, customer_id=opportunity.customer_id, email=None)
            if order.status not in ENDED and converts_back_in_stock(opportunity, placed):
                return placed
        if cursor is None:
            return None


def convert_after_merge(survivor_id: str, merged_id: str, deps: Deps) -> int:
    """After a merge: a notified wish of either record that an order of the other bought
    since its notice converts now (re-probe 193: the buyer and the wisher merged after the
    purchase, and the wish stayed notified until lost). Each wish reads the person's
    orders back to its notice, as a sale undone does; a merge is rare. Returns how many
    converted."""
    now = deps.clock()
    converted = 0
    for wish in deps.opportunities.held_by([survivor_id, merged_id], []):
        if wish.kind is not OpportunityKind.BACK_IN_STOCK:
            continue
        if wish.status is not OpportunityStatus.NOTIFIED:
            continue
        bought = _another_buying_order(wish, "", deps)
        if bought is not None:
            wish.convert(bought.order_id, now, bought.brought(wish.sku))
            converted += _move(wish, OpportunityStatus.NOTIFIED, deps)
    return converted


def _convert_back_in_stock(order: Order, deps: Deps, now: datetime) -> int:
    placed = PlacedOrder.of(order, customer_id=order.customer_id, email=order.contact.email)
    waiting = [o for sku in placed.skus for o in deps.opportunities.notified_back_in_stock(sku)]
    _recognise_buyer(waiting, order, deps)
    converted = convert_on_order(waiting, placed, now)
    return sum(_move(o, OpportunityStatus.NOTIFIED, deps) for o in converted)


def _recognise_buyer(waiting: list[Opportunity], order: Order, deps: Deps) -> None:
    """A wish of the order's customer under another name is theirs: one made with a bare
    email whose owner is now known as the order's customer (an order placed by
    ``customer_id`` alone names no email to match: a probe's subscriber registered, then
    ordered by id, and the wish stayed unconverted), or one of a record merged into the
    buyer's, or the buyer's into it (probe 191: listed as the survivor's, never
    converted). Each read only when such a wish waits."""
    others = [o for o in waiting if o.customer_id != order.customer_id]
    if not others or order.customer_id is None:
        return
    try:
        buyer = canonical_customer(order.customer_id, deps)[0]
    except NotFound:
        return
    same_person: set[str] | None = None
    for opportunity in others:
        if opportunity.customer_id is None:
            if opportunity.email and _customer_for(opportunity.email, deps) == buyer:
                opportunity.customer_id = order.customer_id
            continue
        if same_person is None:
            same_person = set(person_records(buyer, deps))
        if opportunity.customer_id in same_person:
            opportunity.customer_id = order.customer_id


def _payment_retry_of(order: Order, deps: Deps, now: datetime) -> Opportunity | None:
    """The order's payment retry. One is opened only by its ``payment_declined``
    rejection, which its history keeps (a rejected order is paid only after it is
    reopened): an order never rejected has none, and is spared the read."""
    if not any(entry.status is OrderStatus.REJECTED for entry in order.history):
        return None
    retry_id = payment_retry_opportunity(order.order_id, None, order.total, now).opportunity_id
    return deps.opportunities.opportunity(retry_id)


def _lose_unpaid_retry(order: Order, deps: Deps, now: datetime) -> int:
    """A declined order cancelled before it was paid again: its payment retry can never
    convert (probe 192's cancel of a declined order left it open for 30 days)."""
    found = _payment_retry_of(order, deps, now)
    if found is None:
        return 0
    before = found.status
    return int(found.close_unpaid(now) and _move(found, before, deps))


def _convert_payment_retry(order: Order, deps: Deps, now: datetime) -> int:
    found = _payment_retry_of(order, deps, now)
    if found is None:
        return 0
    before = found.status
    converted = convert_on_payment([found], order.order_id, now)
    return sum(_move(o, before, deps) for o in converted)


def lose_stale(deps: Deps) -> int:
    """Mark lost every opportunity still open or notified 30 days (scaled) after it was
    created; returns how many."""
    now = deps.clock()
    lost_after = deps.settings.waits.duration(LOST_AFTER)
    lost = 0
    # Created by then: a notified one's 30 days start later still (``due_to_lose``).
    for opportunity in deps.opportunities.active_created_by(now - lost_after):
        if not opportunity.due_to_lose(now, lost_after):
            continue
        before = opportunity.status
        opportunity.lose(now, lost_after)
        lost += _move(opportunity, before, deps)
    return lost


def listing(
    deps: Deps,
    status: OpportunityStatus | None = None,
    cursor: str | None = None,
    limit: int = LIST_PAGE,
) -> tuple[list[dict[str, Any]], str | None]:
    """``GET /ops/opportunities``, one page newest first (a review: the whole list in one
    answer, read whole, grows past what a response may hold) and the cursor of the next:
    each with its value as money, and its customer as the record they are now (a
    re-probe: a record merged away was still named); each distinct customer is read
    once."""
    before = decode_cursor_parts(cursor, 1)[0] if cursor is not None else None
    # A key DynamoDB takes: a non-empty string, well under its 1 KB (a made-up cursor
    # would otherwise be a 500).
    if before is not None and not (isinstance(before, str) and 0 < len(before) <= 200):
        raise InvalidCursor("not a cursor from this API", field="cursor")
    page = deps.opportunities.opportunities_page(status, before, limit)
    current: dict[str, str] = {}

    def now_known_as(customer_id: str) -> str:
        if customer_id not in current:
            try:
                current[customer_id] = canonical_customer(customer_id, deps)[0]
            except NotFound:
                current[customer_id] = customer_id
        return current[customer_id]

    rows = []
    for opportunity in page.opportunities:
        row = opportunity.view()
        row["value"] = {"amount": opportunity.value, "currency": row.pop("currency")}
        if row["customer_id"]:
            row["customer_id"] = now_known_as(str(row["customer_id"]))
        rows.append(row)
    last = page.last_listed
    return rows, encode_cursor_parts(last) if last is not None else None
