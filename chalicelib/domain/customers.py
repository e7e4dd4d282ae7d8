"""Customer identifiers: one normal form each, so the same person is found in every channel."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import Unprocessable

DEFAULT_PHONE_REGION = "ES"
# A phone number, as the API accepts it and the OpenAPI document declares it: E.164 with
# "+" or "00" and the country code, or a Spanish national number (9 digits on Spain's
# numbering plan); single spaces, dots or dashes may separate any two digits, as a till
# writes them ("91 123 45 67", a probe found it refused), and Spain's code may be in
# parentheses ("(+34) 600 11 22 33").
_SEP = "[ .-]?"
_SEPARATED = f"{_SEP}[0-9]"
_SPANISH = (
    f"(?:[6-9](?:{_SEPARATED}){{8}}|4{_SEP}0{_SEP}0(?:{_SEPARATED}){{6}}"
    f"|5{_SEP}1(?:{_SEPARATED}){{7}})"
)
PHONE_PATTERN = (
    f"^(?:(?:(?:\\((?:\\+|00)34\\)|(?:\\+|00)34){_SEP})?{_SPANISH}"
    f"|(?:\\+|00)(?:[12456789]|3[0-35-9])(?:{_SEPARATED}){{6,13}})$"
)
PHONE_WORDS = "not a phone number: +<country code><number>, or a Spanish national number"
# Up to 32 ASCII letters and digits; spaces are ignored.
LOYALTY_ID_PATTERN = "^ *(?:[A-Za-z0-9] *){1,32}$"


# The mark on what a customer record holds for whoever an identifier merely attached to
# the record named (an order's summary, a ticket's entry, a staff interaction): the
# record's token leaves it out. Absent otherwise.
UNVOUCHED = "customer_unvouched"

# The most identifiers attached to a record by naming them with one it owns. A merge moves
# a record's identifiers in one transaction (three writes and up to two per identifier,
# of DynamoDB's 100): a probe had another storefront attach 101 to one customer, who then
# could never be merged into another record. Founding, proving and merging are not capped.
MAX_ATTACHED_IDENTIFIERS = 40

# The profile's mark that its ``locale`` was asked for (by the customer, through a
# request naming it), not the default every profile holds: a merge keeps a language only
# one record chose (re-probe 188: the survivor's default Spanish won over English asked
# for). Absent on profiles stored before it.
LOCALE_CHOSEN = "locale_chosen"
# The language a profile holds when none was asked for.
DEFAULT_LOCALE = "es"


def _chose_language(profile: Mapping[str, Any]) -> bool:
    # A language other than the default was asked for, marked or not (a profile stored
    # before the mark: re-probe 189 saw its English lost in a merge).
    return bool(profile.get(LOCALE_CHOSEN)) or profile.get("locale", DEFAULT_LOCALE) != (
        DEFAULT_LOCALE
    )


def language_after_merge(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> str | None:
    """The language the survivor of a merge takes: the merged record's when only it was
    chosen; None (the survivor's stays) otherwise, chosen by both included."""
    if _chose_language(merged) and not _chose_language(survivor) and merged.get("locale"):
        return str(merged["locale"])
    return None


class ProfileState(StrEnum):
    """Where a customer record stands: in use, merged into another record, or erased."""

    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


class IdentifierType(StrEnum):
    """Ways a customer tells us who they are."""

    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_ID = "loyalty_id"


class Identifier(DeferredModel):
    """An identifier in normal form."""

    type: IdentifierType
    value: str


@dataclass(frozen=True)
class IdentifierClaim:
    """Who owns an identifier, and whether that ownership is vouched for: the identifier
    founded the record or was proven with a one-time code. An identifier attached to a
    record only because a request named it together with another one is not: proving it
    later proves that identifier, not the record it was attached to."""

    customer_id: str
    vouched: bool
    # The record it was vouched for on before a merge moved it here unvouched: the
    # address that record's customer was told at (``customers.told_before_merge``).
    proven_on: str | None = None


def normalise_email(raw: str, field: str = "email") -> str:
    """Lower-cased, validated address (no DNS look-up: nothing may reach the network)."""
    # Imported here: only the API validates addresses, and every function's cold start
    # imports this module (bench/cold_import.py).
    from email_validator import EmailNotValidError, validate_email

    if "=?" in raw:
        # Valid by RFC 5322, but mail software reads "=?utf-8?q?...?=" as an encoded word:
        # a probe's address decoded to another recipient in the To header, or to a line
        # break, and no email could be sent to it (a 500, or an order's emails lost).
        raise Unprocessable(
            'an address containing "=?" cannot be emailed: mail programs read it as encoded text',
            field=field,
        )
    try:
        # Syntax as JSON Schema's "email" format has it, ASCII before the @ (SES sends no
        # SMTPUTF8 mail); the reserved name "test" is an address too (test environments).
        result = validate_email(
            raw, check_deliverability=False, test_environment=True, allow_smtputf8=False
        )
    except EmailNotValidError as exc:
        unsendable = _needs_smtputf8(raw)
        if unsendable:
            raise Unprocessable(
                f"an address with {unsendable} before the @ cannot be emailed: it needs "
                "SMTPUTF8 mail, which our email service (Amazon SES) does not send; the part "
                "before the @ must be ASCII (letters with accents after the @ are fine)",
                field=field,
            ) from exc
        raise Unprocessable(f"not a valid email address: {exc}", field=field) from exc
    # An internationalised domain in its ASCII form: the one an email header can carry,
    # and one identifier whichever way the person typed it.
    return str(result.ascii_email).lower()


def _needs_smtputf8(raw: str) -> str | None:
    """The characters outside ASCII before the @ of ``raw`` (quoted, as a list) when it is
    a valid address but for them (RFC 6531, SMTPUTF8 mail), else None: such an address is
    refused for a reason its owner can act on, not as a malformed one."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(
            raw, check_deliverability=False, test_environment=True, allow_smtputf8=True
        )
    except EmailNotValidError:
        return None
    if not result.smtputf8:
        return None
    local = str(result.local_part)
    return ", ".join(repr(c) for c in dict.fromkeys(c for c in local if not c.isascii()))


def normalise_phone(raw: str, field: str = "phone") -> str:
    """E.164, reading national numbers as Spanish ones: "612345678" is "+34612345678"."""
    if not re.fullmatch(PHONE_PATTERN, raw):
        raise Unprocessable(PHONE_WORDS, field=field)
    digits = re.sub("[ .()-]", "", raw)
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits if digits.startswith("+") else f"+34{digits}"


def email_as_stored(typed: str) -> str:
    """An address as its identifier is stored (``normalise_email``), to compare an order's
    contact, which keeps it as typed, with identifiers: a domain with letters outside
    ASCII is stored in its IDNA form (a probe found "bea@exämple.com" never matched its
    own identifier, so her erasure left it on orders). One no longer valid (stored before
    a stricter check) compares lower-cased."""
    try:
        return normalise_email(typed.strip())
    except Unprocessable:
        return typed.strip().lower()


def reached_at(email: str | None, phone: str | None) -> set[str]:
    """An order's contact email and phone as identifiers are stored (``email_as_stored``;
    E.164), to compare with them: the contact keeps both as they were typed."""
    found = {email_as_stored(email)} if email else set()
    if phone:
        try:
            found.add(normalise_phone(phone.strip()))
        except Unprocessable:
            found.add(phone.strip())
    return found


def normalise_loyalty_id(raw: str, field: str = "loyalty_id") -> str:
    """Loyalty card numbers are upper-case without spaces."""
    if not re.fullmatch(LOYALTY_ID_PATTERN, raw):
        raise Unprocessable("a loyalty id is up to 32 letters and digits", field=field)
    return raw.replace(" ", "").upper()


def identifiers_of(
    email: str | None, phone: str | None, loyalty_id: str | None, prefix: str = ""
) -> list[Identifier]:
    """Every identifier given, normalised; the order matters: email, phone, loyalty id."""
    found: list[Identifier] = []
    if email:
        found.append(
            Identifier(type=IdentifierType.EMAIL, value=normalise_email(email, f"{prefix}email"))
        )
    if phone:
        found.append(
            Identifier(type=IdentifierType.PHONE, value=normalise_phone(phone, f"{prefix}phone"))
        )
    if loyalty_id:
        found.append(
            Identifier(
                type=IdentifierType.LOYALTY_ID,
                value=normalise_loyalty_id(loyalty_id, f"{prefix}loyalty_id"),
            )
        )
    return found


# The customer 360's figures ------------------------------------------------------------
ONLINE_CHANNELS = frozenset({"web", "app", "phone"})
STORE_CHANNELS = frozenset({"store", "kiosk"})
_UNCOUNTED_STATUSES = frozenset({"CANCELLED", "REJECTED"})


class OrderContribution(DeferredModel):
    """What one order adds to its customer's figures, derived from the order's current
    state: the projector keeps the last one it applied on the order's summary item and
    applies only the difference, so events may arrive late, twice or out of order."""

    counted: bool = False
    gross: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    returned: bool = False
    channel: str = ""
    placed_at: datetime | None = None

    @property
    def kept(self) -> Decimal:
        """What the order brings and keeps: its gross less refunds once counted (its share
        of the lifetime value, and of its campaign's revenue)."""
        return self.gross - self.refunded if self.counted else Decimal(0)


def contribution_of(
    status: str,
    channel: str,
    total: Decimal,
    captured: bool,
    refunded: Decimal,
    placed_at: datetime,
    voided: Decimal = Decimal(0),
) -> OrderContribution:
    """An order counts as a purchase once paid, unless it was cancelled or rejected
    (those are refunded in full). Its gross is the total less what was released from the
    authorisation and so never charged (a pick-up not collected, a part given up when
    its execution stopped)."""
    if not captured or status in _UNCOUNTED_STATUSES:
        return OrderContribution(channel=channel, placed_at=placed_at)
    return OrderContribution(
        counted=True,
        gross=total - voided,
        refunded=refunded,
        returned=status == "RETURNED",
        channel=channel,
        placed_at=placed_at,
    )


class CustomerMetrics(DeferredModel):
    """Running totals of a customer's purchases; everything else is derived from them."""

    currency: str = "EUR"
    order_count: int = 0
    gross: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    returned_orders: int = 0
    channel_counts: dict[str, int] = Field(default_factory=dict)
    first_purchase: datetime | None = None
    last_purchase: datetime | None = None
    first_store_purchase: datetime | None = None
    first_online_purchase: datetime | None = None
    version: int = 0

    def apply(self, old: OrderContribution | None, new: OrderContribution) -> "CustomerMetrics":
        """These figures with one order's contribution replaced by ``new``."""
        result = self.model_copy(deep=True)
        if old is not None and old.counted:
            result.order_count -= 1
            result.gross -= old.gross
            result.refunded -= old.refunded
            result.returned_orders -= int(old.returned)
            result.channel_counts[old.channel] = result.channel_counts.get(old.channel, 0) - 1
            if result.channel_counts[old.channel] <= 0:
                del result.channel_counts[old.channel]
        if new.counted:
            result.order_count += 1
            result.gross += new.gross
            result.refunded += new.refunded
            result.returned_orders += int(new.returned)
            result.channel_counts[new.channel] = result.channel_counts.get(new.channel, 0) + 1
            if new.placed_at is not None:
                result._saw_purchase(new.channel, new.placed_at)
        return result

    def withdraws_a_date(self, old: OrderContribution | None, new: OrderContribution) -> bool:
        """Whether replacing ``old`` by ``new`` takes away a purchase these dates count: a
        paid order cancelled or rejected at one of them (a probe: ``last_purchase`` was a
        cancelled order's, and recency with it). Only then are the dates read again
        from every order (``with_purchase_dates``); adding a purchase widens them."""
        if old is None or not old.counted or new.counted or old.placed_at is None:
            return False
        dates = (
            self.first_purchase,
            self.last_purchase,
            self.first_store_purchase,
            self.first_online_purchase,
        )
        return old.placed_at in dates

    def with_purchase_dates(self, contributions: Iterable[OrderContribution]) -> "CustomerMetrics":
        """These figures with their purchase dates those of the counted ``contributions``
        (every order of the record, as its summaries keep them)."""
        result = self.model_copy(
            update={
                "first_purchase": None,
                "last_purchase": None,
                "first_store_purchase": None,
                "first_online_purchase": None,
            }
        )
        for contribution in contributions:
            if contribution.counted and contribution.placed_at is not None:
                result._saw_purchase(contribution.channel, contribution.placed_at)
        return result

    def _saw_purchase(self, channel: str, at: datetime) -> None:
        # A purchase widens the dates; one withdrawn narrows them through
        # ``with_purchase_dates``, which reads every order.
        self.first_purchase = _earliest(self.first_purchase, at)
        self.last_purchase = _latest(self.last_purchase, at)
        if channel in STORE_CHANNELS:
            self.first_store_purchase = _earliest(self.first_store_purchase, at)
        elif channel in ONLINE_CHANNELS:
            self.first_online_purchase = _earliest(self.first_online_purchase, at)

    def merged_with(self, other: "CustomerMetrics") -> "CustomerMetrics":
        """The figures of two records found to be one person."""
        counts = dict(self.channel_counts)
        for channel, count in other.channel_counts.items():
            counts[channel] = counts.get(channel, 0) + count
        return CustomerMetrics(
            currency=self.currency,
            order_count=self.order_count + other.order_count,
            gross=self.gross + other.gross,
            refunded=self.refunded + other.refunded,
            returned_orders=self.returned_orders + other.returned_orders,
            channel_counts=counts,
            first_purchase=_earliest(self.first_purchase, other.first_purchase),
            last_purchase=_latest(self.last_purchase, other.last_purchase),
            first_store_purchase=_earliest(self.first_store_purchase, other.first_store_purchase),
            first_online_purchase=_earliest(
                self.first_online_purchase, other.first_online_purchase
            ),
            version=self.version,
        )

    @property
    def lifetime_value(self) -> Decimal:
        """What the customer paid and kept: purchases less refunds."""
        return self.gross - self.refunded

    def channel_mix(self) -> str | None:
        """``online_only``, ``store_only``, ``both``, or None before any purchase."""
        online = any(c in ONLINE_CHANNELS for c in self.channel_counts)
        store = any(c in STORE_CHANNELS for c in self.channel_counts)
        if online and store:
            return "both"
        if online:
            return "online_only"
        if store:
            return "store_only"
        return None

    def store_before_online(self) -> bool:
        """Whether the customer bought in a store before their first online order."""
        return (
            self.first_store_purchase is not None
            and self.first_online_purchase is not None
            and self.first_store_purchase < self.first_online_purchase
        )

    def summary(self, now: datetime) -> dict[str, Any]:
        """The ``metrics`` block of the 360 view."""
        preferred = (
            max(sorted(self.channel_counts), key=lambda c: self.channel_counts[c])
            if self.channel_counts
            else None
        )
        average = (self.gross / self.order_count) if self.order_count else Decimal(0)
        return {
            "lifetime_value": {"amount": _cents(self.lifetime_value), "currency": self.currency},
            "order_count": self.order_count,
            "average_order_value": {"amount": _cents(average), "currency": self.currency},
            "return_rate": (
                float(round(Decimal(self.returned_orders) / self.order_count, 4))
                if self.order_count
                else 0.0
            ),
            "preferred_channel": preferred,
            "first_purchase": self.first_purchase.isoformat() if self.first_purchase else None,
            "last_purchase": self.last_purchase.isoformat() if self.last_purchase else None,
            "rfm_segment": rfm_segment(self, now),
            # How the channel aggregates class the person: profiling is data held about
            # them too (a probe found it in no view and no export).
            "channel_mix": self.channel_mix(),
            "store_before_online": self.store_before_online(),
        }


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


def _cents(value: Decimal) -> str:
    # Half up, as every price is rounded (a probe: 32.425 showed as 32.42).
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# RFM: recency, frequency and monetary value, each scored 1 (low) to 5 (high).
RECENCY_DAYS = (30, 90, 180, 365)  # within 30 days: 5; over a year: 1
FREQUENCY_ORDERS = (2, 3, 5, 10)  # 1 order: 1; 10 or more: 5
MONETARY_EUR = (Decimal(50), Decimal(150), Decimal(400), Decimal(1000))
SEGMENTS = (
    "champions",
    "loyal",
    "big_spenders",
    "new",
    "promising",
    "at_risk",
    "hibernating",
    "prospect",
)


def rfm_scores(metrics: CustomerMetrics, now: datetime) -> tuple[int, int, int] | None:
    """The three scores, or None for a customer who never bought."""
    if metrics.order_count <= 0 or metrics.last_purchase is None:
        return None
    days = (now - metrics.last_purchase).days
    recency = 5 - sum(days > limit for limit in RECENCY_DAYS)
    frequency = 1 + sum(metrics.order_count >= limit for limit in FREQUENCY_ORDERS)
    monetary = 1 + sum(metrics.lifetime_value >= limit for limit in MONETARY_EUR)
    return recency, frequency, monetary


def rfm_segment(metrics: CustomerMetrics, now: datetime) -> str:
    """One of ``SEGMENTS``, from the RFM scores."""
    scores = rfm_scores(metrics, now)
    if scores is None:
        return "prospect"
    recency, frequency, monetary = scores
    if recency >= 4 and frequency >= 4:
        return "champions"
    if recency >= 3 and frequency >= 3:
        return "loyal"
    if recency >= 3 and monetary >= 4:
        return "big_spenders"
    if recency >= 4:
        return "new"
    if recency == 3:
        return "promising"
    if frequency >= 3 or monetary >= 4:
        return "at_risk"
    return "hibernating"


class AnalyticsState(DeferredModel):
    """Where one customer sits in the maintained aggregates (segments, channels, top), and
    when that must be looked at again although nothing was bought (``review_at``)."""

    segment: str | None = None
    value: Decimal = Decimal(0)
    mix: str | None = None
    store_before_online: bool = False
    review_at: datetime | None = None


def next_segment_review(metrics: CustomerMetrics, now: datetime) -> datetime | None:
    """When the customer's recency score next drops, which may move them to another
    segment with no new order: the first ``last purchase + limit + 1 day`` still ahead.
    None once the score is at its lowest, or for a customer who never bought."""
    if metrics.order_count <= 0 or metrics.last_purchase is None:
        return None
    for limit in RECENCY_DAYS:
        at = metrics.last_purchase + timedelta(days=limit + 1)
        if at > now:
            return at
    return None


def analytics_state(metrics: CustomerMetrics, now: datetime) -> AnalyticsState:
    """A customer counts in the aggregates once they have bought something."""
    if metrics.order_count <= 0:
        return AnalyticsState()
    return AnalyticsState(
        segment=rfm_segment(metrics, now),
        value=metrics.lifetime_value,
        mix=metrics.channel_mix(),
        store_before_online=metrics.store_before_online(),
        review_at=next_segment_review(metrics, now),
    )


class AggregateDelta(DeferredModel):
    """What to add to the segment and channel counters for some customers' changes."""

    segments: dict[str, Decimal] = Field(default_factory=dict)
    channels: dict[str, int] = Field(default_factory=dict)

    def add(self, old: AnalyticsState, new: AnalyticsState) -> "AggregateDelta":
        """Account for one customer moving from ``old`` to ``new``; returns self."""
        for state, sign in ((old, -1), (new, 1)):
            if state.segment is not None:
                self._bump(self.segments, f"count_{state.segment}", Decimal(sign))
                self._bump(self.segments, f"value_{state.segment}", sign * state.value)
            if state.mix is not None:
                self.channels[state.mix] = self.channels.get(state.mix, 0) + sign
            if state.store_before_online:
                key = "store_before_online"
                self.channels[key] = self.channels.get(key, 0) + sign
        self.segments = {k: v for k, v in self.segments.items() if v != 0}
        self.channels = {k: v for k, v in self.channels.items() if v != 0}
        return self

    @staticmethod
    def _bump(counters: dict[str, Decimal], key: str, by: Decimal) -> None:
        counters[key] = counters.get(key, Decimal(0)) + by
