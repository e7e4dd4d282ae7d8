"""Campaign figures: one counter item per campaign in one small partition, incremented
(ADD) by the projection in the same transaction as a once-only marker of the event, so a
redelivered event counts nothing twice and ``GET /analytics/campaigns`` is one query."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignIncrement,
    CountedCustomer,
    CustomerKind,
)
from chalicelib.domain.errors import ConcurrentModification
from chalicelib.domain.placement import Channel

CHANNEL_PREFIX = "channel_"
# Markers of applied events are kept a year: far past any redelivery.
MARKER_SECONDS = 366 * 24 * 3600


def _counters(item: dict[str, Any]) -> CampaignCounters:
    return CampaignCounters(
        campaign=str(item["sk"]),
        orders=int(item.get("orders", 0)),
        revenue=Decimal(str(item.get("revenue", 0))).quantize(Decimal("0.01")),
        new_customers=int(item.get("new_customers", 0)),
        returning_customers=int(item.get("returning_customers", 0)),
        by_channel={
            key.removeprefix(CHANNEL_PREFIX): int(value)
            for key, value in item.items()
            if key.startswith(CHANNEL_PREFIX) and int(value)
        },
    )


# Attempts at moving one count while the survivor's count keeps changing.
MERGE_ATTEMPTS = 5


def _count_item(customer_id: str, counted: CountedCustomer) -> dict[str, Any]:
    return keys.campaign_customer(customer_id, counted.campaign) | {
        "campaign": counted.campaign,
        "kind": counted.kind.value,
        # "" for a count of unknown time: a condition compares what is stored.
        "placed_at": counted.placed_at.isoformat() if counted.placed_at else "",
    }


def _counted(item: dict[str, Any]) -> CountedCustomer:
    placed = str(item.get("placed_at") or "")
    return CountedCustomer(
        campaign=str(item["campaign"]),
        kind=CustomerKind(str(item["kind"])),
        placed_at=datetime.fromisoformat(placed) if placed else None,
    )


class CampaignRepository:
    """``Campaigns`` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def apply_campaign_increment(
        self, event_id: str, increment: CampaignIncrement, now_epoch: int
    ) -> bool:
        """Add the increment once per event; False (nothing written) when it was. Its
        customer is counted once per campaign: their count's item in the same transaction,
        and without them when the campaign counts them already."""
        kind = increment.customer_kind()
        customer = (
            _count_item(
                increment.customer_id,
                CountedCustomer(
                    campaign=increment.campaign, kind=kind, placed_at=increment.placed_at
                ),
            )
            if increment.customer_id and kind is not None
            else None
        )
        try:
            return self._apply(event_id, increment, now_epoch, customer)
        except TransactionCancelled as exc:
            if customer is None or not exc.failed_on(customer):
                raise
        return self._apply(event_id, increment.without_customer(), now_epoch, None)

    def _apply(
        self,
        event_id: str,
        increment: CampaignIncrement,
        now_epoch: int,
        customer: dict[str, Any] | None,
    ) -> bool:
        names: dict[str, str] = {}
        values: dict[str, Any] = {
            ":orders": increment.orders,
            ":revenue": increment.revenue,
            ":new": increment.new_customers,
            ":returning": increment.returning_customers,
        }
        adds = [
            "orders :orders",
            "revenue :revenue",
            "new_customers :new",
            "returning_customers :returning",
        ]
        for channel, count in sorted(increment.by_channel.items()):
            Channel(channel)  # only the API's channels become attribute names
            names[f"#{channel}"] = f"{CHANNEL_PREFIX}{channel}"
            values[f":{channel}"] = count
            adds.append(f"#{channel} :{channel}")
        marker = keys.marker(f"campaign:{event_id}")
        writes = [
            self._table.put(
                marker | {"expires_at": now_epoch + MARKER_SECONDS}, "attribute_not_exists(pk)"
            ),
            self._table.update(
                keys.campaign(increment.campaign),
                "ADD " + ", ".join(adds),
                None,
                values,
                names or None,
            ),
        ]
        if customer is not None:
            writes.append(self._table.put(customer, "attribute_not_exists(pk)"))
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(marker):
                return False
            raise
        return True

    def merge_campaign_customers(self, survivor_id: str, merged_id: str) -> int:
        """Each of the merged record's counts in one transaction: deleted on the condition
        it is there, with the survivor's count put (on the condition of the one read) and,
        where both were counted, the other count taken off the campaign's figures."""
        page = self._table.partition(keys.customer_pk(merged_id), keys.CAMPAIGN_CUSTOMER_PREFIX)
        changed = 0
        for item in page.items:
            merged = _counted(item)
            for _ in range(MERGE_ATTEMPTS):
                outcome = self._merge_count(survivor_id, merged_id, merged)
                if outcome is not None:
                    changed += outcome
                    break
            else:
                raise ConcurrentModification(
                    f"the campaign {merged.campaign} kept counting {survivor_id}",
                    field="customer_id",
                )
        return changed

    def _merge_count(self, survivor_id: str, merged_id: str, merged: CountedCustomer) -> int | None:
        """1 when the count moved or was taken off, 0 when another merge did it first,
        None when the survivor's count changed meanwhile (read it again)."""
        there = keys.campaign_customer(survivor_id, merged.campaign)
        gone = keys.campaign_customer(merged_id, merged.campaign)
        found = self._table.get(there)
        drop = self._table.delete(gone, "attribute_exists(pk)")
        if found is None:
            writes = [self._table.put(_count_item(survivor_id, merged), "attribute_not_exists(pk)")]
        else:
            survivor = _counted(found)
            kept = survivor.first(merged)
            dropped = merged if kept is survivor else survivor
            counter = f"{dropped.kind.value}_customers"
            writes = [
                self._put_count_over(survivor_id, kept, found),
                self._table.update(
                    keys.campaign(merged.campaign),
                    "ADD #counter :minus_one",
                    None,
                    {":minus_one": -1},
                    {"#counter": counter},
                ),
            ]
        try:
            self._table.transact([drop, *writes])
        except TransactionCancelled as exc:
            if exc.failed_on(gone):
                return 0
            if exc.failed_on(there):
                return None
            raise
        return 1

    def campaign_counts(self, customer_id: str) -> list[CountedCustomer]:
        """One query of the record's partition, under the counts' prefix."""
        page = self._table.partition(keys.customer_pk(customer_id), keys.CAMPAIGN_CUSTOMER_PREFIX)
        return [_counted(item) for item in page.items]

    def recount_campaign_customer(
        self, customer_id: str, counted: CountedCustomer, kind: CustomerKind
    ) -> bool:
        """The count put on the condition of the one read, with the counters' ADDs."""
        recounted = counted.model_copy(update={"kind": kind})
        writes = [
            self._put_count_over(customer_id, recounted, _count_item(customer_id, counted)),
            self._table.update(
                keys.campaign(counted.campaign),
                "ADD #old :minus_one, #new :one",
                None,
                {":minus_one": -1, ":one": 1},
                {"#old": f"{counted.kind.value}_customers", "#new": f"{kind.value}_customers"},
            ),
        ]
        return self._table.transact_if(writes)

    def _put_count_over(
        self, customer_id: str, counted: CountedCustomer, stored: dict[str, Any]
    ) -> dict[str, Any]:
        """A Put of the customer's count on the condition it is still ``stored``."""
        return self._table.put(
            _count_item(customer_id, counted),
            "#kind = :kind AND #at = :at",
            {":kind": stored["kind"], ":at": stored["placed_at"]},
            {"#kind": "kind", "#at": "placed_at"},
        )

    def campaign_order_revenue(self, order_id: str) -> Decimal | None:
        """The order's share item, read strongly (it guards the next write)."""
        item = self._table.get(keys.campaign_order(order_id))
        return Decimal(str(item["revenue"])) if item is not None else None

    def set_campaign_order_revenue(
        self, campaign: str, order_id: str, revenue: Decimal, previous: Decimal | None
    ) -> bool:
        """The share item on the condition of the share read, and the counters ADDed
        the difference, in one transaction; False when it was cancelled."""
        share = keys.campaign_order(order_id)
        if previous is None:
            guard = self._table.put(
                share | {"campaign": campaign, "revenue": revenue}, "attribute_not_exists(pk)"
            )
        else:
            guard = self._table.put(
                share | {"campaign": campaign, "revenue": revenue},
                "#revenue = :previous",
                {":previous": previous},
                {"#revenue": "revenue"},
            )
        writes = [
            guard,
            self._table.update(
                keys.campaign(campaign),
                "ADD revenue :difference",
                None,
                {":difference": revenue - (previous or Decimal(0))},
            ),
        ]
        # Refused by the share's condition, or by a transaction on the campaign's counters
        # at the same moment: either way the caller reads the share again and retries.
        return self._table.transact_if(writes)

    def campaign_counters(self) -> list[CampaignCounters]:
        """Every campaign's figures, by name."""
        page = self._table.partition(keys.CAMPAIGNS_PK)
        return [_counters(item) for item in page.items]
