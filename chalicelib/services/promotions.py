"""Promotions: created by ops, offered to every basket the pricing engine prices (the
automatic ones and the coupon's), and redeemed with the order that got them (the order
store takes the redemption in the order's own write, see ``ports.Promotions``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.domain.customers import identifiers_of
from chalicelib.domain.errors import (
    Conflict,
    CouponUsedUp,
    NotFound,
    OrquestaError,
    PromotionUsedUp,
)
from chalicelib.domain.promotions import (
    CountedPromotion,
    Promotion,
    PromotionTerms,
    Redemption,
    exhaustion,
    redemptions_of,
)
from chalicelib.services.customers import (
    SeenClaims,
    canonical_customer,
    find_owner,
    person_records,
)
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.deps import Deps
    from chalicelib.domain.order_pricing import OrderPricing
    from chalicelib.domain.requests import CustomerRef


def new_promotion_id(now: datetime) -> str:
    """Ids sort by creation (milliseconds first), so listings read oldest first."""
    return f"pr_{int(now.timestamp() * 1000):013x}{secrets.token_hex(4)}"


def create_promotion(
    terms: PromotionTerms, deps: Deps, once: str | None = None
) -> CountedPromotion:
    """Keep a new promotion; 409 naming ``code`` when another promotion not ended yet has
    its code (an ended one gives it up).
    ``once``: the request's Idempotency-Key in its scope. Run again after a first run that
    died before its answer was stored (Powertools runs the key again then), it answers the
    promotion created first and creates none: found by a review, a second automatic
    promotion would have doubled its ``max_redemptions``."""
    now = deps.clock()
    promotion = Promotion(**terms.model_dump(), promotion_id=new_promotion_id(now))
    try:
        kept = deps.store.create_promotion(promotion, once)
    except Conflict as taken:
        # A code comes back once its promotion has ended: last summer's VERANO may be
        # this summer's (probe 190). Orders and quotes of the ended one keep its id.
        holder = deps.store.promotion_by_code(promotion.code) if promotion.code else None
        if taken.field != "code" or holder is None:
            raise
        replaces = holder.promotion.promotion_id
        if not holder.promotion.has_ended(now):
            raise Conflict(
                f"promotion {replaces} has the code {promotion.code} until it ends",
                field="code",
            ) from taken
        kept = deps.store.create_promotion(promotion, once, replaces=replaces)
    if kept != promotion.promotion_id:
        return deps.store.promotion(kept)
    return CountedPromotion(promotion=promotion)


def listing(deps: Deps) -> list[CountedPromotion]:
    """Every promotion with its live redemptions, oldest first."""
    return deps.store.promotions()


def promotion(promotion_id: str, deps: Deps) -> CountedPromotion:
    """One promotion with its live redemptions; 404 naming ``promotion_id``."""
    return deps.store.promotion(promotion_id)


def end_promotion(promotion_id: str, deps: Deps) -> CountedPromotion:
    """Ops switch a promotion off now: it ends at this moment, unless it ended already
    (repeating it answers the same). The order placed on a quote that holds it keeps its
    quoted price (one live order per quote: probe 250); nothing redeemed is taken back.
    404 naming ``promotion_id``."""

    def attempt() -> CountedPromotion:
        counted = deps.store.promotion(promotion_id)
        ended = counted.promotion.ended(deps.clock())
        if ended is None:
            return counted
        deps.store.replace_promotion(counted.promotion, ended)
        return CountedPromotion(promotion=ended, redemptions=counted.redemptions)

    return retried(attempt, attempts=5)


def offered(coupon: str | None, now: datetime, deps: Deps) -> list[CountedPromotion]:
    """What a basket may get now: the automatic promotions not ended, and the coupon's
    promotion when the code exists (``promotions.choose`` decides which apply)."""
    found = deps.store.automatic_promotions(now)
    if coupon is not None and coupon.strip():
        coded = deps.store.promotion_by_code(coupon)
        if coded is not None:
            found.append(coded)
    return found


def customer_redeemed(
    offers: list[CountedPromotion],
    identified: bool,
    customer_id: str | None,
    deps: Deps,
    also: Sequence[str] = (),
) -> set[str] | None:
    """The once-per-customer promotions among ``offers`` the shopper redeemed already,
    under their record or any record merged into it (one person's, a merge said so: a
    probe used a welcome coupon twice, once under each record of a merged pair), or
    under ``also``: the records of the request's other identifiers (probe 190: a phone
    that had used the welcome coupon got it again beside an email with a record of its
    own); ``None`` when the shopper is not identified (such promotions cannot apply)."""
    if not identified:
        return None
    once = [c.promotion.promotion_id for c in offers if c.promotion.once_per_customer]
    owners = list(dict.fromkeys(o for o in (customer_id, *also) if o is not None))
    if not owners or not once:
        return set()  # a shopper not known yet has redeemed nothing
    records = list(dict.fromkeys(r for owner in owners for r in person_records(owner, deps)))
    return _redeemed_under(records, once, deps)


def _redeemed_under(records: list[str], promotion_ids: list[str], deps: Deps) -> set[str]:
    """The promotions among ``promotion_ids`` redeemed under any of ``records``."""
    redeemed: set[str] = set()
    for record in records:
        redeemed |= deps.store.redeemed_by(record, promotion_ids)
    return redeemed


def known_shopper(
    ref: CustomerRef | None, deps: Deps, seen: SeenClaims | None = None
) -> tuple[bool, str | None, list[str]]:
    """Whether the request identifies its customer, the customer it names if one is
    known already, and the records its other identifiers belong to (a person's welcome
    coupon is theirs under any of them), read without creating or merging anything
    (placing resolves the customer after pricing, once the coupon is known to apply;
    ``seen`` keeps the owners read for it, which resolving reads too)."""
    if ref is None or not ref.has_identifier():
        return False, None, []
    named: list[str] = [ref.customer_id] if ref.customer_id else []
    try:
        for identifier in identifiers_of(ref.email, ref.phone, ref.loyalty_id, "customer."):
            owner = find_owner(identifier, deps, seen)
            if owner is not None:
                named.append(owner)
        # Each record read once (an email and a phone of one record: one read).
        owners = [_canonical(owner, deps) for owner in dict.fromkeys(named)]
    except OrquestaError:
        return True, None, []  # placing names the bad identifier when it resolves it
    if ref.customer_id and owners[0] is None:
        return True, None, []  # an unknown id: placing refuses it
    known = list(dict.fromkeys(owner for owner in owners if owner is not None))
    return True, (known[0] if known else None), known[1:]


def _canonical(customer_id: str, deps: Deps) -> str | None:
    try:
        return canonical_customer(customer_id, deps)[0]
    except NotFound:
        return None


def redemptions_for(pricing: OrderPricing, customer_id: str | None, deps: Deps) -> list[Redemption]:
    """What an order priced this way redeems (its customer marked for once-per-customer
    promotions, its quote for an order priced on one; ``InvalidCoupon`` naming ``coupon``
    when a once-per-customer one has no customer)."""
    chosen = [deps.store.promotion(p.promotion_id).promotion for p in pricing.promotions]
    taken = redemptions_of(chosen, customer_id, pricing.quote_id)
    _refuse_if_redeemed_under_a_merged_record(taken, customer_id, deps)
    return taken


def redemptions_free_again(pricing: OrderPricing | None, deps: Deps) -> bool:
    """Whether an order that gave its redemptions back (a declined card) could take them
    again now: none used up by other orders, no once-per-customer one used since by its
    customer under any of their records (``exhaustion``, as pricing asks), its quote's
    price not given to another order on the quote. Read, never held: the write taking
    them is the check that counts (a probe: the tracking page offered paying again that
    was refused)."""
    if pricing is None or pricing.redemptions_held or not pricing.redemptions:
        return True
    if any(
        t.quote_id is not None and deps.store.quote_redeemed_by(t.promotion_id, t.quote_id)
        for t in pricing.redemptions
    ):
        return False
    counted = [deps.store.promotion(taken.promotion_id) for taken in pricing.redemptions]
    # The record the once-per-customer ones were marked under (one customer per order).
    owner = next((t.customer_id for t in pricing.redemptions if t.customer_id), None)
    redeemed = customer_redeemed(counted, True, owner, deps) or set()
    counts = {c.promotion.promotion_id: c.redemptions for c in counted}
    return all(exhaustion(c.promotion, counts, redeemed) is None for c in counted)


def _refuse_if_redeemed_under_a_merged_record(
    taken: list[Redemption], customer_id: str | None, deps: Deps
) -> None:
    """``CouponUsedUp`` or ``PromotionUsedUp`` when a once-per-customer promotion was
    redeemed under a record merged into the order's customer. The customer's own marker
    is the condition of the order's write; a merged record's is not, and an order on a
    quote priced for someone else reaches here unchecked (a probe's corner)."""
    once = [t.promotion_id for t in taken if t.customer_id is not None]
    if customer_id is None or not once:
        return
    merged = person_records(customer_id, deps)[1:]
    used = _redeemed_under(merged, once, deps) if merged else set()
    for redemption in taken:
        if redemption.promotion_id not in used:
            continue
        if redemption.code is None:
            raise PromotionUsedUp(f"promotion {redemption.promotion_id} was used by this customer")
        raise CouponUsedUp(f"coupon {redemption.code} was already used by this customer")
