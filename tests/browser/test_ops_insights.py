"""The ops console's insight panels in a real (headless) chromium: satisfaction (CSAT
overall and by channel, carrier and store) and the opportunities followed up, each as the
ops API has them. Kept apart from ``test_ops_console*.py`` (the helpers of
``tests/support/console.py`` reused) to keep modules short; its own stack, so these figures
are the only ones on it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.support import OPS, STOREFRONT, order_body
from tests.support.console import element_screenshot, sign_in, wait_for
from tests.support.orders import delivered_by_its_carrier
from tests.support.shop import RunningStack, Shop

pytestmark = pytest.mark.xdist_group("browser")

SKU = "TSHIRT-BLK-M"
OPPORTUNITY_CELLS = (
    "const r = document.querySelector(`#opportunities tr[data-opportunity-id='${arguments[0]}']`);"
    "return r ? [...r.querySelectorAll('td')].map((c) => c.textContent) : null;"
)


def _answer_a_survey(shop: Shop, score: int) -> str:
    """A web order delivered by its carrier, its survey answered through the signed link
    the tracking JSON carries; the order id."""
    placed = shop.place_ok(order_body())
    delivered_by_its_carrier(shop, placed["order_id"])
    tracking = shop.get(urlparse(placed["tracking_url"]).path, {"Accept": "application/json"})
    answered = shop.post(urlparse(tracking.json()["survey_url"]).path, {"score": score})
    assert answered.status_code == 201, answered.text
    return str(placed["order_id"])


def _figures(value: float | None, digits: int, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def test_satisfaction_and_opportunities_are_shown_as_the_api_has_them(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    _answer_a_survey(console_shop, 5)
    email = f"vuelve-{uuid.uuid4().hex[:8]}@example.com"
    subscribed = console_shop.post(f"/inventory/{SKU}/subscriptions", {"email": email}, STOREFRONT)
    assert subscribed.status_code == 201, subscribed.text
    opportunity_id = f"opp_{subscribed.json()['subscription_id']}"
    report = requests.get(f"{console_stack.url}/analytics/satisfaction", headers=OPS, timeout=30)
    csat = report.json()
    assert csat["responses"] == 1 and csat["by_channel"]["web"]["responses"] == 1
    sign_in(browser, console_stack.url, "demo-ops")

    # Satisfaction: the overall figures and a row per channel, carrier and store, as the
    # API counts them.
    wait_for(
        browser,
        lambda d: (
            d.find_element("css selector", "#satisfaction-panel").get_attribute("data-responses")
            == "1"
        ),
    )
    shown = {
        key: browser.find_element("css selector", f"#csat-{key} .n").text
        for key in ("responses", "average", "pct")
    }
    assert shown == {
        "responses": "1",
        "average": _figures(csat["average"], 2),
        "pct": _figures(csat["csat_pct"], 1, "%"),
    }
    assert shown["pct"] == "100.0%"
    slices = browser.execute_script(
        "return [...document.querySelectorAll('#satisfaction-slices tr.csat-row')]"
        ".map((r) => [r.dataset.dimension, r.dataset.key,"
        " ...[...r.querySelectorAll('td')].map((c) => c.textContent)]);"
    )
    expected = [
        [
            field,
            key,
            key,
            str(f["responses"]),
            _figures(f["average"], 2),
            _figures(f["csat_pct"], 1, "%"),
        ]
        for field in ("by_channel", "by_carrier", "by_store")
        for key, f in csat[field].items()
    ]
    assert slices == expected
    assert {row[0] for row in slices} >= {"by_channel", "by_carrier"}

    # Opportunities: the new subscription is a back-in-stock row with no customer, told
    # at once since the web has the SKU (probe 224).
    def my_row(driver: Any) -> list[str] | None:
        driver.find_element("css selector", "#opportunities-refresh").click()
        found: list[str] | None = driver.execute_script(OPPORTUNITY_CELLS, opportunity_id)
        return found

    row = wait_for(browser, my_row)
    listed = requests.get(f"{console_stack.url}/ops/opportunities", headers=OPS, timeout=30)
    mine = next(o for o in listed.json()["opportunities"] if o["opportunity_id"] == opportunity_id)
    value = f"{mine['value']['amount']} {mine['value']['currency']}"
    assert row == ["back in stock", "notified", "—", "—", SKU, value]
    counts = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#opportunity-counts .count')]"
        ".map((t) => [t.dataset.status, Number(t.dataset.count)]));"
    )
    assert counts == {"open": 0, "notified": 1, "converted": 0, "lost": 0}
    assert len(browser.find_elements("css selector", "#opportunities tr.opportunity")) == 1
    element_screenshot(browser, "#insights", screenshots / "ops-insights.png")
