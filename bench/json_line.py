"""The bench's last line: one JSON object with its headline figures."""

from __future__ import annotations

import math
import os
from typing import Any

from bench.lambda_cost import HEADLINE_STAGE, LAMBDA_PER_GB_SECOND
from bench.order_figures import ms


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
