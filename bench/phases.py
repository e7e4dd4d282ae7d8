"""The bench's load without its extras, for profiling the local stack (docs/performance.md).

``python -m bench.phases ORDERS THREADS DELIVERED [STORED]`` runs phases 1-4 of ``make
bench`` (warm-up, baseline, orders to SHIPPED, delivery of a sample) and, given STORED,
the bench's measurement again after storing that many orders; prints the bench's table
and JSON line, and before stopping the stack one ``GSI_EXAMINED`` line: how many items
moto looked at for one query on each of the app's GSIs, against the table's size. Run it
under a profiler, e.g. ``py-spy record --gil --nonblocking --format raw -o cpu.txt --
.venv/bin/python -m bench.phases 60 12 6``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import meters, scale
from bench import run as bench
from bench.json_line import summary
from bench.load import bench_stack_class, quiet
from bench.order_figures import figures
from bench.report import report


def examined() -> dict[str, Any]:
    """Items moto looks at for one query on each GSI, and the table's size."""
    import boto3
    from moto.dynamodb.models.table import Table

    from chalicelib.adapters.dynamodb.table import to_item
    from chalicelib.composition import deps
    from infra.local.stack import REGION

    client = boto3.client("dynamodb", region_name=REGION)
    table = deps().settings.table_name
    figures: dict[str, Any] = {"table_items": client.scan(TableName=table, Select="COUNT")["Count"]}
    seen: list[int] = []
    original = Table.all_items

    def counting(self: Any) -> Any:
        items = original(self)
        seen.append(len(items))
        return items

    now = datetime.now(UTC)
    queries = {
        "shipments-by-carrier": (
            "carrier_key = :c AND shipped_at BETWEEN :a AND :b",
            {
                ":c": "rapido#express",
                ":a": (now - timedelta(days=1)).isoformat(),
                ":b": (now + timedelta(days=1)).isoformat(),
            },
        ),
        "open-shipments-by-due": (
            "open_due_day = :d AND open_due_at <= :n",
            {
                ":d": (now + timedelta(days=1)).date().isoformat(),
                ":n": (now + timedelta(days=2)).isoformat(),
            },
        ),
    }
    Table.all_items = counting  # type: ignore[method-assign]
    try:
        for index, (condition, values) in queries.items():
            seen.clear()
            found = client.query(
                TableName=table,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
            )["Count"]
            figures[index] = {"examined": max(seen, default=0), "found": found}
    finally:
        Table.all_items = original  # type: ignore[method-assign]
    return figures


def main(argv: list[str]) -> None:
    """Start the stack, run phases 1-4, print, stop."""
    orders, threads, delivered = (int(arg) for arg in argv[:3])
    stored = int(argv[3]) if len(argv) > 3 else 0
    options = bench.Options(orders, threads, delivered, 8, 300.0)
    quiet()
    from infra.local.stack import free_port

    outbox = Path(tempfile.mkdtemp(prefix="orquesta-phases-outbox-"))
    env = dict(bench.STACK_ENV)
    meters.install()
    stack = bench_stack_class()(port=free_port(), outbox=outbox, env=env)
    started = time.perf_counter()
    try:
        stack.start()
        raw = bench.run(stack, options, time.perf_counter() - started)
        print("GSI_EXAMINED " + json.dumps(examined()), flush=True)
        raw["after_stored"] = scale.after_stored(stack, stored, threads, options.budget, raw)
    finally:
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        stack.stop()
        shutil.rmtree(outbox, ignore_errors=True)
    raw["total_s"] = time.perf_counter() - started
    fig = figures(raw)
    print("\n".join(report(raw, fig)), flush=True)
    print(json.dumps(summary(raw, fig) | scale.stored_figures(raw, fig)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
