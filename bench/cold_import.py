"""The floor of a Lambda cold start: ``import app`` in a fresh interpreter, as every function
of the package does before its first event (each function's handler is an attribute of
``app``). The environment is a deployed function's (stage settings and the SSM parameter
names of its secrets, no local-stack variables); nothing is called, so no AWS is needed.

    .venv/bin/python -m bench.cold_import [RUNS]

prints the median wall milliseconds of RUNS (5) interpreters, with the bytecode cached
(a first, untimed run writes it), and their median CPU milliseconds (steadier than the wall
time on a shared machine); ``python -X importtime -c "import app"`` in the same
environment shows where they go.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Timed inside the child, so the interpreter's own start-up (the same for any app) is out.
_TIMED_IMPORT = """
import time
started, cpu_started = time.perf_counter(), time.process_time()
import app
print((time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000)
"""


def lambda_environment() -> dict[str, str]:
    """This process's environment as a deployed function would see it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    return env | {
        "ORQUESTA_STAGE": "dev",
        "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "eu-west-1"),
        "ORQUESTA_API_KEYS_PARAMETER": "/orquesta/dev/api-keys",
        "ORQUESTA_CARRIER_SECRET_PARAMETER": "/orquesta/dev/carrier-secrets",
        "ORQUESTA_TRACKING_SECRET_PARAMETER": "/orquesta/dev/tracking-secret",
    }


def write_bytecode(env: dict[str, str]) -> None:
    """Import ``app`` once so its modules' bytecode is cached, as a deployed package ships
    it: a development shell's PYTHONDONTWRITEBYTECODE=1 would otherwise leave every timed
    run compiling the app's modules from source."""
    subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        check=True,
    )


def cold_import_timings(runs: int = 5) -> tuple[float, float]:
    """The median wall and CPU milliseconds of ``import app`` over fresh interpreters."""
    env = lambda_environment()
    write_bytecode(env)
    wall, cpu = [], []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", _TIMED_IMPORT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        wall_ms, cpu_ms = result.stdout.strip().splitlines()[-1].split()
        wall.append(float(wall_ms))
        cpu.append(float(cpu_ms))
    return round(statistics.median(wall), 1), round(statistics.median(cpu), 1)


def cold_import_ms(runs: int = 5) -> float:
    """The median wall milliseconds of ``import app`` over fresh interpreters."""
    return cold_import_timings(runs)[0]


if __name__ == "__main__":
    wall_ms, cpu_ms = cold_import_timings(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(f"{wall_ms} ms wall ({cpu_ms} ms CPU)")
