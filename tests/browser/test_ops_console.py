"""The ops console in a real (headless) chromium: sign in with the ops key, see executions
by status, open an order to see its timeline beside its execution drawn on the state-machine
graph, see the SLA scorecard chart and the local outbox. Screenshots go to
``var/screenshots/``."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import requests

from tests.support import OPS, eventually, order_body, signed_event
from tests.support.orders import wait_for_status
from tests.support.shop import RunningStack, Shop

pytestmark = pytest.mark.xdist_group("browser")

T = TypeVar("T")
ORDER_ASL = Path(__file__).resolve().parents[2] / "statemachines" / "order.asl.json"
WAIT = 30.0
SESSION_KEY = "orquesta.ops.key"
# States every shipped order's execution has entered.
SHIPPED_PATH = {"AuthorizePayment", "ReserveStock", "FulfilEach", "AwaitHandover"}


def wait_for(driver: Any, condition: Callable[[Any], T | None], timeout: float = WAIT) -> T:
    """Poll ``condition(driver)`` until it is truthy; the page's state in the message if not."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        result: T = WebDriverWait(
            driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored
        ).until(condition)
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


def executions_shown(status: str) -> Callable[[Any], list[list[str]] | None]:
    """The (order id, status) rows of the executions table once the list for this status
    filter ("" for all) is loaded and drawn."""

    def rows(driver: Any) -> list[list[str]] | None:
        found: list[list[str]] | None = driver.execute_script(
            "const t = document.querySelector('#executions');"
            "if (t.getAttribute('aria-busy') !== 'false'"
            " || t.getAttribute('data-status-filter') !== arguments[0]) return null;"
            "return [...t.querySelectorAll('tr.execution')]"
            ".map((r) => [r.dataset.orderId, r.dataset.status]);",
            status,
        )
        return found

    return rows


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


def test_the_graph_layout_places_every_state_of_the_order_machine_apart(
    browser: Any, console_stack: RunningStack
) -> None:
    definition = json.loads(ORDER_ASL.read_text())
    browser.get(f"{console_stack.url}/ops")
    graph = wait_for(
        browser,
        lambda driver: driver.execute_script(
            "if (!window.OrquestaGraph) return null;"
            "const flat = (g) => ({ width: g.width, height: g.height,"
            "  edges: g.edges.map((e) => ({ from: e.from, to: e.to, back: Boolean(e.back) })),"
            "  nodes: Object.fromEntries(Object.values(g.nodes).map((n) => [n.name, {"
            "    x: n.x, y: n.y, w: n.w, h: n.h, rank: n.rank,"
            "    inner: n.inner ? flat(n.inner) : null }])) });"
            "return flat(window.OrquestaGraph.layout(arguments[0]));",
            definition,
        ),
    )

    def check(graph: dict[str, Any], states: dict[str, Any]) -> None:
        nodes = graph["nodes"]
        assert set(nodes) == set(states)
        for node in nodes.values():
            assert node["x"] >= 0 and node["x"] + node["w"] <= graph["width"]
            assert node["y"] >= 0 and node["y"] + node["h"] <= graph["height"]
        ranks: dict[int, list[dict[str, Any]]] = {}
        for node in nodes.values():
            ranks.setdefault(node["rank"], []).append(node)
        for row in ranks.values():
            row.sort(key=lambda n: n["x"])
            for left, right in itertools.pairwise(row):
                assert left["x"] + left["w"] <= right["x"], (left, right)  # side by side
        rows = [ranks[rank] for rank in sorted(ranks)]
        for upper, lower in itertools.pairwise(rows):
            assert max(n["y"] + n["h"] for n in upper) <= min(n["y"] for n in lower)
        for edge in graph["edges"]:
            if not edge["back"]:
                assert nodes[edge["to"]]["rank"] > nodes[edge["from"]]["rank"], edge
        for name, state in states.items():
            inner = state.get("ItemProcessor") or state.get("Iterator")
            if inner:
                check(nodes[name]["inner"], inner["States"])

    check(graph, definition["States"])
    assert graph["nodes"]["FulfilEach"]["inner"] is not None


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


def test_ops_sign_in_and_open_an_order_to_see_its_graph_and_timeline(
    browser: Any,
    console_stack: RunningStack,
    shipped_order: dict[str, Any],
    screenshots: Path,
) -> None:
    order_id = shipped_order["order_id"]
    sign_in(browser, console_stack.url, "demo-ops")

    # Executions by status, with counts.
    wait_for(browser, executions_shown(""))
    counts = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#counts .count')]"
        ".map((t) => [t.dataset.status, t.querySelector('.n').textContent]))"
    )
    assert set(counts) == {"ALL", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
    assert int(counts["RUNNING"].rstrip("+")) >= 1
    assert session_key(browser) == "demo-ops"
    assert "demo-ops" not in browser.current_url

    # The list filters by status and by order id.
    browser.find_element("css selector", "#counts .count[data-status=RUNNING]").click()
    rows = wait_for(browser, executions_shown("RUNNING"))
    assert order_id in {row_id for row_id, _ in rows}
    assert {status for _, status in rows} == {"RUNNING"}
    browser.find_element("css selector", "#order-filter").send_keys(order_id[-8:])
    assert [row_id for row_id, _ in wait_for(browser, executions_shown("RUNNING"))] == [order_id]
    row_selector = f"#executions tr.execution[data-order-id='{order_id}']"

    # Open the order.
    browser.find_element("css selector", row_selector).click()
    wait_for(
        browser,
        lambda d: (
            d.find_element("css selector", "#order-panel").get_attribute("data-loaded") == "true"
        ),
    )
    assert "demo-ops" not in browser.current_url

    # The execution on the state-machine graph: every state drawn (the Map's inner states
    # too), the ones this execution entered highlighted, the path between them drawn.
    definition = requests.get(
        f"{console_stack.url}/ops/statemachine", headers=OPS, timeout=30
    ).json()["definition"]
    inner = definition["States"]["FulfilEach"]["ItemProcessor"]["States"]
    drawn = {
        g.get_attribute("data-state")
        for g in browser.find_elements("css selector", "#state-graph g.state")
    }
    assert drawn == set(definition["States"]) | set(inner)
    highlighted = {
        g.get_attribute("data-state")
        for g in browser.find_elements("css selector", "#state-graph g.state.visited")
    }
    assert {"AuthorizePayment", "ReserveStock", "AwaitCompletion"} <= highlighted
    assert highlighted >= SHIPPED_PATH
    assert "RejectOrder" not in highlighted and "OrderCancelled" not in highlighted
    taken = {
        (p.get_attribute("data-from"), p.get_attribute("data-to"))
        for p in browser.find_elements("css selector", "#state-graph path.edge.taken")
    }
    assert {
        ("AuthorizePayment", "ReserveStock"),
        ("ReserveStock", "FulfilEach"),
        ("AwaitHandover", "AwaitCompletion"),
    } <= taken
    assert ("AuthorizePayment", "RejectOrder") not in taken
    history_states = [
        r.get_attribute("data-state")
        for r in browser.find_elements("css selector", "#execution-history tbody tr")
    ]
    assert history_states[:3] == ["AuthorizePayment", "ReserveStock", "FulfilEach"]

    # The timeline beside it: statuses in order, emails sent, the carrier's scan.
    def timeline_complete(driver: Any) -> list[str] | None:
        driver.find_element("css selector", "#order-refresh").click()
        wait_for(
            driver,
            lambda d: (
                d.find_element("css selector", "#order-panel").get_attribute("data-loaded")
                == "true"
            ),
        )
        entries = driver.find_elements("css selector", "#timeline li.entry")
        kinds = {e.get_attribute("data-kind") for e in entries}
        titles = [e.get_attribute("data-title") for e in entries]
        complete = {"status", "email", "webhook"} <= kinds and "email: shipment sent" in titles
        return titles if complete else None

    titles = wait_for(browser, timeline_complete)
    statuses_shown = [
        e.get_attribute("data-title")
        for e in browser.find_elements("css selector", "#timeline li.entry[data-kind=status]")
    ]
    assert statuses_shown[:4] == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]
    assert "email: shipment sent" in titles
    assert "carrier: in_transit" in titles
    assert browser.find_element("css selector", "#order-title").text == order_id

    element_screenshot(browser, "#order-panel", screenshots / "ops-order.png")


def _stop_execution(console_stack: RunningStack, console_shop: Shop, order_id: str) -> None:
    """Stop the order's execution for real, through moto's endpoint, as an AWS CLI would."""
    execution = console_shop.get(f"/ops/orders/{order_id}/execution", OPS).json()
    stepfunctions = boto3.client(
        "stepfunctions",
        region_name="eu-west-1",
        endpoint_url=f"http://localhost:{console_stack.moto_port}",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    stepfunctions.stop_execution(executionArn=execution["execution_arn"])
    eventually(
        lambda: (
            console_shop.get(f"/ops/orders/{order_id}/execution", OPS).json()["status"] == "ABORTED"
        )
    )


def test_a_stopped_execution_is_retried_from_the_order_panel(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    placed = console_shop.place_ok(order_body())
    order_id = placed["order_id"]
    wait_for_status(console_shop, order_id, "SHIPPED", settled=True)
    _stop_execution(console_stack, console_shop, order_id)

    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, executions_shown(""))
    browser.find_element("css selector", "#open-order-id").send_keys(order_id)
    browser.find_element("css selector", "#open-order-form button").click()
    retry = wait_for(browser, visible("#order-retry"))
    assert browser.find_element("css selector", "#execution-status").text == "ABORTED"

    # Two clicks in a row start one retry: the button is disabled at once, and the key
    # is the same for the same stopped execution.
    browser.execute_script("arguments[0].click(); arguments[0].click();", retry)
    note = wait_for(browser, visible("#order-note"))
    assert note.text.startswith("Retry 1 started from SHIPPED: ")
    assert note.text.endswith(f":{order_id}-r1")
    wait_for(
        browser,
        lambda d: d.find_element("css selector", "#execution-status").text == "RUNNING",
    )
    assert not browser.find_element("css selector", "#order-retry").is_displayed()

    # The new execution is the order's now, and the retry is on its timeline, once.
    execution = console_shop.get(f"/ops/orders/{order_id}/execution", OPS).json()
    assert execution["execution_arn"].endswith(f"{order_id}-r1")
    assert execution["status"] == "RUNNING"
    timeline = console_shop.get(f"/ops/orders/{order_id}/timeline", OPS).json()
    retries = [entry for entry in timeline["entries"] if entry["kind"] == "retry"]
    assert len(retries) == 1
    shown = browser.find_elements("css selector", "#timeline li.entry[data-kind=retry]")
    assert len(shown) == 1

    # The new execution carried on to the delivery wait, drawn on the graph.
    def parked_again(driver: Any) -> bool:
        driver.find_element("css selector", "#order-refresh").click()
        wait_for(
            driver,
            lambda d: (
                d.find_element("css selector", "#order-panel").get_attribute("data-loaded")
                == "true"
            ),
        )
        return bool(
            driver.find_elements(
                "css selector", "#state-graph g.state.visited[data-state=AwaitCompletion]"
            )
        )

    wait_for(browser, parked_again)
    element_screenshot(browser, "#order-panel", screenshots / "ops-retry.png")


def test_the_sla_scorecard_is_drawn_as_a_chart(
    browser: Any,
    console_stack: RunningStack,
    console_shop: Shop,
    shipped_order: dict[str, Any],
    screenshots: Path,
) -> None:
    # A second parcel with the same carrier, delivered: the chart gets a delivery to show.
    placed = console_shop.place_ok(order_body())
    order = wait_for_status(console_shop, placed["order_id"], "SHIPPED", settled=True)
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "delivered")
    delivered = console_shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert delivered.status_code == 200, delivered.text
    wait_for_status(console_shop, placed["order_id"], "DELIVERED", settled=True)
    scorecard = requests.get(f"{console_stack.url}/ops/sla", headers=OPS, timeout=30).json()
    mine = next(
        row
        for row in scorecard["carriers"]
        if (row["carrier"], row["service_level"])
        == (shipped_order["carrier"], shipped_order["service_level"])
    )
    assert mine["shipments"] >= 2
    sign_in(browser, console_stack.url, "demo-ops")

    chart = wait_for(browser, visible("#scorecard-chart"))

    assert chart.get_attribute("data-rows") == str(len(scorecard["carriers"]))
    bars = chart.find_elements("css selector", "g.bar-row")
    assert len(bars) == len(scorecard["carriers"])
    shown = {
        (b.get_attribute("data-carrier"), b.get_attribute("data-service-level")): b for b in bars
    }
    bar = shown[(shipped_order["carrier"], shipped_order["service_level"])]
    # The figure the page drew is the API's (read again: a promise may have run out since).
    again = requests.get(f"{console_stack.url}/ops/sla", headers=OPS, timeout=30).json()
    figures = {
        row["on_time_pct"]
        for card in (scorecard, again)
        for row in card["carriers"]
        if (row["carrier"], row["service_level"]) == (mine["carrier"], mine["service_level"])
    }
    assert None not in figures
    drawn = float(bar.get_attribute("data-on-time-pct"))
    assert any(drawn == pytest.approx(figure) for figure in figures), (drawn, figures)
    assert bar.find_element("css selector", "rect.bar").get_attribute("width")
    element_screenshot(browser, "#scorecard-panel", screenshots / "ops-scorecard.png")


def test_the_local_outbox_lists_the_emails_sent(
    browser: Any, console_stack: RunningStack, shipped_order: dict[str, Any]
) -> None:
    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#outbox-panel"))

    def emails_to_customer(driver: Any) -> list[str] | None:
        driver.find_element("css selector", "#outbox-refresh").click()
        texts = driver.execute_script(
            "return [...document.querySelectorAll('#outbox details.email')]"
            ".map((e) => e.textContent)"
        )
        found = [text for text in texts if shipped_order["email"] in text]
        return found or None

    emails = wait_for(browser, emails_to_customer)
    assert any(shipped_order["order_id"] in text for text in emails)


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


def test_needs_attention_lists_open_alerts_linked_to_their_order_and_resolves_them(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    # A carrier reports a problem with a parcel: ops are alerted about that order.
    placed = console_shop.place_ok(order_body())
    order_id = placed["order_id"]
    order = wait_for_status(console_shop, order_id, "SHIPPED", settled=True)
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "exception")
    reported = console_shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert reported.status_code == 200, reported.text

    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, visible("#attention-panel"))

    # Read in one script each time: the list is redrawn whenever it reloads.
    def alert_row(driver: Any) -> dict[str, str] | None:
        driver.find_element("css selector", "#attention-refresh").click()
        found: dict[str, str] | None = driver.execute_script(
            "const row = [...document.querySelectorAll("
            "\"#alerts tr.alert[data-kind='carrier_exception']\")]"
            ".find((r) => r.textContent.includes(arguments[0]));"
            "return row ? {id: row.dataset.alertId, text: row.textContent} : null;",
            order_id,
        )
        return found

    row = wait_for(browser, alert_row)
    alert_id = row["id"]
    assert "carrier exception" in row["text"]
    count = int(browser.find_element("css selector", "#attention-count").text)
    assert count >= 1
    element_screenshot(browser, "#attention-panel", screenshots / "ops-attention.png")

    def click_in_row(selector: str) -> Callable[[Any], bool]:
        def click(driver: Any) -> bool:
            clicked: bool = driver.execute_script(
                "const target = document.querySelector(arguments[0]);"
                "if (!target) return false; target.click(); return true;",
                f"#alerts tr[data-alert-id='{alert_id}'] {selector}",
            )
            return clicked

        return click

    # The order link opens the order beside its execution.
    wait_for(browser, click_in_row("a.order-link"))
    wait_for(browser, visible("#order-panel"))
    wait_for(browser, lambda d: order_id in d.find_element("css selector", "#order-title").text)

    # Resolving it takes it off the list, for good.
    wait_for(browser, click_in_row("button.resolve"))
    wait_for(
        browser,
        lambda d: not d.find_elements("css selector", f"#alerts tr[data-alert-id='{alert_id}']"),
    )
    listed = requests.get(
        f"{console_stack.url}/ops/alerts", params={"order_id": order_id}, headers=OPS, timeout=10
    ).json()["alerts"]
    resolved = [a for a in listed if a["alert_id"] == alert_id]
    assert [(a["kind"], a["status"]) for a in resolved] == [("carrier_exception", "resolved")]
