"""The console's opportunities panel past one page of the list, in a real (headless)
chromium: the newest page shown and said to be one page, and the older ones loaded on
asking. Its own stack, so these are the only opportunities on it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.services.opportunities import LIST_PAGE
from tests.support import STOREFRONT
from tests.support.console import element_screenshot, sign_in, visible, wait_for
from tests.support.shop import RunningStack, Shop

pytestmark = pytest.mark.xdist_group("browser")

ROWS = "#opportunities tr.opportunity"


def test_the_panel_shows_the_newest_page_and_loads_the_older_on_asking(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    # A review: the panel showed whatever one answer of the list held, and that answer
    # was the whole list; now the list comes a page at a time.
    made = []
    for n in range(LIST_PAGE + 1):
        sku = ("TSHIRT-BLK-M", "CAP-NAVY")[n % 2]
        body = {"email": f"w{n}-{uuid.uuid4().hex[:6]}@example.com"}
        subscribed = console_shop.post(f"/inventory/{sku}/subscriptions", body, STOREFRONT)
        assert subscribed.status_code == 201, subscribed.text
        made.append(f"opp_{subscribed.json()['subscription_id']}")
    sign_in(browser, console_stack.url, "demo-ops")

    older = wait_for(browser, visible("#opportunities-older"))
    shown = browser.find_elements("css selector", ROWS)
    assert len(shown) == LIST_PAGE
    assert shown[0].get_attribute("data-opportunity-id") == made[-1]  # newest first
    note = browser.find_element("css selector", "#opportunities-note").text
    assert note == f"The newest {LIST_PAGE} opportunities, counted above; older ones follow."
    element_screenshot(browser, "#opportunities-panel", screenshots / "ops-opportunity-pages.png")

    older.click()
    wait_for(browser, lambda d: len(d.find_elements("css selector", ROWS)) > LIST_PAGE)
    shown = browser.find_elements("css selector", ROWS)
    assert [row.get_attribute("data-opportunity-id") for row in shown] == list(reversed(made))
    assert not browser.find_element("css selector", "#opportunities-older").is_displayed()
