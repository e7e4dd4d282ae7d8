"""What an order was charged, as the pricing engine broke it down at placement (or as
its quote did), and the promises it was given: fixed with the order."""

from datetime import datetime
from typing import Any

from pydantic import Field

from chalicelib.domain.campaigns import Attribution
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Amount, Money
from chalicelib.domain.pricing import AppliedPromotion, PriceBreakdown, TaxBreakdown
from chalicelib.domain.promotions import Redemption


class OrderPricing(DeferredModel):
    """The breakdown shown in ``GET /orders/{id}``; ``total`` is the order's total."""

    subtotal: Amount
    discount: Amount
    shipping: Amount
    tax: TaxBreakdown
    total: Amount
    # Every tax when the order holds more than one (a Canary parcel's IGIC on top, the IVA
    # its Madrid pick-up includes); kept only then, ``tax`` being the one otherwise.
    taxes: list[TaxBreakdown] = Field(default_factory=list)
    promotions: list[AppliedPromotion] = Field(default_factory=list)
    quote_id: str | None = None
    coupon: str | None = None
    attribution: Attribution | None = None
    # Ship promises by origin location, as the quote gave them: each shipment from there
    # is held to it. Empty without a quote: promised from the moment of placement.
    promises: dict[str, datetime] = Field(default_factory=dict)
    # The promotions the order redeems, and whether it holds them now: the order store
    # takes them with the order's creation and gives them back in the same write that
    # makes the order rejected or cancelled (taken again if a retried payment revives it).
    redemptions: list[Redemption] = Field(default_factory=list)
    redemptions_held: bool = False

    @classmethod
    def of(
        cls,
        breakdown: PriceBreakdown,
        quote_id: str | None = None,
        coupon: str | None = None,
        attribution: Attribution | None = None,
        promises: dict[str, datetime] | None = None,
    ) -> "OrderPricing":
        """Fixed from the engine's breakdown."""
        return cls(
            subtotal=breakdown.subtotal,
            discount=breakdown.discount,
            shipping=breakdown.shipping,
            tax=breakdown.tax,
            total=breakdown.total,
            taxes=breakdown.taxes if len(breakdown.taxes) > 1 else [],
            promotions=breakdown.promotions,
            quote_id=quote_id,
            coupon=coupon,
            attribution=attribution,
            promises=promises or {},
        )

    def each_tax(self) -> list[TaxBreakdown]:
        """Every tax the order holds, the one on top first."""
        return self.taxes or [self.tax]

    def shown(self) -> dict[str, Any]:
        """The breakdown as the API shows it, in ``GET /orders/{id}`` and the export: money
        objects, every tax, the coupon and each promotion with what it took off."""
        return {
            "subtotal": Money.of(self.subtotal).model_dump(mode="json"),
            "discount": Money.of(self.discount).model_dump(mode="json"),
            "shipping": Money.of(self.shipping).model_dump(mode="json"),
            "taxes": [tax.shown() for tax in self.each_tax()],
            "coupon": self.coupon,
            "promotions": [p.shown() for p in self.promotions],
        }
