"""The customer's page, the survey page and the HTML emails share one look: they are drawn
from one palette (``partials/palette.j2``) and one header and footer
(``partials/brand.html.j2``). Changing the palette's brand colour changes every one of
them, and no template keeps a copy of it."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from jinja2 import ChoiceLoader, DictLoader

from chalicelib import rendering
from chalicelib.domain.email_policy import EmailKind
from chalicelib.services import notify, survey_links
from chalicelib.services.emails import compose
from tests.support import order_body
from tests.support.api import place_order
from tests.support.orders import wait_for_status

HTML = {"Accept": "text/html"}


def _module(name: str) -> Any:
    return rendering.environment().get_template(name).module


def _customer_views(client: Any, deps: Any, locale: str) -> dict[str, str]:
    """What a customer sees of one order, as HTML: its page, its survey, its emails."""
    body = order_body()
    body["customer"]["locale"] = locale
    placed = place_order(client, body)
    order = wait_for_status(deps, placed["order_id"], "RESERVED", "SHIPPED")
    page = client.http.get(urlparse(placed["tracking_url"]).path, headers=HTML)
    assert page.status_code == 200, page.body
    survey_path = urlparse(survey_links.survey_url(order.order_id, deps)).path
    survey = client.http.get(survey_path, headers=HTML)
    assert survey.status_code == 200, survey.body
    event = {"order_id": order.order_id, "event_id": "e", "type": "order.status_changed"}
    email = notify.render_email(EmailKind.CONFIRMATION, event, order, deps)
    ticket = {
        "ticket_id": "tkt_1",
        "type": "question",
        "subject": "Talla",
        "order_id": order.order_id,
    }
    context = {
        "kind": "ticket.opened",
        "from_survey": False,
        "by_us": False,
        "ticket": ticket,
        "name": "",
        "tracking_url": placed["tracking_url"],
    }
    ticket_email = compose("ticket_subject", "ticket", locale, context | {"locale": locale})
    return {
        "page": page.body.decode(),
        "survey": survey.body.decode(),
        "order email": email.html,
        "ticket email": ticket_email.html,
    }


@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_page_the_survey_and_the_emails_share_the_header_footer_and_palette(
    client: Any, deps: Any, locale: str
) -> None:
    brand = _module("partials/brand.html.j2")
    look = _module("partials/palette.j2")
    header, footer = str(brand.header()), str(brand.footer(locale))
    assert look.palette["brand"] in header

    views = _customer_views(client, deps, locale)

    for name, html in views.items():
        assert header in html, name
        assert footer in html, name
        assert f'<html lang="{locale}">' in html, name
    # The page's CSS rules and the emails' inline styles are the same declarations.
    for name in ("page", "survey"):
        assert f".button, button {{ {look.styles['button']} }}" in views[name], name
        assert f"body {{ {look.styles['body']} }}" in views[name], name
    for name in ("order email", "ticket email"):
        assert f'style="{look.styles["button"]}"' in views[name], name


def test_changing_the_palette_s_brand_colour_changes_every_page_and_email(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = rendering.environment()
    assert shared.loader is not None
    source = shared.loader.get_source(shared, "partials/palette.j2")[0]
    brand = _module("partials/palette.j2").palette["brand"]
    repainted = source.replace(brand, "#123456")
    assert repainted != source
    overlay = shared.overlay(
        loader=ChoiceLoader([DictLoader({"partials/palette.j2": repainted}), shared.loader])
    )
    monkeypatch.setattr(rendering, "environment", lambda: overlay)

    for name, html in _customer_views(client, deps, "es").items():
        assert "#123456" in html, name
        assert brand not in html, f"{name} keeps a copy of the brand colour"


def test_the_one_time_code_email_has_the_same_look(deps: Any) -> None:
    from chalicelib.services import verification
    from tests.support.flow import emails_to, parts_of

    address = f"code-{uuid.uuid4().hex[:8]}@example.com"
    verification.send_code(address, None, deps, sender="test-client")

    (message,) = emails_to(address)
    html = parts_of(message)["text/html"]
    assert str(_module("partials/brand.html.j2").header()) in html
    assert _module("partials/palette.j2").styles["card"] in html
    code = re.search(r"Your Orquesta code is (\d{6})", parts_of(message)["text/plain"])
    assert code is not None and code.group(1) in html
    # Both parts say the same (probe 199: only the HTML said what to do if unasked), and
    # nothing sends the reader to an order's page there is none of.
    assert "If you did not ask for it, ignore this email." in parts_of(message)["text/plain"]
    assert "página de tu pedido" not in html
    # Nor thanks for shopping someone who may never have (probe 202).
    assert "Gracias por comprar" not in html


@pytest.mark.parametrize("locale", ["es", "en"])
def test_who_may_have_bought_nothing_is_not_thanked_for_shopping(client: Any, locale: str) -> None:
    # Probe 203: a back-in-stock email to someone who only asked to be told, and the page
    # of a dead or forged link, thanked the reader "for shopping with us".
    context = {"email": "back_in_stock", "locale": locale, "sku": "COAT-WOOL"}
    context |= {"product": "Abrigo de lana", "shop_url": "http://shop.test", "asked": True}
    email = compose("back_in_stock_subject", "back_in_stock", locale, context)
    gone = client.http.get("/track/v1.k0.0.ord_00000000000000000000.00", headers=HTML)
    assert gone.status_code == 404

    for html in (email.html, gone.body.decode()):
        assert str(_module("partials/brand.html.j2").header()) in html
        assert "Gracias por comprar" not in html and "Thank you for shopping" not in html
