"""The customer's own page in a real (headless) chromium at a phone's 390 pixels: each
action is taken from the page's forms (pay again, cancel, ask a question, return), the page
never scrolls sideways, and screenshots go to ``var/screenshots/``.

This module runs its own stack at ``ORQUESTA_TIME_SCALE=600``: the 48 hours to pay again
are then almost 5 minutes (at the console's 21600 they would be 8 seconds, too short to
click through on a busy machine)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from chalicelib.presentation.track_forms import FormOutcome, problem_words
from chalicelib.presentation.wording import Language
from tests.support import OPS, STORE, idempotency_key, order_body, signed_event
from tests.support.console import DETACHED, wait_for
from tests.support.orders import delivered_by_its_carrier, wait_for_status
from tests.support.shop import RunningStack, Shop
from tests.support.stack_process import start_stack, stop_stack

pytestmark = pytest.mark.xdist_group("browser")

PHONE = (390, 844)
PICKUP_LINE = {
    "sku": "TSHIRT-BLK-M",
    "quantity": 1,
    "fulfillment": "pickup",
    "location_id": "ST-MADRID",
}


@pytest.fixture(scope="module")
def page_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("page-stack"), 600, 0, 90.0)
    try:
        yield stack
    finally:
        stop_stack(stack, 60.0)


@pytest.fixture(scope="module")
def shop(page_stack: RunningStack) -> Shop:
    return Shop(url=page_stack.url, outbox=page_stack.outbox)


@pytest.fixture
def phone(browser: Any) -> Any:
    browser.set_window_size(*PHONE)
    return browser


def gone(element: Any) -> Callable[[Any], bool]:
    """True once ``element``'s page was replaced (the page reloaded)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def replaced(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # The node is in no document any more: the same outcome as stale.
            if DETACHED in str(exc):
                return True
            raise
        return False

    return replaced


def shown_status(driver: Any) -> str:
    return str(driver.find_element("css selector", ".status").get_attribute("data-status"))


def open_page(driver: Any, shop: Shop, placed: dict[str, Any]) -> str:
    """The order's tracking page, loaded; returns its path."""
    path = urlparse(placed["tracking_url"]).path
    driver.get(f"{shop.url}{path}")
    wait_for(driver, lambda d: d.find_element("css selector", ".status"))
    return path


def assert_fits_the_phone(driver: Any) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    widths = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


def screenshot(driver: Any, screenshots: Path, name: str) -> None:
    """The whole page at the phone's width."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(PHONE[0], max(PHONE[1], height + 40))
    try:
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(screenshots / name))
    finally:
        driver.set_window_size(*PHONE)


def submit(driver: Any, form_id: str, fields: dict[str, str] | None = None) -> None:
    """Open the form's section, fill it in as a customer types, and send it."""
    form = driver.find_element("css selector", f"#{form_id}")
    details = form.find_element("xpath", "ancestor::details")
    if details.get_attribute("open") is None:
        details.find_element("css selector", "summary").click()
    for name, value in (fields or {}).items():
        field = form.find_element("css selector", f"[name={name}]")
        if field.tag_name == "select":
            from selenium.webdriver.support.ui import Select

            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    form.find_element("css selector", "button[type=submit]").click()


def test_paying_again_from_the_page_after_a_declined_card(
    phone: Any, shop: Shop, screenshots: Path
) -> None:
    placed = shop.place_ok(order_body(payment={"method": "card", "token": "tok_declined"}))
    wait_for_status(shop, placed["order_id"], "REJECTED")
    open_page(phone, shop, placed)
    assert shown_status(phone) == "REJECTED"
    assert "La tarjeta fue rechazada" in phone.find_element("tag name", "body").text
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-declined-es-390.png")

    submit(phone, "form-pay", {"token": "tok_visa"})

    wait_for(phone, lambda d: shown_status(d) not in ("REJECTED", "") and shown_status(d))
    order = wait_for_status(shop, placed["order_id"], "SHIPPED")
    assert order["execution_arn"].endswith("-pay1")
    phone.refresh()
    wait_for(phone, lambda d: shown_status(d) == "SHIPPED")
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-paid-again-es-390.png")


def test_cancelling_a_pickup_from_the_page_in_english(
    phone: Any, shop: Shop, screenshots: Path
) -> None:
    body = order_body(lines=[PICKUP_LINE], shipping_address=None)
    body["customer"]["locale"] = "en"
    placed = shop.place_ok(body)
    wait_for_status(shop, placed["order_id"], "READY_FOR_PICKUP")
    open_page(phone, shop, placed)
    # The script enhanced the forms (they post JSON); the test without it checks the same mark.
    assert phone.find_element("tag name", "html").get_dom_attribute("data-enhanced") == "true"
    code = phone.find_element("css selector", "[data-pickup-code]").text
    assert code.isdigit()
    assert phone.find_element("css selector", ".qr svg").get_attribute("aria-label").endswith(code)
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-pickup-ready-en-390.png")

    submit(phone, "form-cancel")

    wait_for(phone, lambda d: shown_status(d) == "CANCELLED")
    assert "Cancelled" in phone.find_element("css selector", ".status").text
    assert not phone.find_elements("css selector", "#form-cancel")
    screenshot(phone, screenshots, "customer-page-cancelled-en-390.png")


def test_asking_a_question_and_returning_from_the_page(
    phone: Any, shop: Shop, screenshots: Path
) -> None:
    placed = shop.place_ok(order_body())
    order = wait_for_status(shop, placed["order_id"], "SHIPPED")
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "delivered")
    delivered = shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert delivered.status_code == 200, delivered.text
    wait_for_status(shop, placed["order_id"], "DELIVERED")
    open_page(phone, shop, placed)

    submit(
        phone,
        "form-ticket",
        {"type": "question", "subject": "Talla", "description": "¿La M es entallada?"},
    )
    sent = wait_for(phone, lambda d: d.find_element("css selector", "#form-ticket[data-done]"))
    screenshot(phone, screenshots, "customer-page-question-sent-es-390.png")
    customer = shop.get(f"/customers/{order['customer_id']}", OPS).json()
    assert [t["order_id"] for t in customer["tickets"]] == [placed["order_id"]]

    # The page goes where the plain form's 303 goes: act on the new page, not the old one.
    wait_for(phone, gone(sent))
    wait_for(phone, lambda d: d.find_element("css selector", "#form-return"))
    # It says how the form went, as the page without JavaScript does (probe 185: a bare
    # reload said nothing).
    assert shown_notice(phone) == (
        "done",
        "Hemos recibido tu mensaje. Te responderemos por correo.",
    )
    assert "form=tickets&outcome=done" in phone.current_url
    # No unit is chosen for the customer (a probe: every unit bought was, and a customer
    # who only wrote a reason sent all of them back).
    assert phone.find_element("css selector", "#qty-1").get_attribute("value") == "0"
    assert "máx. 2" in phone.find_element("css selector", "label[for=qty-1]").get_attribute(
        "textContent"
    )
    submit(phone, "form-return", {"quantity": "1", "reason": "Me queda pequeña", "channel": "mail"})

    wait_for(phone, lambda d: "Solicitada" in d.find_element("tag name", "body").text)
    assert shown_notice(phone) == (
        "done",
        "Hemos registrado tu devolución. Te reembolsaremos al recibirla.",
    )
    returns = wait_for_status(shop, placed["order_id"], "DELIVERED")["returns"]
    assert [r["status"] for r in returns] == ["REQUESTED"]
    assert [line["quantity"] for line in returns[0]["lines"]] == [1]
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-return-requested-es-390.png")


@pytest.fixture
def phone_without_javascript(browser_without_javascript: Any) -> Any:
    browser_without_javascript.set_window_size(*PHONE)
    return browser_without_javascript


def shown_notice(driver: Any) -> tuple[str, str]:
    found = driver.find_element("css selector", "#notice")
    return str(found.get_dom_attribute("data-outcome")), str(found.text)


def test_a_question_from_a_page_opened_before_the_days_five_says_they_were_sent(
    phone: Any, shop: Shop
) -> None:
    # Re-probe 171: the page's script turned the 429 (which names the link) into "could
    # not complete: New card", the pay form's field.
    placed = shop.place_ok(order_body())
    wait_for_status(shop, placed["order_id"], "SHIPPED")
    path = open_page(phone, shop, placed)  # opened while the form is still offered
    asked = {"type": "question", "subject": "Talla", "description": "¿Y la M?"}
    for _ in range(5):  # from another tab meanwhile
        sent = shop.post(f"{path}/tickets", asked, idempotency_key())
        assert sent.status_code == 201, sent.text

    submit(phone, "form-ticket", asked)

    told = wait_for(
        phone, lambda d: d.find_element("css selector", "#form-ticket .message.error").text
    )
    assert told == problem_words(Language.ES, FormOutcome.LIMITED), told


def test_a_cancel_from_a_page_opened_before_it_was_cancelled_says_it_is_no_longer_possible(
    phone: Any, shop: Shop
) -> None:
    # Probe 176: the script said "That did not work." to a 409 and left the form open to
    # try again; the plain form's page says it is no longer possible for this order.
    body = order_body(lines=[PICKUP_LINE], shipping_address=None)
    placed = shop.place_ok(body)
    wait_for_status(shop, placed["order_id"], "READY_FOR_PICKUP")
    open_page(phone, shop, placed)  # opened while it could still be cancelled
    # Meanwhile the customer collects it at the store.
    order = requests.get(f"{shop.url}/orders/{placed['order_id']}", headers=STORE, timeout=30)
    (part,) = order.json()["fulfillments"]
    collected = shop.post(
        f"/fulfillments/{part['fulfillment_id']}/collect",
        {"pickup_code": part["pickup_code"]},
        STORE,
    )
    assert collected.status_code == 200, collected.text

    submit(phone, "form-cancel")

    told = wait_for(
        phone, lambda d: d.find_element("css selector", "#form-cancel .message.error").text
    )
    assert told == problem_words(Language.ES, FormOutcome.CONFLICT), told


def test_a_form_sent_after_the_link_was_renewed_leads_to_the_page_saying_so(
    phone: Any, shop: Shop
) -> None:
    # Probe 221: with JavaScript, a question sent from a page whose link ops had renewed
    # meanwhile read "check these fields: New card", a field the form does not have.
    placed = shop.place_ok(order_body())
    wait_for_status(shop, placed["order_id"], "SHIPPED")
    path = open_page(phone, shop, placed)
    renewed = shop.post(f"/ops/orders/{placed['order_id']}/tracking-token/revoke", {}, OPS)
    assert renewed.status_code == 200, renewed.text
    before = phone.find_element("css selector", ".status")

    submit(phone, "form-ticket", {"subject": "Talla", "description": "¿Hay una M?"})

    wait_for(phone, gone(before))
    assert urlparse(phone.current_url).path == path
    heading = wait_for(phone, lambda d: d.find_element("css selector", "h1").text)
    assert heading == "Este enlace ya no es válido", heading
    assert "Nueva tarjeta" not in phone.page_source


def test_without_javascript_the_forms_ask_a_question_and_cancel(
    phone_without_javascript: Any, shop: Shop, screenshots: Path
) -> None:
    phone = phone_without_javascript
    placed = shop.place_ok(order_body(lines=[PICKUP_LINE], shipping_address=None))
    wait_for_status(shop, placed["order_id"], "READY_FOR_PICKUP")
    open_page(phone, shop, placed)
    # The page's script did not run: every form below posts as plain HTML.
    assert phone.find_element("tag name", "html").get_dom_attribute("data-enhanced") is None
    assert_fits_the_phone(phone)

    page = phone.find_element("css selector", ".status")
    submit(
        phone,
        "form-ticket",
        {"type": "question", "subject": "Horario", "description": "¿Hasta qué hora abrís?"},
    )
    wait_for(phone, gone(page))
    wait_for(phone, lambda d: d.find_element("css selector", "#notice"))
    assert shown_notice(phone) == (
        "done",
        "Hemos recibido tu mensaje. Te responderemos por correo.",
    )
    assert "outcome=done" in phone.current_url
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-nojs-question-sent-es-390.png")
    order = shop.order(placed["order_id"])
    customer = shop.get(f"/customers/{order['customer_id']}", OPS).json()
    assert [(t["subject"], t["order_id"]) for t in customer["tickets"]] == [
        ("Horario", placed["order_id"])
    ]

    page = phone.find_element("css selector", ".status")
    submit(phone, "form-cancel")
    wait_for(phone, gone(page))
    wait_for(phone, lambda d: shown_status(d) == "CANCELLED")
    assert shown_notice(phone) == ("done", "Hemos cancelado tu pedido. No se te cobrará nada.")
    assert not phone.find_elements("css selector", "#form-cancel")
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-nojs-cancelled-es-390.png")
    assert shop.order(placed["order_id"])["status"] == "CANCELLED"


def test_without_javascript_a_form_left_incomplete_says_what_to_fix(
    phone_without_javascript: Any, shop: Shop, screenshots: Path
) -> None:
    phone = phone_without_javascript
    body = order_body(payment={"method": "card", "token": "tok_declined"})
    body["customer"]["locale"] = "en"
    placed = shop.place_ok(body)
    wait_for_status(shop, placed["order_id"], "REJECTED")
    open_page(phone, shop, placed)
    # The browser's own check stops an empty required field: fill it with blanks only.
    page = phone.find_element("css selector", ".status")
    submit(phone, "form-ticket", {"subject": "   ", "description": "Why was it declined?"})
    wait_for(phone, gone(page))
    wait_for(phone, lambda d: d.find_element("css selector", "#notice"))
    assert shown_notice(phone) == ("invalid", "Please check these fields: Subject.")
    # The form is open again, where the customer left it.
    form = phone.find_element("css selector", "#form-ticket")
    assert form.find_element("xpath", "ancestor::details").get_dom_attribute("open") is not None
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-nojs-fix-a-field-en-390.png")


def _delivered_survey(shop: Shop, locale: str = "es") -> str:
    """A web order delivered by its carrier: its survey page's address."""
    body = order_body()
    body["customer"]["locale"] = locale
    placed = shop.place_ok(body)
    delivered_by_its_carrier(shop, placed["order_id"])
    tracking = shop.get(urlparse(placed["tracking_url"]).path, {"Accept": "application/json"})
    return str(tracking.json()["survey_url"])


# Counts the page's posts and keeps their Idempotency-Keys, then lets them through.
COUNT_POSTS = """
window.posted = [];
const send = window.fetch;
window.fetch = function (url, options) {
  window.posted.push((options.headers || {})["Idempotency-Key"] || null);
  return send.apply(this, arguments);
};
"""


def test_a_double_tap_on_the_survey_answers_once_and_says_thank_you(phone: Any, shop: Shop) -> None:
    # Probe 176: two posts went; one was 201, the other 409, and the page usually ended
    # on "Ya nos diste tu opinión." for the person who had just answered.
    phone.get(_delivered_survey(shop))
    wait_for(phone, lambda d: d.find_element("css selector", "#survey"))
    phone.execute_script(COUNT_POSTS)
    phone.find_element("css selector", "input[name=score][value='4']").click()

    phone.execute_script(
        "const b = document.querySelector('#survey button[type=submit]'); b.click(); b.click();"
    )

    told = wait_for(phone, lambda d: d.find_element("css selector", "#result").text)
    assert told == "¡Gracias por tu opinión!", told
    posted = phone.execute_script("return window.posted;")
    assert len(posted) == 1 and posted[0], posted


def test_a_survey_answered_after_its_customer_was_erased_says_it_is_closed(
    phone: Any, shop: Shop
) -> None:
    # Probe 221: the 409 for an erased customer's survey read "you already told us".
    body = order_body()
    placed = shop.place_ok(body)
    delivered_by_its_carrier(shop, placed["order_id"])
    tracking = shop.get(urlparse(placed["tracking_url"]).path, {"Accept": "application/json"})
    phone.get(str(tracking.json()["survey_url"]))
    before = wait_for(phone, lambda d: d.find_element("css selector", "#survey"))
    erased = shop.post(f"/customers/{placed['customer_id']}/erase", {}, OPS)
    assert erased.status_code == 200, erased.text
    phone.find_element("css selector", "input[name=score][value='4']").click()

    phone.find_element("css selector", "#survey button[type=submit]").click()

    wait_for(phone, gone(before))
    told = wait_for(phone, lambda d: d.find_element("css selector", "#result").text)
    assert told == "Esta encuesta ya no está disponible.", told


def test_a_refused_survey_comment_is_said_as_such_with_javascript(phone: Any, shop: Shop) -> None:
    # Probe 176: a comment with a control character was told "please try again", which
    # could never work; the plain form's page says what is wrong with it.
    phone.get(_delivered_survey(shop, "en"))
    wait_for(phone, lambda d: d.find_element("css selector", "#survey"))
    phone.find_element("css selector", "input[name=score][value='3']").click()
    phone.execute_script(
        "document.querySelector('textarea[name=comment]').value = 'fine\\u202eenif';"
    )

    phone.find_element("css selector", "#survey button[type=submit]").click()

    told = wait_for(phone, lambda d: d.find_element("css selector", "#result").text)
    assert told.startswith("Please check your comment"), told
    assert phone.find_element("css selector", "#survey button[type=submit]").is_enabled()


def notice_once(outcome: str) -> Callable[[Any], tuple[str, str] | None]:
    """The page's notice, once it is one of ``outcome``'s (a pending one refreshes)."""

    def shown(driver: Any) -> tuple[str, str] | None:
        found = shown_notice(driver)
        return found if found[0] == outcome else None

    return shown


def test_a_new_card_declined_as_well_is_told_so_with_javascript(
    phone: Any, shop: Shop, screenshots: Path
) -> None:
    # Probe 185: with the script, paying again with a card declined again reloaded the same
    # "card declined" page; the plain form's page says the new card was declined as well.
    body = order_body(payment={"method": "card", "token": "tok_declined"})
    body["customer"]["locale"] = "en"
    placed = shop.place_ok(body)
    wait_for_status(shop, placed["order_id"], "REJECTED")
    open_page(phone, shop, placed)

    submit(phone, "form-pay", {"token": "tok_declined"})

    # The new card is authorised after the post: the page says so, then reads itself
    # again until it is decided, as it does without JavaScript.
    wait_for(phone, lambda d: "outcome=done" in d.current_url)
    told = wait_for(
        phone,
        lambda d: (
            shown_notice(d)
            if shown_notice(d)[1] == "Your new card was declined as well. You can try another one."
            else None
        ),
    )
    assert told[0] == "done"
    assert "error" in phone.find_element("css selector", "#notice").get_attribute("class")
    assert "form=payment" in phone.current_url
    assert shown_status(phone) == "REJECTED"
    history = shop.order(placed["order_id"])["history"]
    assert [e["status"] for e in history].count("REJECTED") == 2
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-declined-again-en-390.png")


def test_a_return_of_more_units_than_are_left_says_how_many_with_javascript(
    phone: Any, shop: Shop, screenshots: Path
) -> None:
    # Probe 185: one unit went back from another tab; the script said "no longer possible
    # for this order" beside a return form still offering one.
    placed = shop.place_ok(order_body())
    order = delivered_by_its_carrier(shop, placed["order_id"])
    name = order["lines"][0]["name"]
    path = open_page(phone, shop, placed)  # "max. 2"
    one = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "Talla", "channel": "mail"}
    other_tab = shop.post(f"{path}/returns", one, idempotency_key())
    assert other_tab.status_code == 201, other_tab.text

    form = phone.find_element("css selector", "#form-return")
    submit(phone, "form-return", {"quantity": "2", "reason": "Grande", "channel": "mail"})

    wait_for(phone, gone(form))
    told = wait_for(phone, notice_once("too_many"))
    assert told[1] == f"No quedan tantas unidades por devolver. Aún puedes devolver 1 de {name}."
    assert "máx. 1" in phone.find_element("css selector", "label[for=qty-1]").get_attribute(
        "textContent"
    )
    assert len(shop.order(placed["order_id"])["returns"]) == 1
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "customer-page-return-too-many-es-390.png")


# The answer a return request gets when it lost every race to other changes of the order
# (``order_writes.sent_again_when_contended``), as the API's problem handler writes it.
LOST_EVERY_RACE = """
const body = JSON.stringify(arguments[0]);
window.fetch = function () {
  return Promise.resolve(new Response(body, {
    status: 429,
    headers: {"Content-Type": "application/problem+json", "Retry-After": "1"}
  }));
};
"""


def test_a_return_that_lost_every_race_says_so_and_can_be_sent_again_with_javascript(
    phone: Any, shop: Shop
) -> None:
    # Note 60: the plain form says "busy, send it again" for this 429 and the script chose
    # its words by the problem's type; no race could be made from a browser, so the page's
    # own request is answered as the stack answers one that lost every race.
    from chalicelib.api.http import problem_document
    from chalicelib.domain.errors import TryAgainShortly

    placed = shop.place_ok(order_body())
    delivered_by_its_carrier(shop, placed["order_id"])
    open_page(phone, shop, placed)
    lost = TryAgainShortly("the order is taking other changes; send it again", field="lines")
    phone.execute_script(
        LOST_EVERY_RACE,
        problem_document(lost.status, lost.title, lost.detail, lost.field_errors()),
    )
    typed = {"quantity": "1", "reason": "Talla", "channel": "mail"}
    submit(phone, "form-return", typed)

    told = wait_for(
        phone, lambda d: d.find_element("css selector", "#form-return .message.error").text
    )
    assert told == problem_words(Language.ES, FormOutcome.BUSY), told
    # Nothing was done, and what was typed is still there to send again.
    assert shop.order(placed["order_id"])["returns"] == []
    assert (
        phone.find_element("css selector", "#form-return [name=reason]").get_attribute("value")
        == "Talla"
    )
    assert phone.find_element("css selector", "#form-return button[type=submit]").is_enabled()

    open_page(phone, shop, placed)  # the page's own fetch again
    submit(phone, "form-return", typed)
    wait_for(phone, lambda d: "Solicitada" in d.find_element("tag name", "body").text)
    assert [r["status"] for r in shop.order(placed["order_id"])["returns"]] == ["REQUESTED"]


ID_LINES = """
const h1 = document.querySelector('h1');
const walker = document.createTreeWalker(h1, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const at = node.data.indexOf(arguments[0]);
  if (at >= 0) {
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + arguments[0].length);
    const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
    const box = range.getBoundingClientRect();
    return [lines.size, box.right <= h1.getBoundingClientRect().right + 0.5];
  }
}
return null;
"""


@pytest.mark.parametrize("width", [390, 320])
def test_the_survey_s_heading_keeps_the_order_id_on_one_line_within_the_screen(
    browser: Any, shop: Shop, width: int
) -> None:
    # Probe 185: at 390 pixels the heading broke the id as "…773a1 / 8?".
    survey = _delivered_survey(shop)
    found = re.search(r"ord_[0-9a-z]+", survey)
    assert found, survey
    order_id = found.group(0)
    browser.set_window_size(width, PHONE[1])
    browser.get(survey)
    wait_for(browser, lambda d: d.find_element("css selector", "#survey"))

    lines, within = browser.execute_script(ID_LINES, order_id)

    assert (lines, within) == (1, True)
    assert_fits_the_phone(browser)
    legend = browser.find_element("css selector", "#survey fieldset legend")
    assert legend.text == "¿Qué tal fue? Del 1 (muy mal) al 5 (muy bien):"


# Where the title's text holds the order id: the distinct line tops its characters sit on.
ORDER_ID_LINES = """
const [orderId] = arguments;
const title = document.querySelector('h1');
const text = [...title.childNodes].find(n => n.nodeType === 3 && n.data.includes(orderId));
const range = document.createRange();
const at = text.data.indexOf(orderId);
range.setStart(text, at);
range.setEnd(text, at + orderId.length);
return [...new Set([...range.getClientRects()].map(r => Math.round(r.top)))];
"""


def test_an_emails_title_keeps_the_order_id_whole_on_a_phone(
    phone: Any, shop: Shop, screenshots: Path, tmp_path: Path
) -> None:
    # Probe 251: at 390 pixels the confirmation's title read "Pedido
    # ord_099d0d34293e4baed9 / 17 confirmado", the id cut in two.
    body = order_body()
    placed = shop.place_ok(body)
    order_id = placed["order_id"]
    (confirmation,) = [
        m
        for m in shop.wait_for_emails(body["customer"]["email"], [f"{order_id} confirmado"])
        if str(m["Subject"]).endswith("confirmado")
    ]
    html = confirmation.get_body(("html",))
    assert html is not None
    page = tmp_path / "confirmation.html"
    page.write_text(html.get_content(), encoding="utf-8")

    phone.get(page.as_uri())

    assert len(phone.execute_script(ORDER_ID_LINES, order_id)) == 1
    assert_fits_the_phone(phone)
    screenshot(phone, screenshots, "email-confirmation-es-390.png")
