"""Bench phases for inventory under contention and the SLA check's reads.

- ``reservations_per_s_hot_sku``: threads reserving one unit at a time of one SKU at one
  location, each a DynamoDB transaction with its stock condition, through the app's store.
- ``race_oversold``: 3N concurrent one-unit reservations for N units; units promised
  beyond the stock (must be 0).
- ``sla_check_reads``: index pages the scheduled SLA check reads with 1,000 and with
  50,000 delivered shipments in the table (it must stay flat: it reads only the sparse
  index of open shipments).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.catalog import LocationType
from chalicelib.domain.errors import OutOfStock
from chalicelib.domain.inventory import StockLevel
from chalicelib.ports import StockChange


def _fresh_sku(store: Any, units: int) -> str:
    sku = f"BENCH-HOT-{uuid.uuid4().hex[:8]}"
    store.put_stock(
        StockLevel(
            sku=sku,
            location_id="WH-GETAFE",
            location_type=LocationType.WAREHOUSE,
            ships=True,
            pickup=False,
            on_hand=units,
            reserved=0,
        )
    )
    return sku


def _reserve_one(store: Any, sku: str) -> bool:
    try:
        store.apply_stock([StockChange(sku=sku, location_id="WH-GETAFE", reserved=1)])
    except OutOfStock:
        return False
    return True


def hot_sku(store: Any, threads: int = 8, seconds: float = 5.0) -> float:
    """Reservations per second on one SKU, all clients on it."""
    sku = _fresh_sku(store, 1_000_000)
    deadline = time.perf_counter() + seconds

    def worker(_: int) -> int:
        done = 0
        while time.perf_counter() < deadline:
            done += _reserve_one(store, sku)
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(worker, range(threads)))
    return total / (time.perf_counter() - started)


def race(store: Any, units: int = 50, threads: int = 16) -> dict[str, int]:
    """3N one-unit reservations at once for N units."""
    sku = _fresh_sku(store, units)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        won = sum(pool.map(lambda _: _reserve_one(store, sku), range(3 * units)))
    level = store.stock_levels(sku)[0]
    oversold = max(0, won - units) + max(0, level.reserved - level.on_hand)
    return {"units": units, "attempts": 3 * units, "won": won, "oversold": oversold}


def _delivered_records(client: Any, table: str, count: int) -> None:
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for _ in range(count):
        shipped = now - timedelta(days=1)
        batch.append(
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"SHIPMENT#bench#{uuid.uuid4().hex}"},
                        "sk": {"S": "POINTER"},
                        "carrier_key": {"S": "bench#standard"},
                        "shipped_at": {"S": shipped.isoformat()},
                        "promised_by": {"S": now.isoformat()},
                        "delivered_at": {"S": now.isoformat()},
                    }
                }
            }
        )
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


def sla_check_reads(store: Any, client: Any, table: str) -> dict[str, Any]:
    """Pages the SLA check reads with 1,000, then 50,000 delivered shipments stored."""
    figures: dict[str, Any] = {}
    for target, add in ((1_000, 1_000), (50_000, 49_000)):
        _delivered_records(client, table, add)
        started = time.perf_counter()
        overdue, pages = store.overdue_shipments(datetime.now(UTC))
        figures[f"{target}"] = {
            "pages": pages,
            "items": len(overdue),
            "ms_on_moto": round((time.perf_counter() - started) * 1000, 1),
        }
    return figures


def run_extras(deps: Any) -> dict[str, Any]:
    """Every extra phase, with the figures the JSON line carries."""
    store = deps.store
    hot = hot_sku(store)
    raced = race(store)
    sla = sla_check_reads(store, store.table.client, deps.settings.table_name)
    return {
        "reservations_per_s_hot_sku": round(hot, 1),
        "race": raced,
        "race_oversold": raced["oversold"],
        "sla_check": sla,
        "sla_check_reads_1000": sla["1000"]["pages"],
        "sla_check_reads_50000": sla["50000"]["pages"],
    }
