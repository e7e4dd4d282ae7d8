"""``POST /promotions``: a promotion's terms as ops send them, described exactly by the
OpenAPI document (decimal strings with their ranges per kind, RFC 3339 times, the
channel enum), then checked again as ``PromotionTerms`` (a window that ends after it
starts)."""

import contextlib
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from chalicelib.domain.errors import InvalidRequest
from chalicelib.domain.placement import Channel, Problems
from chalicelib.domain.promotions import PromotionKind, PromotionTerms
from chalicelib.domain.requests import Integer, OneLineText, Strict, utc_moment, worded

# A decimal string with at most 2 decimals, and its ranges per use: a percentage above 0
# and at most 100, an amount above 0.00 and at most 1,000,000, a minimum basket from 0.
DECIMAL = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
PERCENT = r"^(100(\.00?)?|[1-9][0-9]?(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"
AMOUNT = r"^(1000000(\.00?)?|[1-9][0-9]{0,5}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"
MIN_SUBTOTAL = r"^(1000000(\.00?)?|(0|[1-9][0-9]{0,5})(\.[0-9]{1,2})?)$"
RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
CODE = r"^[A-Za-z0-9_-]{1,40}$"
MAX_REDEMPTIONS = 1_000_000_000

# Strings the schema describes exactly as sent: no trimming before the pattern applies;
# refused in words, not by quoting the pattern (a probe read the console's errors).
DecimalText = Annotated[
    str,
    StringConstraints(strip_whitespace=False, pattern=DECIMAL),
    worded('not a number with up to 2 decimals, as "10" or "5.00"'),
]
Moment = Annotated[
    str,
    StringConstraints(strip_whitespace=False, pattern=RFC3339),
    Field(json_schema_extra={"format": "date-time"}),
    worded("not a date and time as RFC 3339 has it, as 2026-12-24T00:00:00Z"),
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=1, max_length=40, pattern=CODE),
    worded("not a coupon code: up to 40 letters, digits, - or _"),
]
MinSubtotal = Annotated[
    str,
    StringConstraints(strip_whitespace=False, pattern=MIN_SUBTOTAL),
    worded("not an amount from 0 to 1000000 with up to 2 decimals"),
]


# Each channel once (probe 227: ["web", "web"] was taken, a rule the schema can say).
ChannelList = Annotated[
    list[Channel],
    Field(min_length=1, max_length=5, json_schema_extra={"uniqueItems": True}),
]


def _value_rule(kind: PromotionKind, pattern: str) -> dict[str, Any]:
    return {
        "required": ["value"],
        "properties": {
            "kind": {"const": kind.value},
            "value": {"type": "string", "pattern": pattern},
        },
    }


# Each kind that takes a value: the pattern it is written in, and the words refusing
# another. The schema's anyOf and the request's validator both read this one table.
_VALUE_WRITTEN = {
    PromotionKind.PERCENT: (PERCENT, 'not a percentage above 0 and at most 100, as "10"'),
    PromotionKind.AMOUNT: (AMOUNT, 'not an amount above 0 and at most 1000000, as "5.00"'),
}


class CreatePromotionRequest(Strict):
    """``POST /promotions``: ``value`` is the percentage for ``percent`` ("10" is 10 %),
    euros for ``amount`` ("5.00"), absent for ``free_shipping``."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        "anyOf": [
            *(_value_rule(kind, pattern) for kind, (pattern, _) in _VALUE_WRITTEN.items()),
            {
                "properties": {
                    "kind": {"const": PromotionKind.FREE_SHIPPING.value},
                    "value": {"type": "null"},
                }
            },
        ]
    }

    name: OneLineText = Field(min_length=1, max_length=100)
    code: Code | None = Field(
        default=None, description="A coupon code (any case, unique); none: applies by itself"
    )
    kind: PromotionKind
    value: DecimalText | None = None
    min_subtotal: MinSubtotal | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = Field(default=None, description="After starts_at")
    channels: ChannelList | None = None
    max_redemptions: Integer | None = Field(default=None, ge=1, le=MAX_REDEMPTIONS)
    once_per_customer: bool = Field(default=False, strict=True)
    campaign: OneLineText | None = Field(default=None, min_length=1, max_length=100)

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """A value as its kind asks, and an end after the start: said beside any other
        field's refusal (probe 201: a blank name hid them)."""
        problems: Problems = []
        kind, value = data.get("kind"), data.get("value")
        if kind == PromotionKind.FREE_SHIPPING.value and value is not None:
            problems.append(("value", "a free_shipping promotion takes no value"))
        elif isinstance(kind, str) and kind in {k.value for k in _VALUE_WRITTEN} and value is None:
            article = "an" if kind == PromotionKind.AMOUNT.value else "a"
            problems.append(("value", f"{article} {kind} promotion needs a value"))
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if isinstance(starts, str) and isinstance(ends, str):
            with contextlib.suppress(ValueError):  # a moment that is none is its own field's
                if utc_moment(ends) <= utc_moment(starts):
                    problems.append(("ends_at", "ends_at must be after starts_at"))
        return problems

    @field_validator("value")
    @classmethod
    def _written_as_its_kind_says(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The schema's per-kind patterns refuse leading zeros ("05", "01.00"); DECIMAL alone
        # took them (the outside checks' schemathesis found a "schema-violating" 201).
        kind = info.data.get("kind")
        if value is None or kind not in _VALUE_WRITTEN:
            return value  # no value, or a kind that takes none (PromotionTerms says so)
        pattern, refusal = _VALUE_WRITTEN[kind]
        if not re.fullmatch(pattern, value):
            raise ValueError(refusal)
        return value

    @field_validator("channels")
    @classmethod
    def _each_channel_once(cls, channels: list[Channel] | None) -> list[Channel] | None:
        if channels is not None and len(set(channels)) < len(channels):
            raise ValueError("names a channel twice; name each once")
        return channels

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _a_real_moment(cls, value: str | None) -> str | None:
        if value is not None:
            # 30 February: ValueError, named by pydantic; a leap second is a real moment
            # the schema takes (a re-probe got 422 for 23:59:60).
            utc_moment(value)
        return value

    def terms(self) -> PromotionTerms:
        """The terms, checked as the domain keeps them; 422 naming each bad field."""
        try:
            return PromotionTerms(
                name=self.name,
                code=self.code,
                kind=self.kind,
                value=Decimal(self.value) if self.value is not None else None,
                min_subtotal=Decimal(self.min_subtotal) if self.min_subtotal else None,
                # Kept and shown in UTC, whatever zone ops wrote them in.
                starts_at=utc_moment(self.starts_at) if self.starts_at else None,
                ends_at=utc_moment(self.ends_at) if self.ends_at else None,
                channels=frozenset(c.value for c in self.channels) if self.channels else None,
                max_redemptions=self.max_redemptions,
                once_per_customer=self.once_per_customer,
                campaign=self.campaign,
            )
        except ValidationError as exc:
            raise InvalidRequest.from_validation(exc) from exc
