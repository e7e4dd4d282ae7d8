"""Pricing an order at placement: on its quote (exactly the quote's total and promises)
or, without one, by the same engine the quote uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.catalog import Location
from chalicelib.domain.errors import (
    Conflict,
    ConflictingFields,
    InvalidCoupon,
    NotFound,
    UnknownReferences,
)
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_pricing import OrderPricing
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.pricing import LineBreakdown
from chalicelib.domain.promotions import check_quoted_coupon, coupon_code
from chalicelib.domain.quotes import Quote, QuotedLine
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services.pricing_engine import attribution_of, price_request

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.services.customers import SeenClaims


def _at(line: OrderLine, priced: LineBreakdown) -> OrderLine:
    """The line at the engine's prices (without IVA where a tax is added on top) and what
    it is charged all in; the rest of the total (the shipping fee with its tax on top) is
    the order's extra, which goes with its first shipment (domain/settlement.py)."""
    return line.model_copy(
        update={
            "unit_price": Money.of(priced.unit_price),
            "line_total": Money.of(priced.total),
            "charged": Money.of(priced.charged),
            "discount": Money.of(priced.discount) if priced.discount else None,
        }
    )


def _charged(lines: list[OrderLine], quote: Quote) -> list[OrderLine]:
    """The lines at the prices their quote gave them. The quote priced its lines merged by
    SKU and place, in the order it was first asked for each (``catalogue_lines``): the
    same SKU shipped and collected is two lines, priced apart (IGIC on top, IVA in)."""
    places: list[tuple[str, str | None]] = []
    for asked in quote.lines:
        if (asked.sku, asked.location_id) not in places:
            places.append((asked.sku, asked.location_id))
    priced = dict(zip(places, quote.breakdown.lines, strict=False))
    charged = []
    for line in lines:
        at = priced.get((line.sku, line.location_id))
        if at is None:  # pragma: no cover - the quote asked for these very lines
            charged.append(line)
            continue
        charged.append(_at(line, at))
    return charged


def _price_now(
    request: PlaceOrderRequest,
    lines: list[OrderLine],
    locations: dict[str, Location],
    deps: Deps,
    seen: SeenClaims | None,
) -> tuple[list[OrderLine], OrderPricing]:
    """Priced at placement by the rules a quote would have applied now: the destination's
    tax and shipping zone (pick-up lines at their store's), the fee table, the coupon."""
    breakdown = price_request(request, lines, locations, deps.clock(), deps, seen)
    # The engine prices the lines in the order it was given them.
    charged = [_at(line, at) for line, at in zip(lines, breakdown.lines, strict=True)]
    pricing = OrderPricing.of(
        breakdown,
        coupon=coupon_code(request.coupon),
        attribution=attribution_of(request.attribution),
    )
    return charged, pricing


def _check_coupon_channel(request: PlaceOrderRequest, quote: Quote, deps: Deps) -> None:
    """The quote's coupon, when the order brings it, must be valid for the order's channel
    (422 naming ``coupon``), as it must without a quote. What else the quote fixed holds
    until it expires: the coupon's window and minimum were met when it was quoted, and
    its redemption is taken with the order, under ``max_redemptions`` and
    ``once_per_customer`` for the order's own customer."""
    code = _coupon_on_quote(request, quote)
    if code is None or code != coupon_code(quote.coupon):
        return  # no coupon, or another one than quoted: 409 naming quote_id below
    for applied in quote.breakdown.promotions:
        try:
            promotion = deps.store.promotion(applied.promotion_id).promotion
        except NotFound as exc:  # pragma: no cover - promotions are never deleted
            raise InvalidCoupon(f"coupon {code} does not exist") from exc
        if promotion.code == code:
            check_quoted_coupon(promotion, request.channel.value)


def _coupon_on_quote(request: PlaceOrderRequest, quote: Quote) -> str | None:
    """The coupon an order on ``quote`` is for: the one it sends, else the quote's (the
    quote's price holds its coupon's discount; probe 26B: an order on a coupon's quote that
    did not send the coupon again was 409, which API.md's "the same lines" does not say)."""
    return coupon_code(request.coupon) if request.coupon is not None else coupon_code(quote.coupon)


def _quoted_lines(request: PlaceOrderRequest) -> list[QuotedLine]:
    return [
        QuotedLine(
            sku=line.sku,
            quantity=line.quantity,
            fulfillment=line.fulfillment,
            location_id=line.location_id if line.fulfillment is FulfillmentType.PICKUP else None,
        )
        for line in request.lines
    ]


def price_order(
    request: PlaceOrderRequest,
    lines: list[OrderLine],
    locations: dict[str, Location],
    client_id: str | None,
    deps: Deps,
    seen: SeenClaims | None = None,
) -> tuple[list[OrderLine], OrderPricing]:
    """The order's lines at their charged prices and its pricing. Without ``quote_id``:
    priced now by the same engine as a quote (``_price_now``). With it: the client's own
    quote (404 naming ``quote_id`` otherwise), its coupon valid for the order's channel
    (422 naming ``coupon``), not expired (409), asking for the same lines to the same
    place with the same coupon or none (409 naming ``quote_id``) through the quote's channel (409
    naming ``channel`` and ``quote_id``). ``seen`` keeps the owners of the shopper's
    identifiers pricing read."""
    if request.quote_id is None:
        return _price_now(request, lines, locations, deps, seen)
    address = request.shipping_address
    ships = any(line.location_id is None for line in lines)
    now = deps.clock()
    try:
        quote = deps.store.get_quote(request.quote_id)
    except NotFound:
        quote = None
    if quote is None or quote.client_id != client_id:
        raise UnknownReferences([("quote_id", f"no quote {request.quote_id}")])
    _check_coupon_channel(request, quote, deps)
    if quote.expired(now):
        raise Conflict(
            f"quote {quote.quote_id} expired at {quote.expires_at.isoformat()}", field="quote_id"
        )
    sent_to = address.postal_code if address and ships else None
    country = address.country if address else "ES"
    same_coupon = _coupon_on_quote(request, quote) == coupon_code(quote.coupon)
    if not quote.asks_for(_quoted_lines(request), sent_to, country) or not same_coupon:
        raise Conflict(
            f"quote {quote.quote_id} was for other lines, address or coupon", field="quote_id"
        )
    if request.channel.value != quote.channel:
        # The quote's prices and promotions were for its channel's orders.
        detail = f"quote {quote.quote_id} was for {quote.channel} orders"
        raise ConflictingFields([("channel", detail), ("quote_id", detail)])
    promises = {
        part.location_id: part.promised_by
        for part in quote.fulfillments
        if part.type is FulfillmentType.SHIP
    }
    pricing = OrderPricing.of(
        quote.breakdown,
        quote_id=quote.quote_id,
        coupon=coupon_code(quote.coupon),
        attribution=attribution_of(request.attribution) or quote.attribution,
        promises=promises,
    )
    return _charged(lines, quote), pricing
