"""Promotions and coupons: which apply to a basket, and how a discount spreads over lines.

- A promotion with a ``code`` is a coupon: it applies only when the shopper gives its code
  (codes compare case-insensitively, stored upper-case). One without a code applies by
  itself wherever it is eligible.
- At most one coupon and one automatic promotion per order. When several automatic ones
  are eligible, the one worth most to the shopper on this basket wins (ties: the lower
  ``promotion_id``, so the choice is stable).
- Eligible means: within ``starts_at`` (inclusive) and ``ends_at`` (exclusive), for the
  order's channel when ``channels`` narrows it, a basket of at least ``min_subtotal`` at
  catalogue prices (IVA included, wherever it goes: one bar in every region, where the
  Canaries' subtotal is counted without IVA; probe 215), and redemptions left: fewer
  than ``max_redemptions`` counted, and not yet used by this customer when
  ``once_per_customer``. The same promotion gives the same price in every channel it is
  valid for.
- A coupon that is unknown, out of its window, not for the channel or the basket (below
  ``min_subtotal``, or taking nothing off it: see ``pricing.refuse_idle_coupon``), or once
  per customer with no known customer, is ``InvalidCoupon`` (422 naming ``coupon``); one
  used up is ``CouponUsedUp`` (409 naming ``coupon``). Automatic promotions that do not
  apply are skipped silently, and so is one that would take nothing off the basket (see
  ``pricing.drop_idle_automatic``): it is not shown and uses up no redemption.
- The caller supplies the redemption counts; counting them atomically (and giving one
  back when an order is rejected or cancelled) is the repository's job.
- A discount is spread over the lines in proportion to their totals, in whole cents: each
  line gets its exact share rounded down, then the cents left over go one each to the
  lines with the largest remainders (ties: the earlier line), so the shares add up to the
  discount exactly and no line's share exceeds its total.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_serializer, field_validator

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import CouponUsedUp, InvalidCoupon
from chalicelib.domain.money import CENT

ChannelName = Literal["web", "app", "store", "kiosk", "phone"]
HUNDRED = Decimal(100)
MAX_AMOUNT = Decimal("1000000")


class PromotionKind(StrEnum):
    """What a promotion takes off."""

    PERCENT = "percent"
    AMOUNT = "amount"
    FREE_SHIPPING = "free_shipping"


def _cents(value: Decimal) -> bool:
    return value == value.quantize(CENT)


class PromotionTerms(DeferredModel):
    """A promotion's rules as ops create it (``POST /promotions``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    code: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    kind: PromotionKind
    # The percentage for ``percent`` ("10" is 10 %), euros for ``amount``, absent for
    # ``free_shipping``.
    value: Decimal | None = Field(default=None, validate_default=True)
    min_subtotal: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channels: frozenset[ChannelName] | None = Field(default=None, min_length=1)
    max_redemptions: int | None = Field(default=None, ge=1)
    once_per_customer: bool = False
    campaign: str | None = Field(default=None, min_length=1, max_length=100)

    @field_serializer("channels")
    def _in_order(self, channels: frozenset[str] | None) -> list[str] | None:
        # A set has no order of its own: written sorted, the same terms always read the
        # same (the stored terms are the condition ending a promotion is written under).
        return sorted(channels) if channels is not None else None

    @field_validator("code")
    @classmethod
    def _upper(cls, code: str | None) -> str | None:
        return code.upper() if code is not None else None

    @field_validator("value")
    @classmethod
    def _value_fits_kind(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        kind = info.data.get("kind")
        if kind is None:
            return value  # the kind itself is invalid and named
        if kind is PromotionKind.FREE_SHIPPING:
            if value is not None:
                raise ValueError("a free_shipping promotion takes no value")
            return None
        if value is None:
            article = "an" if kind is PromotionKind.AMOUNT else "a"
            raise ValueError(f"{article} {kind.value} promotion needs a value")
        if not value.is_finite() or not _cents(value):
            raise ValueError("value has at most 2 decimals")
        if kind is PromotionKind.PERCENT and not Decimal(0) < value <= HUNDRED:
            raise ValueError("a percentage is more than 0 and at most 100")
        if kind is PromotionKind.AMOUNT and not Decimal(0) < value <= MAX_AMOUNT:
            raise ValueError(f"an amount is more than 0.00 and at most {MAX_AMOUNT}")
        return value

    @field_validator("min_subtotal")
    @classmethod
    def _min_in_cents(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not _cents(value):
            raise ValueError("min_subtotal has at most 2 decimals")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.utcoffset() is None:
            raise ValueError("a time needs its offset (ISO 8601 with Z or +hh:mm)")
        return moment

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends: datetime | None, info: ValidationInfo) -> datetime | None:
        starts = info.data.get("starts_at")
        if ends is not None and starts is not None and ends <= starts:
            raise ValueError("ends_at must be after starts_at")
        return ends


class Promotion(PromotionTerms):
    """A stored promotion."""

    promotion_id: str = Field(min_length=1)

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends: datetime | None, info: ValidationInfo) -> datetime | None:
        # Stored terms may end where they start: a promotion switched off before it began.
        starts = info.data.get("starts_at")
        if ends is not None and starts is not None and ends < starts:
            raise ValueError("ends_at must not be before starts_at")
        return ends

    def has_ended(self, at: datetime) -> bool:
        """Whether its window is over by ``at`` (its code may then be given to another)."""
        return self.ends_at is not None and self.ends_at <= at

    def ended(self, at: datetime) -> "Promotion | None":
        """The promotion ending at ``at`` (ops switching it off), or None when it has ended
        by then already: an earlier end stands. One that has not begun ends now, its
        window empty from now (an end before its start could not be read back; probe 204:
        ended where it would have begun, days ahead, it kept its code until then and
        shoppers read "expired" at a date to come)."""
        if self.has_ended(at):
            return None
        window = {"ends_at": at}
        if self.starts_at is not None and self.starts_at > at:
            window["starts_at"] = at
        return Promotion.model_validate(self.model_dump() | window)


def worth(promotion: PromotionTerms, subtotal: Decimal, shipping: Decimal = Decimal(0)) -> Decimal:
    """What the promotion takes off a basket of ``subtotal`` with ``shipping`` to pay."""
    if promotion.kind is PromotionKind.FREE_SHIPPING:
        return shipping
    value = promotion.value or Decimal(0)
    if promotion.kind is PromotionKind.PERCENT:
        return (subtotal * value / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(value, subtotal).quantize(CENT)


def refusal(promotion: PromotionTerms, channel: str, basket: Decimal, now: datetime) -> str | None:
    """Why the promotion does not apply to this basket now, or ``None`` when it does;
    ``basket``: the goods at catalogue prices, IVA included."""
    starts, ends = promotion.starts_at, promotion.ends_at
    if ends is not None and (now >= ends or (starts is not None and ends <= starts)):
        return f"expired at {ends.isoformat()}"
    if starts is not None and now < starts:
        return f"is not valid until {starts.isoformat()}"
    reason = channel_refusal(promotion, channel)
    if reason is not None:
        return reason
    if promotion.min_subtotal is not None and basket < promotion.min_subtotal:
        least = promotion.min_subtotal.quantize(CENT)
        return f"needs goods worth at least {least} at catalogue prices (IVA included)"
    return None


def channel_refusal(promotion: PromotionTerms, channel: str) -> str | None:
    """Why the promotion is not for ``channel``'s orders, or ``None`` when it is."""
    if promotion.channels is not None and channel not in promotion.channels:
        return f"is not valid for {channel} orders"
    return None


def check_quoted_coupon(promotion: PromotionTerms, channel: str) -> None:
    """A coupon an order brings on its quote: the quote fixed its price, not the channel
    the order comes through, so the coupon's channel rule holds at placement as without
    a quote (``InvalidCoupon``, 422 naming ``coupon``)."""
    reason = channel_refusal(promotion, channel)
    if reason is not None:
        raise InvalidCoupon(f"coupon {promotion.code} {reason}")


def exhaustion(
    promotion: Promotion, redemptions: Mapping[str, int], customer_redeemed: Collection[str]
) -> str | None:
    """Why the promotion has no redemption left for this customer, or ``None``."""
    used = redemptions.get(promotion.promotion_id, 0)
    if promotion.max_redemptions is not None and used >= promotion.max_redemptions:
        return "has been used up"
    if promotion.once_per_customer and promotion.promotion_id in customer_redeemed:
        return "was already used by this customer"
    return None


def choose(
    promotions: Iterable[Promotion],
    coupon: str | None,
    channel: str,
    subtotal: Decimal,
    now: datetime,
    redemptions: Mapping[str, int] | None = None,
    customer_redeemed: Collection[str] | None = None,
    shipping: Decimal = Decimal(0),
    basket: Decimal | None = None,
) -> list[Promotion]:
    """The promotions that apply, the automatic one first, then the coupon's.

    ``redemptions`` counts each promotion's redemptions so far; ``customer_redeemed``
    holds the promotions this customer has redeemed, ``None`` when the customer is
    unknown (a once-per-customer promotion then cannot apply). ``shipping`` is the fee
    free shipping would save, to rank automatic promotions. ``basket``: the goods at
    catalogue prices, IVA included, held against ``min_subtotal`` (``subtotal`` when
    not given).
    """
    basket = subtotal if basket is None else basket
    counts = redemptions or {}
    known = customer_redeemed is not None
    mine = customer_redeemed or ()
    candidates = list(promotions)
    chosen: list[Promotion] = []
    automatic = [
        promotion
        for promotion in candidates
        if promotion.code is None
        and refusal(promotion, channel, basket, now) is None
        and (known or not promotion.once_per_customer)
        and exhaustion(promotion, counts, mine) is None
    ]
    if automatic:
        chosen.append(min(automatic, key=lambda p: (-worth(p, subtotal, shipping), p.promotion_id)))
    if coupon is not None:
        chosen.append(_coupon(candidates, coupon, channel, basket, now, counts, mine, known))
    return chosen


def _coupon(
    candidates: list[Promotion],
    coupon: str,
    channel: str,
    basket: Decimal,
    now: datetime,
    counts: Mapping[str, int],
    mine: Collection[str],
    known: bool,
) -> Promotion:
    code = coupon.strip().upper()
    matches = [promotion for promotion in candidates if promotion.code == code]
    if not code or not matches:
        raise InvalidCoupon(f"coupon {coupon!r} does not exist")
    # Two promotions may share a code over time (last year's and this year's): prefer one
    # that is valid now.
    valid = [p for p in matches if refusal(p, channel, basket, now) is None] or matches
    promotion = min(valid, key=lambda p: p.promotion_id)
    reason = refusal(promotion, channel, basket, now)
    if reason is not None:
        raise InvalidCoupon(f"coupon {code} {reason}")
    if promotion.once_per_customer and not known:
        raise InvalidCoupon(f"coupon {code} is once per customer: identify the customer")
    reason = exhaustion(promotion, counts, mine)
    if reason is not None:
        raise CouponUsedUp(f"coupon {code} {reason}")
    return promotion


def coupon_code(coupon: str | None) -> str | None:
    """A coupon as stored and compared: trimmed, upper case (``None`` for none)."""
    return coupon.strip().upper() if coupon is not None else None


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` (whole cents) split over ``weights`` in proportion, in whole cents that
    add up to it exactly: floors first, then the largest remainders (earlier first)."""
    if amount < 0 or not _cents(amount):
        raise ValueError("amount must be whole cents, not negative")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    total_cents = int(amount * 100)
    whole = sum((Fraction(weight) for weight in weights), Fraction(0))
    if total_cents == 0:
        return [Decimal("0.00") for _ in weights]
    if whole == 0:
        raise ValueError("cannot spread an amount over nothing")
    exact = [total_cents * Fraction(weight) / whole for weight in weights]
    shares = [int(share) for share in exact]  # floors: shares are not negative
    left = total_cents - sum(shares)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return [Decimal(share).scaleb(-2) for share in shares]


class CountedPromotion(DeferredModel):
    """A stored promotion and how many live orders redeem it now."""

    model_config = ConfigDict(frozen=True)

    promotion: Promotion
    redemptions: int = Field(default=0, ge=0)


class Redemption(DeferredModel):
    """One promotion an order redeems: counted against ``max_redemptions`` while the order
    is live (neither rejected nor cancelled), for a once-per-customer promotion marked
    against its customer for as long, and for an order placed on a quote marked against
    the quote (the quote's price of it is this order's alone while it is live)."""

    model_config = ConfigDict(frozen=True)

    promotion_id: str
    # Set for a once-per-customer promotion: whose marker the order holds.
    customer_id: str | None = None
    # The coupon it came in with; None for an automatic promotion.
    code: str | None = None
    # The quote the order was priced on: whose marker the order holds (probe 250: one
    # quote bought any number of orders at a promotion's price, after ops ended it too).
    quote_id: str | None = None


def redemptions_of(
    chosen: Iterable[Promotion], customer_id: str | None, quote_id: str | None = None
) -> list[Redemption]:
    """What an order priced with ``chosen`` (on ``quote_id``, if on a quote) redeems. A
    once-per-customer promotion needs a known customer: ``InvalidCoupon`` naming
    ``coupon`` otherwise."""
    taken = []
    for promotion in chosen:
        if promotion.once_per_customer and customer_id is None:
            raise InvalidCoupon(
                f"{promotion.code or promotion.name} is once per customer: identify the customer"
            )
        taken.append(
            Redemption(
                promotion_id=promotion.promotion_id,
                customer_id=customer_id if promotion.once_per_customer else None,
                code=promotion.code,
                quote_id=quote_id,
            )
        )
    return taken
