"""Pricing an order at placement: on its quote (exactly the quote's total and promises)
or, without one, by the same engine the quote uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import Conflict, NotFound, UnknownReferences
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_pricing import OrderPricing
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.pricing import PriceBreakdown
from chalicelib.domain.promotions import coupon_code
from chalicelib.domain.quotes import QuotedLine
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import promotions
from chalicelib.services.pricing_engine import attribution_of, price_lines, pricing_postal_code

if TYPE_CHECKING:
    from chalicelib.deps import Deps


def _charged(lines: list[OrderLine], breakdown: PriceBreakdown) -> list[OrderLine]:
    """The lines at the prices the engine gave them (without IVA where a tax is added on
    top); the rest of the total (shipping, a tax on top) is the order's extra, which goes
    with its first shipment (domain/settlement.py)."""
    priced = {(line.sku, line.quantity): line for line in breakdown.lines}
    charged = []
    for line in lines:
        at = priced.get((line.sku, line.quantity))
        if at is None:  # pragma: no cover - the engine prices every line it is given
            charged.append(line)
            continue
        charged.append(
            line.model_copy(
                update={"unit_price": Money.of(at.unit_price), "line_total": Money.of(at.total)}
            )
        )
    return charged


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


def _priced_now(
    request: PlaceOrderRequest, lines: list[OrderLine], deps: Deps
) -> tuple[list[OrderLine], OrderPricing | None]:
    """Without a quote: at catalogue prices (shipping and taxes on top without a quote are
    the next step), unless a coupon, a campaign or an automatic promotion is in play:
    then priced now by the engine, as a quote would be, with the promotions that apply."""
    now = deps.clock()
    running = [
        offer
        for offer in deps.store.automatic_promotions(now)
        if offer.promotion.starts_at is None or offer.promotion.starts_at <= now
    ]
    if request.coupon is None and request.attribution is None and not running:
        return lines, None
    address = request.shipping_address
    ships = any(line.location_id is None for line in lines)
    postal_code = (
        pricing_postal_code(address.country, address.postal_code) if address and ships else None
    )
    identified, customer_id = promotions.known_shopper(request.customer, deps)
    locations = {location.location_id: location for location in deps.store.locations()}
    breakdown = price_lines(
        lines,
        locations,
        postal_code,
        request.coupon,
        request.channel.value,
        now,
        deps,
        identified=identified,
        customer_id=customer_id,
    )
    pricing = OrderPricing.of(
        breakdown,
        coupon=coupon_code(request.coupon),
        attribution=attribution_of(request.attribution),
    )
    return _charged(lines, breakdown), pricing


def price_order(
    request: PlaceOrderRequest,
    lines: list[OrderLine],
    client_id: str | None,
    deps: Deps,
) -> tuple[list[OrderLine], OrderPricing | None]:
    """The order's lines at their charged prices and its pricing (``None`` without a
    quote: catalogue prices, as before quotes). With ``quote_id``: the
    client's own quote (404 naming ``quote_id`` otherwise), not expired (409) and asking
    for the same lines to the same place (409)."""
    address = request.shipping_address
    ships = any(line.location_id is None for line in lines)
    now = deps.clock()
    if request.quote_id is None:
        return _priced_now(request, lines, deps)
    try:
        quote = deps.store.get_quote(request.quote_id)
    except NotFound:
        quote = None
    if quote is None or quote.client_id != client_id:
        raise UnknownReferences([("quote_id", f"no quote {request.quote_id}")])
    if quote.expired(now):
        raise Conflict(f"quote {quote.quote_id} expired at {quote.expires_at}", field="quote_id")
    sent_to = address.postal_code if address and ships else None
    same_coupon = coupon_code(request.coupon) == coupon_code(quote.coupon)
    if not quote.asks_for(_quoted_lines(request), sent_to) or not same_coupon:
        raise Conflict(
            f"quote {quote.quote_id} was for other lines, address or coupon", field="quote_id"
        )
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
    return _charged(lines, quote.breakdown), pricing
