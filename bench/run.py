"""``make bench``: what one web order costs on the embedded stack, and how fast it goes.

One process: the local stack (moto, the app's Lambda functions in-process, the Chalice
app over HTTP), plus a baseline route registered by this bench only (one conditional
``PutItem`` through the app's own DynamoDB client, same server, same run). Phases:

1. warm-up: a few orders and baseline requests, excluded from every figure;
2. baseline: N requests to ``POST /bench/baseline`` from T threads;
3. orders: N web orders from T threads (one ``requests.Session`` each), until SHIPPED;
4. delivery: a sample of M shipped orders gets its carrier's signed ``delivered`` webhook
   until the execution parks its return window's wait (a real window, a day); its write
   units are read then, and the run ends each window (the wait ends as a timeout would,
   writing nothing) so the execution enters OrderClosed and its transitions are counted.

Per-order figures are phase differences: (orders phase) / N + (delivery phase) / M.
It prints a table and, as its last line, one JSON object. It never fails on time.

The phases' load is in ``bench/load.py``, the figures in ``bench/order_figures.py``, the
printed report in ``bench/report.py`` and the JSON line in ``bench/json_line.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import checkout, customers, extras, hot_sku, meters, scale, solo
from bench.cold_import import cold_import_ms
from bench.json_line import summary
from bench.load import (
    Prober,
    baseline_job,
    bench_stack_class,
    counters,
    drain,
    drive,
    end_return_windows,
    invocations,
    order_job,
    quiet,
    settle,
    wait_for_return_waits,
    wait_until,
    webhook_job,
)
from bench.order_figures import figures
from bench.report import extras_report, report

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# The bench's stack. A 24 h SLA stays 24 h: no delivery wait runs out during the run. The
# return window is a real one (a day), so every delivered execution parks its wait and pays
# for it as in production; with a window of seconds it would sometimes close before the
# wait began, leaving its write out of the figures by chance. The run then ends each window.
STACK_ENV = {
    "ORQUESTA_TIME_SCALE": "1",
    "ORQUESTA_HANDLING_SECONDS": "0",
    "ORQUESTA_RETURN_WINDOW_DAYS": "1",
}


def transitions_of(sfn: Any, execution_arn: str) -> tuple[int, list[str], str]:
    """States entered (``…StateEntered`` events), their names, and the execution status."""
    from tests.support.flow import raw_history

    events = raw_history(execution_arn)
    names = [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if str(event["type"]).endswith("StateEntered")
    ]
    status = sfn.describe_execution(executionArn=execution_arn)["status"]
    return len(names), names, status


# The run -----------------------------------------------------------------------------------
@dataclass
class Options:
    """Command-line options."""

    orders: int
    threads: int
    delivered: int
    warmup: int
    budget: float
    stored: int = 20_000


def run(stack: Any, options: Options, startup_s: float) -> dict[str, Any]:
    """Every phase; returns the raw figures."""
    import boto3

    from chalicelib.composition import deps
    from infra.local.stack import REGION

    meters.timed_handlers(stack.lambdas.handlers)
    url = stack.url
    n, m, threads = options.orders, options.delivered, options.threads
    notes: list[str] = []
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = now - mark
        mark = now
        scale.progress(f"{name}: {phases[name]:.1f} s")

    # 1. Warm-up (excluded): routers, clients, parsed definitions, connection pools.
    # The first request goes alone: Powertools' persistence layer configures itself on first
    # use without a lock, and concurrent first requests can see it half-configured.
    parked = invocations(stack, "dispatch_fulfillment")
    warm = drive(url, [order_job(10_000), baseline_job(0)], 1)
    warm += drive(url, [order_job(10_001 + i) for i in range(options.warmup)], threads)
    drive(url, [baseline_job(i) for i in range(3 * threads)], threads)
    settle(stack, parked, sum(c.status == 202 for c in warm), timeout=60)
    phase("warm-up")

    # 2. Baseline alone, same concurrency and count.
    baseline = drive(url, [baseline_job(i) for i in range(n)], threads)
    phase("baseline")

    # 3. Orders until SHIPPED.
    parked = invocations(stack, "dispatch_fulfillment")
    before_a = counters(stack)
    jobs = [order_job(i) for i in range(n)]
    with Prober(url) as prober:
        first_post = time.monotonic()
        placed = drive(url, jobs, threads)
        accepted = [c for c in placed if c.status == 202 and c.body.get("order_id")]
        ids = [str(c.body["order_id"]) for c in accepted]
        left = max(1.0, options.budget - (time.monotonic() - first_post))
        all_shipped = wait_until(lambda: all(meters.seen("SHIPPED", i) for i in ids), left)
    shipped_at = {i: t for i in ids if (t := meters.seen("SHIPPED", i)) is not None}
    last_shipped = max(shipped_at.values(), default=time.monotonic())
    if not all_shipped:
        notes.append(
            f"only {len(shipped_at)} of {len(ids)} orders reached SHIPPED within the "
            f"{options.budget:.0f} s budget; per-order figures divide by those, so the "
            "others' work so far makes them an overestimate"
        )
    phase("orders to SHIPPED")
    if not settle(stack, parked, len(shipped_at), timeout=90):
        notes.append("the orders phase had not settled after 90 s: later work counts in phase 2")
    drained = time.monotonic()
    phase("SNS backlog drained")
    after_a = counters(stack)

    # 4. A sample is delivered and runs to the end of its execution.
    shipped_ids = [i for i in ids if i in shipped_at]
    step = max(1, len(shipped_ids) // max(1, m))
    sample = shipped_ids[::step][:m]
    arns = {str(c.body["order_id"]): str(c.body["execution_arn"]) for c in accepted}
    parcels = []
    for order_id in sample:
        order = deps().store.get_order(order_id)
        shipment = order.fulfillments[0].shipment
        assert shipment is not None
        parcels.append((shipment.carrier, shipment.tracking_number))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    before_b = counters(stack)
    hooks = drive(url, [webhook_job(c, t) for c, t in parcels], threads)

    if not wait_for_return_waits(sample, 60):
        notes.append("some delivered executions had not parked their return wait after 60 s")
    if not drain(stack, 30):
        notes.append("SNS deliveries were still queued 30 s after the sample was delivered")
    after_b = counters(stack)
    end_return_windows(sfn, sample)

    def finished() -> bool:
        statuses = [sfn.describe_execution(executionArn=arns[i])["status"] for i in sample]
        return all(status in TERMINAL for status in statuses)

    if not wait_until(finished, 60, every=0.25):
        notes.append("some delivered executions had not ended after 60 s")
    histories = [transitions_of(sfn, arns[i]) for i in sample]
    phase("delivery of the sample")
    end_to_end = {
        i: meters.seen("DELIVERED", i) for i in sample if meters.seen("DELIVERED", i) is not None
    }

    a, b = meters.delta(after_a, before_a), meters.delta(after_b, before_b)
    # 5. A few orders one at a time, to time each handler with nothing else running.
    solo_runs = solo.measure(stack)
    phase("handlers timed alone")
    return {
        "solo": solo_runs,
        "n": len(shipped_ids),
        "m": len(sample),
        "posted": len(placed),
        "accepted": len(accepted),
        "errors": {c.status for c in placed if c.status != 202},
        "threads": threads,
        "startup_s": startup_s,
        "orders_latency": [c.seconds for c in accepted],
        "baseline_latency": [c.seconds for c in baseline if c.status == 200],
        "baseline_errors": sum(c.status != 200 for c in baseline),
        "probe_latency": [c.seconds for c in prober.calls if c.status == 200],
        "webhook_latency": [c.seconds for c in hooks],
        "webhook_errors": sum(c.status != 200 for c in hooks),
        "delivered": len(end_to_end),
        "delivered_ids": list(end_to_end),
        "wall_s": last_shipped - first_post,
        "drained_s": drained - first_post,
        "phases": phases,
        "histories": histories,
        "a": a,
        "b": b,
        "notes": notes,
    }


def parse(argv: list[str] | None) -> Options:
    """Command-line options (environment variables give the defaults)."""
    parser = argparse.ArgumentParser(description="Orquesta bench on the embedded stack")
    env = os.environ.get
    parser.add_argument("--orders", type=int, default=int(env("BENCH_ORDERS", "200")))
    parser.add_argument("--threads", type=int, default=int(env("BENCH_THREADS", "12")))
    parser.add_argument("--delivered", type=int, default=int(env("BENCH_DELIVERED", "20")))
    parser.add_argument("--warmup", type=int, default=int(env("BENCH_WARMUP", "8")))
    parser.add_argument(
        "--budget",
        type=float,
        default=float(env("BENCH_BUDGET_S", "150")),
        help="seconds from the first POST to stop waiting for SHIPPED",
    )
    parser.add_argument(
        "--stored",
        type=int,
        default=int(env("BENCH_STORED", "20000")),
        help="orders stored by batch writes before measuring orders/s again (0: skip)",
    )
    args = parser.parse_args(argv)
    return Options(args.orders, args.threads, args.delivered, args.warmup, args.budget, args.stored)


def main(argv: list[str] | None = None) -> None:
    """Start the stack, run every phase, print, stop."""
    options = parse(argv)
    quiet()
    from infra.local.stack import free_port

    outbox = Path(tempfile.mkdtemp(prefix="orquesta-bench-outbox-"))
    env = dict(STACK_ENV)
    meters.install()
    stack = bench_stack_class()(port=free_port(), outbox=outbox, env=env)
    started = time.perf_counter()
    try:
        stack.start()
        raw = run(stack, options, time.perf_counter() - started)
        from chalicelib.composition import deps

        scale.progress("inventory race, hot SKU, SLA check reads ...")
        extras_started = time.perf_counter()
        extra = extras.run_extras(deps())
        raw["phases"]["inventory race, hot SKU, SLA check reads"] = (
            time.perf_counter() - extras_started
        )
        scale.progress("customer 360 (500 orders; 10,000 customers) ...")
        customers_started = time.perf_counter()
        extra["customer_360"] = customers.run_customer_360(stack.url, deps())
        raw["phases"]["customer 360 (500 orders; 10,000 customers)"] = (
            time.perf_counter() - customers_started
        )
        scale.progress("checkout (quotes, availability) ...")
        checkout_started = time.perf_counter()
        extra["checkout"] = checkout.run_checkout(stack.url)
        raw["phases"]["checkout (quotes, availability)"] = time.perf_counter() - checkout_started
        raw["after_stored"] = scale.after_stored(
            stack, options.stored, options.threads, options.budget, raw
        )
    finally:
        # Executions stopped while parked log an ERROR each; nothing to see at shutdown.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        stopping = time.perf_counter()
        stack.stop()
        shutil.rmtree(outbox, ignore_errors=True)
    raw["phases"]["stop (parked executions)"] = time.perf_counter() - stopping
    raw["total_s"] = time.perf_counter() - started
    fig = figures(raw)
    print("\n".join(report(raw, fig)), flush=True)
    print("\n".join(extras_report(extra)), flush=True)
    simulated = hot_sku.simulate(shards=4, offered_per_s=1000, seconds=10, stock=12_000)
    print(
        f"Hot SKU design (docs/hot-sku.md), simulated: 4 shards carry "
        f"{simulated.reservations_per_s:.0f} reservations/s, oversold {simulated.oversold}",
        flush=True,
    )
    # After the stack stopped, so its threads do not slow the fresh interpreters.
    scale.progress("cold import (5 fresh interpreters) ...")
    cold_import = cold_import_ms()
    print(f"Cold import of app (median of 5 fresh interpreters): {cold_import} ms", flush=True)
    line = summary(raw, fig) | {
        "reservations_per_s_hot_sku": extra["reservations_per_s_hot_sku"],
        "race_oversold": extra["race_oversold"],
        "sla_check_reads_1000": extra["sla_check_reads_1000"],
        "sla_check_reads_50000": extra["sla_check_reads_50000"],
        "hot_sku_sim_reservations_per_s": round(simulated.reservations_per_s, 1),
        "hot_sku_sim_oversold": simulated.oversold,
        "customer_360_p99_ms": extra["customer_360"]["customers_10000"]["p99_ms"],
        "customer_360_reads": extra["customer_360"]["customers_10000"]["requests"],
        "customer_360_items_read": extra["customer_360"]["customers_10000"]["items"],
        "quote_p99_ms": extra["checkout"]["quote"]["p99_ms"],
        "availability_p99_ms": extra["checkout"]["availability"]["p99_ms"],
        "cold_import_ms": cold_import,
        "deployment_zip_mb": scale.deployment_zip_mb(),
    }
    line |= scale.stored_figures(raw, fig)
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
