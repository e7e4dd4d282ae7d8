"""The bench's scale phase: the same orders measurement once 20,000 orders are stored.

``store_orders`` writes N delivered orders with their customers straight into the app's
table by batch writes (not through the workflow): per order its two items (details and state),
its shipment record (in the carrier index) and, per customer, the profile (listing the
email), the email identifier, and the order's summary in the customer's 360. Each is a copy
of a real delivered order from the run, under new ids, so items have real sizes.
``orders_per_s`` then runs the orders phase again: N web orders from T threads until
SHIPPED, timed as the main phase is.
"""

from __future__ import annotations

import math
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import load, meters

BATCH = 25  # BatchWriteItem's limit


def progress(message: str) -> None:
    """One line on stderr, so a long phase is never silent."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _copies(template: Any, count: int) -> Any:
    """DynamoDB items for ``count`` copies of a delivered order and its customer."""
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.adapters.dynamodb.identities import PROFILE_IDENTIFIERS
    from chalicelib.adapters.dynamodb.order_items import VERSION, values_of
    from chalicelib.adapters.dynamodb.shipments import shipment_record
    from chalicelib.adapters.dynamodb.table import Table, to_item
    from chalicelib.domain.customers import Identifier, IdentifierType

    records = Table.__new__(Table)  # only its item builders: no client, no table name
    records.name = "-"
    for _ in range(count):
        order_id = f"ord_{uuid.uuid4().hex[:20]}"
        customer_id = f"cus_{uuid.uuid4().hex[:16]}"
        email = Identifier(type=IdentifierType.EMAIL, value=f"s-{uuid.uuid4().hex}@example.com")
        order = template.model_copy(
            update={"order_id": order_id, "customer_id": customer_id}, deep=True
        )
        order.contact.email = email.value
        for fulfillment in order.fulfillments:
            fulfillment.fulfillment_id = fulfillment.fulfillment_id.replace(
                template.order_id, order_id
            )
            if fulfillment.shipment is not None:
                fulfillment.shipment.tracking_number = f"SCL{uuid.uuid4().hex[:10].upper()}"
        details, state = values_of(order)
        yield to_item(keys.order(order_id) | details)
        yield to_item(keys.order_state(order_id) | state | {VERSION: len(order.history)})
        for fulfillment in order.fulfillments:
            if fulfillment.shipment is not None:
                yield shipment_record(records, order_id, fulfillment)["Put"]["Item"]
        listed = {PROFILE_IDENTIFIERS: {f"{email.type.value}#{email.value}"}}
        yield to_item(keys.profile(customer_id) | {"state": "active", "name": "Scale"} | listed)
        yield to_item(keys.identifier(email) | {"customer_id": customer_id})
        placed_at = order.placed_at.isoformat()
        yield to_item(
            keys.customer_order(customer_id, placed_at, order_id)
            | {
                "order_id": order_id,
                "channel": order.channel.value,
                "status": order.status.value,
                "total": order.total.model_dump(mode="json"),
                "placed_at": placed_at,
                "version": 1,
            }
        )


def store_orders(template_order_id: str, count: int) -> float:
    """Store ``count`` copies of a delivered order (and customers); returns seconds."""
    import boto3

    from chalicelib.composition import deps
    from infra.local.stack import REGION

    client = boto3.client("dynamodb", region_name=REGION)
    table = deps().settings.table_name
    template = deps().store.get_order(template_order_id)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    written = 0
    for item in _copies(template, count):
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == BATCH:
            _write(client, table, batch)
            written += len(batch)
            batch = []
            if written % 50_000 < BATCH:
                progress(f"  stored {written} items ...")
    if batch:
        _write(client, table, batch)
    return time.perf_counter() - started


def _write(client: Any, table: str, batch: list[dict[str, Any]]) -> None:
    request = {table: batch}
    while request:
        request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def orders_per_s(stack: Any, orders: int, threads: int, budget: float) -> tuple[float, int]:
    """The orders phase again: orders/s to SHIPPED, and how many got there."""
    parked = load.invocations(stack, "dispatch_fulfillment")
    jobs = [load.order_job(50_000 + i) for i in range(orders)]
    first_post = time.monotonic()
    placed = load.drive(stack.url, jobs, threads)
    ids = [str(c.body["order_id"]) for c in placed if c.status == 202 and c.body.get("order_id")]
    left = max(1.0, budget - (time.monotonic() - first_post))
    load.wait_until(lambda: all(meters.seen("SHIPPED", i) for i in ids), left)
    shipped = [t for i in ids if (t := meters.seen("SHIPPED", i)) is not None]
    wall = (max(shipped) - first_post) if shipped else 0.0
    load.settle(stack, parked, len(shipped), timeout=90)
    return (len(shipped) / wall if wall > 0 else float("nan")), len(shipped)


def after_stored(
    stack: Any, stored: int, threads: int, budget: float, raw: dict[str, Any]
) -> dict[str, Any] | None:
    """Store ``stored`` delivered orders with their customers by batch writes,
    then measure orders/s to SHIPPED again, the same way (None when skipped)."""
    if stored <= 0 or not raw["delivered_ids"]:
        return None
    progress(f"storing {stored} orders with their customers by batch writes ...")
    seconds = store_orders(raw["delivered_ids"][0], stored)
    raw["phases"][f"store {stored} orders (batch writes)"] = seconds
    progress(f"stored in {seconds:.1f} s; orders to SHIPPED again ...")
    started = time.perf_counter()
    per_s, shipped = orders_per_s(stack, raw["n"], threads, budget)
    raw["phases"][f"orders to SHIPPED after {stored}"] = time.perf_counter() - started
    progress(f"{shipped} orders at {per_s:.2f} orders/s with {stored} stored")
    return {"stored": stored, "orders_per_s": per_s, "shipped": shipped}


def stored_figures(raw: dict[str, Any], fig: dict[str, Any]) -> dict[str, Any]:
    """The JSON keys of the measurement after storing orders (null when skipped)."""
    after = raw.get("after_stored")
    if after is None or math.isnan(after["orders_per_s"]):
        return {"orders_per_s_after_20k": None, "orders_per_s_after_20k_over_fresh": None}
    fresh = fig["orders_per_s"]
    return {
        "orders_stored_before_rerun": after["stored"],
        "orders_per_s_after_20k": round(after["orders_per_s"], 2),
        "orders_per_s_after_20k_over_fresh": round(after["orders_per_s"] / fresh, 2)
        if fresh
        else None,
    }


def deployment_zip_mb() -> float | None:
    """The newest ``make package`` zip's size (MB), or None when none was built."""
    zips = sorted(Path("dist").glob("*/deployment.zip"), key=lambda p: p.stat().st_mtime)
    if not zips:
        progress("no dist/*/deployment.zip: run `make package` for deployment_zip_mb")
        return None
    return round(zips[-1].stat().st_size / 1e6, 2)
