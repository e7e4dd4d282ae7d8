"""Opportunities followed up: back-in-stock subscriptions for shoppers, the list for ops."""

from typing import Annotated, Any, Literal

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import Field

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import OpportunityStatus
from chalicelib.domain.requests import BlankIsAbsent, Email, Strict
from chalicelib.services import opportunities as opportunity_service

opportunities = Blueprint(__name__)


class SubscribeRequest(Strict):
    """``POST /inventory/{sku}/subscriptions``: who to tell when the SKU is back."""

    email: Email
    # The language of the page the wish was made on (a probe: an English shopper was
    # always told in Spanish); none: the customer's, else Spanish.
    locale: Literal["es", "en"] | None = None


class SubscriptionResponse(DeferredModel):
    """The open subscription (the same one when the address asks again)."""

    subscription_id: str
    sku: str
    status: str


class OpportunityResponse(DeferredModel):
    """One sale followed up."""

    opportunity_id: str
    kind: str = Field(description="back_in_stock | payment_retry")
    customer_id: str | None
    order_id: str | None
    sku: str | None
    status: str = Field(description="open | notified | converted | lost")
    value: Money
    created_at: str
    updated_at: str


class OpportunitiesResponse(DeferredModel):
    """``GET /ops/opportunities``: one page, newest first."""

    opportunities: list[OpportunityResponse]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last"
    )


class OpportunitiesQuery(DeferredModel):
    """``GET /ops/opportunities``: which, and how many."""

    # Empty, like absent, is every status.
    status: Annotated[
        Literal["open", "notified", "converted", "lost", ""] | None, BlankIsAbsent
    ] = Field(default=None, description="Only this status; every status if absent or empty")
    limit: int = Field(
        default=opportunity_service.LIST_PAGE,
        ge=1,
        le=opportunity_service.LIST_PAGE,
        description="Opportunities on the page, newest first",
    )
    cursor: str | None = Field(
        default=None, max_length=512, description="``next_cursor`` of the page before"
    )


@endpoint(
    opportunities,
    "/inventory/{sku}/subscriptions",
    "POST",
    summary="Ask to be emailed once when the SKU is back on the web (one open subscription "
    "per address and SKU)",
    roles=("storefront", "store", "ops"),
    request=SubscribeRequest,
    response=SubscriptionResponse,
    status=201,
    tag="inventory",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.NEW,
)
def subscribe_back_in_stock(call: Call, sku: str) -> dict[str, Any]:
    """An unknown SKU is 404; once per Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(SubscribeRequest)

    def subscribe() -> dict[str, Any]:
        subscription = opportunity_service.subscribe_back_in_stock(
            sku, request.email, call.deps, locale=request.locale
        )
        return SubscriptionResponse(
            subscription_id=subscription.subscription_id,
            sku=subscription.sku,
            status=subscription.status.value,
        ).model_dump(mode="json")

    return call.once(call.key_scope("subscriptions", sku), key, request, subscribe)


@endpoint(
    opportunities,
    "/ops/opportunities",
    "GET",
    summary="Back-in-stock and payment-retry opportunities: open, notified, converted, lost "
    "(newest first, a page at a time: ?status=&limit=&cursor=)",
    roles=("ops",),
    response=OpportunitiesResponse,
    query=OpportunitiesQuery,
    errors=(404,),
    tag="ops",
)
def list_opportunities(call: Call) -> dict[str, Any]:
    """A page of opportunities, newest first; a cursor this API did not hand out is 404."""
    query = call.query(OpportunitiesQuery)
    status = OpportunityStatus(query.status) if query.status else None
    rows, next_cursor = opportunity_service.listing(
        call.deps, status=status, cursor=query.cursor, limit=query.limit
    )
    page = {"opportunities": rows, "next_cursor": next_cursor}
    return OpportunitiesResponse.model_validate(page).model_dump(mode="json")
