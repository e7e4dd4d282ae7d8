"""The ops console in a real (headless) chromium, signing in and out: an unauthenticated
browser sees the sign-in form, a wrong key signs nobody in, the session survives a reload
and ends on sign-out, an ended session goes back to the form. Screenshots go to
``var/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import eventually
from tests.support.console import SESSION_KEY, session_key, sign_in, visible, wait_for
from tests.support.shop import RunningStack

pytestmark = pytest.mark.xdist_group("browser")


def test_an_unauthenticated_browser_sees_the_sign_in_form(
    browser: Any, console_stack: RunningStack, screenshots: Path
) -> None:
    browser.get(f"{console_stack.url}/ops")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()

    form = wait_for(browser, visible("#signin-form"))
    assert form.find_element("css selector", "input[type=password]").is_displayed()
    assert not browser.find_element("css selector", "#console").is_displayed()
    # The page's own data routes refuse this browser: it has no key to send.
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/ops/executions').then((r) => done(r.status), (e) => done(String(e)));"
    )
    assert status == 401
    browser.save_screenshot(str(screenshots / "ops-signin.png"))


@pytest.mark.parametrize(
    ("key", "message"),
    [("not-the-ops-key", "not recognised"), ("demo-store", "not an ops key")],
    ids=["unknown-key", "store-key"],
)
def test_a_wrong_key_shows_an_error_and_signs_nobody_in(
    browser: Any, console_stack: RunningStack, key: str, message: str
) -> None:
    sign_in(browser, console_stack.url, key)

    error = wait_for(browser, visible("#signin-error"))
    assert message in error.text
    assert not browser.find_element("css selector", "#console").is_displayed()
    assert session_key(browser) is None
    assert key not in browser.current_url


def test_the_session_survives_a_reload_and_ends_on_sign_out(
    browser: Any, console_stack: RunningStack
) -> None:
    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#console"))

    browser.refresh()
    wait_for(browser, visible("#counts .count"))
    assert not browser.find_element("css selector", "#signin").is_displayed()

    browser.find_element("css selector", "#sign-out").click()
    wait_for(browser, visible("#signin-form"))
    assert session_key(browser) is None
    assert not browser.find_element("css selector", "#console").is_displayed()


def test_an_ended_session_goes_back_to_the_sign_in_form(
    browser: Any, console_stack: RunningStack
) -> None:
    # A key that no longer works (rotated) is dropped and the sign-in form shown again.
    browser.get(f"{console_stack.url}/ops")
    browser.execute_script(f"sessionStorage.setItem('{SESSION_KEY}', 'rotated-away')")
    browser.refresh()

    error = wait_for(browser, visible("#signin-error"))
    assert "sign in again" in error.text
    assert session_key(browser) is None
    eventually(lambda: not browser.find_element("css selector", "#console").is_displayed())
