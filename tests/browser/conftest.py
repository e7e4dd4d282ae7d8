"""A real browser on the ops console: Debian's chromium, headless, driven by selenium
through /usr/bin/chromedriver, against ``python -m infra.local`` started in its own process
on free ports (as the acceptance tests do).

``make test`` installs chromium and chromium-driver first (``make browser-deps``); when
they are missing these tests fail and say so, they are never skipped.

Waits: ``ORQUESTA_TIME_SCALE=21600`` makes a 24 h delivery promise 4 s and the 30-day
return window 2 minutes; ``ORQUESTA_HANDLING_SECONDS=0`` ships an order as soon as it is
reserved.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.acceptance.client import RunningStack, Shop

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
_INHERITED_PREFIXES = ("ORQUESTA_", "MOTO_", "AWS_")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,1000",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stack_env() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_INHERITED_PREFIXES) and name != "PORT"
    }
    env.update(
        {
            "ORQUESTA_TIME_SCALE": "21600",
            "ORQUESTA_HANDLING_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _wait_for_health(stack: RunningStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise AssertionError(
                f"the stack exited with {stack.process.returncode}:\n{stack.stderr_tail()}"
            )
        try:
            response = requests.get(f"{stack.url}/health", timeout=2)
            if response.status_code == 200:
                return
            last = response.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"no /health within {START_TIMEOUT} s ({last!r}):\n{stack.stderr_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``python -m infra.local`` on free ports with demo data, for the browser tests."""
    workdir = tmp_path_factory.mktemp("console-stack")
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
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=_stack_env(), stdout=out, stderr=err)
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
        yield stack
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def console_shop(console_stack: RunningStack) -> Shop:
    """The browser tests' stack over HTTP."""
    return Shop(url=console_stack.url, outbox=console_stack.outbox)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save what the browser showed (``var/screenshots/``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless chromium with a fresh profile, driven by selenium."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, (
        f"{', '.join(missing)} not installed: run `make browser-deps` "
        "(apt-get install chromium chromium-driver); `make test` does it for you"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp_path_factory.mktemp("chromium-profile")
    options.add_argument(f"--user-data-dir={profile}")
    log_path = profile.parent / f"{profile.name}-chromedriver.log"
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log_path))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
