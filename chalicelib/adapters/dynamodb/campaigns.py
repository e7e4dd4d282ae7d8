"""Campaign figures: one counter item per campaign in one small partition, incremented
(ADD) by the projection in the same transaction as a once-only marker of the event, so a
redelivered event counts nothing twice and ``GET /analytics/campaigns`` is one query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.campaigns import CampaignCounters, CampaignIncrement
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


class CampaignRepository:
    """``Campaigns`` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def apply_campaign_increment(
        self, event_id: str, increment: CampaignIncrement, now_epoch: int
    ) -> bool:
        """Add the increment once per event; False (nothing written) when it was. Its
        customer is counted once per campaign: a marker of theirs in the same transaction,
        and without them when the campaign counts them already."""
        customer = (
            keys.marker(f"campaign:{increment.campaign}:customer:{increment.customer_id}")
            if increment.customer_id
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
            writes.append(self._table.put(dict(customer), "attribute_not_exists(pk)"))
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(marker):
                return False
            raise
        return True

    def campaign_order_revenue(self, order_id: str) -> Decimal | None:
        """The order's share item, read strongly (it guards the next write)."""
        item = self._table.get(keys.campaign_order(order_id))
        return Decimal(str(item["revenue"])) if item is not None else None

    def set_campaign_order_revenue(
        self, campaign: str, order_id: str, revenue: Decimal, previous: Decimal | None
    ) -> bool:
        """The share item on the condition of the share read, and the counters ADDed
        the difference, in one transaction."""
        share = keys.campaign_order(order_id)
        if previous is None:
            guard = self._table.put(
                share | {"campaign": campaign, "revenue": revenue}, "attribute_not_exists(pk)"
            )
        else:
            guard = self._table.put(
                share | {"campaign": campaign, "revenue": revenue},
                "revenue = :previous",
                {":previous": previous},
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
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(share):
                return False
            raise
        return True

    def campaign_counters(self) -> list[CampaignCounters]:
        """Every campaign's figures, by name."""
        page = self._table.partition(keys.CAMPAIGNS_PK)
        return [_counters(item) for item in page.items]
