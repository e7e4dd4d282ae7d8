"""Orders: the whole order as compressed JSON (``order_document``) with ``status`` and
``version`` beside it, one history item per status change, the listing of orders owing
money, and the pointers from returns to their order."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.order_document import pack, unpack
from chalicelib.adapters.dynamodb.promotions import redemption_writes
from chalicelib.adapters.dynamodb.shipments import shipment_record
from chalicelib.adapters.dynamodb.stock import run_with_stock, stock_update
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.fulfillments import Fulfillment
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order
from chalicelib.ports import StockChange

# Order fields kept outside the document so that conditions and projections can use them.
_ORDER_KEY_FIELDS = ("status", "version")


class OrderRepository:
    """Orders with optimistic versions; a save writes what goes with the order (history,
    stock, owed listing, return pointers, shipment records) in the same transaction."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get_order(self, order_id: str) -> Order:
        """The order, or ``NotFound``."""
        values = self._table.get(keys.order(order_id))
        if values is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        return Order.model_validate(unpack(values) | {k: values[k] for k in _ORDER_KEY_FIELDS})

    def create_order(self, order: Order) -> None:
        """Store a new order and its first history entry; ``Conflict`` if it exists. Its
        redemptions are taken in the same transaction (``CouponUsedUp``)."""
        redeeming = redemption_writes(self._table, order)  # first: it marks them held
        writes = [self._order_put(order, "attribute_not_exists(pk)", {})]
        if order.history:
            writes.append(self._history_put(order, order.history[-1]))
        try:
            self._table.transact(writes + redeeming.writes)
        except TransactionCancelled as exc:
            if exc.failed_on(keys.order(order.order_id)):
                raise Conflict(f"order {order.order_id} exists", field="order_id") from exc
            redeeming.raise_if_refused(exc)
            raise
        order.version += 1

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        return_ids: list[str] | None = None,
        shipments: list[Fulfillment] | None = None,
    ) -> None:
        """Write the order if nobody changed it since it was read, with its history entry,
        stock deltas, return pointers and shipment records, in one transaction.
        ``OutOfStock`` if a stock condition fails, ``ConcurrentModification`` otherwise."""
        # The listing first: it records on the order whether it is listed.
        owed = self._owed_listing(order)
        redeeming = redemption_writes(self._table, order)
        writes = [self._order_put(order, "version = :expected", {":expected": order.version})]
        if entry is not None:
            writes.append(self._history_put(order, entry))
        if owed is not None:
            writes.append(owed)
        writes.extend(stock_update(self._table, change) for change in stock or [])
        for return_id in return_ids or []:
            writes.append(
                self._table.put(keys.return_pointer(return_id) | {"order_id": order.order_id})
            )
        for fulfillment in shipments or []:
            writes.append(shipment_record(self._table, order.order_id, fulfillment))
        try:
            run_with_stock(
                self._table, writes + redeeming.writes, stock or [], keys.order(order.order_id)
            )
        except TransactionCancelled as exc:
            redeeming.raise_if_refused(exc)
            raise
        order.version += 1

    def orders_owing(self, limit: int) -> list[str]:
        """Ids of orders with money owed (captures, voids, refunds not yet confirmed)."""
        page = self._table.partition(keys.OWED_PK, limit=limit)
        return [str(item["order_id"]) for item in page.items]

    def order_for_return(self, return_id: str) -> str:
        """The order a return belongs to, or ``NotFound``."""
        item = self._table.get(keys.return_pointer(return_id), consistent=False)
        if item is None:
            raise NotFound(f"nothing known as {return_id}")
        return str(item["order_id"])

    def history_items(self, order_id: str) -> list[dict[str, Any]]:
        """The order's history items, oldest first."""
        return self._table.partition(keys.order_pk(order_id), keys.HISTORY_PREFIX).items

    def _order_put(self, order: Order, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        doc = order.model_dump_json(exclude=set(_ORDER_KEY_FIELDS)).encode()
        item: dict[str, Any] = {**keys.order(order.order_id), **pack(doc)}
        item |= {"status": order.status.value, "version": order.version + 1}
        return self._table.put(item, condition, values)

    def _history_put(self, order: Order, entry: HistoryEntry) -> dict[str, Any]:
        # The entry's position and status make its key: a status is written once, and two
        # writers racing for the same step cannot both add it.
        key = keys.history(order.order_id, len(order.history), entry.status.value)
        return self._table.put(key | entry.model_dump(mode="json"), "attribute_not_exists(pk)")

    def _owed_listing(self, order: Order) -> dict[str, Any] | None:
        """The write that lists (or unlists) the order among those owing money, so that
        the sweeper finds them with one query; None when the listing does not change."""
        key = keys.owed(order.order_id)
        owed = bool(order.payment.owed())
        if owed and not order.payment.listed_as_owed:
            order.payment.listed_as_owed = True
            return self._table.put(key | {"order_id": order.order_id})
        if not owed and order.payment.listed_as_owed:
            order.payment.listed_as_owed = False
            return self._table.delete(key)
        return None
