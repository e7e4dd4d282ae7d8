"""The OpenAPI document is the whole truth: schemathesis, run as a third party would run it
(``schemathesis run --checks all --exclude-checks unsupported_method``) against the local
stack, finds nothing, as the storefront and as ops.

It starts a stack of its own: schemathesis erases and merges the customers it creates (and
would erase any customer id it could read), so it must not share the stack the other
acceptance tests keep their customers in. TRACE is answered by the local HTTP server, not by
the app (``http.server``'s 501 for a method it does not know), so failures reported for
TRACE probes are left out, as ``../shared/tools/outside-checks`` leaves them out."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.shop import RunningStack
from tests.support.stack_process import ROOT, start_stack, stop_stack

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]

# Test cases per operation and phase: enough to cover every operation's schema and its
# negations, few enough to run both keys in a few minutes on two busy cores.
EXAMPLES = 20
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
# Generous: the run is bounded by EXAMPLES, this only stops a hung process.
RUN_TIMEOUT = 900


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack only schemathesis talks to (one per worker: each key's run has its own)."""
    stack = start_stack(tmp_path_factory.mktemp("schemathesis-stack"), 1, 5, START_TIMEOUT)
    yield stack
    stop_stack(stack, STOP_TIMEOUT)


def failures_by_operation(output: str) -> dict[str, set[str]]:
    """``{"POST /orders": {"ST202 Schema-valid request rejected"}}`` from schemathesis'
    report, leaving out TRACE probes (answered by the dev server, not the app)."""
    operation: str | None = None
    found: dict[str, set[str]] = {}
    for line in output.splitlines():
        header = re.match(r"^_+ ([A-Z]+ \S+) _+$", line.strip())
        if header:
            operation = header.group(1)
            continue
        failure = re.match(r"^- ([A-Z]+[0-9]+ .+)$", line.strip())
        if failure and operation and not operation.startswith("TRACE "):
            found.setdefault(operation, set()).add(failure.group(1))
    return found


def test_the_failure_parser_reads_failures_and_leaves_trace_out() -> None:
    report = "\n".join(
        [
            "_____ POST /customers _____",
            "1. Test Case ID: abc",
            "- ST202 Schema-valid request rejected",
            "_____ TRACE /catalog _____",
            "- ST101 Server error",
        ]
    )

    assert failures_by_operation(report) == {
        "POST /customers": {"ST202 Schema-valid request rejected"}
    }


def run_schemathesis(stack: RunningStack, key: str, workdir: Path) -> str:
    """The CLI in a subprocess, in ``workdir`` (it keeps a cache in ``.schemathesis/``
    where it runs), with the project's ``schemathesis.toml`` as a run from the project
    root reads it."""
    shutil.copy(ROOT / "schemathesis.toml", workdir / "schemathesis.toml")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{stack.url}/openapi.json",
        "--url",
        stack.url,
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        "all",
        "--exclude-checks",
        "unsupported_method",
        "--max-examples",
        str(EXAMPLES),
        "--request-timeout",
        "20",
        "--workers",
        "1",
        "--no-color",
    ]
    completed = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    return completed.stdout + completed.stderr


# A group each: the two runs, each on a stack of its own, go to two workers at once.
@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, marks=pytest.mark.xdist_group(f"schemathesis-{key}"))
        for key in ("demo-storefront", "demo-ops")
    ],
)
def test_schemathesis_finds_nothing(fuzzed_stack: RunningStack, key: str, tmp_path: Path) -> None:
    document = requests.get(f"{fuzzed_stack.url}/openapi.json", timeout=30).json()
    operations = sum(len(methods) for methods in document["paths"].values())

    output = run_schemathesis(fuzzed_stack, key, tmp_path)

    # Every documented operation was tried (but GET /openapi.json, the document itself,
    # which schemathesis leaves out), with test cases generated: a run that tests nothing
    # finds nothing.
    loaded = re.search(r"Operations: +(\d+) selected / (\d+) total", output)
    tested = re.search(r"Tested: (\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    assert loaded and int(loaded.group(2)) == operations - 1, output[-3000:]
    assert tested and int(tested.group(1)) == operations - 1, output[-3000:]
    assert generated and int(generated.group(1)) >= 10 * operations, output[-3000:]
    found = failures_by_operation(output)
    assert not found, json.dumps({op: sorted(kinds) for op, kinds in found.items()}, indent=1) + (
        "\n" + output[-20000:]
    )
    assert "unhandled error" not in fuzzed_stack.stdout(), fuzzed_stack.stdout()[-5000:]
