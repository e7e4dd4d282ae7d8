"""Orders as two readable items (``order_items``: details fixed at placement, and the
state), the listing of orders owing money, and the pointers from returns to their order.

A save updates only the attributes that changed since the order was read, under the
state item's ``version``: a plain conditional write when nothing else changes with it, a
transaction when other items must (stock, return pointers, redemptions, the details
item); shipment records are written beside it (``shipments``). While money is owed, the
state carries the keys of the sparse index the sweeper reads
(``keys.ORDERS_OWING_BY_SHARD``)."""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.order_document import is_document, unpack
from chalicelib.adapters.dynamodb.order_items import (
    LISTED_AS_OWED,
    PLACED_STATE,
    VERSION,
    StoredOrder,
    order_of,
    update_of,
    values_of,
    without,
)
from chalicelib.adapters.dynamodb.promotions import (
    RedemptionWrites,
    redemption_handover,
    redemption_writes,
)
from chalicelib.adapters.dynamodb.stock import run_with_stock, stock_update
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order
from chalicelib.ports import StockChange

_KEY_NAMES = ("pk", "sk")
# The window's own timeout ends the wait; the item goes a day later, past any late take.
RETURN_WAIT_KEPT_AFTER = timedelta(days=1)


class _AsStored:
    """What each order object in memory was read or written as, for as long as the
    object lives: a save compares the order with it to write only what changed. An
    object it does not know (a copy, one built elsewhere) is compared with the items
    read again."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[weakref.ref[Order], StoredOrder]] = {}

    def remember(self, order: Order, stored: StoredOrder) -> None:
        key = id(order)
        forget = self._by_id.pop
        self._by_id[key] = (weakref.ref(order, lambda _: forget(key, None)), stored)

    def recall(self, order: Order) -> StoredOrder | None:
        known = self._by_id.get(id(order))
        if known is None or known[0]() is not order or known[1].version != order.version:
            return None
        return known[1]


class OrderRepository:
    """Orders with optimistic versions; a save writes what goes with the order (stock,
    its listing while it owes money, return pointers) in the same write."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._as_stored = _AsStored()

    def get_order(self, order_id: str) -> Order:
        """The order (one strongly consistent query of its partition), or ``NotFound``."""
        stored = self._stored(order_id)
        if stored is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        order = order_of(order_id, stored)
        self._as_stored.remember(order, stored)
        return order

    def create_order(self, order: Order) -> None:
        """Store a new order as one item, its details with the state it is placed in (its
        first change creates the state item); ``Conflict`` if it exists. Its redemptions
        are taken in the same transaction (``CouponUsedUp``)."""
        redeeming = redemption_writes(self._table, order)  # first: it marks them held
        details, state = values_of(order)
        version = order.version + 1
        item = keys.order(order.order_id) | details | {PLACED_STATE: state | {VERSION: version}}
        try:
            self._table.transact(
                [self._table.put(item, "attribute_not_exists(pk)"), *redeeming.writes]
            )
        except TransactionCancelled as exc:
            if exc.failed_on(keys.order(order.order_id)):
                raise Conflict(f"order {order.order_id} exists", field="order_id") from exc
            redeeming.raise_if_refused(exc)
            raise
        order.version = version
        self._as_stored.remember(order, StoredOrder(details, state, version, state_item=False))

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        return_ids: list[str] | None = None,
    ) -> None:
        """Write what changed in the order if nobody changed it since it was read (its
        history entry, ``entry``, is the last of ``order.history``: appended to the stored
        history), with its stock deltas and return pointers, all or nothing.
        ``OutOfStock`` if a stock condition fails, ``ConcurrentModification`` otherwise."""
        stock = StockChange.combined(stock or [])  # one operation per item in a transaction
        self._save(order, redemption_writes(self._table, order), stock, return_ids or [])

    def hand_redemptions_to(self, order: Order, customer_id: str) -> None:
        """The order's write, with its markers passing over (``redemption_handover``)."""
        self._save(order, redemption_handover(self._table, order, customer_id), [], [])

    def _save(
        self,
        order: Order,
        redeeming: RedemptionWrites,
        stock: list[StockChange],
        return_ids: list[str],
    ) -> None:
        before = self._as_stored.recall(order) or self._stored(order.order_id)
        if before is None:
            raise ConcurrentModification(f"order {order.order_id} is not stored")
        order.payment.listed_as_owed = bool(order.payment.owed())
        details, state = values_of(order)
        unlist_older = _list_if_owed(order, before.state, state)
        writes, decided_on = self._order_writes(order, before, details, state)
        if unlist_older:
            writes.append(self._table.delete(keys.owed(order.order_id)))
        writes.extend(stock_update(self._table, change) for change in stock)
        for return_id in return_ids:
            writes.append(
                self._table.put(keys.return_pointer(return_id) | {"order_id": order.order_id})
            )
        try:
            run_with_stock(self._table, writes + redeeming.writes, stock, decided_on)
        except TransactionCancelled as exc:
            redeeming.raise_if_refused(exc)
            raise
        order.version += 1
        self._as_stored.remember(order, StoredOrder(details, state, order.version))

    def orders_owing(self, limit: int) -> list[str]:
        """Ids of orders with money owed (captures, voids, refunds not yet confirmed), the
        longest owed first: one query per shard of the sparse index, and one of the
        listing items stored before it.

        A global secondary index is read eventually consistent (it cannot be read
        otherwise): an order listed a moment ago may wait for the next sweep, and one
        settled a moment ago may still be listed. Both are fine for the sweeper, which
        reads each order again (strongly consistent) and settles only what it owes then."""
        found: list[tuple[str, str]] = []
        for shard in range(keys.OWED_SHARDS):
            page = self._table.query(
                f"{keys.OWED_SHARD} = :shard",
                {":shard": keys.owed_shard_name(shard)},
                index=keys.ORDERS_OWING_BY_SHARD,
                limit=limit,
            )
            found.extend(
                (str(item[keys.OWED_SINCE]), str(item["pk"]).removeprefix(keys.order_pk("")))
                for item in page.items
            )
        older = self._table.partition(keys.OWED_PK, limit=limit)
        found.extend(("", str(item["order_id"])) for item in older.items)
        return list(dict.fromkeys(order_id for _, order_id in sorted(found)))[:limit]

    def order_for_return(self, return_id: str) -> str:
        """The order a return belongs to, or ``NotFound``."""
        item = self._table.get(keys.return_pointer(return_id), consistent=False)
        if item is None:
            raise NotFound(f"nothing known as {return_id}")
        return str(item["order_id"])

    def park_return_wait(self, order_id: str, task_token: str, until: datetime) -> None:
        """Keep the return window's task token in an item of its own: a put of a small item
        instead of an update of the order's state (which AWS's long tokens would also
        make heavier for every write in the window). TTL sweeps it a day after ``until``
        if nothing took it."""
        expires_at = int((until + RETURN_WAIT_KEPT_AFTER).timestamp())
        item = keys.return_wait(order_id) | {
            "task_token": task_token,
            "until": until.isoformat(),
            "expires_at": expires_at,
        }
        self._table.write(self._table.put(item))

    def return_wait(self, order_id: str) -> str | None:
        """The parked return wait's token (None if none is parked), left for TTL."""
        parked = self._table.get(keys.return_wait(order_id))
        return None if parked is None else str(parked["task_token"])

    def _stored(self, order_id: str) -> StoredOrder | None:
        """The order's items as stored, in whichever form, or None."""
        page = self._table.partition(keys.order_pk(order_id), keys.ORDER_ITEMS_PREFIX)
        by_sk = {str(item["sk"]): item for item in page.items}
        details = by_sk.get(keys.order(order_id)["sk"])
        if details is None:
            return None
        if is_document(details):  # one item holding a document, as stored before the split
            document = unpack(details) | {"status": details["status"]}
            whole = {name: value for name, value in document.items() if name != "order_id"}
            return StoredOrder({}, whole, int(details[VERSION]), older_form=True)
        state = by_sk.get(keys.order_state(order_id)["sk"])
        if state is None:  # not changed since it was placed
            placed = details[PLACED_STATE]
            return StoredOrder(
                without(details, (*_KEY_NAMES, PLACED_STATE)),
                without(placed, (VERSION,)),
                int(placed[VERSION]),
                state_item=False,
            )
        return StoredOrder(
            without(details, (*_KEY_NAMES, PLACED_STATE)),
            without(state, (*_KEY_NAMES, VERSION)),
            int(state[VERSION]),
        )

    def _order_writes(
        self,
        order: Order,
        before: StoredOrder,
        details: dict[str, Any],
        state: dict[str, Any],
    ) -> tuple[list[dict[str, Any]], keys.Key]:
        """The order's own writes, conditional on the version it was read at, and the key
        of the item holding that condition."""
        details_key = keys.order(order.order_id)
        state_key = keys.order_state(order.order_id)
        expected = {":expected": order.version}
        if before.older_form:
            # Rewritten as two items: the one item replaced by the details under its
            # version, the state item created.
            return [
                self._table.put(details_key | details, "version = :expected", expected),
                self._table.put(
                    state_key | state | {VERSION: order.version + 1}, "attribute_not_exists(pk)"
                ),
            ], details_key
        if before.state_item:
            condition, names = f"#{VERSION} = :expected", {f"#{VERSION}": VERSION}
        else:  # the first change: the state item is created, whole, once
            condition, names, expected = "attribute_not_exists(pk)", {}, {}
        base = before.state if before.state_item else {}
        update = update_of(base, state, {VERSION: order.version + 1})
        assert update is not None  # the version always moves
        writes = [
            self._table.update(
                state_key,
                update.expression,
                condition,
                update.values | expected,
                update.names | names,
            )
        ]
        changed_details = update_of(before.details, details)
        if changed_details is not None:
            writes.append(
                self._table.update(
                    details_key,
                    changed_details.expression,
                    values=changed_details.values or None,
                    names=changed_details.names,
                )
            )
        return writes, state_key


def _list_if_owed(order: Order, stored: dict[str, Any], state: dict[str, Any]) -> bool:
    """List the order among those owing money while it owes any: ``owed_shard`` and
    ``owed_since`` on its state (the sparse index's keys). ``owed_since`` is its place
    in the sweeper's list (``Payment.due_since``): kept from the stored state while the
    order stays owing, so the index entry is written once, and moved only when a try
    fails. The listing is in the same write as the operations it lists: recorded as owed
    before the money moves. Answers whether the order's listing item stored before the
    index is to be deleted now (an order read with ``listed_as_owed`` in its payment
    keeps that mark until it owes nothing)."""
    owed = order.payment.owed()
    listed_since = stored.get(keys.OWED_SINCE)
    due_since = order.payment.due_since(
        datetime.fromisoformat(listed_since) if listed_since else None
    )
    if due_since is not None:
        state[keys.OWED_SHARD] = keys.owed_shard(order.order_id)
        state[keys.OWED_SINCE] = to_jsonable_python(due_since)
    listed_before_the_index = bool(stored.get("payment", {}).get(LISTED_AS_OWED))
    if listed_before_the_index and owed:
        state["payment"][LISTED_AS_OWED] = True
    return listed_before_the_index and not owed
