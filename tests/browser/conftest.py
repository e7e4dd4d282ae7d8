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

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import order_body, signed_event
from tests.support.orders import wait_for_status
from tests.support.shop import RunningStack, Shop
from tests.support.stack_process import start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
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


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``python -m infra.local`` on free ports with demo data, for the browser tests."""
    stack = start_stack(tmp_path_factory.mktemp("console-stack"), 21600, 0, START_TIMEOUT)
    try:
        yield stack
    finally:
        stop_stack(stack, STOP_TIMEOUT)


@pytest.fixture(scope="module")
def console_shop(console_stack: RunningStack) -> Shop:
    """The browser tests' stack over HTTP."""
    return Shop(url=console_stack.url, outbox=console_stack.outbox)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save what the browser showed (``var/screenshots/``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _chromium(tmp_path_factory: pytest.TempPathFactory, *extra_flags: str) -> Iterator[Any]:
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
    for flag in (*CHROMIUM_FLAGS, *extra_flags):
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


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless chromium with a fresh profile, driven by selenium."""
    yield from _chromium(tmp_path_factory)


@pytest.fixture(scope="module")
def browser_without_javascript(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same chromium with JavaScript switched off, as some phones and readers have it."""
    yield from _chromium(tmp_path_factory, "--blink-settings=scriptEnabled=false")


@pytest.fixture(scope="module")
def shipped_order(console_shop: Shop) -> dict[str, Any]:
    """A web order placed over HTTP that has shipped, with an in-transit scan from its
    carrier: id, customer email, carrier and tracking number."""
    body = order_body()
    placed = console_shop.place_ok(body)
    order = wait_for_status(console_shop, placed["order_id"], "SHIPPED", settled=True)
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "in_transit")
    scanned = console_shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert scanned.status_code == 200, scanned.text
    return {
        "order_id": placed["order_id"],
        "email": body["customer"]["email"],
        "carrier": shipment["carrier"],
        "service_level": shipment["service_level"],
        "tracking_number": shipment["tracking_number"],
    }
