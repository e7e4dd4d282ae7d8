"""Campaign figures: one counter item per campaign in one small partition, incremented
(ADD) by the projection in the same transaction as a once-only marker of the event, so a
redelivered event counts nothing twice and ``GET /analytics/campaigns`` is one query. A
customer's count in a campaign names the order counting them and lists their other paid
orders there, so that one ending cancelled or rejected passes the count on (probe 215)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.campaigns import (
    CampaignCounters,
    CampaignIncrement,
    CampaignPurchase,
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


# Attempts at one write made from a read while another writer keeps changing the item.
MERGE_ATTEMPTS = 5


def _token(purchase: CampaignPurchase) -> str:
    """One of the others as an element of the count's string set: when placed, then the
    order (DynamoDB sets cannot hold maps; an order's element never changes)."""
    return f"{purchase.placed_at.isoformat()} {purchase.order_id}"


def _purchase(token: str) -> CampaignPurchase:
    placed, order_id = token.split(" ", 1)
    return CampaignPurchase(order_id=order_id, placed_at=datetime.fromisoformat(placed))


def _count_item(customer_id: str, counted: CountedCustomer) -> dict[str, Any]:
    return (
        keys.campaign_customer(customer_id, counted.campaign)
        | {
            "campaign": counted.campaign,
            "kind": counted.kind.value,
            # "" for a count of unknown time: a condition compares what is stored.
            "placed_at": counted.placed_at.isoformat() if counted.placed_at else "",
            "version": counted.version,
        }
        | ({"order_id": counted.order_id} if counted.order_id else {})
        # A string set, so that another order is listed by an ADD that needs no read
        # (DynamoDB keeps no empty set: none listed, no attribute).
        | ({"others": {_token(o) for o in counted.others}} if counted.others else {})
    )


def _counted(item: dict[str, Any]) -> CountedCustomer:
    placed = str(item.get("placed_at") or "")
    return CountedCustomer(
        campaign=str(item["campaign"]),
        kind=CustomerKind(str(item["kind"])),
        placed_at=datetime.fromisoformat(placed) if placed else None,
        order_id=str(item["order_id"]) if item.get("order_id") else None,
        version=int(item.get("version", 0)),
    ).with_others(_purchase(str(token)) for token in item.get("others", ()))


def _unchanged(stored: CountedCustomer) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
    """A condition that the count is still as read: every write of it adds to its
    version (a count stored before it kept one has none until written)."""
    if stored.version:
        return "#version = :read", {":read": stored.version}, {"#version": "version"}
    return "attribute_exists(pk) AND attribute_not_exists(#version)", None, {"#version": "version"}


class CampaignRepository:
    """``Campaigns`` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def apply_campaign_increment(
        self, event_id: str, increment: CampaignIncrement, now_epoch: int
    ) -> bool:
        """Add the increment once per event; False (nothing written) when it was. Its
        customer is counted once per campaign: their count's item put in the same
        transaction; where the campaign counts them already, the order is listed among the
        count's others instead, alone (a set's ADD is idempotent: no marker) unless the
        rest moves the counters."""
        counted = increment.counted()
        if not increment.customer_id or counted is None:
            return self._apply(event_id, increment, now_epoch, None)
        count = _count_item(increment.customer_id, counted)
        rest = increment.without_customer()
        listing = self._listing(increment.customer_id, counted)
        for _ in range(MERGE_ATTEMPTS):
            try:
                return self._apply(
                    event_id,
                    increment,
                    now_epoch,
                    self._table.put(count, "attribute_not_exists(pk)"),
                )
            except TransactionCancelled as exc:
                if not exc.failed_on(count):
                    raise
            if listing is None:  # an order not known by its id: counted without it
                return self._apply(event_id, rest, now_epoch, None)
            try:
                if rest.moves_nothing():
                    self._table.transact([listing])
                    return False
                return self._apply(event_id, rest, now_epoch, listing)
            except TransactionCancelled as exc:
                if not exc.failed_on(count):
                    raise
            # The listing's condition failed: the count is this very order's (nothing to
            # list), or it is gone, its order ended meanwhile (this one counts them now).
            if self._table.get(keys.campaign_customer(increment.customer_id, counted.campaign)):
                return (
                    False if rest.moves_nothing() else self._apply(event_id, rest, now_epoch, None)
                )
        raise ConcurrentModification(
            f"the campaign {increment.campaign} kept changing how it counts a customer",
            field="customer_id",
        )

    def _listing(self, customer_id: str, counted: CountedCustomer) -> dict[str, Any] | None:
        """The write listing the order among the customer's others where the campaign
        counts them by another order (None for an order not known by its id)."""
        purchase = counted.purchase()
        if purchase is None:
            return None
        return self._table.update(
            keys.campaign_customer(customer_id, counted.campaign),
            "ADD #others :listed, #version :one",
            "attribute_exists(pk) AND (attribute_not_exists(#order) OR #order <> :order)",
            {":listed": {_token(purchase)}, ":one": 1, ":order": purchase.order_id},
            {"#others": "others", "#version": "version", "#order": "order_id"},
        )

    def _apply(
        self,
        event_id: str,
        increment: CampaignIncrement,
        now_epoch: int,
        customer: dict[str, Any] | None,
    ) -> bool:
        """The counters' ADDs under the event's marker, with ``customer``, the write of
        the customer's count if any, in one transaction; False when the marker was there."""
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
            writes.append(customer)
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(marker):
                return False
            raise
        return True

    def merge_campaign_customers(self, survivor_id: str, merged_id: str) -> int:
        """Each of the merged record's counts in one transaction: deleted on the condition
        it is as read, with the survivor's count put (on the condition of the one read)
        and, where both were counted, the other count taken off the campaign's figures,
        its order and others listed among the kept count's."""
        page = self._table.partition(keys.customer_pk(merged_id), keys.CAMPAIGN_CUSTOMER_PREFIX)
        changed = 0
        for item in page.items:
            campaign = str(item["campaign"])
            for _ in range(MERGE_ATTEMPTS):
                outcome = self._merge_count(survivor_id, merged_id, campaign)
                if outcome is not None:
                    changed += outcome
                    break
            else:
                raise ConcurrentModification(
                    f"the campaign {campaign} kept counting {survivor_id}",
                    field="customer_id",
                )
        return changed

    def _merge_count(self, survivor_id: str, merged_id: str, campaign: str) -> int | None:
        """1 when the count moved or was taken off, 0 when another merge did it first,
        None when either count changed meanwhile (read them again)."""
        there = keys.campaign_customer(survivor_id, campaign)
        gone = keys.campaign_customer(merged_id, campaign)
        item = self._table.get(gone)
        if item is None:
            return 0
        merged = _counted(item)
        drop = self._table.delete(gone, *_unchanged(merged))
        found = self._table.get(there)
        if found is None:
            moved = merged.model_copy(update={"version": 1})
            writes = [self._table.put(_count_item(survivor_id, moved), "attribute_not_exists(pk)")]
        else:
            survivor = _counted(found)
            dropped = merged if survivor.first(merged) is survivor else survivor
            kept = survivor.joined(merged).model_copy(update={"version": survivor.version + 1})
            writes = [
                self._table.put(_count_item(survivor_id, kept), *_unchanged(survivor)),
                self._table.update(
                    keys.campaign(campaign),
                    "ADD #counter :minus_one",
                    None,
                    {":minus_one": -1},
                    {"#counter": f"{dropped.kind.value}_customers"},
                ),
            ]
        try:
            self._table.transact([drop, *writes])
        except TransactionCancelled as exc:
            if exc.failed_on(gone) or exc.failed_on(there):
                return None
            raise
        return 1

    def campaign_counts(self, customer_id: str) -> list[CountedCustomer]:
        """One query of the record's partition, under the counts' prefix."""
        page = self._table.partition(keys.customer_pk(customer_id), keys.CAMPAIGN_CUSTOMER_PREFIX)
        return [_counted(item) for item in page.items]

    def campaign_count(self, customer_id: str, campaign: str) -> CountedCustomer | None:
        """One strongly consistent read of the count's item."""
        item = self._table.get(keys.campaign_customer(customer_id, campaign))
        return _counted(item) if item is not None else None

    def replace_campaign_count(
        self, customer_id: str, stored: CountedCustomer, new: CountedCustomer | None
    ) -> bool:
        """The count put (or deleted) on the condition of the version read, with the
        counters' ADDs when the kind counted moves: one plain write when it does not."""
        key = keys.campaign_customer(customer_id, stored.campaign)
        if new is None:
            write = self._table.delete(key, *_unchanged(stored))
        else:
            written = new.model_copy(update={"version": stored.version + 1})
            write = self._table.put(_count_item(customer_id, written), *_unchanged(stored))
        moves: dict[str, int] = {}
        if new is None or new.kind is not stored.kind:
            moves[f"{stored.kind.value}_customers"] = -1
        if new is not None and new.kind is not stored.kind:
            moves[f"{new.kind.value}_customers"] = 1
        writes = [write]
        if moves:
            names = {f"#c{i}": counter for i, counter in enumerate(moves)}
            values = {f":c{i}": moved for i, moved in enumerate(moves.values())}
            adds = ", ".join(f"#c{i} :c{i}" for i in range(len(moves)))
            writes.append(
                self._table.update(
                    keys.campaign(stored.campaign), f"ADD {adds}", None, values, names
                )
            )
        return self._table.transact_if(writes)

    def recount_campaign_customer(
        self, customer_id: str, counted: CountedCustomer, kind: CustomerKind
    ) -> bool:
        """The count put on the condition of the one read, with the counters' ADDs."""
        return self.replace_campaign_count(
            customer_id, counted, counted.model_copy(update={"kind": kind})
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
