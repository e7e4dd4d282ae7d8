"""``python -m infra.local`` in its own process, on free ports, as a newcomer runs it: what
the acceptance and browser tests start, wait for and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.shop import RunningStack

ROOT = Path(__file__).resolve().parents[2]
# Settings a developer's shell (or another test's in-process stack) may have exported; the
# process under test must see only what ``make run`` would give it.
_INHERITED_PREFIXES = ("ORQUESTA_", "MOTO_", "AWS_")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_env(time_scale: int, handling_seconds: int) -> dict[str, str]:
    """This environment without the project's and AWS's settings, plus the time scale."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_INHERITED_PREFIXES) and name != "PORT"
    }
    env.update(
        {
            "ORQUESTA_TIME_SCALE": str(time_scale),
            "ORQUESTA_HANDLING_SECONDS": str(handling_seconds),
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
        }
    )
    return env


def start_stack(
    workdir: Path,
    time_scale: int,
    handling_seconds: int,
    start_timeout: float,
    settings: dict[str, str] | None = None,
) -> RunningStack:
    """Start the stack with demo data and wait until ``/health`` answers (stopping it again
    if it never does); ``settings``: variables a developer would export (ORQUESTA_API_KEYS)."""
    port, moto_port = free_port(), free_port()
    while moto_port == port:
        moto_port = free_port()
    outbox = workdir / "outbox"
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
            command,
            cwd=ROOT,
            env=stack_env(time_scale, handling_seconds) | (settings or {}),
            stdout=out,
            stderr=err,
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
        _wait_for_health(stack, start_timeout)
    except BaseException:
        stop_stack(stack, 10.0)
        raise
    return stack


def _wait_for_health(stack: RunningStack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
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
        f"no healthy /health within {timeout} s (last: {last!r}):\n{stack.stderr_tail()}"
    )


def stop_stack(stack: RunningStack, timeout: float) -> int | None:
    """SIGTERM, as a process manager (or Ctrl-C) would; the return code, None if it hung."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
    try:
        return stack.process.wait(timeout=timeout)
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
