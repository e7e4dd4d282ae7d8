"""The ops console's promotions and campaigns in a real (headless) chromium: a coupon
created with the form (a bad one refused naming the field), listed with its live
redemptions as orders use it, and the campaign table as the API counts it. Its own
stack (module-scoped ``console_stack``), so these are the only orders on it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium.webdriver.support.ui import Select

from tests.support import OPS, STOREFRONT, order_body
from tests.support.console import element_screenshot, lines_of, sign_in, visible, wait_for
from tests.support.shop import RunningStack, Shop

pytestmark = pytest.mark.xdist_group("browser")

ROW_CELLS = (
    "const [table, key, value] = arguments;"
    "const r = document.querySelector(`#${table} tr[data-${key}='${value}']`);"
    "return r ? [...r.querySelectorAll('td')].map((c) => c.textContent) : null;"
)


def _type(browser: Any, selector: str, text: str) -> None:
    field = browser.find_element("css selector", selector)
    field.clear()
    field.send_keys(text)


def test_a_coupon_made_in_the_console_is_listed_with_its_redemptions_and_campaign(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    code = f"VERANO{uuid.uuid4().hex[:6].upper()}"
    campaign = f"verano-{uuid.uuid4().hex[:6]}"
    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#promotion-form"))

    # A percent coupon without its value is refused, naming the field; nothing is created.
    _type(browser, "#promo-name", "Verano")
    _type(browser, "#promo-code", code)
    browser.find_element("css selector", "#promo-submit").click()
    error = wait_for(browser, visible("#promo-error"))
    assert "value" in error.text
    listed = requests.get(f"{console_stack.url}/promotions", headers=OPS, timeout=30).json()
    assert all(p["code"] != code for p in listed["promotions"])

    _type(browser, "#promo-value", "15")
    _type(browser, "#promo-max", "3")
    _type(browser, "#promo-campaign", campaign)
    browser.find_element("css selector", "#promo-submit").click()
    created = wait_for(
        browser,
        lambda d: next(
            (
                p
                for p in requests.get(
                    f"{console_stack.url}/promotions", headers=OPS, timeout=30
                ).json()["promotions"]
                if p["code"] == code
            ),
            None,
        ),
    )
    assert (created["kind"], created["value"], created["max_redemptions"]) == ("percent", "15", 3)
    assert created["campaign"] == campaign
    row = wait_for(
        browser,
        lambda d: d.execute_script(
            ROW_CELLS, "promotions", "promotion-id", created["promotion_id"]
        ),
    )
    assert row == ["Verano", code, "15 %", "—", campaign, "always", "0 / 3", "End now"]
    assert browser.find_element("css selector", "#promo-error").get_attribute("hidden")
    # Newest first: the one just made above the demo's welcome coupon (a probe: the
    # welcome coupon's id sorted after every other, so it came first).
    order = browser.execute_script(
        "return [...document.querySelectorAll('#promotions tr.promotion')]"
        ".map((r) => r.getAttribute('data-promotion-id'));"
    )
    assert order.index(created["promotion_id"]) < order.index("pr_0000000000000_bienvenida10")

    # An order redeems it: the list says so after a refresh, and the campaign has its order.
    placed = console_shop.place_ok(order_body(coupon=code.lower()))

    def redeemed(driver: Any) -> list[str] | None:
        driver.find_element("css selector", "#promotions-refresh").click()
        cells: list[str] | None = driver.execute_script(
            ROW_CELLS, "promotions", "promotion-id", created["promotion_id"]
        )
        return cells if cells and cells[-2] == "1 / 3" else None

    wait_for(browser, redeemed)

    def campaign_row(driver: Any) -> list[str] | None:
        driver.find_element("css selector", "#campaigns-refresh").click()
        cells: list[str] | None = driver.execute_script(
            ROW_CELLS, "campaigns", "campaign", campaign
        )
        return cells if cells and cells[2] != "0.00 EUR" else None

    cells = wait_for(browser, campaign_row)
    figures = requests.get(f"{console_stack.url}/analytics/campaigns", headers=OPS, timeout=30)
    [mine] = [c for c in figures.json()["campaigns"] if c["campaign"] == campaign]
    assert mine["orders"] == 1 and mine["revenue"] == placed["total"]
    assert cells == [
        campaign,
        "1",
        f"{placed['total']['amount']} EUR",
        "1",
        "0",
        "web 1",
    ]
    element_screenshot(browser, "#marketing", screenshots / "ops-promotions.png")


def test_ops_switch_a_coupon_off_from_the_console(
    browser: Any, console_stack: RunningStack, console_shop: Shop
) -> None:
    # Found by a probe: nothing could stop a promotion once made.
    code = f"OTONO{uuid.uuid4().hex[:6].upper()}"
    body = {"name": "Otoño", "code": code, "kind": "percent", "value": "20"}
    created = requests.post(
        f"{console_stack.url}/promotions", headers=OPS, json=body, timeout=30
    ).json()
    sign_in(browser, console_stack.url, "demo-ops")
    # Made before signing in: the panel lists it once the console has loaded.
    selector = f"#promotions tr[data-promotion-id='{created['promotion_id']}'] button.end-promotion"
    button = wait_for(browser, visible(selector))

    button.click()
    browser.switch_to.alert.dismiss()  # thought better of it: nothing ends
    assert (
        requests.get(
            f"{console_stack.url}/promotions/{created['promotion_id']}", headers=OPS, timeout=30
        ).json()["ends_at"]
        is None
    )
    button.click()
    browser.switch_to.alert.accept()

    def ended(driver: Any) -> list[str] | None:
        cells: list[str] | None = driver.execute_script(
            ROW_CELLS, "promotions", "promotion-id", created["promotion_id"]
        )
        return cells if cells and cells[-1] == "ended" else None

    wait_for(browser, ended)
    read = requests.get(
        f"{console_stack.url}/promotions/{created['promotion_id']}", headers=OPS, timeout=30
    ).json()
    assert read["ends_at"] is not None
    quote = {k: v for k, v in order_body(coupon=code).items() if k not in ("payment", "consent")}
    refused = console_shop.post("/quotes", quote, STOREFRONT)
    assert refused.status_code == 422, refused.text


def test_a_promotion_s_last_day_in_the_console_is_valid_all_that_day(
    browser: Any, console_stack: RunningStack
) -> None:
    # Probe 207: "Ends (UTC day)" 2026-12-20 sent ends_at 2026-12-20T00:00:00Z, and the
    # coupon was refused all that day; today's date made a promotion refused from the
    # start, answered 201 with no warning.
    from datetime import UTC, datetime, timedelta

    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#promotion-form"))
    set_day = "document.querySelector('#promo-ends').value = arguments[0];"
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    late = f"LAST{uuid.uuid4().hex[:6].upper()}"
    _type(browser, "#promo-name", "Last day")
    _type(browser, "#promo-code", late)
    _type(browser, "#promo-value", "10")
    browser.execute_script(set_day, yesterday)
    browser.find_element("css selector", "#promo-submit").click()
    error = wait_for(browser, visible("#promo-error"))
    assert "that day is over" in error.text

    def listed(code: str) -> Any:
        promotions = requests.get(f"{console_stack.url}/promotions", headers=OPS, timeout=30)
        return next((p for p in promotions.json()["promotions"] if p["code"] == code), None)

    assert listed(late) is None
    browser.execute_script(set_day, "2999-12-20")
    browser.find_element("css selector", "#promo-submit").click()
    created = wait_for(browser, lambda _d: listed(late))
    assert created["ends_at"] == "2999-12-21T00:00:00Z"
    row = wait_for(
        browser,
        lambda d: d.execute_script(
            ROW_CELLS, "promotions", "promotion-id", created["promotion_id"]
        ),
    )
    assert "→ 2999-12-21 00:00 UTC" in row[5]


def _new_coupon_typed(browser: Any, console_stack: RunningStack, prefix: str, name: str) -> str:
    """Signed in, a new coupon's name and code typed into the form; returns the code."""
    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#promotion-form"))
    code = f"{prefix}{uuid.uuid4().hex[:6].upper()}"
    _type(browser, "#promo-name", name)
    _type(browser, "#promo-code", code)
    return code


def _assert_refused_naming(
    browser: Any, console_stack: RunningStack, code: str, field: str
) -> None:
    """The form sent: its error names ``field``, and no promotion has ``code``."""
    browser.find_element("css selector", "#promo-submit").click()
    error = wait_for(browser, visible("#promo-error"))
    assert field in error.text
    listed = requests.get(f"{console_stack.url}/promotions", headers=OPS, timeout=30).json()
    assert all(p["code"] != code for p in listed["promotions"])


@pytest.mark.parametrize("typed", ["1e", "abc", "1.000", "99999999999"])
def test_a_cap_the_console_cannot_read_is_refused_not_dropped(
    browser: Any, console_stack: RunningStack, typed: str
) -> None:
    # Probe 242: a number input read "1e" as empty, and the coupon was made with no cap;
    # probe 243: a length limit on the box cut 99999999999 to 999999999.
    code = _new_coupon_typed(browser, console_stack, "TOPE", "Tope")
    _type(browser, "#promo-value", "10")
    _type(browser, "#promo-max", typed)

    _assert_refused_naming(browser, console_stack, code, "max_redemptions")


def test_a_value_typed_for_free_shipping_is_refused_not_dropped(
    browser: Any, console_stack: RunningStack
) -> None:
    # Probe 256: the console made the promotion and dropped the value without a word; the
    # API refuses the same body naming value.
    code = _new_coupon_typed(browser, console_stack, "ENVIO", "Envío")
    Select(browser.find_element("css selector", "#promo-kind")).select_by_value("free_shipping")
    _type(browser, "#promo-value", "5")

    _assert_refused_naming(browser, console_stack, code, "value")


def test_a_promotion_s_conditions_are_listed(browser: Any, console_stack: RunningStack) -> None:
    # Probe 242: the table showed none of them, so ops could not see why a basket missed it.
    body = {
        "name": "Solo web",
        # A long code and campaign squeeze the other columns (probe 246).
        "code": f"WEB{uuid.uuid4().hex.upper()}{uuid.uuid4().hex[:5].upper()}",
        "campaign": "c" * 100,
        "kind": "percent",
        "value": "15",
        "min_subtotal": "60.00",
        "channels": ["web", "app"],
        "once_per_customer": True,
    }
    created = requests.post(
        f"{console_stack.url}/promotions", headers=OPS, json=body, timeout=30
    ).json()
    sign_in(browser, console_stack.url, "demo-ops")

    row = wait_for(
        browser,
        lambda d: d.execute_script(
            ROW_CELLS, "promotions", "promotion-id", created["promotion_id"]
        ),
    )

    channels = ", ".join(created["channels"])
    assert sorted(created["channels"]) == ["app", "web"]
    assert row[3] == f"basket ≥ 60.00\u00a0€ · {channels} · once per customer"
    # Beside them, at 1280 px, the code stays whole and "always" one word (probe 243).
    size = browser.get_window_size()
    browser.set_window_size(1280, size["height"])
    try:
        for cell in ("td.code", "td.window", "td.end button"):
            shown = browser.find_element(
                "css selector",
                f"#promotions tr[data-promotion-id='{created['promotion_id']}'] {cell}",
            )
            assert lines_of(browser, shown) == 1, cell
    finally:
        browser.set_window_size(size["width"], size["height"])
