"""A quote: what a basket costs and when it is promised, fixed for a while so that the
order placed on it is charged exactly that and held to those promises."""

from collections import Counter
from datetime import datetime

from chalicelib.domain.campaigns import Attribution
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.pricing import PriceBreakdown


class QuotedLine(DeferredModel):
    """A line as asked for: what an order on the quote must ask for again."""

    sku: str
    quantity: int
    fulfillment: FulfillmentType
    location_id: str | None = None


class FulfillmentLine(DeferredModel):
    """Units of one SKU in a quoted fulfillment."""

    sku: str
    quantity: int


class QuotedFulfillment(DeferredModel):
    """Where a part of the basket would come from, with whom, and by when."""

    type: FulfillmentType
    location_id: str
    carrier: str | None
    lines: list[FulfillmentLine]
    promised_by: datetime


class Quote(DeferredModel):
    """A priced basket for one client, valid until ``expires_at``."""

    quote_id: str
    client_id: str
    created_at: datetime
    expires_at: datetime
    channel: str
    lines: list[QuotedLine]
    postal_code: str | None
    # With the postal code, where anything ships: together they decide the tax, the zone
    # and the carrier (a quote kept before it was stored was for Spain: every one then).
    country: str = "ES"
    breakdown: PriceBreakdown
    fulfillments: list[QuotedFulfillment]
    coupon: str | None = None
    attribution: Attribution | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the quote can no longer be ordered on."""
        return now >= self.expires_at

    def asks_for(self, lines: list[QuotedLine], postal_code: str | None, country: str) -> bool:
        """Whether an order asks for the same units as these lines, to the same place: as
        many of each SKU by each fulfillment from each location, however they are split
        into lines (the quote answers two lines of one SKU as one line, and an order
        written from that answer is the same basket), and the same postal code in the same
        country (a probe ordered on a Canary quote to the same postal code in France, and
        was charged IGIC, not IVA)."""

        def units(asked: list[QuotedLine]) -> Counter[tuple[str, str, str]]:
            counted: Counter[tuple[str, str, str]] = Counter()
            for line in asked:
                counted[(line.sku, line.fulfillment.value, line.location_id or "")] += line.quantity
            return counted

        same_lines = units(lines) == units(self.lines)
        same_place = postal_code == self.postal_code
        if postal_code is not None:
            same_place = same_place and country.upper() == self.country.upper()
        return same_lines and same_place
