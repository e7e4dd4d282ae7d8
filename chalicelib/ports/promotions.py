"""The promotions' port: promotions, their redemptions (taken and given back by the order
store with the order's own writes) and the campaign figures kept from order events. Part
of ``OrderStore``: the redemptions go in the order's transactions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignIncrement,
    CountedCustomer,
    CustomerKind,
)
from chalicelib.domain.promotions import CountedPromotion, Promotion


class Promotions(Protocol):
    """Promotions and their redemptions. An order's redemptions are taken by
    ``create_order`` in the order's own transaction (a counter under ``max_redemptions``,
    a once-per-customer marker and, for an order on a quote, the quote's marker, by
    condition) and given back by the ``save_order`` that makes it rejected or cancelled:
    ``CouponUsedUp`` when none is left, ``QuotePriceTaken`` when another live order holds
    the quote's."""

    def create_promotion(
        self, promotion: Promotion, once: str | None = None, replaces: str | None = None
    ) -> str:
        """Keep a new promotion; ``Conflict`` naming ``code`` when another has its code.
        ``replaces``: the ended promotion whose code it takes over, only while that one
        still holds the code. ``once``: the creating request's Idempotency-Key in its
        scope; a request run again under it creates nothing and gets the id of the
        promotion it created first. Returns the id of the promotion kept."""
        ...

    def promotion(self, promotion_id: str) -> CountedPromotion:
        """One promotion with its redemptions, or ``NotFound``."""
        ...

    def replace_promotion(self, before: Promotion, after: Promotion) -> None:
        """Change a promotion's terms (``after`` ends it sooner) where they still are
        ``before``: ``ConcurrentModification`` otherwise. Its listings follow."""
        ...

    def promotions(self) -> list[CountedPromotion]:
        """Every promotion with its redemptions, oldest first (one small partition)."""
        ...

    def promotion_by_code(self, code: str) -> CountedPromotion | None:
        """The promotion with this coupon code (any case), if any."""
        ...

    def automatic_promotions(self, now: datetime) -> list[CountedPromotion]:
        """Promotions without a code that have not ended by ``now``, by key (no scan)."""
        ...

    def redeemed_by(self, customer_id: str, promotion_ids: list[str]) -> set[str]:
        """Which of these once-per-customer promotions the customer holds a redemption of."""
        ...

    def redeeming_orders(self, promotion_id: str) -> list[str]:
        """The live orders holding a redemption of the promotion."""
        ...

    def quote_redeemed_by(self, promotion_id: str, quote_id: str) -> str | None:
        """The live order the quote's price of the promotion went to, if any."""
        ...


class Campaigns(Protocol):
    """Campaign figures, kept by the projection from order events (never a scan)."""

    def apply_campaign_increment(
        self, event_id: str, increment: CampaignIncrement, now_epoch: int
    ) -> bool:
        """Add the increment to its campaign's counters once per event id; False
        (nothing written) when that event was applied already. Its customer (an order
        paid) is counted once per campaign; one counted already has the order listed among
        their others in the campaign instead (idempotent), unless it is the counting one,
        and the counters move by the rest (False when that is nothing)."""
        ...

    def merge_campaign_customers(self, survivor_id: str, merged_id: str) -> int:
        """The merged record's counts in campaigns become the survivor's: moved where the
        survivor is not counted, and where both are, one person counted once (the earlier
        first order's count is kept, the other taken off its campaign's figures).
        Returns how many counts it moved or took off; safe to run again."""
        ...

    def campaign_counts(self, customer_id: str) -> list[CountedCustomer]:
        """How each campaign counts the customer record, by key (never a scan)."""
        ...

    def campaign_count(self, customer_id: str, campaign: str) -> CountedCustomer | None:
        """How the campaign counts the customer record, read strongly; None if it does not."""
        ...

    def replace_campaign_count(
        self, customer_id: str, stored: CountedCustomer, new: CountedCustomer | None
    ) -> bool:
        """The customer's count in ``stored``'s campaign made ``new`` (None: counted no
        more), the campaign's figures moving with it (the old kind's one off, the new
        kind's one on), together; False (nothing written) when the count is no longer
        ``stored`` (any write since, another order listed included)."""
        ...

    def recount_campaign_customer(
        self, customer_id: str, counted: CountedCustomer, kind: CustomerKind
    ) -> bool:
        """Count the customer as ``kind`` in ``counted``'s campaign instead, its figures
        moving one from the old kind to the new, together; False (nothing written) when
        the count is no longer ``counted``."""
        ...

    def campaign_order_revenue(self, order_id: str) -> Decimal | None:
        """The revenue the order last added to its campaign's revenue; None before any."""
        ...

    def set_campaign_order_revenue(
        self, campaign: str, order_id: str, revenue: Decimal, previous: Decimal | None
    ) -> bool:
        """Make the order's share of its campaign's revenue ``revenue``, its counters
        moving by the difference, together; False (nothing written) when the share is
        no longer ``previous`` (another delivery moved it)."""
        ...

    def campaign_counters(self) -> list[CampaignCounters]:
        """Every campaign's figures, by name."""
        ...


class PromotionStore(Promotions, Campaigns, Protocol):
    """The promotions' side of ``OrderStore``."""
