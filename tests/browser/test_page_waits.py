"""The browser tests' wait (``tests/support/console.wait_for``) on a driver that needs no
browser: a reload that detaches the node being read is "not yet", any other WebDriver error
ends the wait with the page's text.

CI once failed on Chrome's answer while the customer's page reloaded after a return request:
the body was found on the old page and its text read once the new one had replaced it."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.common.exceptions import WebDriverException

from tests.support.console import wait_for

DETACHED_ANSWER = (
    'unknown error: unhandled inspector error: {"code":-32000,'
    '"message":"Node with given id does not belong to the document"}'
)


class PageText:
    def __init__(self, text: str) -> None:
        self.text = text


class ReloadingDriver:
    """The body's text once the page has been read ``failures`` times mid-reload."""

    current_url = "http://localhost/track/example"

    def __init__(self, failures: int, error: str = DETACHED_ANSWER) -> None:
        self.failures = failures
        self.error = error
        self.reads = 0

    def find_element(self, _by: str, _value: str) -> PageText:
        self.reads += 1
        if self.reads <= self.failures:
            raise WebDriverException(self.error)
        return PageText("Devoluciones · Solicitada")


def requested(driver: Any) -> bool:
    return "Solicitada" in driver.find_element("tag name", "body").text


def test_a_node_detached_by_a_reload_is_read_again_until_the_new_page_answers() -> None:
    driver = ReloadingDriver(failures=3)

    assert wait_for(driver, requested, timeout=5.0) is True
    assert driver.reads == 4


def test_any_other_webdriver_error_ends_the_wait_with_the_page_text() -> None:
    driver = ReloadingDriver(failures=1, error="chrome not reachable")

    with pytest.raises(AssertionError, match="Solicitada") as raised:
        wait_for(driver, requested, timeout=5.0)
    assert "chrome not reachable" in str(raised.value.__cause__)
    assert driver.reads == 2
