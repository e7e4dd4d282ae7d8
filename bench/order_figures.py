"""The bench's figures: per-order counts, latencies and dollars from its phases' counters.

Per-order figures are phase differences: (orders phase) / N + (delivery phase) / M. The
prices and the targets the printed report and the JSON line compare them with are here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from bench.lambda_cost import (
    API_HANDLER,
    HEADLINE_STAGE,
    LAMBDA_PER_GB_SECOND,
    gb_seconds,
    memory_mb,
)
from bench.load import BASELINE_PATH

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

# The goals of issue 13 (speed and cost), which replaced the first bench's (50 orders/s,
# p99 within 2x the baseline, 12 write units, $0.20 per 1,000 orders without SES, reads and
# Lambda compute): the report marks each figure against them.
TARGET_TRANSITIONS = 8
TARGET_INVOCATIONS = 12
TARGET_EMAILS = 3
TARGET_WRITE_UNITS = 30
TARGET_USD_PER_1000_ALL_IN = 0.55
TARGET_ORDERS_PER_S = 15
TARGET_P99_RATIO = 10.0


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
