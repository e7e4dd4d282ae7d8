"""``POST /quotes``: what a basket costs, taxes and shipping included, and when it is
promised; an order placed on the quote (``quote_id``) is charged exactly that."""

from datetime import datetime
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import Field

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint, once_of
from chalicelib.api.models import TaxResponse
from chalicelib.domain.deferred import DeferredModel, Promise
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.pricing import PriceBreakdown
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.quotes import FulfillmentLine, Quote
from chalicelib.services import quoting

quotes = Blueprint(__name__)


class QuotedLineResponse(DeferredModel):
    """A line: ``total`` is ``unit_price × quantity``; ``discount`` its share."""

    sku: str
    quantity: int
    unit_price: Money
    discount: Money
    total: Money


class QuotedFulfillmentResponse(DeferredModel):
    """A part of the basket: from where, with whom, by when."""

    type: FulfillmentType
    location_id: str
    carrier: str | None
    lines: list[FulfillmentLine]
    promised_by: Promise


class AppliedPromotionResponse(DeferredModel):
    """A promotion the basket got."""

    promotion_id: str
    name: str
    amount: Money


class BreakdownFields(DeferredModel):
    """The price breakdown quotes and orders show alike."""

    subtotal: Money
    discount: Money
    shipping: Money
    tax: TaxResponse
    total: Money
    taxes: list[TaxResponse] = Field(
        description="Every tax the basket holds, tax's first: a Canary parcel's IGIC on top "
        "and the IVA its Madrid pick-up's prices include"
    )
    free_shipping_from: Money | None = Field(
        description="The goods' amount after discounts from which shipping to this "
        "address is free; null when nothing ships"
    )

    @staticmethod
    def fields_of(breakdown: PriceBreakdown) -> dict[str, Any]:
        """The breakdown's fields as money objects."""
        free_from = breakdown.free_shipping_from
        return {
            "subtotal": Money.of(breakdown.subtotal),
            "discount": Money.of(breakdown.discount),
            "shipping": Money.of(breakdown.shipping),
            "tax": TaxResponse.of(breakdown.tax),
            "total": Money.of(breakdown.total),
            "taxes": [TaxResponse.of(tax) for tax in breakdown.taxes],
            "free_shipping_from": Money.of(free_from) if free_from is not None else None,
        }


class QuoteResponse(BreakdownFields):
    """``POST /quotes``."""

    quote_id: str
    expires_at: datetime
    lines: list[QuotedLineResponse]
    fulfillments: list[QuotedFulfillmentResponse]
    promotions: list[AppliedPromotionResponse]

    @classmethod
    def of(cls, quote: Quote) -> "QuoteResponse":
        """As the storefront reads it."""
        breakdown = quote.breakdown
        return cls(
            quote_id=quote.quote_id,
            expires_at=quote.expires_at,
            lines=[
                QuotedLineResponse(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=Money.of(line.unit_price),
                    discount=Money.of(line.discount),
                    total=Money.of(line.total),
                )
                for line in breakdown.lines
            ],
            fulfillments=[
                QuotedFulfillmentResponse(
                    type=part.type.value,
                    location_id=part.location_id,
                    carrier=part.carrier,
                    lines=part.lines,
                    promised_by=part.promised_by,
                )
                for part in quote.fulfillments
            ],
            promotions=[
                AppliedPromotionResponse(
                    promotion_id=p.promotion_id, name=p.name, amount=Money.of(p.amount)
                )
                for p in breakdown.promotions
            ],
            **BreakdownFields.fields_of(breakdown),
        )


@endpoint(
    quotes,
    "/quotes",
    "POST",
    summary="Price a basket (taxes, shipping, promotions) and promise it; valid until expires_at",
    roles=("storefront", "store", "ops"),
    request=QuoteRequest,
    response=QuoteResponse,
    status=200,
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.NEW,
    errors=(404, 409),
)
def create_quote(call: Call) -> dict[str, Any]:
    """Quote once per Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(QuoteRequest)
    principal = call.principal
    assert principal is not None
    principal.require_store_sale(request.channel, request.store_id, "quote")

    scope = call.key_scope("quotes")

    def create() -> dict[str, Any]:
        once = once_of(scope, key, request)
        quote = quoting.create_quote(request, principal.client_id, call.deps, once=once)
        return QuoteResponse.of(quote).model_dump(mode="json")

    return call.once(scope, key, request, create)
