"""The bench's printed report: the table of figures against their targets, and the
per-function, per-item, per-topic and per-price breakdowns, then the inventory, SLA-check
and customer 360 figures."""

from __future__ import annotations

import math
import os
from typing import Any

from bench import lambda_cost
from bench.lambda_cost import HEADLINE_STAGE
from bench.order_figures import (
    DDB_PER_WRITE_UNIT,
    PRICES_AS_OF,
    SANDBOX_KIND,
    TARGET_EMAILS,
    TARGET_INVOCATIONS,
    TARGET_ORDERS_PER_S,
    TARGET_P99_RATIO,
    TARGET_TRANSITIONS,
    TARGET_USD_PER_1000_ALL_IN,
    TARGET_WRITE_UNITS,
    ms,
)


def all_in_usd(fig: dict[str, Any]) -> float:
    """Dollars per 1,000 orders with what the target figure leaves apart."""
    return float(fig["usd_total"] + sum(fig["extra"].values()))


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
            f"<= {TARGET_P99_RATIO:.0f} x baseline p99 alone",
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
        (
            "Lambda invocations per order",
            f"{fig['invocations']:.2f}",
            f"<= {TARGET_INVOCATIONS}",
            verdict(fig["invocations"] <= TARGET_INVOCATIONS),
        ),
        (
            "DynamoDB write units per order",
            f"{fig['wru']:.2f} WRU",
            f"<= {TARGET_WRITE_UNITS}",
            verdict(fig["wru"] <= TARGET_WRITE_UNITS),
        ),
        ("DynamoDB read units per order", f"{fig['rru']:.2f} RRU", "(not a target)", ""),
        ("DynamoDB requests per order", f"{fig['ddb_requests']:.1f}", "(reads + writes)", ""),
        ("SNS publishes per order", f"{fig['sns']:.2f}", "", ""),
        (
            "emails per order",
            f"{fig['emails']:.2f}",
            f"<= {TARGET_EMAILS}",
            verdict(fig["emails"] <= TARGET_EMAILS),
        ),
        ("USD per 1,000 orders", f"${fig['usd_total']:.4f}", "(all in: next line)", ""),
        (
            "  ... all in (SES, reads, compute)",
            f"${all_in_usd(fig):.4f}",
            f"<= ${TARGET_USD_PER_1000_ALL_IN:.2f}",
            verdict(all_in_usd(fig) <= TARGET_USD_PER_1000_ALL_IN),
        ),
    ]
    for name, value, target, mark in rows:
        out(f"{name:<38}{value:>22}   {target:<22}{mark:>12}")
    out(rule)

    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in raw["phases"].items())
    out(f"Wall time: start {raw['startup_s']:.1f} s, {timings}; total {raw['total_s']:.1f} s.")
    out("")
    out("Transitions: '…StateEntered' events in the execution history of each delivered order,")
    out("read after the execution ended (its return window, a day here, ended by the run).")
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
    all_in = all_in_usd(fig)
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
