"""The opportunities' port: back-in-stock subscriptions (open ones found by SKU) and the
opportunities followed up (each written under a condition on its status, so two
deliveries of one event move it once)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from chalicelib.domain.opportunities import (
    BackInStockSubscription,
    Opportunity,
    OpportunityPage,
    OpportunityStatus,
    OwedNotices,
)


class OpportunityStore(Protocol):
    """Subscriptions and opportunities."""

    def create_subscription(
        self, subscription: BackInStockSubscription, opportunity: Opportunity
    ) -> bool:
        """Keep an open subscription and its opportunity together; False (nothing
        written) when the subscription id exists already, or the address has an open
        subscription to the SKU."""
        ...

    def open_subscriptions(self, sku: str) -> list[BackInStockSubscription]:
        """The SKU's open subscriptions, by key (never a scan)."""
        ...

    def notify_subscription(
        self,
        subscription: BackInStockSubscription,
        opportunity: Opportunity | None,
        was: OpportunityStatus = OpportunityStatus.OPEN,
    ) -> bool:
        """Close a subscription its email went out for and mark its opportunity notified,
        together, on the condition that the opportunity was ``was`` (open, or lost while it
        waited); False when either moved meanwhile (another delivery did it). Without
        ``opportunity`` (none, or one that cannot be told any more), the subscription
        alone."""
        ...

    def subscription(self, subscription_id: str) -> BackInStockSubscription | None:
        """One subscription, open or closed."""
        ...

    def erase_subscription(
        self, subscription: BackInStockSubscription, redacted: BackInStockSubscription
    ) -> bool:
        """Write ``redacted`` over ``subscription`` (an erasure takes the address out and
        closes it) and drop what keeps it open, together; False (nothing written) when
        there is none."""
        ...

    def create_opportunity(self, opportunity: Opportunity) -> bool:
        """Keep a new opportunity; False when its id exists already."""
        ...

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        """One opportunity."""
        ...

    def save_opportunity(self, opportunity: Opportunity, expected: OpportunityStatus) -> bool:
        """Write the opportunity's new state if it still has status ``expected``."""
        ...

    def replace_opportunity(self, opportunity: Opportunity) -> bool:
        """Write over the opportunity (an erasure takes the address out) if its status is
        still the one it carries; False when it moved meanwhile or does not exist."""
        ...

    def converted_by_order(self, order_id: str) -> list[Opportunity]:
        """The opportunities ``order_id`` converted and that are still converted, by key
        (never a scan)."""
        ...

    def undo_conversion(self, opportunity: Opportunity, order_id: str) -> bool:
        """Write an opportunity whose conversion by ``order_id`` was undone, if it is still
        converted; a back-in-stock one back to notified waits for an order of its SKU
        again, and one converted by another order is found by that order. False (nothing
        written) when it moved meanwhile."""
        ...

    def notified_back_in_stock(self, sku: str) -> list[Opportunity]:
        """The SKU's back-in-stock opportunities waiting to convert (notified)."""
        ...

    def opportunities(self) -> list[Opportunity]:
        """Every opportunity, oldest first (reads them all; for tests and tools)."""
        ...

    def held_by(self, customer_ids: Collection[str], emails: Collection[str]) -> list[Opportunity]:
        """The opportunities naming one of these customers, or, naming none, one of these
        addresses (a bare email's): a person's, for an erasure or an export, oldest first.
        Reads theirs only."""
        ...

    def opportunities_page(
        self, status: OpportunityStatus | None, before: str | None, limit: int
    ) -> OpportunityPage:
        """Up to ``limit`` opportunities (of ``status``, or all), newest first, listed
        before ``before`` (a ``listed_at``); reads about the page, never the whole list."""
        ...

    def active_created_by(self, moment: datetime) -> list[Opportunity]:
        """The open and notified opportunities created by ``moment``: reads those, not the
        converted and lost ones, which only grow."""
        ...

    def owe_notices(self, owed: OwedNotices) -> None:
        """Keep what a stock write could not tell, for the sweep (the same SKU and moment
        kept twice is kept once, its failed sweeps still counted)."""
        ...

    def owed_notices(self, limit: int) -> list[OwedNotices]:
        """What is owed, the oldest first, at most ``limit`` (a query of one partition, page
        after page; never a scan)."""
        ...

    def notices_failed(self, owed: OwedNotices, at: datetime) -> OwedNotices | None:
        """Count one more sweep that failed to tell what is owed, at ``at`` (atomically: two
        sweeps at once count two); what is owed now, or None when it is no longer owed."""
        ...

    def notices_told(self, owed: OwedNotices) -> None:
        """Forget what the sweep has told."""
        ...
