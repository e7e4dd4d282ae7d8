"""Stock items (``on_hand``, ``reserved``, ``safety_stock`` and ``available`` kept equal to
``on_hand - reserved - safety_stock`` so that conditions can test it) and each SKU's
movement ledger."""

from __future__ import annotations

import contextlib
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table, TransactionCancelled
from chalicelib.domain.catalog import Location
from chalicelib.domain.errors import MovementRejected, OutOfStock
from chalicelib.domain.inventory import StockLevel
from chalicelib.ports import StockChange


def stock_update(table: Table, change: StockChange) -> dict[str, Any]:
    """The conditional update a stock delta makes: ``available`` moves with on_hand and
    against reserved; conditions guard the counts the change lowers, so none goes below
    zero."""
    conditions = ["attribute_exists(pk)"]
    if change.reserved > 0:
        conditions.append("available >= :reserve")
    if change.reserved < 0:
        conditions.append("reserved >= :release")
    if change.on_hand < 0:
        conditions.append("on_hand >= :take")
    values: dict[str, Any] = {
        ":on_hand": change.on_hand,
        ":reserved": change.reserved,
        ":available": change.on_hand - change.reserved,
    }
    if change.reserved > 0:
        values[":reserve"] = change.reserved
    if change.reserved < 0:
        values[":release"] = -change.reserved
    if change.on_hand < 0:
        values[":take"] = -change.on_hand
    return table.update(
        keys.stock(change.sku, change.location_id),
        "SET on_hand = on_hand + :on_hand, reserved = reserved + :reserved, "
        "available = available + :available",
        " AND ".join(conditions),
        values,
    )


def run_with_stock(
    table: Table,
    writes: list[dict[str, Any]],
    stock: list[StockChange],
    decided_on: keys.Key | None = None,
) -> None:
    """Run a transaction holding stock updates: ``OutOfStock`` naming the SKUs whose
    condition failed, ``ConcurrentModification`` if anything else did. When the condition
    on ``decided_on`` (the item the changes were decided from) failed too, the stock moves
    were decided on a stale read: a lost race to read again, not a shortage."""
    try:
        table.transact(writes)
    except TransactionCancelled as exc:
        if decided_on is not None and exc.failed_on(decided_on):
            raise
        short = sorted({c.sku for c in stock if exc.failed_on(keys.stock(c.sku, c.location_id))})
        if short:
            raise OutOfStock(f"not enough stock for {', '.join(short)}", field="lines") from exc
        raise


class StockRepository:
    """Stock levels per location, and the movements that changed them."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def stock_levels(self, sku: str) -> list[StockLevel]:
        """One SKU at every location that holds it."""
        page = self._table.partition(keys.stock_pk(sku), keys.STOCK_LOCATION_PREFIX)
        return [StockLevel.model_validate(item) for item in page.items]

    def put_stock(self, level: StockLevel) -> None:
        """Set a stock item outright (provisioning and demo data only)."""
        item = keys.stock(level.sku, level.location_id) | {
            **level.model_dump(mode="json"),
            "available": level.available,
        }
        self._table.write(self._table.put(item))

    def ensure_stock_item(self, sku: str, location: Location) -> None:
        """Create an empty stock item for a SKU at a location that never held it (a return
        can bring goods anywhere)."""
        level = StockLevel(
            sku=sku,
            location_id=location.location_id,
            location_type=location.type,
            ships=location.ships,
            pickup=location.pickup,
            on_hand=0,
            reserved=0,
        )
        item = keys.stock(sku, location.location_id) | {
            **level.model_dump(mode="json"),
            "available": 0,
        }
        with contextlib.suppress(ConditionFailed):  # it exists: nothing to create
            self._table.write(self._table.put(item, "attribute_not_exists(pk)"))

    def apply_stock(self, changes: list[StockChange]) -> None:
        """Apply stock deltas atomically, or raise ``OutOfStock``."""
        changes = StockChange.combined(changes)  # one operation per item in a transaction
        run_with_stock(self._table, [stock_update(self._table, c) for c in changes], changes)

    def record_movement(
        self,
        sku: str,
        location_id: str,
        on_hand_delta: int,
        safety_stock: int,
        movement: dict[str, Any],
    ) -> dict[str, Any]:
        """Apply a stock movement and append it to the SKU's ledger in one transaction;
        the movement as recorded. One recorded before under the same id is not applied
        again: the entry's own key refuses it, and it is returned as first recorded.

        A decrease must leave on_hand at zero or more and must not take units promised to
        orders: ``on_hand - reserved >= |delta|``, i.e. ``available >= |delta| - safety``,
        checked against the safety stock read just before (which must not have changed).
        Raises ``MovementRejected`` otherwise.
        """
        values: dict[str, Any] = {":delta": on_hand_delta}
        condition = "attribute_exists(pk)"
        if on_hand_delta < 0:
            condition += " AND on_hand >= :take AND safety_stock = :safety AND available >= :need"
            values |= {
                ":take": -on_hand_delta,
                ":safety": safety_stock,
                ":need": -on_hand_delta - safety_stock,
            }
        entry = keys.movement(sku, str(movement["movement_id"]))
        writes = [
            self._table.update(
                keys.stock(sku, location_id),
                "SET on_hand = on_hand + :delta, available = available + :delta",
                condition,
                values,
            ),
            self._table.put(entry | movement, "attribute_not_exists(pk)"),
        ]
        try:
            self._table.transact(writes)
        except TransactionCancelled as exc:
            recorded = self._table.get(entry)
            if recorded is not None:
                return _movement_of(recorded)  # recorded before under its id: nothing more
            if not exc.failed_on(keys.stock(sku, location_id)):
                # It met other writers' transactions every time it was sent: a lost race
                # to try again, not a refusal (probe 224, reading: a receipt of 5 would
                # have read "it cannot give -5").
                raise
            raise MovementRejected(f"{sku} at {location_id}") from exc
        return movement

    def movements(self, sku: str) -> list[dict[str, Any]]:
        """The SKU's movement ledger, oldest first."""
        items = self._table.partition(keys.stock_pk(sku), keys.MOVEMENT_PREFIX).items
        ledger = [_movement_of(item) for item in items]
        return sorted(ledger, key=lambda m: (str(m["at"]), str(m["movement_id"])))


def _movement_of(item: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry as it was recorded, without its keys."""
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}
