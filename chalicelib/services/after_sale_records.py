"""What the after-sale features keep about a person, found for the erasure and the
export, and the erasure's steps over it: survey answers (one per order of the person) and
back-in-stock subscriptions with the opportunities followed up (by the person's records
and addresses).

Found without a scan: the answers by the person's orders; the opportunities from their
one partition (what ``GET /ops/opportunities`` reads). Every subscription is written in
one transaction with its opportunity, which records the subscription's id, the customer
id and the address, so that partition leads to every subscription of the person, open or
already closed, and no pointer per customer or address is needed."""

from __future__ import annotations

from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import (
    UNVOUCHED,
    Identifier,
    IdentifierType,
    ProfileState,
    reached_at,
)
from chalicelib.domain.erasure import (
    redact_opportunity,
    redact_subscription,
    redact_survey,
    redact_ticket,
)
from chalicelib.domain.errors import (
    ConcurrentModification,
    CouponUsedUp,
    NotFound,
    PromotionUsedUp,
)
from chalicelib.domain.opportunities import BackInStockSubscription, Opportunity, OpportunityKind
from chalicelib.domain.orders import Order
from chalicelib.domain.promotions import Redemption
from chalicelib.domain.surveys import SurveyResponse, complaint_ticket_id
from chalicelib.ports import CustomerRecord
from chalicelib.services.customers import canonical_customer, person_records
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from chalicelib.composition import Deps

MAX_REDACTION_ATTEMPTS = 5
HAND_OVER_ATTEMPTS = 5


def orders_of(records: list[str], deps: Deps) -> list[str]:
    """The ids of the orders the person's records hold (projected summaries)."""
    ids: list[str] = []
    for each in records:
        summaries, _ = deps.customers.records(each, CustomerRecord.ORDERS)
        ids.extend(str(s["order_id"]) for s in summaries if str(s["order_id"]) not in ids)
    return ids


def stray_orders(records: list[str], deps: Deps) -> list[str]:
    """The ids of ``stray_order_items``."""
    return [order.order_id for order in stray_order_items(records, deps)]


def stray_order_items(records: list[str], deps: Deps) -> list[Order]:
    """Orders the person's identifiers brought, while merely attached (or by a merge), to
    the record one of them was later split off (``split_from``): they stayed there, marked
    (``unvouched_on`` it), and are the person's too when they name one of the person's
    identifiers. Read before the erasure releases the identifiers."""
    found: dict[str, Order] = {}
    for each in records:
        source = (deps.customers.profile(each) or {}).get("split_from")
        if not source or source in records:
            continue
        # Where the source's summaries are now: merged since, they moved with it (a
        # re-probe saw a merge of the founder's record take the split record's orders).
        holder = canonical_customer(str(source), deps)[0]
        if holder in records:
            continue
        theirs = {i.value for i in deps.customers.identifiers(each)}
        summaries, _ = deps.customers.records(holder, CustomerRecord.ORDERS)
        for summary in summaries:
            if not summary.get(UNVOUCHED):
                continue
            try:
                order = deps.store.get_order(str(summary["order_id"]))
            except NotFound:
                continue
            named = reached_at(order.contact.email, order.contact.phone)
            if unvouched_on(order, holder) and named & theirs:
                found.setdefault(order.order_id, order)
    return list(found.values())


def unvouched_on(order: Order, record: str) -> bool:
    """Whether ``order`` is on ``record`` without a proof there: only attached identifiers
    brought it (``Order.customer_unvouched``), or a merge did (it was placed on a record
    merged into this one since). A merge vouches for nothing it moves, so an identifier of
    the merged record proven again takes its orders with it (probe 251: they stayed, and
    their welcome coupon with them, which its prover then used a second time)."""
    return order.customer_unvouched or order.customer_id not in (None, record)


def hand_over_split_orders(split: str, deps: Deps) -> None:
    """Give a record just split off another the once-per-customer promotions that its
    orders left there (``stray_order_items``) redeemed: its founder used them, not the
    record's own customer, who may still use them, while the founder may not use them
    again (a probe: the record's owner was refused a welcome coupon the split-off founder
    could use twice). An order whose promotion the founder holds already, under an order
    of their own, keeps its marker where it was."""
    for order in stray_order_items([split], deps):
        if not any(t.customer_id not in (None, split) for t in _redemptions(order)):
            continue

        def hand_over(order_id: str = order.order_id) -> None:
            deps.store.hand_redemptions_to(deps.store.get_order(order_id), split)

        try:
            retried(hand_over, HAND_OVER_ATTEMPTS)
        except (CouponUsedUp, PromotionUsedUp):
            continue


def _redemptions(order: Order) -> list[Redemption]:
    return order.pricing.redemptions if order.pricing is not None else []


def orders_split_away(records: list[str], deps: Deps) -> list[str]:
    """The orders on the person's records that another person's identifiers brought: the
    ``stray_orders`` of each record split off one of theirs (its founder proved the
    identifier those orders came by alone)."""
    found: list[str] = []
    for each in records:
        for split in deps.customers.split_off(each):
            if split in records:
                continue
            # An erased split record's orders name nobody any more: its erasure recorded
            # them (a re-probe saw them come back to this record, counted and exported).
            erasure = deps.customers.erasure(split)
            theirs = (
                [str(o) for o in erasure.get("pending_orders") or []]
                if erasure is not None
                else stray_orders([split], deps)
            )
            found.extend(o for o in theirs if o not in found)
    return found


def order_customer(order: Order, deps: Deps) -> tuple[str | None, dict[str, Any]]:
    """The customer an order is for now, and its profile: the record it was placed under
    (following merges), or the record split off that one which owns it (``split_owner``:
    its proven identifier alone brought the order there), as the 360, the export and the
    erasure read it. ``(None, {})`` for an anonymous order or an unknown record."""
    if order.customer_id is None:
        return None, {}
    try:
        owner, profile = canonical_customer(order.customer_id, deps)
    except NotFound:
        return None, {}
    split = split_owner(order, owner, deps)
    return (owner, profile) if split is None else canonical_customer(split, deps)


def order_erased(order: Order, deps: Deps) -> bool:
    """Whether the customer the order is for now (``order_customer``) was erased: nothing
    they write from then on is kept."""
    return order_customer(order, deps)[1].get("state") == ProfileState.ERASED


def split_away(order: Order, record: str, deps: Deps) -> bool:
    """Whether ``order``, on ``record``, is a record split off it's (``split_owner``)."""
    return split_owner(order, record, deps) is not None


def split_owner(order: Order, record: str, deps: Deps) -> str | None:
    """The record split off ``record`` that ``order`` (on ``record``) belongs to: only
    attached identifiers brought it there, and one of them was since proven there
    (``stray_order_items`` from the other side); None for ``record``'s own orders."""
    if not unvouched_on(order, record):
        return None
    named = reached_at(order.contact.email, order.contact.phone)
    for each in person_records(record, deps):  # a split off a record merged in since
        for split in deps.customers.split_off(each):
            if named & {i.value for i in deps.customers.identifiers(split)}:
                return split
    return None


# The erasure's steps receive ``orders_split_away`` under this key, read once for all of
# them (never stored with the erasure record).
SPLIT_AWAY = "orders_split_away"


def split_away_from(records: list[str], record: dict[str, Any], deps: Deps) -> set[str]:
    """``orders_split_away`` of the person's records, as the erasure read it when its steps
    began, or read now."""
    known = record.get(SPLIT_AWAY)
    return set(known) if known is not None else set(orders_split_away(records, deps))


def erasure_orders(records: list[str], record: dict[str, Any], deps: Deps) -> list[str]:
    """The orders an erasure redacts: its records', less those a record split off theirs
    owns (``orders_split_away``: that record's founder's), and those it found, when
    recorded, that the person's identifiers brought to another record
    (``pending_orders``)."""
    away = split_away_from(records, record, deps)
    ids = [o for o in orders_of(records, deps) if o not in away]
    return ids + [str(o) for o in record.get("pending_orders") or [] if str(o) not in ids]


def survey_answers(order_ids: list[str], deps: Deps) -> list[SurveyResponse]:
    """The answers given to the surveys of these orders."""
    return [a for order_id in order_ids if (a := deps.surveys.survey(order_id)) is not None]


def opportunities_of(
    records: Collection[str], addresses: Collection[str], deps: Deps
) -> list[Opportunity]:
    """The opportunities of the person: those naming one of their records, or recognising
    them by one of their addresses (a subscription made with a bare email). Read from an
    index of who holds each (found by a review: every opportunity ever stored was read, for
    each erasure and each export)."""
    return deps.opportunities.held_by(records, addresses)


def subscriptions_of(opportunities: list[Opportunity], deps: Deps) -> list[BackInStockSubscription]:
    """The subscriptions these opportunities follow."""
    found = []
    for opportunity in opportunities:
        if opportunity.subscription_id is None:
            continue
        subscription = deps.opportunities.subscription(opportunity.subscription_id)
        if subscription is not None:
            found.append(subscription)
    return found


def not_someone_elses(addresses: set[str], records: Collection[str], deps: Deps) -> set[str]:
    """Those of the email ``addresses`` no record but the person's claims: an order's
    contact may name another customer's email (a re-probe saw erasing the order's customer
    delete that other customer's emails and close their subscriptions)."""
    kept = set()
    for address in addresses:
        claim = deps.customers.identifier_claim(
            Identifier(type=IdentifierType.EMAIL, value=address)
        )
        if claim is None or claim.customer_id in records:
            kept.add(address)
    return kept


def erasure_addresses(record: dict[str, Any]) -> set[str]:
    """The person's addresses the erasure collected when it was recorded, and those it
    found once recorded (``pending_late_addresses``: a merge racing it brought them). The
    identifiers and the orders' contacts are gone by the time the steps run.
    ``pending_outbox`` is what records begun before the subscriptions were erased called
    them."""
    kept = record.get("pending_addresses") or record.get("pending_outbox") or []
    late = record.get("pending_late_addresses") or []
    return {str(address) for address in [*kept, *late]}


def erase_survey_comments(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The comment of every survey answer on the person's orders; the score and what it
    is about stay, so the satisfaction figures stay."""
    for answer in survey_answers(erasure_orders(records, record, deps), deps):
        redacted = redact_survey(answer)
        if redacted is not None:
            deps.surveys.replace_survey(redacted)
        _redact_unclaimed_complaint(answer.subject.order_id, deps)


def _redact_unclaimed_complaint(order_id: str, deps: Deps) -> None:
    """The complaint a low score opened on an order that had no customer yet: it is in no
    customer's list until the claim's event carries it over (``surveys.carry_to_claimant``),
    and it quotes the comment (a probe read it back after the erasure)."""

    def redact() -> None:
        ticket = deps.customers.get_ticket(complaint_ticket_id(order_id))
        if ticket is not None and ticket.customer_id is None and redact_ticket(ticket):
            deps.customers.save_ticket(ticket)

    try:
        retried(redact, MAX_REDACTION_ATTEMPTS)
    except ConcurrentModification as exc:
        raise ConcurrentModification("a ticket kept changing; erase again") from exc


def erase_opportunities(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The address off every subscription and opportunity of the person, their open
    subscriptions closed (a notice must never go to an erased person) and what can never
    convert now ``lost``: the back-in-stock opportunities following them, and the payment
    retries of their orders. Subscriptions first: an opportunity that lost its address may
    no longer lead back to them."""
    found = opportunities_of(records, erasure_addresses(record), deps)
    for subscription in subscriptions_of(found, deps):
        redacted = redact_subscription(subscription)
        if redacted is not None:
            deps.opportunities.erase_subscription(subscription, redacted)
    away = split_away_from(records, record, deps)
    for opportunity in found:
        try:
            retried(
                partial(_redact_opportunity, opportunity.opportunity_id, away, deps),
                MAX_REDACTION_ATTEMPTS,
            )
        except ConcurrentModification as exc:
            raise ConcurrentModification("an opportunity kept changing; erase again") from exc


def _redact_opportunity(opportunity_id: str, split_away: Collection[str], deps: Deps) -> None:
    """One opportunity without the address and, still open or notified, ``lost`` when it
    can never convert: a back-in-stock one (nobody can be told or recognised), a payment
    retry (paying its order again is refused once its customer is erased: probe 215 saw
    it open until the 30-day review); not the payment retry of an order a record split off
    the person's owns (``orders_split_away``: that record's founder may still pay it).
    Both in one write conditioned on the status it had."""
    current = deps.opportunities.opportunity(opportunity_id)
    if current is None:
        return
    before = current.status
    redacted = redact_opportunity(current)
    closed = redacted or current.model_copy(deep=True)
    someone_elses = closed.kind is OpportunityKind.PAYMENT_RETRY and closed.order_id in split_away
    if not someone_elses and closed.withdraw(deps.clock()):
        written = deps.opportunities.save_opportunity(closed, before)
    elif redacted is not None:
        written = deps.opportunities.replace_opportunity(redacted)
    else:
        return
    if not written:
        raise ConcurrentModification(f"opportunity {opportunity_id} moved while erased")
