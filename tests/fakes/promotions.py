"""In-memory ``Promotions``, and the redemptions the fake order store takes and gives back
with an order's writes: the same conditions as the table's (a counter under
``max_redemptions``, one redemption per once-per-customer customer, one live order per
quote), checked before anything is written."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignIncrement,
    CountedCustomer,
    CustomerKind,
)
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    CouponUsedUp,
    NotFound,
    PromotionUsedUp,
    QuotePriceTaken,
)
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.promotions import CountedPromotion, Promotion
from tests.fakes.memory import Memory

ENDED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})


def apply_redemptions(memory: Memory, order: Order) -> None:
    """Take or give back the order's redemptions as its next write would, all or nothing
    (raises before changing anything), and record on the order whether it holds them."""
    pricing = order.pricing
    if pricing is None or not pricing.redemptions:
        return
    live = order.status not in ENDED
    if live == pricing.redemptions_held:
        return
    counts = memory.redemption_counts
    if live:
        for taken in pricing.redemptions:
            stored = memory.promotions.get(taken.promotion_id)
            promotion = Promotion.model_validate_json(stored) if stored else None
            limit = promotion.max_redemptions if promotion else None
            if promotion is None or (
                limit is not None and counts.get(taken.promotion_id, 0) >= limit
            ):
                _refuse(taken.code, taken.promotion_id, "used up")
            if taken.customer_id and (taken.promotion_id, taken.customer_id) in memory.holders:
                _refuse(taken.code, taken.promotion_id, "used")
            if taken.quote_id and (taken.promotion_id, taken.quote_id) in memory.quote_holders:
                raise QuotePriceTaken(
                    f"quote {taken.quote_id}'s price was already given to another order; "
                    "ask for a new quote"
                )
        for taken in pricing.redemptions:
            counts[taken.promotion_id] = counts.get(taken.promotion_id, 0) + 1
            memory.redeemed[(taken.promotion_id, order.order_id)] = taken.customer_id
            if taken.customer_id:
                memory.holders[(taken.promotion_id, taken.customer_id)] = order.order_id
            if taken.quote_id:
                memory.quote_holders[(taken.promotion_id, taken.quote_id)] = order.order_id
    else:
        for taken in pricing.redemptions:
            if (taken.promotion_id, order.order_id) not in memory.redeemed:
                raise Conflict("the item changed while we worked on it")
        for taken in pricing.redemptions:
            counts[taken.promotion_id] -= 1
            del memory.redeemed[(taken.promotion_id, order.order_id)]
            if taken.customer_id:
                memory.holders.pop((taken.promotion_id, taken.customer_id), None)
            quoted = (taken.promotion_id, taken.quote_id) if taken.quote_id else None
            if quoted is not None and memory.quote_holders.get(quoted) == order.order_id:
                del memory.quote_holders[quoted]
    pricing.redemptions_held = live


def hand_over_redemptions(memory: Memory, order: Order, customer_id: str) -> None:
    """Pass the order's once-per-customer redemptions to ``customer_id`` as the table's
    write does: the markers it holds move only where ``customer_id`` holds none (raises
    before changing anything), and its pricing names them."""
    pricing = order.pricing
    if pricing is None:
        return
    moving = [t for t in pricing.redemptions if t.customer_id not in (None, customer_id)]
    held = pricing.redemptions_held
    for taken in moving:
        if held and (taken.promotion_id, customer_id) in memory.holders:
            _refuse(taken.code, taken.promotion_id, "used")
    for taken in moving if held else []:
        assert taken.customer_id is not None
        if memory.holders.get((taken.promotion_id, taken.customer_id)) == order.order_id:
            del memory.holders[(taken.promotion_id, taken.customer_id)]
        memory.holders[(taken.promotion_id, customer_id)] = order.order_id
        memory.redeemed[(taken.promotion_id, order.order_id)] = customer_id
    pricing.redemptions = [
        t.model_copy(update={"customer_id": customer_id}) if t in moving else t
        for t in pricing.redemptions
    ]


def _refuse(code: str | None, promotion_id: str, what: str) -> None:
    if code is None:
        raise PromotionUsedUp(f"promotion {promotion_id} was {what} meanwhile")
    raise CouponUsedUp(f"coupon {code} has been {what}")


class FakePromotions:
    """``Promotions`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def create_promotion(
        self, promotion: Promotion, once: str | None = None, replaces: str | None = None
    ) -> str:
        if once is not None and once in self._m.promotion_creations:
            return self._m.promotion_creations[once]
        holder = self._m.coupon_codes.get((promotion.code or "").upper())
        if promotion.code is not None and holder != replaces:
            raise Conflict(f"another promotion has the code {promotion.code}", field="code")
        if promotion.promotion_id in self._m.promotions:
            raise Conflict(f"promotion {promotion.promotion_id} exists")
        self._m.promotions[promotion.promotion_id] = promotion.model_dump_json()
        if promotion.code is not None:
            self._m.coupon_codes[promotion.code.upper()] = promotion.promotion_id
        if once is not None:
            self._m.promotion_creations[once] = promotion.promotion_id
        return promotion.promotion_id

    def replace_promotion(self, before: Promotion, after: Promotion) -> None:
        if self._m.promotions.get(before.promotion_id) != before.model_dump_json():
            raise ConcurrentModification(f"promotion {before.promotion_id} changed meanwhile")
        self._m.promotions[before.promotion_id] = after.model_dump_json()

    def promotion(self, promotion_id: str) -> CountedPromotion:
        stored = self._m.promotions.get(promotion_id)
        if stored is None:
            raise NotFound(f"no promotion {promotion_id}", field="promotion_id")
        return CountedPromotion(
            promotion=Promotion.model_validate_json(stored),
            redemptions=self._m.redemption_counts.get(promotion_id, 0),
        )

    def promotions(self) -> list[CountedPromotion]:
        return [self.promotion(promotion_id) for promotion_id in sorted(self._m.promotions)]

    def promotion_by_code(self, code: str) -> CountedPromotion | None:
        promotion_id = self._m.coupon_codes.get(code.strip().upper())
        return self.promotion(promotion_id) if promotion_id else None

    def automatic_promotions(self, now: datetime) -> list[CountedPromotion]:
        return [
            counted
            for counted in self.promotions()
            if counted.promotion.code is None
            and (counted.promotion.ends_at is None or counted.promotion.ends_at >= now)
        ]

    def redeemed_by(self, customer_id: str, promotion_ids: list[str]) -> set[str]:
        return {p for p in promotion_ids if (p, customer_id) in self._m.holders}

    def quote_redeemed_by(self, promotion_id: str, quote_id: str) -> str | None:
        return self._m.quote_holders.get((promotion_id, quote_id))

    def redeeming_orders(self, promotion_id: str) -> list[str]:
        return sorted(order for (p, order) in self._m.redeemed if p == promotion_id)


class FakeCampaigns:
    """``Campaigns`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def apply_campaign_increment(
        self, event_id: str, increment: CampaignIncrement, now_epoch: int
    ) -> bool:
        if event_id in self._m.campaign_events:
            return False
        counted = increment.counted()
        if increment.customer_id and counted is not None:
            key = (increment.campaign, increment.customer_id)
            stored = self._m.campaign_customers.get(key)
            if stored is None:
                self._m.campaign_customers[key] = counted
            else:
                increment = increment.without_customer()
                listed = counted.purchase()
                if listed is not None and stored.order_id != listed.order_id:
                    self._m.campaign_customers[key] = stored.with_others(
                        [*stored.others, listed]
                    ).model_copy(update={"version": stored.version + 1})
                if listed is not None and increment.moves_nothing():
                    return False  # listed alone, without a marker (as the table does)
        self._m.campaign_events.add(event_id)
        current = self._m.campaigns.get(increment.campaign)
        counters = current or CampaignCounters(campaign=increment.campaign)
        self._m.campaigns[increment.campaign] = counters.plus(increment)
        return True

    def merge_campaign_customers(self, survivor_id: str, merged_id: str) -> int:
        changed = 0
        counts = self._m.campaign_customers
        for campaign, customer_id in sorted(counts):
            if customer_id != merged_id:
                continue
            merged = counts.pop((campaign, merged_id))
            survivor = counts.get((campaign, survivor_id))
            changed += 1
            if survivor is None:
                counts[(campaign, survivor_id)] = merged.model_copy(update={"version": 1})
                continue
            dropped = merged if survivor.first(merged) is survivor else survivor
            kept = survivor.joined(merged)
            counts[(campaign, survivor_id)] = kept.model_copy(
                update={"version": survivor.version + 1}
            )
            off = CampaignIncrement(
                campaign=campaign,
                new_customers=-int(dropped.kind is CustomerKind.NEW),
                returning_customers=-int(dropped.kind is CustomerKind.RETURNING),
            )
            self._m.campaigns[campaign] = self._m.campaigns[campaign].plus(off)
        return changed

    def campaign_counts(self, customer_id: str) -> list[CountedCustomer]:
        return [
            counted
            for (_, owner), counted in sorted(self._m.campaign_customers.items())
            if owner == customer_id
        ]

    def campaign_count(self, customer_id: str, campaign: str) -> CountedCustomer | None:
        return self._m.campaign_customers.get((campaign, customer_id))

    def replace_campaign_count(
        self, customer_id: str, stored: CountedCustomer, new: CountedCustomer | None
    ) -> bool:
        key = (stored.campaign, customer_id)
        if self._m.campaign_customers.get(key) != stored:
            return False
        if new is None:
            del self._m.campaign_customers[key]
        else:
            self._m.campaign_customers[key] = new.model_copy(update={"version": stored.version + 1})
        new_kind = new.kind if new is not None else None
        if new_kind is not stored.kind:
            moved = CampaignIncrement(
                campaign=stored.campaign,
                new_customers=int(new_kind is CustomerKind.NEW)
                - int(stored.kind is CustomerKind.NEW),
                returning_customers=int(new_kind is CustomerKind.RETURNING)
                - int(stored.kind is CustomerKind.RETURNING),
            )
            self._m.campaigns[stored.campaign] = self._m.campaigns[stored.campaign].plus(moved)
        return True

    def recount_campaign_customer(
        self, customer_id: str, counted: CountedCustomer, kind: CustomerKind
    ) -> bool:
        return self.replace_campaign_count(
            customer_id, counted, counted.model_copy(update={"kind": kind})
        )

    def campaign_order_revenue(self, order_id: str) -> Decimal | None:
        return self._m.campaign_order_revenue.get(order_id)

    def set_campaign_order_revenue(
        self, campaign: str, order_id: str, revenue: Decimal, previous: Decimal | None
    ) -> bool:
        if self._m.campaign_order_revenue.get(order_id) != previous:
            return False
        self._m.campaign_order_revenue[order_id] = revenue
        counters = self._m.campaigns.get(campaign) or CampaignCounters(campaign=campaign)
        moved = CampaignIncrement(campaign=campaign, revenue=revenue - (previous or Decimal(0)))
        self._m.campaigns[campaign] = counters.plus(moved)
        return True

    def campaign_counters(self) -> list[CampaignCounters]:
        return [self._m.campaigns[name] for name in sorted(self._m.campaigns)]
