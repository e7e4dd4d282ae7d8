"""Lambda compute in the bench: the memory each function is deployed with, and GB-s per
order from how long each handler runs (bench/solo.py says why "alone" is the headline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LAMBDA_PER_GB_SECOND = 0.0000166667  # x86, us-east-1 list price
CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
API_HANDLER = "api_handler"
# The stage whose memory sizes the headline's Lambda GB-s: what the retailer pays.
HEADLINE_STAGE = "prod"
# For the GB-s sensitivity line only: how much longer an AWS call may take on AWS than
# moto takes to answer it in-process (single-digit milliseconds in-region).
AWS_CALL_WAIT_S = 0.005


def memory_mb(stage: str, function: str, config: dict[str, Any] | None = None) -> int:
    """The memory a function is deployed with (``.chalice/config.json``, Chalice's order:
    the stage's function, the stage, the function, the app; 128 MB, Chalice's default)."""
    if config is None:
        config = json.loads(CHALICE_CONFIG.read_text())
    stage_config = config.get("stages", {}).get(stage, {})
    for scope in (
        stage_config.get("lambda_functions", {}).get(function, {}),
        stage_config,
        config.get("lambda_functions", {}).get(function, {}),
        config,
    ):
        if "lambda_memory_size" in scope:
            return int(scope["lambda_memory_size"])
    return 128


def gb_seconds(
    steps: dict[str, float],
    step_seconds: dict[str, float],
    api: dict[str, float],
    api_seconds: dict[str, float],
    stage: str,
) -> float:
    """GB-s per order: each function's invocations x its mean in-process run (at least the
    1 ms Lambda bills) x the memory the stage configures for it."""
    config = json.loads(CHALICE_CONFIG.read_text())
    total = 0.0
    for runs, seconds, memory_of in (
        (steps, step_seconds, lambda name: memory_mb(stage, name, config)),
        (api, api_seconds, lambda _route: memory_mb(stage, API_HANDLER, config)),
    ):
        for name, count in runs.items():
            avg = seconds.get(name, 0.0) / count if count else 0.0
            total += count * max(0.001, avg) * memory_of(name) / 1024
    return total


def report_lines(fig: dict[str, Any]) -> list[str]:
    """The report's lines on Lambda compute: GB-s per stage, three ways, and why."""
    lines: list[str] = []
    out = lines.append
    out("  Lambda compute, GB-s per order by how each handler's run is timed:")
    for stage, seconds in fig["gb_seconds_by_stage"].items():
        memory = fig["memory_by_stage"][stage]
        figures_by_timing = (
            ("alone", seconds),
            ("under load", fig["gb_seconds_loaded_by_stage"][stage]),
            ("thread CPU", fig["gb_seconds_cpu_by_stage"][stage]),
        )
        shown = ", ".join(
            f"{label} {gb:.3f} (${gb * LAMBDA_PER_GB_SECOND * 1000:.4f})"
            for label, gb in figures_by_timing
        )
        out(f"    {stage}, {memory} MB: {shown}")
    calls = fig["ddb_requests"] + fig["sns"] + fig["emails"]
    wait_gb = calls * AWS_CALL_WAIT_S * fig["memory_by_stage"][HEADLINE_STAGE] / 1024
    out(
        f"    if each of the {calls:.0f} DynamoDB, SNS and SES calls per order waited"
        f" {AWS_CALL_WAIT_S * 1000:.0f} ms longer on AWS than in-process here:"
        f" +{wait_gb:.3f} GB-s, +${wait_gb * LAMBDA_PER_GB_SECOND * 1000:.4f} at"
        f" {HEADLINE_STAGE}'s memory (a sensitivity, not in the total)"
    )
    out(
        f"  The headline is {HEADLINE_STAGE}'s memory (what production pays) and each handler's"
        " median run when it ran alone (bench/solo.py): Lambda bills the handler's run, and each"
        " invocation has its own CPU. Under load the run also holds waits for the GIL and"
        " the table locks behind other requests (an upper bound); thread CPU leaves out the"
        " AWS calls (a lower bound)."
    )
    out("")
    return lines
