"""The one pricing engine (domain/pricing.py) applied to catalogue lines, for quotes and
orders alike: the number a shopper is quoted is the number charged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain import pricing
from chalicelib.domain.campaigns import Attribution
from chalicelib.domain.catalog import Location
from chalicelib.domain.errors import InvalidPostalCode
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import (
    SPANISH_POSTAL_CODE,
    AttributionTags,
    PlaceOrderRequest,
    is_spain,
)
from chalicelib.services import promotions
from chalicelib.services.promising import HEAD_OFFICE_POSTAL_CODE

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.services.customers import SeenClaims

POSTAL_CODE_FIELD = "shipping_address.postal_code"


def attribution_of(tags: AttributionTags | None) -> Attribution | None:
    """The request's attribution as the campaign projection reads it."""
    return Attribution.model_validate(tags.model_dump()) if tags is not None else None


def pricing_postal_code(country: str, postal_code: str) -> str:
    """The postal code whose taxes and shipping zone apply: a Spanish address's own (as
    sent: 422 naming it otherwise); abroad, the mainland's (IVA included, the peninsula
    fee) until finance sets rules for exports."""
    if not is_spain(country):
        return HEAD_OFFICE_POSTAL_CODE
    if not re.fullmatch(SPANISH_POSTAL_CODE, postal_code):
        raise InvalidPostalCode(f"{postal_code!r} is not a Spanish postal code", POSTAL_CODE_FIELD)
    return postal_code


def price_lines(
    lines: list[OrderLine],
    locations: dict[str, Location],
    postal_code: str | None,
    coupon: str | None,
    channel: str,
    now: datetime,
    deps: Deps,
    identified: bool = False,
    customer_id: str | None = None,
    also: Sequence[str] = (),
) -> pricing.PriceBreakdown:
    """The engine's breakdown for catalogue lines (pick-up lines taxed at their store),
    with the stored promotions that apply: the automatic ones and the coupon's. A
    once-per-customer promotion needs the shopper ``identified`` (``customer_id`` when
    known already); a bad coupon is 422 or 409 naming ``coupon``."""
    priced = [
        pricing.PriceLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price.amount,
            fulfillment=pricing.FulfillmentType(line.fulfillment.value),
            store_postal_code=(
                (locations[line.location_id].postal_code or HEAD_OFFICE_POSTAL_CODE)
                if line.location_id
                else None
            ),
        )
        for line in lines
    ]
    offers = promotions.offered(coupon, now, deps)
    return pricing.price_with_promotions(
        priced,
        postal_code,
        deps.settings.shipping_fees,
        [offer.promotion for offer in offers],
        coupon,
        channel,
        now,
        {offer.promotion.promotion_id: offer.redemptions for offer in offers},
        promotions.customer_redeemed(offers, identified, customer_id, deps, also),
    )


def price_request(
    request: PlaceOrderRequest | QuoteRequest,
    lines: list[OrderLine],
    locations: dict[str, Location],
    now: datetime,
    deps: Deps,
    seen: SeenClaims | None = None,
) -> pricing.PriceBreakdown:
    """A basket to quote or to place, priced now: the destination's tax and shipping zone
    when anything ships (pick-up lines at their store's), the coupon, and the promotions
    its shopper may have (known by identifier, nothing created; ``seen`` keeps the owners
    read)."""
    address = request.shipping_address
    ships = any(line.location_id is None for line in lines)
    postal_code = (
        pricing_postal_code(address.country, address.postal_code) if address and ships else None
    )
    identified, customer_id, also = promotions.known_shopper(request.customer, deps, seen)
    return price_lines(
        lines,
        locations,
        postal_code,
        request.coupon,
        request.channel.value,
        now,
        deps,
        identified=identified,
        customer_id=customer_id,
        also=also,
    )
