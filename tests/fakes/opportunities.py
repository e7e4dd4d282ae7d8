"""In-memory ``OpportunityStore`` with the same conditions as the table's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

from chalicelib.domain.opportunities import (
    ACTIVE_STATUSES,
    BackInStockSubscription,
    Opportunity,
    OpportunityKind,
    OpportunityPage,
    OpportunityStatus,
    OwedNotices,
    SubscriptionStatus,
    listed_by,
)


class FakeOpportunityStore:
    """``OpportunityStore`` in memory."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, BackInStockSubscription] = {}
        self._opportunities: dict[str, Opportunity] = {}
        # Owed notices by SKU and moment, with their failed sweeps.
        self._owed: dict[tuple[str, datetime], OwedNotices] = {}
        # Opportunities read one by one: a test of what a use case reads counts them.
        self.reads: Counter[str] = Counter()

    def create_subscription(
        self, subscription: BackInStockSubscription, opportunity: Opportunity
    ) -> bool:
        taken = subscription.subscription_id in self._subscriptions
        wished = any(
            (s.sku, s.email) == (subscription.sku, subscription.email)
            for s in self._subscriptions.values()
            if s.status is SubscriptionStatus.OPEN
        )
        if taken or wished or opportunity.opportunity_id in self._opportunities:
            return False
        self._subscriptions[subscription.subscription_id] = subscription.model_copy(deep=True)
        self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        return True

    def open_subscriptions(self, sku: str) -> list[BackInStockSubscription]:
        return [
            s.model_copy(deep=True)
            for s in self._subscriptions.values()
            if s.sku == sku and s.status is SubscriptionStatus.OPEN
        ]

    def notify_subscription(
        self,
        subscription: BackInStockSubscription,
        opportunity: Opportunity | None,
        was: OpportunityStatus = OpportunityStatus.OPEN,
    ) -> bool:
        kept = self._subscriptions.get(subscription.subscription_id)
        if kept is None or kept.status is not SubscriptionStatus.OPEN:
            return False
        if opportunity is not None:
            current = self._opportunities.get(opportunity.opportunity_id)
            if current is None or current.status is not was:
                return False
            self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        self._subscriptions[subscription.subscription_id] = subscription.model_copy(deep=True)
        return True

    def subscription(self, subscription_id: str) -> BackInStockSubscription | None:
        found = self._subscriptions.get(subscription_id)
        return found.model_copy(deep=True) if found else None

    def erase_subscription(
        self, subscription: BackInStockSubscription, redacted: BackInStockSubscription
    ) -> bool:
        if subscription.subscription_id not in self._subscriptions:
            return False
        self._subscriptions[subscription.subscription_id] = redacted.model_copy(deep=True)
        return True

    def create_opportunity(self, opportunity: Opportunity) -> bool:
        if opportunity.opportunity_id in self._opportunities:
            return False
        self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        return True

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        self.reads["opportunity"] += 1
        found = self._opportunities.get(opportunity_id)
        return found.model_copy(deep=True) if found else None

    def save_opportunity(self, opportunity: Opportunity, expected: OpportunityStatus) -> bool:
        current = self._opportunities.get(opportunity.opportunity_id)
        if current is None or current.status is not expected:
            return False
        self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        return True

    def replace_opportunity(self, opportunity: Opportunity) -> bool:
        current = self._opportunities.get(opportunity.opportunity_id)
        if current is None or current.status is not opportunity.status:
            return False
        self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        return True

    def converted_by_order(self, order_id: str) -> list[Opportunity]:
        return [
            o.model_copy(deep=True)
            for o in self._opportunities.values()
            if o.status is OpportunityStatus.CONVERTED and o.converted_by == order_id
        ]

    def undo_conversion(self, opportunity: Opportunity, order_id: str) -> bool:
        current = self._opportunities.get(opportunity.opportunity_id)
        if current is None or current.status is not OpportunityStatus.CONVERTED:
            return False
        self._opportunities[opportunity.opportunity_id] = opportunity.model_copy(deep=True)
        return True

    def notified_back_in_stock(self, sku: str) -> list[Opportunity]:
        return [
            o.model_copy(deep=True)
            for o in self._opportunities.values()
            if o.kind is OpportunityKind.BACK_IN_STOCK
            and o.sku == sku
            and o.status is OpportunityStatus.NOTIFIED
        ]

    def opportunities(self) -> list[Opportunity]:
        found = [o.model_copy(deep=True) for o in self._opportunities.values()]
        return sorted(found, key=lambda o: (o.created_at, o.opportunity_id))

    def held_by(self, customer_ids: Collection[str], emails: Collection[str]) -> list[Opportunity]:
        held = [
            o.model_copy(deep=True)
            for o in self._opportunities.values()
            if (o.customer_id in customer_ids)
            or (o.customer_id is None and o.email is not None and o.email in emails)
        ]
        return sorted(held, key=lambda o: (o.created_at, o.opportunity_id))

    def opportunities_page(
        self, status: OpportunityStatus | None, before: str | None, limit: int
    ) -> OpportunityPage:
        listed = sorted(
            (
                o.model_copy(deep=True)
                for o in self._opportunities.values()
                if (status is None or o.status is status)
                and (before is None or o.listed_at < before)
            ),
            key=lambda o: o.listed_at,
            reverse=True,
        )
        page = listed[:limit]
        more = len(listed) > limit
        return OpportunityPage(opportunities=page, last_listed=page[-1].listed_at if more else None)

    def active_created_by(self, moment: datetime) -> list[Opportunity]:
        by = listed_by(moment)
        return [
            o.model_copy(deep=True)
            for o in self._opportunities.values()
            if o.status in ACTIVE_STATUSES and o.listed_at <= by
        ]

    def owe_notices(self, owed: OwedNotices) -> None:
        key = (owed.sku, owed.moment)
        self._owed.setdefault(key, OwedNotices(sku=owed.sku, moment=owed.moment))

    def owed_notices(self, limit: int) -> list[OwedNotices]:
        return sorted(self._owed.values(), key=lambda o: (o.moment, o.sku))[:limit]

    def notices_failed(self, owed: OwedNotices, at: datetime) -> OwedNotices | None:
        key = (owed.sku, owed.moment)
        if key not in self._owed:
            return None
        counted = self._owed[key]
        self._owed[key] = counted.model_copy(
            update={"attempts": counted.attempts + 1, "last_failed_at": at}
        )
        return self._owed[key]

    def notices_told(self, owed: OwedNotices) -> None:
        self._owed.pop((owed.sku, owed.moment), None)
