"""``make bench``: what one web order costs on the embedded stack, and how fast it goes.

One process: the local stack (moto, the app's Lambda functions in-process, the Chalice
app over HTTP), plus a baseline route registered by this bench only (one conditional
``PutItem`` through the app's own DynamoDB client, same server, same run). Phases:

1. warm-up: a few orders and baseline requests, excluded from every figure;
2. baseline: N requests to ``POST /bench/baseline`` from T threads;
3. orders: N web orders from T threads (one ``requests.Session`` each), until SHIPPED;
4. delivery: a sample of M shipped orders gets its carrier's signed ``delivered`` webhook
   and runs to the end of its execution (the return window is set to its 1 s minimum so
   the execution really ends; the states it goes through are the same as with 30 days).

Per-order figures are phase differences: (orders phase) / N + (delivery phase) / M.
It prints a table and, as its last line, one JSON object. It never fails on time.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import checkout, customers, extras, hot_sku, lambda_cost, meters, scale, solo
from bench.cold_import import cold_import_ms
from bench.lambda_cost import (
    API_HANDLER,
    HEADLINE_STAGE,
    LAMBDA_PER_GB_SECOND,
    gb_seconds,
    memory_mb,
)

BASELINE_PATH = "/bench/baseline"
ORDERS_ROUTE = "POST /orders"
WEBHOOK_ROUTE = "POST /carriers/{carrier}/events"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

# List prices, us-east-1 (eu-west-1 is the same for Step Functions, Lambda, SNS and SES).
SFN_PER_TRANSITION = 0.025 / 1_000  # Standard workflows
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
# DynamoDB on-demand, Standard table class, us-east-1, today's list price: since 1 Nov 2024
# $0.625 per million write request units and $0.125 per million read request units (half
# the $1.25 / $0.25 listed before; aws.amazon.com/dynamodb/pricing/on-demand/).
DDB_PER_WRITE_UNIT = 0.625 / 1_000_000
DDB_PER_READ_UNIT = 0.125 / 1_000_000
PRICES_AS_OF = "list prices of 2026, us-east-1; DynamoDB on-demand as cut on 1 Nov 2024"
SNS_PER_PUBLISH = 0.50 / 1_000_000
SES_PER_EMAIL = 0.10 / 1_000

# The sandbox payment gateway keeps its ledger in our table, standing in for a payment
# provider that keeps its own: its writes are in the total, and the total is also shown
# without them.
SANDBOX_KIND = "SANDBOXPAY"

TARGET_TRANSITIONS = 8
TARGET_WRITE_UNITS = 12
TARGET_USD_PER_1000 = 0.20
TARGET_ORDERS_PER_S = 50
TARGET_P99_RATIO = 2.0

SKUS = [
    "TSHIRT-BLK-M",
    "TSHIRT-BLK-L",
    "TSHIRT-WHT-M",
    "TSHIRT-WHT-L",
    "JEANS-32",
    "JEANS-34",
    "HOODIE-GRY-M",
    "HOODIE-GRY-L",
    "JACKET-DEN",
    "COAT-WOOL",
    "SNEAKER-40",
    "SNEAKER-42",
    "SNEAKER-44",
    "BOOT-41",
    "BOOT-43",
    "SOCKS-3P",
    "BELT-LEA",
    "CAP-NAVY",
    "SCARF-WOOL",
    "BAG-TOTE",
    "BACKPACK-20",
    "WALLET-LEA",
    "SUNGLASS-01",
    "WATCH-STEEL",
    "DRESS-SUM",
    "SKIRT-MIDI",
    "SHIRT-OXF-M",
    "SHIRT-OXF-L",
    "SWEATER-CRW",
    "UMBRELLA",
]


# The stack, with the bench's baseline route ----------------------------------------------
def add_baseline_route(chalice_app: Any) -> None:
    """``POST /bench/baseline``: one conditional put through the app's DynamoDB client.
    Registered on the app object in this process only; the product app has no such route."""
    if any(path == BASELINE_PATH for path in chalice_app.routes):
        return
    from chalicelib.composition import deps

    @chalice_app.route(BASELINE_PATH, methods=["POST"], content_types=["*/*"])
    def bench_baseline() -> dict[str, Any]:
        app_deps = deps()
        app_deps.store.table.client.put_item(
            TableName=app_deps.settings.table_name,
            Item={"pk": {"S": f"BENCH#{uuid.uuid4().hex}"}, "sk": {"S": "BENCH"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return {"ok": True}


def bench_stack_class() -> type:
    """``LocalStack`` that adds the baseline route after importing the app and before
    serving it (Chalice's local gateway reads ``app.routes`` when it is created)."""
    from infra.local.stack import LocalStack

    class BenchStack(LocalStack):
        def _serve(self, chalice_app: Any) -> None:
            add_baseline_route(chalice_app)
            super()._serve(chalice_app)

    return BenchStack


def quiet() -> None:
    """No per-request log lines from the dev server, no INFO lines from the app."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_message = lambda self, *args: None  # type: ignore[method-assign]


# HTTP load ---------------------------------------------------------------------------------
@dataclass
class Call:
    """One HTTP request the bench made."""

    route: str
    status: int
    seconds: float
    started: float
    body: dict[str, Any] = field(default_factory=dict)


def drive(
    url: str,
    jobs: list[Callable[[Any, str], Call]],
    threads: int,
) -> list[Call]:
    """Run ``jobs`` from ``threads`` workers, each with its own ``requests.Session``."""
    import requests

    local = threading.local()
    sessions: list[Any] = []
    sessions_lock = threading.Lock()

    def session() -> Any:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            with sessions_lock:
                sessions.append(local.session)
        return local.session

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-client") as pool:
        calls = list(pool.map(lambda job: job(session(), url), jobs))
    for each in sessions:
        each.close()
    return calls


def timed_post(
    session: Any, url: str, route: str, path: str, data: bytes, headers: dict[str, str]
) -> Call:
    """POST and time it; the body is parsed when it is JSON."""
    started = time.perf_counter()
    response = session.post(url + path, data=data, headers=headers, timeout=60)
    seconds = time.perf_counter() - started
    meters.add(f"api.{route}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    parsed = body if isinstance(body, dict) else {}
    return Call(route, response.status_code, seconds, started, parsed)


def web_order(index: int) -> dict[str, Any]:
    """A web order with two lines (two SKUs, one unit each), shipped within Spain: one
    fulfillment from the warehouse, carrier ``rapido``, a new customer every time."""
    from tests.support import order_body

    first, second = SKUS[index % len(SKUS)], SKUS[(index * 7 + 3) % len(SKUS)]
    if first == second:
        second = SKUS[(index + 1) % len(SKUS)]
    return order_body(
        lines=[
            {"sku": first, "quantity": 1, "fulfillment": "ship"},
            {"sku": second, "quantity": 1, "fulfillment": "ship"},
        ]
    )


def order_job(index: int) -> Callable[[Any, str], Call]:
    """POST /orders with a fresh Idempotency-Key."""
    from tests.support import JSON, STOREFRONT, idempotency_key

    data = json.dumps(web_order(index)).encode()
    headers = STOREFRONT | JSON | idempotency_key()
    return lambda session, url: timed_post(session, url, ORDERS_ROUTE, "/orders", data, headers)


def baseline_job(index: int) -> Callable[[Any, str], Call]:
    """POST /bench/baseline with the same body and headers an order sends."""
    from tests.support import JSON, STOREFRONT, idempotency_key

    data = json.dumps(web_order(index)).encode()
    headers = STOREFRONT | JSON | idempotency_key()
    return lambda session, url: timed_post(
        session, url, f"POST {BASELINE_PATH}", BASELINE_PATH, data, headers
    )


def webhook_job(carrier: str, tracking_number: str) -> Callable[[Any, str], Call]:
    """The carrier's signed ``delivered`` event (signed when sent: 300 s tolerance)."""
    from tests.support import signed_event

    def job(session: Any, url: str) -> Call:
        data, headers = signed_event(tracking_number)
        return timed_post(session, url, WEBHOOK_ROUTE, f"/carriers/{carrier}/events", data, headers)

    return job


class Prober:
    """One extra client calling the baseline every ``every`` seconds while orders run, to
    show how much of the orders' latency is the load around them rather than the route."""

    def __init__(self, url: str, every: float = 0.05) -> None:
        self.url = url
        self.every = every
        self.calls: list[Call] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-probe", daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        import requests

        with requests.Session() as session:
            index = 0
            while not self._stop.wait(self.every):
                self.calls.append(baseline_job(index)(session, self.url))
                index += 1


# Waiting -----------------------------------------------------------------------------------
def wait_until(probe: Callable[[], bool], timeout: float, every: float = 0.02) -> bool:
    """Poll ``probe`` until it is true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(every)
    return probe()


def invocations(stack: Any, name: str) -> int:
    """How often the stack has invoked one Lambda handler."""
    return int(stack.lambdas.invocations.get(name, 0))


def settle(stack: Any, parked_before: int, parked: int, timeout: float) -> bool:
    """Wait until ``parked`` more executions have parked their delivery token, then for
    every queued SNS delivery."""
    ok = wait_until(
        lambda: invocations(stack, "dispatch_fulfillment") >= parked_before + parked, timeout
    )
    return drain(stack, timeout) and ok


def drain(stack: Any, timeout: float) -> bool:
    """Wait for queued SNS deliveries; False if some were still queued after ``timeout``."""
    from concurrent.futures import TimeoutError as FutureTimeout

    try:
        stack.lambdas.drain(timeout=timeout)
    except FutureTimeout:
        return False
    return True


def counters(stack: Any) -> dict[str, float]:
    """Every meter, plus the stack's Lambda invocations, now."""
    values = meters.snapshot()
    for name, count in dict(stack.lambdas.invocations).items():
        values[f"lambda.invocations.{name}"] = float(count)
    return values


# Figures -----------------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    """Seconds to milliseconds, 2 decimals."""
    return round(seconds * 1000, 2)


def per_order(a: dict[str, float], n: int, b: dict[str, float], m: int, prefix: str) -> dict:
    """``a/n + b/m`` for every counter under ``prefix``, keyed by the rest of the name."""
    out: dict[str, float] = {}
    for values, count in ((a, n), (b, m)):
        for key, value in values.items():
            if key.startswith(prefix) and count:
                name = key[len(prefix) :]
                out[name] = out.get(name, 0.0) + value / count
    return out


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

    def finished() -> bool:
        statuses = [sfn.describe_execution(executionArn=arns[i])["status"] for i in sample]
        return all(status in TERMINAL for status in statuses)

    if not wait_until(finished, 60, every=0.25):
        notes.append("some delivered executions had not ended after 60 s")
    if not drain(stack, 30):
        notes.append("SNS deliveries were still queued 30 s after the sample ended")
    after_b = counters(stack)
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


def figures(raw: dict[str, Any]) -> dict[str, Any]:
    """Per-order figures and dollars from the raw phase differences."""
    n, m, a, b = raw["n"], raw["m"], raw["a"], raw["b"]
    api = per_order(a, n, b, m, "api.")
    api = {route: count for route, count in api.items() if BASELINE_PATH not in route}
    steps = per_order(a, n, b, m, "lambda.invocations.")
    lambda_seconds = per_order(a, n, b, m, "lambda.seconds.")
    writes = per_order(a, n, b, m, "ddb.write.units.")
    writes = {key: value for key, value in writes.items() if not key.endswith(".BENCH")}
    write_requests = per_order(a, n, b, m, "ddb.write.requests.")
    write_requests = {k: v for k, v in write_requests.items() if not k.endswith(".BENCH")}
    failed = per_order(a, n, b, m, "ddb.write.failed.")
    reads = per_order(a, n, b, m, "ddb.read.units.")
    read_requests = per_order(a, n, b, m, "ddb.read.requests.")
    publishes = per_order(a, n, b, m, "sns.publish.")
    emails = sum(per_order(a, n, b, m, "ses.messages").values())
    counts = [count for count, _, _ in raw["histories"]]
    transitions = sum(counts) / len(counts) if counts else math.nan
    invocations_total = sum(api.values()) + sum(steps.values())
    wru = sum(writes.values())
    rru = sum(reads.values())
    sns = sum(publishes.values())

    # GB-s: every handler by its run measured in-process (API requests too: Lambda bills the
    # handler's run, not the client's wait, which holds the local gateway's queue), at the
    # memory each stage configures; the headline is the production stage's.
    api_seconds = per_order(a, n, b, m, "lambda.api_seconds.")
    loaded_by_stage = {
        stage: gb_seconds(steps, lambda_seconds, api, api_seconds, stage)
        for stage in ("dev", HEADLINE_STAGE)
    }
    # The headline: each handler's median run when it ran alone (bench/solo.py), times its
    # invocations per order; a handler not seen alone keeps its run under load.
    alone = raw.get("solo", {}).get("median_seconds", {})

    def alone_seconds(runs: dict[str, float], loaded: dict[str, float]) -> dict[str, float]:
        return {
            name: count * alone[name] if name in alone else loaded.get(name, 0.0)
            for name, count in runs.items()
        }

    gb_by_stage = {
        stage: gb_seconds(
            steps,
            alone_seconds(steps, lambda_seconds),
            api,
            alone_seconds(api, api_seconds),
            stage,
        )
        for stage in ("dev", HEADLINE_STAGE)
    }
    # The same by the CPU each handler's thread used: a lower bound (it leaves out the
    # waits for DynamoDB and the other services, which are in-process here).
    gb_cpu_by_stage = {
        stage: gb_seconds(
            steps,
            per_order(a, n, b, m, "lambda.cpu_seconds."),
            api,
            per_order(a, n, b, m, "lambda.api_cpu_seconds."),
            stage,
        )
        for stage in ("dev", HEADLINE_STAGE)
    }
    gb_seconds_headline = gb_by_stage[HEADLINE_STAGE]
    sandbox_wru = sum(v for k, v in writes.items() if k.endswith(f".{SANDBOX_KIND}"))
    gsi_wru = sum(v for k, v in writes.items() if k.startswith("GSI "))

    usd = {
        "step_functions": transitions * SFN_PER_TRANSITION * 1000,
        "lambda_requests": invocations_total * LAMBDA_PER_REQUEST * 1000,
        "dynamodb_writes": wru * DDB_PER_WRITE_UNIT * 1000,
        "sns": sns * SNS_PER_PUBLISH * 1000,
    }
    extra = {
        "lambda_gb_s_estimate": gb_seconds_headline * LAMBDA_PER_GB_SECOND * 1000,
        "dynamodb_reads": rru * DDB_PER_READ_UNIT * 1000,
        "ses_emails": emails * SES_PER_EMAIL * 1000,
    }
    orders_p50 = percentile(raw["orders_latency"], 50)
    orders_p99 = percentile(raw["orders_latency"], 99)
    baseline_p99 = percentile(raw["baseline_latency"], 99)
    return {
        "api": api,
        "steps": steps,
        "lambda_seconds": lambda_seconds,
        "writes": writes,
        "write_requests": write_requests,
        "failed_writes": failed,
        "reads": reads,
        "ddb_requests": sum(write_requests.values()) + sum(read_requests.values()),
        "publishes": publishes,
        "emails": emails,
        "transitions": transitions,
        "invocations": invocations_total,
        "wru": wru,
        "rru": rru,
        "sns": sns,
        "gb_seconds": gb_seconds_headline,
        "gb_seconds_by_stage": gb_by_stage,
        "gb_seconds_cpu_by_stage": gb_cpu_by_stage,
        "gb_seconds_loaded_by_stage": loaded_by_stage,
        "alone": alone,
        "memory_by_stage": {
            stage: memory_mb(stage, API_HANDLER) for stage in ("dev", HEADLINE_STAGE)
        },
        "api_seconds": api_seconds,
        "wru_sandbox": sandbox_wru,
        "wru_gsi": gsi_wru,
        "usd": usd,
        "usd_total": sum(usd.values()),
        "extra": extra,
        "orders_p50": orders_p50,
        "orders_p99": orders_p99,
        "baseline_p50": percentile(raw["baseline_latency"], 50),
        "baseline_p99": baseline_p99,
        "probe_p50": percentile(raw["probe_latency"], 50),
        "probe_p99": percentile(raw["probe_latency"], 99),
        "webhook_p50": percentile(raw["webhook_latency"], 50),
        "webhook_p99": percentile(raw["webhook_latency"], 99),
        "orders_per_s": raw["n"] / raw["wall_s"] if raw["wall_s"] > 0 else math.nan,
        "drained_per_s": raw["n"] / raw["drained_s"] if raw["drained_s"] > 0 else math.nan,
        "p99_ratio": orders_p99 / baseline_p99 if baseline_p99 else math.nan,
    }


def verdict(ok: bool) -> str:
    """The target column's mark."""
    return "met" if ok else "NOT met"


def report(raw: dict[str, Any], fig: dict[str, Any]) -> list[str]:
    """The human-readable table."""
    cores = os.cpu_count() or 0
    lines: list[str] = []
    out = lines.append
    rule = "-" * 98
    out("")
    out(
        f"Orquesta bench: {raw['n']} web orders to SHIPPED ({raw['threads']} client threads, "
        f"{cores} cores), {raw['m']} of them delivered and closed; stack start "
        f"{raw['startup_s']:.1f} s"
    )
    out(rule)
    out(f"{'figure':<38}{'measured':>22}   {'target':<22}{'':>12}")
    out(rule)
    rows = [
        (
            "orders per second (to SHIPPED)",
            f"{fig['orders_per_s']:.1f} orders/s",
            f">= {TARGET_ORDERS_PER_S} on 2 cores",
            verdict(fig["orders_per_s"] >= TARGET_ORDERS_PER_S),
        ),
        (
            "  ... until emails etc. are done",
            f"{fig['drained_per_s']:.1f} orders/s",
            "(SNS subscribers drained)",
            "",
        ),
        ("POST /orders p50", f"{ms(fig['orders_p50']):.1f} ms", "", ""),
        (
            "POST /orders p99",
            f"{ms(fig['orders_p99']):.1f} ms",
            f"<= {TARGET_P99_RATIO:.0f} x baseline p99",
            verdict(fig["p99_ratio"] <= TARGET_P99_RATIO),
        ),
        (
            "baseline p99 (p50), alone",
            f"{ms(fig['baseline_p99']):.1f} ms ({ms(fig['baseline_p50']):.1f})",
            f"ratio {fig['p99_ratio']:.1f} x",
            "",
        ),
        (
            "baseline p99 (p50), during orders",
            f"{ms(fig['probe_p99']):.1f} ms ({ms(fig['probe_p50']):.1f})",
            "1 extra client, 20/s",
            "",
        ),
        (
            "carrier webhook p99 (p50)",
            f"{ms(fig['webhook_p99']):.1f} ms ({ms(fig['webhook_p50']):.1f})",
            "",
            "",
        ),
        (
            "state transitions per order",
            f"{fig['transitions']:.1f}",
            f"<= {TARGET_TRANSITIONS}",
            verdict(fig["transitions"] <= TARGET_TRANSITIONS),
        ),
        ("Lambda invocations per order", f"{fig['invocations']:.2f}", "", ""),
        (
            "DynamoDB write units per order",
            f"{fig['wru']:.2f} WRU",
            f"<= {TARGET_WRITE_UNITS}",
            verdict(fig["wru"] <= TARGET_WRITE_UNITS),
        ),
        ("DynamoDB read units per order", f"{fig['rru']:.2f} RRU", "(not a target)", ""),
        ("DynamoDB requests per order", f"{fig['ddb_requests']:.1f}", "(reads + writes)", ""),
        ("SNS publishes per order", f"{fig['sns']:.2f}", "", ""),
        ("emails per order", f"{fig['emails']:.2f}", "", ""),
        (
            "USD per 1,000 orders",
            f"${fig['usd_total']:.4f}",
            f"<= ${TARGET_USD_PER_1000:.2f}",
            verdict(fig["usd_total"] <= TARGET_USD_PER_1000),
        ),
    ]
    for name, value, target, mark in rows:
        out(f"{name:<38}{value:>22}   {target:<22}{mark:>12}")
    out(rule)

    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in raw["phases"].items())
    out(f"Wall time: start {raw['startup_s']:.1f} s, {timings}; total {raw['total_s']:.1f} s.")
    out("")
    out("Transitions: '…StateEntered' events in the execution history of each delivered order,")
    out("read after the execution ended (return window 1 s here; the states are those of 30 d).")
    counts = [count for count, _, _ in raw["histories"]]
    if raw["histories"]:
        _, names, status = raw["histories"][0]
        out(
            f"  {len(counts)} orders: min {min(counts)}, max {max(counts)}; "
            f"e.g. ({status}): {', '.join(names)}"
        )
    out("")
    out("Lambda invocations per order, by function (API requests = API Gateway invocations):")
    for route, count in sorted(fig["api"].items()):
        seconds = fig["api_seconds"].get(route, 0.0)
        avg = ms(seconds / count) if count else 0.0
        alone = ms(fig["alone"][route]) if route in fig["alone"] else math.nan
        out(
            f"  {'API ' + route:<52}{count:>8.2f}   avg {avg:.1f} ms in-process,"
            f" {alone:.1f} ms alone"
        )
    for name, count in sorted(fig["steps"].items()):
        seconds = fig["lambda_seconds"].get(name, 0.0)
        avg = ms(seconds / count) if count else 0.0
        alone = ms(fig["alone"][name]) if name in fig["alone"] else math.nan
        out(f"  {name:<52}{count:>8.2f}   avg {avg:.1f} ms in-process, {alone:.1f} ms alone")
    out(f"  {'total':<52}{fig['invocations']:>8.2f}")
    out("")
    out("DynamoDB write units per order, by operation and item (requests in brackets):")
    out("  ceil(max(item before, item after) / 1 KB) per write, x2 per item of a")
    out("  TransactWriteItems, refused conditional writes included; 'GSI <index>' rows are")
    out("  the index writes AWS bills on top (bench/meters.py); measured on moto's")
    out("  backend; bench-only BENCH# items excluded.")
    for key, units in sorted(fig["writes"].items(), key=lambda kv: -kv[1]):
        requests = fig["write_requests"].get(key, 0.0)
        refused = fig["failed_writes"].get(key, 0.0)
        extra = f", {refused:.2f} refused" if refused else ""
        out(f"  {key:<52}{units:>8.2f}   ({requests:.2f}{extra})")
    out(f"  {'total':<52}{fig['wru']:>8.2f}")
    out(f"  {'  of which GSI writes':<52}{fig['wru_gsi']:>8.2f}")
    out(
        f"  {'  of which the sandbox gateway (' + SANDBOX_KIND + ')':<52}{fig['wru_sandbox']:>8.2f}"
    )
    out(f"  {'total without the sandbox gateway':<52}{fig['wru'] - fig['wru_sandbox']:>8.2f}")
    out("")
    out("SNS publishes per order, by topic:")
    for topic, count in sorted(fig["publishes"].items()):
        out(f"  {topic:<52}{count:>8.2f}")
    out("")
    out(f"USD per 1,000 orders at today's list prices ({PRICES_AS_OF}):")
    prices = {
        "step_functions": "Step Functions Standard, $0.025 per 1,000 transitions",
        "lambda_requests": "Lambda requests, $0.20 per 1M",
        "dynamodb_writes": "DynamoDB on-demand writes, $0.625 per 1M WRU (GSI incl.)",
        "sns": "SNS publishes, $0.50 per 1M",
    }
    for key, label in prices.items():
        out(f"  {label:<60}${fig['usd'][key]:>9.4f}")
    out(f"  {'total (the target figure)':<60}${fig['usd_total']:>9.4f}")
    out("  apart, not in the total:")
    headline_mb = fig["memory_by_stage"][HEADLINE_STAGE]
    extras = {
        "lambda_gb_s_estimate": f"Lambda compute, {HEADLINE_STAGE}: {headline_mb} MB x run alone",
        "dynamodb_reads": "DynamoDB on-demand reads, $0.125 per 1M RRU",
        "ses_emails": "SES emails, $0.10 per 1,000",
    }
    for key, label in extras.items():
        out(f"  {label:<60}${fig['extra'][key]:>9.4f}")
    all_in = fig["usd_total"] + sum(fig["extra"].values())
    out(f"  {'all in':<60}${all_in:>9.4f}")
    sandbox_usd = fig["wru_sandbox"] * DDB_PER_WRITE_UNIT * 1000
    out(f"  {'all in, without the sandbox gateway writes':<60}${all_in - sandbox_usd:>9.4f}")
    lines.extend(lambda_cost.report_lines(fig))
    problems = list(raw["notes"])
    if raw["errors"]:
        problems.append(f"POST /orders answered {sorted(raw['errors'])} to some requests")
    if raw["baseline_errors"]:
        problems.append(f"{raw['baseline_errors']} baseline requests failed")
    if raw["webhook_errors"]:
        problems.append(f"{raw['webhook_errors']} webhooks failed")
    if raw["delivered"] < raw["m"]:
        problems.append(f"only {raw['delivered']} of {raw['m']} sampled orders were DELIVERED")
    for problem in problems:
        out(f"NOTE: {problem}")
    out("")
    return lines


def summary(raw: dict[str, Any], fig: dict[str, Any]) -> dict[str, Any]:
    """The last line's JSON object."""

    def r(value: float, digits: int = 2) -> float | None:
        return None if math.isnan(value) else round(value, digits)

    return {
        "orders": raw["n"],
        "delivered_sample": raw["m"],
        "threads": raw["threads"],
        "cores": os.cpu_count(),
        "orders_per_s": r(fig["orders_per_s"]),
        "orders_per_s_drained": r(fig["drained_per_s"]),
        "post_orders_p50_ms": r(ms(fig["orders_p50"])),
        "post_orders_p99_ms": r(ms(fig["orders_p99"])),
        "baseline_p99_ms": r(ms(fig["baseline_p99"])),
        "baseline_p99_during_orders_ms": r(ms(fig["probe_p99"])),
        "transitions_per_order": r(fig["transitions"]),
        "lambda_invocations_per_order": r(fig["invocations"]),
        "dynamodb_write_units_per_order": r(fig["wru"]),
        "dynamodb_read_units_per_order": r(fig["rru"]),
        "sns_publishes_per_order": r(fig["sns"]),
        "emails_per_order": r(fig["emails"]),
        "usd_per_1000_orders": r(fig["usd_total"], 4),
        "usd_per_1000_orders_apart": {k: r(v, 4) for k, v in fig["extra"].items()},
        "usd_per_1000_orders_all_in": r(fig["usd_total"] + sum(fig["extra"].values()), 4),
        "dynamodb_gsi_write_units_per_order": r(fig["wru_gsi"]),
        "dynamodb_write_units_per_order_without_sandbox": r(fig["wru"] - fig["wru_sandbox"]),
        "lambda_memory_mb_headline": fig["memory_by_stage"][HEADLINE_STAGE],
        "lambda_gb_s_usd_under_load": r(
            fig["gb_seconds_loaded_by_stage"][HEADLINE_STAGE] * LAMBDA_PER_GB_SECOND * 1000, 4
        ),
        "lambda_gb_s_usd_by_thread_cpu": r(
            fig["gb_seconds_cpu_by_stage"][HEADLINE_STAGE] * LAMBDA_PER_GB_SECOND * 1000, 4
        ),
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
    env = {
        # A 24 h SLA stays 24 h: no delivery wait runs out during the run.
        "ORQUESTA_TIME_SCALE": "1",
        "ORQUESTA_HANDLING_SECONDS": "0",
        # The return window at its 1 s minimum, so delivered executions end in the run.
        "ORQUESTA_RETURN_WINDOW_DAYS": "0",
    }
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


def extras_report(extra: dict[str, Any]) -> list[str]:
    """The inventory and SLA-check figures, readable."""
    race = extra["race"]
    sla = extra["sla_check"]
    return [
        "",
        "Inventory and SLA check (through the app's store on the local stack):",
        f"  hot SKU, 8 threads on one stock item    {extra['reservations_per_s_hot_sku']:.1f}"
        " reservations/s (moto serialises DynamoDB: one lock)",
        f"  race: {race['attempts']} one-unit reservations for {race['units']} units"
        f"    {race['won']} won, oversold {race['oversold']}",
        f"  SLA check with 1,000 delivered shipments    {sla['1000']['pages']} index pages,"
        f" {sla['1000']['items']} overdue ({sla['1000']['ms_on_moto']} ms on moto)",
        f"  SLA check with 50,000 delivered shipments   {sla['50000']['pages']} index pages,"
        f" {sla['50000']['items']} overdue ({sla['50000']['ms_on_moto']} ms on moto, which"
        " reads the whole table for any index query; DynamoDB reads only the index)",
        *customer_360_report(extra["customer_360"]),
    ]


def customer_360_report(figures: dict[str, Any]) -> list[str]:
    """GET /customers/{id} for a 500-order customer, with few and with 10,000 customers."""
    orders = figures["orders"]
    lines = ["", f"Customer 360 (GET /customers/{{id}}, a customer with {orders} orders):"]
    for key, label in (("few_customers", "few customers"), ("customers_10000", "10,000 customers")):
        view = figures[key]
        lines.append(
            f"  with {label:<17} p50 {view['p50_ms']:>6.1f} ms  p99 {view['p99_ms']:>6.1f} ms"
            f"  {view['requests']:.0f} DynamoDB reads, {view['items']:.0f} items,"
            f" {view['read_units']:.1f} RRU per view"
        )
    return lines


if __name__ == "__main__":
    main()
