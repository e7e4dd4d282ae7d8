"""Promotions and their redemptions on the table.

Items (keys from ``keys.py``):
- promotion ``PROMOTION#<id>`` / ``PROMOTION``: the terms (``doc``); ``redemptions``, the
  live orders holding one; ``max_redemptions`` top level for the redemption's condition.
- redemption ``PROMOTION#<id>`` / ``REDEEMED#<order id>``: a live order's redemption, put
  by the order's creation, deleted by the write that rejects or cancels it.
- customer's redemption ``PROMOTION#<id>`` / ``CUSTOMER#<customer id>``: for
  once-per-customer promotions, the order holding the customer's one redemption.
- quote's redemption ``PROMOTION#<id>`` / ``QUOTE#<quote id>``: the live order a quote's
  price of the promotion went to (one quote prices one live order, even after ops end
  the promotion: probe 250). Orders placed without a quote write none.
- listing ``PROMOTIONS`` / ``<promotion id>``: a copy of every promotion's terms (ids sort
  by creation): ``GET /promotions`` is one query.
- automatic listing ``PROMOTIONS#AUTOMATIC`` / ``<ends_at or 9999>#<id>``: a copy of each
  promotion without a code, by its end (UTC): those not ended are one query
  (``sk >= now``), and the TTL drops them a day after they end. Never a scan.
- coupon code ``PROMOCODE#<CODE>`` / ``CODE``: the promotion owning the code, claimed by
  condition with the promotion (codes are unique, case-insensitively, among promotions
  not ended: a new promotion takes an ended one's code over by condition on its holder).
- creation claim ``PROMOTION_CREATION#<hash>`` / ``CLAIM``: the promotion a request with
  an Idempotency-Key created, claimed by condition with it: the request run again after
  a first run that died before its answer was stored finds it and creates none.

A redemption is taken in the order's own transaction: ``ADD redemptions 1`` on the
promotion under ``redemptions < max_redemptions``, the order's redemption item and, once
per customer, the customer's item under ``attribute_not_exists``, and likewise the
quote's item for an order placed on a quote. Whatever the concurrency the counter never
passes the limit, and a failed order write takes nothing. It is given back by the order
write that rejects or cancels the order (the redemption item deleted under
``attribute_exists``, the counter decremented, the customer's and quote's items deleted
while they are this order's): the order's version makes that write happen once. The
listings' copies hold no counter; the terms change only when ops end a promotion early,
and the copies change in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
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
from chalicelib.domain.promotions import CountedPromotion, Promotion, Redemption

_DAY_SECONDS = 86_400
# An order rejected or cancelled holds no redemption.
ENDED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})
_UNDER_LIMIT = (
    "attribute_exists(pk) AND "
    "(attribute_not_exists(max_redemptions) OR redemptions < max_redemptions)"
)


def _doc(promotion: Promotion) -> str:
    return promotion.model_dump_json()


def _promotion(item: dict[str, Any]) -> Promotion:
    return Promotion.model_validate(json.loads(str(item["doc"])))


@dataclass
class RedemptionWrites:
    """The writes that take or give back an order's redemptions, and how to tell a
    refusal of theirs from any other failure of the transaction they join."""

    writes: list[dict[str, Any]] = field(default_factory=list)
    guarded: list[tuple[dict[str, str], Redemption]] = field(default_factory=list)

    def raise_if_refused(self, exc: TransactionCancelled) -> None:
        """``CouponUsedUp`` (naming ``coupon``) or ``PromotionUsedUp`` when a redemption's
        condition is what failed; ``QuotePriceTaken`` (naming ``quote_id``) when it is the
        quote's marker, held by another order placed on the quote."""
        for key, taken in self.guarded:
            if exc.failed_on(key):
                if taken.quote_id is not None and key == keys.quote_redemption(
                    taken.promotion_id, taken.quote_id
                ):
                    raise QuotePriceTaken(
                        f"quote {taken.quote_id}'s price was already given to another "
                        "order; ask for a new quote"
                    ) from exc
                what = "used up" if key == keys.promotion(taken.promotion_id) else "used"
                if taken.code is None:
                    raise PromotionUsedUp(
                        f"promotion {taken.promotion_id} was {what} meanwhile"
                    ) from exc
                raise CouponUsedUp(f"coupon {taken.code} has been {what}") from exc


def redemption_handover(table: Table, order: Order, customer_id: str) -> RedemptionWrites:
    """The writes that pass the order's once-per-customer markers, while it holds them,
    to ``customer_id``: each taken from its holder only if it is still this order's, and
    given to ``customer_id`` only if they hold none. Names ``customer_id`` in the order's
    redemptions, so that the write that ends the order gives back the right marker."""
    found = RedemptionWrites()
    pricing = order.pricing
    if pricing is None:
        return found
    passed: list[Redemption] = []
    for taken in pricing.redemptions:
        if taken.customer_id is None or taken.customer_id == customer_id:
            passed.append(taken)
            continue
        theirs = taken.model_copy(update={"customer_id": customer_id})
        passed.append(theirs)
        if not pricing.redemptions_held:
            continue
        held = keys.customer_redemption(taken.promotion_id, taken.customer_id)
        found.writes.append(table.delete(held, "order_id = :order", {":order": order.order_id}))
        mine = keys.customer_redemption(taken.promotion_id, customer_id)
        found.writes.append(
            table.put(mine | {"order_id": order.order_id}, "attribute_not_exists(pk)")
        )
        found.guarded.append((mine, theirs))
    pricing.redemptions = passed
    return found


def redemption_writes(table: Table, order: Order) -> RedemptionWrites:
    """What the order's next write must do about its redemptions: take them when it is
    live and does not hold them, give them back when it ended (rejected, cancelled) and
    holds them, nothing otherwise. Records on the order that it now holds them or not."""
    found = RedemptionWrites()
    pricing = order.pricing
    if pricing is None or not pricing.redemptions:
        return found
    live = order.status not in ENDED
    if live == pricing.redemptions_held:
        return found
    pricing.redemptions_held = live
    for taken in pricing.redemptions:
        counter = keys.promotion(taken.promotion_id)
        record = keys.redemption(taken.promotion_id, order.order_id)
        mine = (
            keys.customer_redemption(taken.promotion_id, taken.customer_id)
            if taken.customer_id
            else None
        )
        quoted = (
            keys.quote_redemption(taken.promotion_id, taken.quote_id) if taken.quote_id else None
        )
        if live:
            found.writes.append(
                table.update(counter, "ADD redemptions :one", _UNDER_LIMIT, {":one": 1})
            )
            found.guarded.append((counter, taken))
            item = record | {"order_id": order.order_id, "customer_id": taken.customer_id}
            found.writes.append(table.put(item, "attribute_not_exists(pk)"))
            if mine is not None:
                found.writes.append(
                    table.put(mine | {"order_id": order.order_id}, "attribute_not_exists(pk)")
                )
                found.guarded.append((mine, taken))
            if quoted is not None:
                found.writes.append(
                    table.put(quoted | {"order_id": order.order_id}, "attribute_not_exists(pk)")
                )
                found.guarded.append((quoted, taken))
            continue
        # Given back once: the redemption item goes with the decrement, under a condition,
        # so that no sequence of writes can decrement twice for one order.
        found.writes.append(table.update(counter, "ADD redemptions :minus", None, {":minus": -1}))
        found.writes.append(table.delete(record, "attribute_exists(pk)"))
        if mine is not None:
            found.writes.append(table.delete(mine, "order_id = :order", {":order": order.order_id}))
        if quoted is not None:
            found.writes.append(
                table.delete(quoted, "order_id = :order", {":order": order.order_id})
            )
    return found


def _automatic_key(promotion: Promotion) -> keys.Key:
    """Where a promotion without a code sits in the automatic listing: by its end."""
    ends = promotion.ends_at.astimezone(UTC).isoformat() if promotion.ends_at else None
    return keys.promotion_copy(promotion.promotion_id, automatic=True, ends_at=ends)


def _automatic_copy(promotion: Promotion) -> dict[str, Any]:
    copy: dict[str, Any] = {"doc": _doc(promotion), "promotion_id": promotion.promotion_id}
    if promotion.ends_at is not None:
        # A day after the end, counted in seconds: an end in year 9999 has no day after it
        # as a datetime (a probe's 500).
        copy["expires_at"] = int(promotion.ends_at.timestamp()) + _DAY_SECONDS
    return _automatic_key(promotion) | copy


def _counted(item: dict[str, Any]) -> CountedPromotion:
    return CountedPromotion(promotion=_promotion(item), redemptions=int(item.get("redemptions", 0)))


class PromotionRepository:
    """``Promotions`` on the table."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def create_promotion(
        self, promotion: Promotion, once: str | None = None, replaces: str | None = None
    ) -> str:
        """The promotion, its copies, its code's claim and the creating request's claim
        (``once``), all or nothing; the id of the promotion that request created."""
        item: dict[str, Any] = keys.promotion(promotion.promotion_id) | {
            "doc": _doc(promotion),
            "redemptions": 0,
        }
        if promotion.max_redemptions is not None:
            item["max_redemptions"] = promotion.max_redemptions
        writes = [self._table.put(item, "attribute_not_exists(pk)")]
        copy: dict[str, Any] = {"doc": _doc(promotion), "promotion_id": promotion.promotion_id}
        writes.append(self._table.put(keys.promotion_copy(promotion.promotion_id) | copy))
        code_key = None
        if promotion.code is None:
            writes.append(self._table.put(_automatic_copy(promotion)))
        else:
            code_key = keys.coupon_code(promotion.code)
            claim = code_key | {"promotion_id": promotion.promotion_id}
            if replaces is None:
                writes.append(self._table.put(claim, "attribute_not_exists(pk)"))
            else:
                held = "promotion_id = :holder"
                writes.append(self._table.put(claim, held, {":holder": replaces}))
        creation_key = None
        if once is not None:
            creation_key = keys.promotion_creation(once)
            creation = creation_key | {"promotion_id": promotion.promotion_id}
            writes.append(self._table.put(creation, "attribute_not_exists(pk)"))
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if creation_key is not None and exc.failed_on(creation_key):
                first = self._table.get(creation_key)
                if first is not None:
                    return str(first["promotion_id"])
            if code_key is not None and exc.failed_on(code_key):
                raise Conflict(
                    f"another promotion has the code {promotion.code}", field="code"
                ) from exc
            raise
        return promotion.promotion_id

    def replace_promotion(self, before: Promotion, after: Promotion) -> None:
        """New terms (an earlier end) on the promotion, where its terms are still
        ``before``, and on its copies: the automatic listing's copy moves to its new end."""
        pid = before.promotion_id
        writes = [
            self._table.update(
                keys.promotion(pid),
                "SET doc = :after",
                "doc = :before",
                {":after": _doc(after), ":before": _doc(before)},
            ),
            self._table.put(keys.promotion_copy(pid) | {"doc": _doc(after), "promotion_id": pid}),
        ]
        if before.code is None:
            writes.append(self._table.delete(_automatic_key(before)))
            writes.append(self._table.put(_automatic_copy(after)))
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(keys.promotion(pid)):
                raise ConcurrentModification(f"promotion {pid} changed meanwhile") from exc
            raise

    def promotion(self, promotion_id: str) -> CountedPromotion:
        """One promotion with its count, or ``NotFound``."""
        item = self._table.get(keys.promotion(promotion_id))
        if item is None:
            raise NotFound(f"no promotion {promotion_id}", field="promotion_id")
        return _counted(item)

    def promotions(self) -> list[CountedPromotion]:
        """Every promotion: the listing, then each one's counter."""
        page = self._table.partition(keys.PROMOTIONS_PK)
        return [self.promotion(str(item["promotion_id"])) for item in page.items]

    def promotion_by_code(self, code: str) -> CountedPromotion | None:
        """Through the code's claim."""
        claim = self._table.get(keys.coupon_code(code.strip()))
        if claim is None:
            return None
        return self.promotion(str(claim["promotion_id"]))

    def automatic_promotions(self, now: datetime) -> list[CountedPromotion]:
        """Those not ended by ``now``: one query on the automatic listing."""
        page = self._table.query(
            "pk = :pk AND sk >= :now",
            {":pk": keys.AUTOMATIC_PROMOTIONS_PK, ":now": now.astimezone(UTC).isoformat()},
        )
        return [self.promotion(str(item["promotion_id"])) for item in page.items]

    def redeemed_by(self, customer_id: str, promotion_ids: list[str]) -> set[str]:
        """One read per promotion asked about."""
        return {
            promotion_id
            for promotion_id in promotion_ids
            if self._table.get(keys.customer_redemption(promotion_id, customer_id)) is not None
        }

    def quote_redeemed_by(self, promotion_id: str, quote_id: str) -> str | None:
        """The quote's marker: one read."""
        item = self._table.get(keys.quote_redemption(promotion_id, quote_id))
        return str(item["order_id"]) if item is not None else None

    def redeeming_orders(self, promotion_id: str) -> list[str]:
        """The promotion's redemption items."""
        prefix = keys.redemption(promotion_id, "")
        page = self._table.partition(prefix["pk"], prefix["sk"])
        return [str(item["order_id"]) for item in page.items]
