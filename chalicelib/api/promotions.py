"""Promotions for ops: create one, list them with their redemptions, read one; and the
campaign figures."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field

from chalicelib.api.http import IDEMPOTENCY_HEADER, Call, endpoint, once_of
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money
from chalicelib.domain.placement import Channel
from chalicelib.domain.promotion_requests import CreatePromotionRequest
from chalicelib.domain.promotions import CountedPromotion, PromotionKind
from chalicelib.domain.requests import Strict
from chalicelib.services import campaign_projection
from chalicelib.services import promotions as promotion_service

promotions = Blueprint(__name__)


class PromotionResponse(DeferredModel):
    """A promotion's terms as created, and how many live orders redeem it now (a
    rejected or cancelled order gave its redemption back)."""

    model_config = ConfigDict(extra="forbid")

    promotion_id: str
    name: str
    code: str | None
    kind: PromotionKind
    value: str | None = Field(description="The percentage, or euros; null for free_shipping")
    min_subtotal: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    channels: list[Channel] | None
    max_redemptions: int | None
    once_per_customer: bool
    campaign: str | None
    redemptions: int = Field(ge=0)

    @classmethod
    def of(cls, counted: CountedPromotion) -> "PromotionResponse":
        """As ops read it."""
        p = counted.promotion
        return cls(
            promotion_id=p.promotion_id,
            name=p.name,
            code=p.code,
            kind=p.kind,
            value=_shown_value(p.kind, p.value),
            # Euros, as money is written everywhere: "5.00", not "5" (a probe).
            min_subtotal=f"{p.min_subtotal:.2f}" if p.min_subtotal is not None else None,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            channels=sorted((Channel(c) for c in p.channels), key=list(Channel).index)
            if p.channels
            else None,
            max_redemptions=p.max_redemptions,
            once_per_customer=p.once_per_customer,
            campaign=p.campaign,
            redemptions=counted.redemptions,
        )


class PromotionsResponse(DeferredModel):
    """``GET /promotions``."""

    model_config = ConfigDict(extra="forbid")

    promotions: list[PromotionResponse]


@endpoint(
    promotions,
    "/promotions",
    "POST",
    summary="Create a promotion: a coupon (with a code) or one that applies by itself",
    roles=("ops",),
    request=CreatePromotionRequest,
    response=PromotionResponse,
    status=201,
    tag="promotions",
    optional_headers=(IDEMPOTENCY_HEADER,),
    errors=(409,),
)
def create_promotion(call: Call) -> dict[str, Any]:
    """409 naming ``code`` when another promotion has it; once per Idempotency-Key."""
    key = call.idempotency_key(required=False)
    request = call.parse(CreatePromotionRequest)
    terms = request.terms()

    scope = call.key_scope("promotions")
    once = once_of(scope, key, request)

    def create() -> dict[str, Any]:
        counted = promotion_service.create_promotion(terms, call.deps, once)
        return PromotionResponse.of(counted).model_dump(mode="json")

    return call.once(scope, key, request, create)


@endpoint(
    promotions,
    "/promotions",
    "GET",
    summary="Every promotion with its redemptions, oldest first",
    roles=("ops",),
    response=PromotionsResponse,
    tag="promotions",
)
def list_promotions(call: Call) -> dict[str, Any]:
    """Read from the promotions' listing, never a scan."""
    rows = [PromotionResponse.of(counted) for counted in promotion_service.listing(call.deps)]
    return PromotionsResponse(promotions=rows).model_dump(mode="json")


@endpoint(
    promotions,
    "/promotions/{promotion_id}",
    "GET",
    summary="One promotion with its redemptions",
    roles=("ops",),
    response=PromotionResponse,
    tag="promotions",
)
def get_promotion(call: Call, promotion_id: str) -> dict[str, Any]:
    """404 naming ``promotion_id`` when unknown."""
    counted = promotion_service.promotion(promotion_id, call.deps)
    return PromotionResponse.of(counted).model_dump(mode="json")


class EndPromotionRequest(Strict):
    """``POST /promotions/{promotion_id}/end``: no fields; the body is optional."""


@endpoint(
    promotions,
    "/promotions/{promotion_id}/end",
    "POST",
    summary="Switch a promotion off now: it ends at this moment (repeating it answers the same)",
    roles=("ops",),
    request=EndPromotionRequest,
    response=PromotionResponse,
    tag="promotions",
    optional_body=True,
)
def end_promotion(call: Call, promotion_id: str) -> dict[str, Any]:
    """A coupon no longer applies and an automatic promotion no longer offers itself, from
    now on (a probe: a mistaken automatic promotion could not be stopped). 404 naming
    ``promotion_id`` when unknown."""
    call.parse(EndPromotionRequest, optional=True)
    counted = promotion_service.end_promotion(promotion_id, call.deps)
    return PromotionResponse.of(counted).model_dump(mode="json")


class CampaignResponse(DeferredModel):
    """One campaign's figures: orders placed (by channel), first-time and returning
    customers, and the revenue of orders neither rejected nor cancelled."""

    model_config = ConfigDict(extra="forbid")

    campaign: str
    orders: int = Field(ge=0)
    revenue: Money
    new_customers: int = Field(
        ge=0,
        description="Customers who paid for an order in the campaign, the first they paid "
        "for anywhere (a declined card wins no customer)",
    )
    returning_customers: int = Field(
        ge=0,
        description="Customers who paid for an order in the campaign, having bought before",
    )
    by_channel: dict[Channel, int]


class CampaignsResponse(DeferredModel):
    """``GET /analytics/campaigns``."""

    model_config = ConfigDict(extra="forbid")

    campaigns: list[CampaignResponse]


@endpoint(
    promotions,
    "/analytics/campaigns",
    "GET",
    summary="Per campaign (a coupon's campaign, else the order's attribution): orders, "
    "revenue, new and returning customers, orders by channel (kept as counters)",
    roles=("ops",),
    response=CampaignsResponse,
    tag="analytics",
)
def campaigns(call: Call) -> dict[str, Any]:
    """Read from the counters the order events incremented."""
    rows = [
        CampaignResponse(
            campaign=c.campaign,
            orders=c.orders,
            revenue=Money.of(c.revenue),
            new_customers=c.new_customers,
            returning_customers=c.returning_customers,
            by_channel={Channel(k): v for k, v in c.by_channel.items()},
        )
        for c in campaign_projection.report(call.deps)
    ]
    return CampaignsResponse(campaigns=rows).model_dump(mode="json")


def _shown_value(kind: PromotionKind, value: Decimal | None) -> str | None:
    """A percentage as given ("10"); euros with their cents ("5.00"), as API.md writes
    an amount promotion's value."""
    if value is None:
        return None
    return f"{value:.2f}" if kind is PromotionKind.AMOUNT else str(value)
