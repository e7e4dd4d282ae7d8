"""Driving the ops console in a browser (``tests/browser/``): waits on the page, signing
in with the ops key, the session's key in ``sessionStorage``, screenshots of one element."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


WAIT = 30.0


SESSION_KEY = "orquesta.ops.key"


# Asked about a node while a reload replaces its page, Chrome answers that the node "does
# not belong to the document" (a plain WebDriverException), not that it is stale.
DETACHED = "does not belong to the document"


def while_the_page_settles(condition: Callable[[Any], T | None]) -> Callable[[Any], T | None]:
    """``condition``, read as "not yet" while a reload detaches the nodes it asks about."""
    from selenium.common.exceptions import WebDriverException

    def attempt(driver: Any) -> T | None:
        try:
            return condition(driver)
        except WebDriverException as exc:
            if DETACHED in str(exc):
                return None
            raise

    return attempt


def wait_for(driver: Any, condition: Callable[[Any], T | None], timeout: float = WAIT) -> T:
    """Poll ``condition(driver)`` until it is truthy; the page's state in the message if not."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    # A panel that loads late pushes the others down: a click aimed before it landed is
    # intercepted (make test, once), and is aimed again at the next poll.
    ignored = (
        NoSuchElementException,
        StaleElementReferenceException,
        ElementClickInterceptedException,
    )
    try:
        result: T = WebDriverWait(
            driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored
        ).until(while_the_page_settles(condition))
    except Exception as exc:
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        raise AssertionError(
            f"timed out on {driver.current_url}; console log {logs}; "
            f"page text:\n{driver.find_element('tag name', 'body').text[:3000]}"
        ) from exc
    return result


def visible(selector: str) -> Callable[[Any], Any]:
    """The element, once it is displayed."""

    def find(driver: Any) -> Any:
        found = driver.find_elements("css selector", selector)
        return found[0] if found and found[0].is_displayed() else None

    return find


def session_key(driver: Any) -> str | None:
    """The ops key as the page keeps it."""
    key: str | None = driver.execute_script(f"return sessionStorage.getItem('{SESSION_KEY}')")
    return key


def sign_in(driver: Any, url: str, key: str) -> None:
    """Fresh page, empty session, the key typed into the form and submitted."""
    driver.get(f"{url}/ops")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{url}/ops")
    field = wait_for(driver, visible("#ops-key"))
    field.clear()
    field.send_keys(key)
    driver.find_element("css selector", "#signin-submit").click()


def element_screenshot(driver: Any, selector: str, path: Path) -> None:
    """A PNG of one element, whole: the window is made tall enough to hold it first."""
    size = driver.get_window_size()
    element = driver.find_element("css selector", selector)
    height = int(driver.execute_script("return arguments[0].scrollHeight", element))
    driver.set_window_size(size["width"], max(size["height"], height + 240))
    try:
        element = driver.find_element("css selector", selector)
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
        element.screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])


def spilling(driver: Any, selector: str) -> list[str]:
    """What inside the element ``selector`` is drawn past its right edge (text and shapes
    alike, SVG included): each as ``tag.class "text"``."""
    found: list[str] = driver.execute_script(
        """
        const box = document.querySelector(arguments[0]).getBoundingClientRect();
        const out = [];
        for (const e of document.querySelectorAll(arguments[0] + ' *')) {
          const r = e.getBoundingClientRect();
          if (r.width && r.right > box.right + 0.5) {
            const cls = e.getAttribute('class') || '';
            out.push(`${e.tagName}.${cls} "${(e.textContent || '').slice(0, 40)}"`);
          }
        }
        return out;
        """,
        selector,
    )
    return found


def lines_of(driver: Any, element: Any) -> int:
    """On how many lines the element's text is drawn."""
    count: int = driver.execute_script(
        "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
        "return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size;",
        element,
    )
    return count
