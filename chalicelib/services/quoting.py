"""Quotes: the basket priced by the one pricing engine (domain/pricing.py) and promised
from where sourcing would take it, kept until it expires."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.catalog import Location
from chalicelib.domain.errors import Conflict, InvalidFields, OutOfStock, UnservableLines
from chalicelib.domain.fulfillments import FulfillmentType, split_allocations
from chalicelib.domain.inventory import plan_sourcing
from chalicelib.domain.placement import OrderLine
from chalicelib.domain.promotions import coupon_code
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.quotes import FulfillmentLine, Quote, QuotedFulfillment, QuotedLine
from chalicelib.services.availability import refuse_unservable, stock_of
from chalicelib.services.customers import require_named_customer
from chalicelib.services.ordering import catalogue_lines
from chalicelib.services.pricing_engine import attribution_of, price_request
from chalicelib.services.promising import pickup_ready, ship_promise

if TYPE_CHECKING:
    from chalicelib.deps import Deps


def _rule_problems(request: QuoteRequest) -> list[tuple[str, str]]:
    try:
        request.check()
    except InvalidFields as exc:
        return exc.problems
    return []


def _promised_fulfillments(
    lines: list[OrderLine],
    locations: dict[str, Location],
    country: str,
    postal_code: str,
    now: datetime,
    deps: Deps,
) -> list[QuotedFulfillment]:
    """Where sourcing would take each line from now, and the promise of each part."""
    ship = {line.sku: line.quantity for line in lines if line.location_id is None}
    pickup = {(line.sku, line.location_id): line.quantity for line in lines if line.location_id}
    stock = stock_of((line.sku for line in lines), deps)
    try:
        plan = plan_sourcing(ship, pickup, stock)
    except OutOfStock as exc:  # taken between the check and now
        raise UnservableLines([("lines", exc.detail)]) from exc
    # Grouped as the order's fulfillments will be: a store that ships units of a SKU also
    # picked up there ships them (a probe saw them quoted as a pick-up).
    parts = {
        where: [FulfillmentLine(sku=sku, quantity=quantity) for sku, quantity in units.items()]
        for where, units in split_allocations(pickup, plan.allocations).items()
    }
    quoted = []
    for (kind, location_id), part in parts.items():
        location = locations[location_id]
        if kind is FulfillmentType.PICKUP:
            carrier, promised = None, pickup_ready(now, location)
        else:
            by, promised = ship_promise(now, location, country, postal_code, deps)
            carrier = by.name
        quoted.append(
            QuotedFulfillment(
                type=kind,
                location_id=location_id,
                carrier=carrier,
                lines=part,
                promised_by=promised,
            )
        )
    return quoted


def quote_id_for(once: str) -> str:
    """The quote a request asked under an Idempotency-Key keeps (``once``: the key in its
    scope): the same key finds the same quote, even when the first run died after its
    write and before its answer was stored (Powertools then runs the key again; found by
    a review: a second quote was kept, and the client could be holding either)."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()
    return f"qt_{digest[:20]}"


def create_quote(
    request: QuoteRequest, client_id: str, deps: Deps, once: str | None = None
) -> Quote:
    """Price and promise the basket now, refuse what cannot be served, keep the quote;
    the quote a first run under the same ``once`` kept, where there is one."""
    problems = _rule_problems(request)
    products = {product.sku: product for product in deps.store.products()}
    locations = {location.location_id: location for location in deps.store.locations()}
    lines = catalogue_lines(request, products, locations, problems)
    address = request.shipping_address
    ships = any(line.location_id is None for line in lines)
    country = address.country if address else "ES"
    refuse_unservable(request.lines, deps)
    if request.customer is not None and request.customer.customer_id:
        # As placing would (probe 204: a quote for an unknown id was priced, with the
        # welcome coupon, and the order placed from it was 404).
        require_named_customer(request.customer.customer_id, deps, "customer.customer_id")
    now = deps.clock()
    breakdown = price_request(request, lines, locations, now, deps)
    quote = Quote(
        quote_id=quote_id_for(once) if once is not None else f"qt_{secrets.token_hex(10)}",
        client_id=client_id,
        created_at=now,
        expires_at=now + timedelta(seconds=deps.settings.quote_ttl_seconds),
        channel=request.channel.value,
        lines=[
            QuotedLine(
                sku=line.sku,
                quantity=line.quantity,
                fulfillment=line.fulfillment,
                location_id=line.location_id
                if line.fulfillment is FulfillmentType.PICKUP
                else None,
            )
            for line in request.lines
        ],
        postal_code=address.postal_code if address and ships else None,
        country=country.upper(),
        breakdown=breakdown,
        fulfillments=_promised_fulfillments(
            lines, locations, country, (address.postal_code if address else ""), now, deps
        ),
        coupon=coupon_code(request.coupon),
        attribution=attribution_of(request.attribution),
    )
    try:
        deps.store.put_quote(quote)
    except Conflict:
        if once is None:
            raise
        return deps.store.get_quote(quote.quote_id)
    return quote
