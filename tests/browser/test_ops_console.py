"""The ops console in a real (headless) chromium, an order's panel: the state-machine
graph's layout, an order opened to see its timeline beside its execution drawn on the graph,
and a stopped execution retried from the panel. Screenshots go to ``var/screenshots/``."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.support import OPS, eventually, order_body, signed_event
from tests.support.console import (
    element_screenshot,
    lines_of,
    session_key,
    sign_in,
    visible,
    wait_for,
)
from tests.support.orders import wait_for_status
from tests.support.shop import RunningStack, Shop

pytestmark = pytest.mark.xdist_group("browser")


ORDER_ASL = Path(__file__).resolve().parents[2] / "statemachines" / "order.asl.json"


# States every shipped order's execution has entered.
SHIPPED_PATH = {"AuthorizePayment", "ReserveStock", "FulfilEach", "AwaitHandover"}


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


def test_the_executions_note_says_when_the_list_holds_only_the_newest(
    browser: Any, console_stack: RunningStack
) -> None:
    """A probe: with 220 executions the list held the newest 200 and said "200 of 200
    shown"."""
    browser.get(f"{console_stack.url}/ops")

    def note(shown: int, loaded: int, count: int, capped: bool, needle: str) -> str:
        text: str = wait_for(
            browser,
            lambda driver: driver.execute_script(
                "const c = window.OrquestaConsole;"
                "return c && c.executionsNote(arguments[0], arguments[1],"
                " { count: arguments[2], capped: arguments[3] }, arguments[4]);",
                shown,
                loaded,
                count,
                capped,
                needle,
            ),
        )
        return text

    assert note(200, 200, 220, False, "") == "200 of the newest 200 shown, 220 in all"
    assert note(200, 200, 1000, True, "") == "200 of the newest 200 shown, 1000+ in all"
    assert (
        note(3, 200, 220, False, "ab") == "3 of the newest 200 shown, 220 in all (filtered by “ab”)"
    )
    assert note(12, 12, 12, False, "") == "12 of 12 shown"
    assert note(12, 12, 13, False, "") == "12 of 12 shown"  # one counted twice meanwhile
    assert note(200, 200, 200, False, "") == "200 of 200 shown"
    assert note(1, 12, 12, False, "ab") == "1 of 12 shown (filtered by “ab”)"


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
    shown = len(wait_for(browser, executions_shown("")))
    note = browser.find_element("css selector", "#executions-note").text
    assert note.startswith(f"{shown} of ") and "newest" not in note, note  # under 200 here
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
    # Its parts and money, as GET /orders/{id} has them (a probe: a lost parcel's order
    # showed only its status).
    stored = requests.get(f"{console_stack.url}/orders/{order_id}", headers=OPS, timeout=30)
    (part,) = stored.json()["fulfillments"]
    row = browser.find_element(
        "css selector", f"#order-parts tr.part[data-fulfillment-id='{part['fulfillment_id']}']"
    )
    assert part["status"] in row.text and part["shipment"]["tracking_number"] in row.text
    # The part by its own suffix and where it is from, each on one line (probe 215: the
    # whole id broke over five lines, "ST-MADRI D" over two).
    part_cell, from_cell = row.find_elements("css selector", "td")[:2]
    suffix = part["fulfillment_id"].removeprefix(f"{order_id}-")
    assert part_cell.text == f"{suffix} · ship" and from_cell.text == part["location_id"]
    assert (lines_of(browser, part_cell), lines_of(browser, from_cell)) == (1, 1)
    # Its tracking number whole on one line too (probe 222).
    parcel = row.find_element("css selector", "td:nth-child(4) .nowrap")
    assert parcel.text == part["shipment"]["tracking_number"]
    assert lines_of(browser, parcel) == 1
    money = browser.find_element("css selector", "#order-money").text
    authorised = stored.json()["payment"]["authorized"]["amount"]
    assert f"authorised {authorised} EUR" in money

    element_screenshot(browser, "#order-panel", screenshots / "ops-order.png")

    # An unknown id: the error alone, nothing of the order shown before (a probe: its
    # status, timeline and graph stayed under the new title).
    field = browser.find_element("css selector", "#open-order-id")
    field.clear()
    field.send_keys("ord_nobody_has_this")
    field.submit()
    wait_for(browser, lambda d: d.find_element("css selector", "#order-error").is_displayed())
    assert browser.find_element("css selector", "#order-title").text == "ord_nobody_has_this"
    assert browser.find_elements("css selector", "#timeline li") == []
    assert browser.find_elements("css selector", "#execution-history tbody tr") == []
    assert browser.find_element("css selector", "#order-status").text == ""
    # Times are said in UTC, once, as the API gives them.
    assert browser.find_element("css selector", "header .zone").text == "times in UTC"


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


def _pill(browser: Any, selector: str) -> tuple[str, str]:
    pill = browser.find_element("css selector", selector)
    return pill.text, str(pill.get_attribute("class"))


def test_a_stop_whose_compensation_cancelled_the_order_stays_red_a_clean_one_is_grey(
    browser: Any, console_stack: RunningStack, console_shop: Shop, screenshots: Path
) -> None:
    # A cancel during a long picking time stops the execution with nothing held; the list
    # drew it red, as a stop that left an order half-way: it is grey now. Probe 207: a
    # stop whose compensation cancelled the order (marked for ops, its alert under "Needs
    # attention") was drawn grey too, as no fault; it stays red.
    body = order_body(
        lines=[
            {
                "sku": "TSHIRT-BLK-M",
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-VALENCIA",
            }
        ],
        shipping_address=None,
    )
    order_id = console_shop.place_ok(body)["order_id"]
    wait_for_status(console_shop, order_id, "READY_FOR_PICKUP")
    _stop_execution(console_stack, console_shop, order_id)
    wait_for_status(console_shop, order_id, "CANCELLED", settled=True)

    sign_in(browser, console_stack.url, "demo-ops")
    row = f"#executions tr.execution[data-order-id='{order_id}'] .pill"
    wait_for(browser, lambda d: d.find_elements("css selector", row))
    text, classes = _pill(browser, row)
    assert text == "ABORTED"
    assert "at-rest" not in classes.split()
    browser.find_element("css selector", f"#executions a[href='#order={order_id}']").click()
    wait_for(browser, lambda d: _pill(d, "#execution-status")[0] == "ABORTED")
    element_screenshot(browser, "#executions", screenshots / "ops-stopped-compensated.png")
    # The page's own drawing of a clean stop (a cancel during picking, which this stack's
    # zero picking time cannot make): grey, "order cancelled".
    drawn = browser.execute_script(
        "const p = OrquestaConsole.executionPill('ABORTED', 'CANCELLED', false);"
        "return [p.textContent, p.className];"
    )
    assert drawn == ["ABORTED · order cancelled", "pill ABORTED at-rest"]
    # One an ops retry carries on, with nothing left to show (probe 256: it stayed red).
    retried = browser.execute_script(
        "const p = OrquestaConsole.executionPill('ABORTED', 'SHIPPED', false, true);"
        "const q = OrquestaConsole.executionPill('ABORTED', 'SHIPPED', true, true);"
        "return [p.textContent, p.className, q.textContent, q.className];"
    )
    assert retried == ["ABORTED · retried", "pill ABORTED at-rest", "ABORTED", "pill ABORTED"]
    # A stopped order whose every part ended lost or cancelled is offered no Retry, which
    # the API refuses (probe 26F: the button was shown, and its click failed).
    left = browser.execute_script(
        "const n = OrquestaConsole.nothingLeft;"
        "return [n({fulfillments: [{status: 'LOST'}, {status: 'CANCELLED'}]}),"
        " n({fulfillments: [{status: 'LOST'}, {status: 'DELIVERED'}]}),"
        " n({fulfillments: [{status: 'SHIPPED'}]}), n({fulfillments: []})];"
    )
    assert left == [True, False, False, False]
    # Its execution is drawn grey, "nothing left", not red (probe 268).
    ended = browser.execute_script(
        "const p = OrquestaConsole.executionPill('ABORTED', 'SHIPPED', false, false, true);"
        "const q = OrquestaConsole.executionPill('ABORTED', 'SHIPPED', true, false, true);"
        "return [p.textContent, p.className, q.textContent, q.className];"
    )
    assert ended == ["ABORTED · nothing left", "pill ABORTED at-rest", "ABORTED", "pill ABORTED"]


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
    assert _pill(browser, "#execution-status") == ("ABORTED", "pill ABORTED")  # half-way: red
    # The states it was in when stopped are not "running": the execution ended there, and
    # they left when it was stopped.
    exits = [
        row.find_elements("css selector", "td")[3].text
        for row in browser.find_elements("css selector", "#execution-history tbody tr")
    ]
    assert "running" not in exits and any(e.endswith(" (aborted)") for e in exits), exits
    stopped_alert = f"#alerts tr.alert[data-kind=workflow_stopped] a[href='#order={order_id}']"
    wait_for(browser, lambda d: d.find_elements("css selector", stopped_alert))

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
    # The retry resolved the alert: "Needs attention" says so without a refresh.
    wait_for(browser, lambda d: not d.find_elements("css selector", stopped_alert))

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


def test_a_returned_order_whose_execution_was_stopped_offers_no_retry(
    browser: Any, console_stack: RunningStack, console_shop: Shop
) -> None:
    # Probe 192: the panel offered "Retry execution" on a RETURNED order, and the retry
    # could only answer 409: there is nothing left to resume.
    order_id = console_shop.place_ok(order_body())["order_id"]
    order = wait_for_status(console_shop, order_id, "SHIPPED", settled=True)
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "delivered")
    delivered = console_shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert delivered.status_code == 200, delivered.text
    wait_for_status(console_shop, order_id, "DELIVERED")
    _stop_execution(console_stack, console_shop, order_id)  # parked for the return window
    every_unit = [{"sku": line["sku"], "quantity": line["quantity"]} for line in order["lines"]]
    asked = console_shop.post(
        f"/orders/{order_id}/returns",
        {"lines": every_unit, "reason": "talla", "channel": "store", "location_id": "ST-MADRID"},
        OPS,
    )
    assert asked.status_code == 201, asked.text
    received = console_shop.post(
        f"/returns/{asked.json()['return_id']}/receive", {"location_id": "ST-MADRID"}, OPS
    )
    assert received.status_code == 200, received.text
    wait_for_status(console_shop, order_id, "RETURNED")

    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, executions_shown(""))
    browser.find_element("css selector", "#open-order-id").send_keys(order_id)
    browser.find_element("css selector", "#open-order-form button").click()
    wait_for(browser, lambda d: _pill(d, "#execution-status")[0].startswith("ABORTED"))

    assert not browser.find_element("css selector", "#order-retry").is_displayed()


# The answer of GET /ops/orders/{id}/execution for an execution the order names and that
# never started (tests/api/test_api_self_service.py makes one for real: a pay-again whose
# start failed), given by the page's fetch until a retry is asked for.
_NOT_STARTED_UNTIL_RETRIED = """
const [orderId, problem] = arguments;
const real = window.fetch;
window.fetch = (path, options) => {
  if (String(path).endsWith(`/ops/orders/${orderId}/retry`)) window.retryAsked = true;
  if (String(path).endsWith(`/ops/orders/${orderId}/execution`) && !window.retryAsked) {
    const headers = { 'Content-Type': 'application/problem+json' };
    return Promise.resolve(new Response(JSON.stringify(problem), { status: 404, headers }));
  }
  return real(path, options);
};
"""


def test_an_execution_that_never_started_is_offered_for_a_retry(
    browser: Any, console_stack: RunningStack, console_shop: Shop
) -> None:
    # Probe 26A: the route answered 500 for it; now 404 execution-not-started, which the
    # panel shows with its Retry (README: a failed start is carried on by an ops retry).
    placed = console_shop.place_ok(order_body())
    order_id = placed["order_id"]
    wait_for_status(console_shop, order_id, "SHIPPED", settled=True)
    _stop_execution(console_stack, console_shop, order_id)
    problem = {
        "type": "https://orquesta.example/problems/execution-not-started",
        "title": "Execution not started",
        "status": 404,
        "detail": f"order {order_id}'s execution has not started",
        "errors": [{"field": "order_id", "message": "has not started"}],
    }

    sign_in(browser, console_stack.url, "demo-ops")
    wait_for(browser, executions_shown(""))
    browser.execute_script(_NOT_STARTED_UNTIL_RETRIED, order_id, problem)
    browser.find_element("css selector", "#open-order-id").send_keys(order_id)
    browser.find_element("css selector", "#open-order-form button").click()

    retry = wait_for(browser, visible("#order-retry"))
    assert _pill(browser, "#execution-status")[0] == "NOT_STARTED"
    assert "has not started" in browser.find_element("css selector", "#order-error").text
    retry.click()
    note = wait_for(browser, visible("#order-note"))
    assert note.text.startswith("Retry 1 started from SHIPPED: ")
    wait_for(
        browser,
        lambda d: d.find_element("css selector", "#execution-status").text == "RUNNING",
    )


def test_an_order_id_nobody_knows_shows_only_why_not_an_empty_order(
    browser: Any, console_stack: RunningStack
) -> None:
    # Probe 256: the order panel showed its parts, timeline and graph headings, empty,
    # with a small "no order" line among them.
    sign_in(browser, console_stack.url, "demo-ops")
    browser.get(f"{console_stack.url}/ops#order=ord_nobodyknowsthisone")

    error = wait_for(browser, visible("#order-error"))
    assert "ord_nobodyknowsthisone" in error.text
    assert not browser.find_element("css selector", "#order-panel .order-cols").is_displayed()
