"""Opportunities and back-in-stock subscriptions on the table. Every state change is a
conditional write (on the status it moves from, or on the open copy it deletes), so an
event delivered twice moves an opportunity once and a subscription is emailed once."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table
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

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def _opportunities(items: list[dict[str, Any]]) -> list[Opportunity]:
    return [Opportunity.model_validate_json(item["doc"]) for item in items]


def _doc(model: Opportunity | BackInStockSubscription) -> dict[str, Any]:
    return {"doc": model.model_dump_json()}


def _indexed(opportunity: Opportunity) -> dict[str, str]:
    """The attributes that list it in the opportunity indexes."""
    return keys.opportunity_listing(
        opportunity.status.value, opportunity.listed_at
    ) | keys.opportunity_holder(opportunity.customer_id, opportunity.email)


class OpportunityRepository:
    """``OpportunityStore`` on the table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.table = Table(client, table_name)

    def _put_opportunity(self, opportunity: Opportunity, condition: str, values: Any) -> Any:
        item = (
            keys.opportunity(opportunity.opportunity_id) | _doc(opportunity) | _indexed(opportunity)
        )
        names = {"#s": "status"} if "#s" in condition else None
        return self.table.put(item | {"status": opportunity.status.value}, condition, values, names)

    def create_subscription(
        self, subscription: BackInStockSubscription, opportunity: Opportunity
    ) -> bool:
        """The subscription, its open copy, its address's claim and its opportunity, all or
        nothing: two at once for one address and SKU make one (a probe's ten clicks made
        three, and three emails)."""
        writes = [
            self.table.put(
                keys.subscription(subscription.subscription_id) | _doc(subscription),
                "attribute_not_exists(pk)",
            ),
            self.table.put(
                keys.open_subscription(subscription.sku, subscription.subscription_id)
                | _doc(subscription)
            ),
            self.table.put(
                keys.open_wish(subscription.sku, subscription.email)
                | {"subscription_id": subscription.subscription_id},
                "attribute_not_exists(pk)",
            ),
            self._put_opportunity(opportunity, "attribute_not_exists(pk)", None),
        ]
        return self.table.transact_if(writes)

    def open_subscriptions(self, sku: str) -> list[BackInStockSubscription]:
        """One query of the SKU's partition."""
        page = self.table.partition(keys.back_in_stock_pk(sku), keys.OPEN_SUBSCRIPTION_PREFIX)
        return [BackInStockSubscription.model_validate_json(i["doc"]) for i in page.items]

    def notify_subscription(
        self,
        subscription: BackInStockSubscription,
        opportunity: Opportunity | None,
        was: OpportunityStatus = OpportunityStatus.OPEN,
    ) -> bool:
        """Closed with its opportunity notified, on the condition that it was open and the
        opportunity ``was``."""
        sku = subscription.sku
        writes = [
            self.table.delete(
                keys.open_subscription(sku, subscription.subscription_id),
                "attribute_exists(pk)",
            ),
            self.table.put(keys.subscription(subscription.subscription_id) | _doc(subscription)),
            self.table.delete(keys.open_wish(sku, subscription.email)),
        ]
        if opportunity is not None:
            writes += [
                self._put_opportunity(opportunity, "#s = :was", {":was": was.value}),
                self.table.put(keys.notified_opportunity(sku, opportunity.opportunity_id)),
            ]
        return self.table.transact_if(writes)

    def subscription(self, subscription_id: str) -> BackInStockSubscription | None:
        """The subscription's own item."""
        item = self.table.get(keys.subscription(subscription_id))
        return BackInStockSubscription.model_validate_json(item["doc"]) if item else None

    def erase_subscription(
        self, subscription: BackInStockSubscription, redacted: BackInStockSubscription
    ) -> bool:
        """The item written over and the open copy and claim gone, all or nothing: once the
        copy is gone a notice in flight fails its condition and writes nothing back."""
        sku, subscription_id = subscription.sku, subscription.subscription_id
        writes = [
            self.table.put(
                keys.subscription(subscription_id) | _doc(redacted), "attribute_exists(pk)"
            ),
            self.table.delete(keys.open_subscription(sku, subscription_id)),
        ]
        if subscription.status is SubscriptionStatus.OPEN:
            writes.append(self.table.delete(keys.open_wish(sku, subscription.email)))
        return self.table.transact_if(writes)

    def create_opportunity(self, opportunity: Opportunity) -> bool:
        """Once per id."""
        return self.table.transact_if(
            [self._put_opportunity(opportunity, "attribute_not_exists(pk)", None)]
        )

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        """One opportunity."""
        item = self.table.get(keys.opportunity(opportunity_id))
        return Opportunity.model_validate_json(item["doc"]) if item is not None else None

    def save_opportunity(self, opportunity: Opportunity, expected: OpportunityStatus) -> bool:
        """On the condition of the status it moves from; a back-in-stock one leaving
        ``notified`` drops its pointer in the same transaction, and one converted gets a
        pointer from the order that converted it."""
        writes = [
            self._put_opportunity(opportunity, "#s = :expected", {":expected": expected.value}),
            *self._conversion_pointer(opportunity),
        ]
        leaves_notified = (
            expected is OpportunityStatus.NOTIFIED
            and opportunity.kind is OpportunityKind.BACK_IN_STOCK
            and opportunity.sku is not None
        )
        if leaves_notified and opportunity.sku is not None:
            writes.append(
                self.table.delete(
                    keys.notified_opportunity(opportunity.sku, opportunity.opportunity_id)
                )
            )
        return self.table.transact_if(writes)

    def replace_opportunity(self, opportunity: Opportunity) -> bool:
        """On the condition that its status did not move."""
        write = self._put_opportunity(
            opportunity, "#s = :status", {":status": opportunity.status.value}
        )
        return self.table.transact_if([write])

    def converted_by_order(self, order_id: str) -> list[Opportunity]:
        """The order's pointers' opportunities, still converted by it."""
        page = self.table.partition(keys.order_conversions_pk(order_id))
        found = []
        for item in page.items:
            opportunity = self.opportunity(str(item["sk"]))
            if (
                opportunity is not None
                and opportunity.status is OpportunityStatus.CONVERTED
                and opportunity.converted_by == order_id
            ):
                found.append(opportunity)
        return found

    def undo_conversion(self, opportunity: Opportunity, order_id: str) -> bool:
        """The opportunity, on the condition it is still converted, with the order's
        pointer dropped and, back to notified, the SKU's pointer put back (or, converted
        by another order, that order's pointer put), together."""
        converted = {":expected": OpportunityStatus.CONVERTED.value}
        writes = [
            self._put_opportunity(opportunity, "#s = :expected", converted),
            self.table.delete(keys.converted_opportunity(order_id, opportunity.opportunity_id)),
        ]
        if opportunity.status is OpportunityStatus.NOTIFIED and opportunity.sku is not None:
            pointer = keys.notified_opportunity(opportunity.sku, opportunity.opportunity_id)
            writes.append(self.table.put(dict(pointer)))
        # Converted again, by another order of the customer's.
        writes.extend(self._conversion_pointer(opportunity))
        return self.table.transact_if(writes)

    def _conversion_pointer(self, opportunity: Opportunity) -> list[dict[str, Any]]:
        """The Put of the pointer from the order that converted the opportunity, if it
        is converted."""
        if opportunity.status is not OpportunityStatus.CONVERTED or not opportunity.converted_by:
            return []
        pointer = keys.converted_opportunity(opportunity.converted_by, opportunity.opportunity_id)
        return [self.table.put(dict(pointer))]

    def notified_back_in_stock(self, sku: str) -> list[Opportunity]:
        """The pointers' opportunities, read one by one (a handful per SKU)."""
        page = self.table.partition(keys.back_in_stock_pk(sku), keys.NOTIFIED_OPPORTUNITY_PREFIX)
        found = []
        for item in page.items:
            opportunity_id = str(item["sk"]).removeprefix(keys.NOTIFIED_OPPORTUNITY_PREFIX)
            opportunity = self.opportunity(opportunity_id)
            if opportunity is not None and opportunity.status is OpportunityStatus.NOTIFIED:
                found.append(opportunity)
        return found

    def opportunities(self) -> list[Opportunity]:
        """The one partition, oldest first."""
        page = self.table.partition(keys.OPPORTUNITY_PK)
        found = _opportunities(page.items)
        return sorted(found, key=lambda o: (o.created_at, o.opportunity_id))

    def held_by(self, customer_ids: Collection[str], emails: Collection[str]) -> list[Opportunity]:
        """One query of ``opportunities-by-holder`` per record and per address, then the
        items found read consistently (their keys only are projected). The index is
        eventually consistent: one created a moment ago may be missed."""
        holders = [keys.customer_holder(c) for c in customer_ids] + [
            keys.email_holder(e) for e in emails
        ]
        found: list[keys.Key] = []
        for holder in dict.fromkeys(holders):
            page = self.table.query(
                "held_by = :holder", {":holder": holder}, index=keys.OPPORTUNITIES_BY_HOLDER
            )
            found += [{"pk": str(i["pk"]), "sk": str(i["sk"])} for i in page.items]
        held = _opportunities(self.table.get_many(found))
        return sorted(held, key=lambda o: (o.created_at, o.opportunity_id))

    def opportunities_page(
        self, status: OpportunityStatus | None, before: str | None, limit: int
    ) -> OpportunityPage:
        """One query per status (of ``status``, or of all four), each for one more than
        the page, merged newest first: the page is the first ``limit`` of them, and older
        ones follow if any is left over. The index is read eventually consistent: one created
        or moved a moment ago may show on the next read."""
        found: list[Opportunity] = []
        for listed in [status] if status is not None else list(OpportunityStatus):
            found += self._listed(listed, before, limit + 1)
        found.sort(key=lambda o: o.listed_at, reverse=True)
        page = found[:limit]
        more = len(found) > limit
        return OpportunityPage(opportunities=page, last_listed=page[-1].listed_at if more else None)

    def active_created_by(self, moment: datetime) -> list[Opportunity]:
        """The open and the notified ones listed by ``moment``: two queries that read only
        those."""
        found: list[Opportunity] = []
        for status in ACTIVE_STATUSES:
            page = self.table.query(
                "listed_status = :status AND listed_at <= :by",
                {":status": keys.listed_status(status.value), ":by": listed_by(moment)},
                index=keys.OPPORTUNITIES_BY_STATUS,
            )
            found += _opportunities(page.items)
        return found

    def _listed(
        self, status: OpportunityStatus, before: str | None, limit: int
    ) -> list[Opportunity]:
        condition = "listed_status = :status"
        values = {":status": keys.listed_status(status.value)}
        if before is not None:
            condition += " AND listed_at < :before"
            values[":before"] = before
        page = self.table.query(
            condition,
            values,
            index=keys.OPPORTUNITIES_BY_STATUS,
            limit=limit,
            newest_first=True,
        )
        return _opportunities(page.items)

    def list_stored_before(self) -> int:
        """A one-off after the deploys that add ``opportunities-by-status`` and
        ``opportunities-by-holder``: the opportunities stored before them carry no listing,
        so neither ops' list, the review that loses them, nor an erasure or export would
        see them. Each is given what it lacks (reading the whole partition once), on the
        condition that the app did not write it meanwhile (its write lists it, and from
        what it now holds: an erased address must not come back). Running it again changes
        nothing. Returns how many it listed."""
        listed = 0
        for item in self.table.partition(keys.OPPORTUNITY_PK).items:
            opportunity = Opportunity.model_validate_json(item["doc"])
            lacking = {k: v for k, v in _indexed(opportunity).items() if k not in item}
            if not lacking:
                continue
            write = self.table.update(
                keys.opportunity(opportunity.opportunity_id),
                "SET " + ", ".join(f"{name} = :{name}" for name in lacking),
                "doc = :read",
                {f":{name}": value for name, value in lacking.items()} | {":read": item["doc"]},
            )
            try:
                self.table.write(write)
            except ConditionFailed:
                continue
            listed += 1
        return listed

    def owe_notices(self, owed: OwedNotices) -> None:
        """One small item keyed by its moment and SKU. Kept twice (a sweep's telling failed
        again), it keeps its count of failed sweeps: a put would set it back to 0."""
        self.table.write(
            self.table.update(
                keys.owed_notices(owed.sku, owed.moment),
                "SET sku = :sku, moment = :moment",
                values={":sku": owed.sku, ":moment": owed.moment.isoformat()},
            )
        )

    def owed_notices(self, limit: int) -> list[OwedNotices]:
        """One query of the owed partition, the oldest first."""
        page = self.table.partition(keys.OWED_NOTICES_PK, limit=limit)
        return [_owed_notices(item) for item in page.items]

    def notices_failed(self, owed: OwedNotices, at: datetime) -> OwedNotices | None:
        """One ``ADD`` to its count, on the item only if it is still there."""
        try:
            item = self.table.write(
                self.table.update(
                    keys.owed_notices(owed.sku, owed.moment),
                    "ADD attempts :one SET last_failed_at = :at",
                    condition="attribute_exists(pk)",
                    values={":one": 1, ":at": at.isoformat()},
                )
            )
        except ConditionFailed:
            return None
        return _owed_notices(item) if item is not None else None

    def notices_told(self, owed: OwedNotices) -> None:
        """Its item deleted."""
        self.table.write(self.table.delete(keys.owed_notices(owed.sku, owed.moment)))


def _owed_notices(item: dict[str, Any]) -> OwedNotices:
    return OwedNotices(
        sku=str(item["sku"]),
        moment=datetime.fromisoformat(str(item["moment"])),
        attempts=int(item.get("attempts", 0)),
        last_failed_at=datetime.fromisoformat(str(failed))
        if (failed := item.get("last_failed_at"))
        else None,
    )
