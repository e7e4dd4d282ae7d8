"""The local stack as a newcomer runs it: ``python -m infra.local`` in its own process, on
free ports, driven only over HTTP.

One process serves every acceptance test (session scope; the tests share one xdist group,
so they all run in the same worker). Tests stay independent by using fresh customers,
fresh idempotency keys and SKUs of their own.

Waits: ``ORQUESTA_TIME_SCALE=1200`` makes the express carrier's 24 h promise 72 s, a store's
48 h pick-up window 144 s and the 30-day return window 36 minutes, so nothing a test acts
within runs out under it, even on a slow, busy machine. ``ORQUESTA_HANDLING_SECONDS=6000``
(100 minutes of picking, 5 s here) leaves a placed order cancellable for a few seconds
before it ships; every test that waits for SHIPPED waits that much longer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.acceptance.client import RunningStack, Shop

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 1200
HANDLING_SECONDS = 5 * TIME_SCALE
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
# Settings a developer's shell (or another test's in-process stack) may have exported; the
# process under test must see only what ``make run`` would give it.
_INHERITED_PREFIXES = ("ORQUESTA_", "MOTO_", "AWS_")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``xdist_group`` tests in one worker under ``--dist loadgroup``.

    pytest-xdist 3.8 groups tests by appending ``@<group>`` to ``item._nodeid`` in the
    worker, but pytest 9.2 keeps node ids in ``item._id``, so the suffix is lost and grouped
    tests are spread over every worker (each acceptance worker would start its own stack).
    This does what xdist means to, once, for any test that carries the mark."""
    if not config.getoption("loadgroup", default=False) or not hasattr(config, "workerinput"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if not names:
            continue
        suffix = f"@{'_'.join(names)}"
        if not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(f"{item.nodeid}{suffix}")  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stack_env(port: int, moto_port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_INHERITED_PREFIXES) and name != "PORT"
    }
    env.update(
        {
            "ORQUESTA_TIME_SCALE": str(TIME_SCALE),
            "ORQUESTA_HANDLING_SECONDS": str(HANDLING_SECONDS),
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
        }
    )
    return env


def _wait_for_health(stack: RunningStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise AssertionError(
                f"the stack exited with {stack.process.returncode} before it was healthy:\n"
                f"{stack.stdout()}\n{stack.stderr_tail()}"
            )
        try:
            response = requests.get(f"{stack.url}/health", timeout=2)
            if response.status_code == 200 and response.json().get("status") == "ok":
                return
            last = (response.status_code, response.text[:200])
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(
        f"no healthy /health within {START_TIMEOUT} s (last: {last!r}):\n{stack.stderr_tail()}"
    )


def _stop(stack: RunningStack) -> int | None:
    """SIGTERM, as a process manager (or Ctrl-C) would; the return code, None if it hung."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
    try:
        return stack.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # PYTHONFAULTHANDLER makes SIGABRT dump every thread's stack to stderr: the report
        # then shows what the process was stuck in.
        stack.process.send_signal(signal.SIGABRT)
        try:
            stack.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait(timeout=10)
        return None


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``python -m infra.local`` on free ports with demo data; stopped with SIGTERM after
    the last acceptance test, which must end it cleanly (exit code 0)."""
    workdir = tmp_path_factory.mktemp("local-stack")
    outbox = workdir / "outbox"
    port, moto_port = _free_port(), _free_port()
    while moto_port == port:
        moto_port = _free_port()
    stdout_path, stderr_path = workdir / "stdout.txt", workdir / "stderr.txt"
    command = [
        sys.executable,
        "-m",
        "infra.local",
        "--port",
        str(port),
        "--moto-port",
        str(moto_port),
        "--outbox",
        str(outbox),
    ]
    # Output goes to files, not pipes: nobody has to keep reading them for the server to
    # keep answering.
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=ROOT, env=_stack_env(port, moto_port), stdout=out, stderr=err
        )
    stack = RunningStack(
        process=process,
        url=f"http://localhost:{port}",
        moto_port=moto_port,
        outbox=outbox,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )
    try:
        _wait_for_health(stack)
    except BaseException:
        _stop(stack)
        raise
    yield stack
    code = _stop(stack)
    assert code == 0, (
        f"the stack did not stop cleanly on SIGTERM within {STOP_TIMEOUT} s "
        f"(exit code {code}):\n{stack.stderr_tail(30000)}"
    )
    assert "stopping" in stack.stdout()


@pytest.fixture
def shop(local_stack: RunningStack) -> Shop:
    """The running stack's API and outbox."""
    return Shop(url=local_stack.url, outbox=local_stack.outbox)
