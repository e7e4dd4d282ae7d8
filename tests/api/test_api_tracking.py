"""The customer's tracking page: the signed token in the tracking URL is the only credential."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from chalicelib.presentation.wording import Wording
from chalicelib.services import self_service, survey_links
from tests.support import (
    JSON,
    OPS,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    order_body,
    pickup_order_body,
)
from tests.support.api import get_order, place_order
from tests.support.flow import emails_to, fresh_sku, parts_of, post_carrier_event
from tests.support.orders import wait_for_status


@pytest.fixture
def rejected(client: Any) -> dict[str, Any]:
    """An order that has settled (declined payment), and the path of its tracking page."""
    body = order_body(payment={"method": "card", "token": "tok_declined"})
    email = body["customer"]["email"]
    placed = place_order(client, body)
    order = wait_for_status(client, placed["order_id"], "REJECTED")
    return {"order": order, "path": urlparse(placed["tracking_url"]).path, "email": email}


def test_tracking_url_points_at_the_tracking_page(rejected: dict[str, Any]) -> None:
    assert rejected["path"].startswith("/track/")
    assert rejected["order"]["tracking_url"].endswith(rejected["path"])


def test_tracking_page_is_html_with_the_order_and_its_status_without_a_key(
    client: Any, rejected: dict[str, Any]
) -> None:
    response = client.http.get(rejected["path"])

    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.body.decode()
    assert rejected["order"]["order_id"] in html
    assert 'data-status="REJECTED"' in html
    assert "payment_declined" in html


def test_a_link_tracker_s_doubled_campaign_tags_still_open_the_page(
    client: Any, rejected: dict[str, Any]
) -> None:
    # A re-probe: refusing repeated parameters answered a JSON 422 to a shopper whose
    # email link a tracker had rewritten; the page ignores what it does not take.
    response = client.http.get(f"{rejected['path']}?utm_source=mail&utm_source=news")

    assert response.status_code == 200, response.body
    assert rejected["order"]["order_id"] in response.body.decode()
    doubled = client.http.get(f"{rejected['path']}?form=cancel&form=cancel")
    assert_problem(doubled, 422, "form")


def test_tracking_page_is_json_when_asked(client: Any, rejected: dict[str, Any]) -> None:
    order = rejected["order"]

    response = client.http.get(rejected["path"], headers={"Accept": "application/json"})

    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    view = response.json_body
    assert view["order_id"] == order["order_id"]
    assert view["status"] == "REJECTED"
    assert view["status_reason"] == "payment_declined"
    assert view["total"] == order["total"]
    assert [entry["status"] for entry in view["timeline"]] == [
        entry["status"] for entry in order["history"]
    ]
    # The customer's page shows no internals.
    assert not {"payment", "execution_arn", "customer_id"} & set(view)


def test_the_json_form_has_the_price_breakdown_the_page_shows(client: Any) -> None:
    # Probe 168: the HTML page showed subtotal, discount, shipping and the IGIC on top;
    # the JSON had only the total, so a storefront drawing the page from it could not.
    code = f"T{uuid.uuid4().hex[:10].upper()}"
    coupon = {"name": "Diez por ciento", "code": code, "kind": "percent", "value": "10"}
    created = client.http.post("/promotions", headers=OPS | JSON, body=json.dumps(coupon))
    assert created.status_code == 201, created.body
    address = {"name": "Ana", "line1": "Calle Triana 1", "city": "Las Palmas"}
    canary = address | {"postal_code": "35001", "country": "ES"}
    placed = place_order(client, order_body(shipping_address=canary, coupon=code))
    order = get_order(client, placed["order_id"])
    _described(client, "OrderResponse").validate(order)

    view = client.http.get(
        urlparse(placed["tracking_url"]).path, headers={"Accept": "application/json"}
    ).json_body

    for field in ("subtotal", "discount", "shipping", "tax", "taxes", "total"):
        assert view[field] == order[field], field
    assert view["taxes"][0]["name"] == "IGIC" and not view["taxes"][0]["included"]
    assert view["promotions"] == [{"name": "Diez por ciento", "amount": order["discount"]}]
    assert [(line["unit_price"], line["line_total"]) for line in view["lines"]] == [
        (line["unit_price"], line["line_total"]) for line in order["lines"]
    ]
    # The document says so (re-probe 171: its lines were any object).
    schemas = client.http.get("/openapi.json").json_body["components"]["schemas"]
    assert {"unit_price", "line_total"} <= set(schemas["TrackedLine"]["properties"])
    assert "promotions" in schemas["TrackingResponse"]["properties"]
    # Money adds up as the page says: subtotal less the discount, plus shipping and the
    # tax on top.
    cents = [Decimal(view[f]["amount"]) for f in ("subtotal", "discount", "shipping")]
    on_top = sum(Decimal(t["amount"]["amount"]) for t in view["taxes"] if not t["included"])
    assert cents[0] - cents[1] + cents[2] + on_top == Decimal(view["total"]["amount"])


def _tracked(client: Any, path: str) -> dict[str, Any]:
    """The page's JSON, checked against what the OpenAPI document says of it (probe 198's
    follow-up: its parts and returns were any object there, so a client generated from
    the document knew none of their fields)."""
    response = client.http.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.body
    tracked: dict[str, Any] = response.json_body
    _described(client).validate(tracked)
    return tracked


def _described(client: Any, name: str = "TrackingResponse") -> jsonschema.Draft202012Validator:
    """A validator of one of the document's schemas; the page's parts and returns, and an
    order's lines, returns and promotions, name their fields there."""
    document = client.http.get("/openapi.json").json_body
    schemas = document["components"]["schemas"]
    assert {"location", "lines", "pickup_code", "shipment"} <= set(
        schemas["TrackedFulfillment"]["properties"]
    )
    assert {"channel", "lines", "refund", "refund_status", "send_to"} <= set(
        schemas["TrackedReturn"]["properties"]
    )
    assert {"requested_at", "refund_status"} <= set(schemas["ReturnShown"]["properties"])
    assert {"unit_price", "discount"} <= set(schemas["OrderLineResponse"]["properties"])
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root)


def test_the_json_form_tells_a_pick_up_and_a_return_by_post_as_the_page_does(
    client: Any, deps: Any
) -> None:
    # Probe 194: the HTML showed the pick-up code, its deadline and store, a return's
    # lines, where to post it and its refund; the JSON only ids and statuses.
    sku = fresh_sku(deps, {"ST-MADRID": 2}, price="12.00")
    placed = place_order(client, pickup_order_body(sku, store="ST-MADRID"))
    path = urlparse(placed["tracking_url"]).path
    order = wait_for_status(client, placed["order_id"], "READY_FOR_PICKUP")
    (pickup,) = get_order(client, placed["order_id"], OPS)["fulfillments"]
    locations = client.http.get("/locations", headers=OPS).json_body["locations"]
    places = {loc["location_id"]: loc for loc in locations}

    (waiting,) = _tracked(client, path)["fulfillments"]

    madrid = places["ST-MADRID"]
    assert waiting["location"]["name"] == madrid["name"]
    assert madrid["address"] in waiting["location"]["address"]
    assert (waiting["pickup_code"], waiting["pickup_deadline"], waiting["collect_from"]) == (
        pickup["pickup_code"],
        pickup["pickup_deadline"],
        pickup["collect_from"],
    )
    assert waiting["lines"] == [{"sku": sku, "quantity": 1}]
    collected = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": pickup["pickup_code"]}),
    )
    assert collected.status_code == 200, collected.body
    (handed,) = _tracked(client, path)["fulfillments"]
    assert (
        handed["status"],
        handed["pickup_code"],
        handed["pickup_deadline"],
        handed["collect_from"],
    ) == ("DELIVERED", None, None, None)

    body = {"lines": [{"sku": sku, "quantity": 1}], "reason": "Talla", "channel": "mail"}
    opened = client.http.post(f"{path}/returns", headers=JSON, body=json.dumps(body))
    assert opened.status_code == 201, opened.body
    (asked,) = _tracked(client, path)["returns"]
    warehouse = next(loc for loc in locations if loc["type"] == "warehouse")
    assert (asked["channel"], asked["lines"], asked["refund"]) == ("mail", body["lines"], None)
    assert asked["send_to"]["location_id"] == warehouse["location_id"]
    assert warehouse["address"] in asked["send_to"]["address"]
    received = client.http.post(
        f"/returns/{asked['return_id']}/receive",
        headers=OPS | JSON,
        body=json.dumps({"location_id": warehouse["location_id"]}),
    )
    assert received.status_code == 200, received.body

    after = _tracked(client, path)
    (back,) = after["returns"]
    assert (back["status"], back["send_to"], back["refund_status"]) == (
        "RECEIVED",
        None,
        "refunded",
    )
    assert back["refund"] == after["refunded"] == order["total"]
    assert after["not_charged"] is None
    _described(client, "OrderResponse").validate(get_order(client, placed["order_id"], OPS))


def test_a_browser_accept_header_gets_html(client: Any, rejected: dict[str, Any]) -> None:
    accept = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"

    response = client.http.get(rejected["path"], headers={"Accept": accept})

    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("application/json, text/html;q=0", "application/json"),  # a probe: it got HTML
        ("application/json, text/html;q=0.5", "application/json"),
        ("application/*", "application/json"),
        ("application/json, text/plain, */*", "application/json"),
        ("text/html;q=0.5, application/json;q=0.4", "text/html"),
        ("application/json;q=0, text/html", "text/html"),
        ("application/json, text/html", "text/html"),
        ("*/*", "text/html"),
        ("", "text/html"),
        ("application/json;q=abc", "text/html"),
    ],
)
def test_the_page_or_its_json_follows_the_accept_headers_preference(
    client: Any, rejected: dict[str, Any], accept: str, kind: str
) -> None:
    response = client.http.get(rejected["path"], headers={"Accept": accept})

    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith(kind)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("0" if token[-1] != "0" else "1"),
        lambda token: token.rpartition(".")[0],
        lambda token: "ord_00000000000000000000." + token.rpartition(".")[2],
        lambda token: "not-a-token",
        lambda token: "." + token.rpartition(".")[2],
    ],
    ids=["changed signature", "no signature", "another order", "garbage", "no order id"],
)
def test_forged_token_is_404(client: Any, rejected: dict[str, Any], forge: Any) -> None:
    token = rejected["path"].removeprefix("/track/")

    response = client.http.get(f"/track/{forge(token)}")

    assert_problem(response, 404, "token")


def test_ops_revoke_an_orders_links_the_old_one_404s_and_the_new_one_opens(
    client: Any, rejected: dict[str, Any]
) -> None:
    order_id, old = rejected["order"]["order_id"], rejected["path"]
    path = f"/ops/orders/{order_id}/tracking-token/revoke"
    assert_problem(client.http.post(path, headers=STOREFRONT), 403)
    assert client.http.get(old).status_code == 200

    revoked = client.http.post(path, headers=OPS)

    assert revoked.status_code == 200, revoked.body
    new = urlparse(revoked.json_body["tracking_url"]).path
    assert new != old
    assert_problem(client.http.get(old), 404, "token")
    assert client.http.get(new).status_code == 200
    # What the API hands out from now on is the new link.
    assert get_order(client, order_id, OPS)["tracking_url"].endswith(new)

    # And the customer is sent it (probe 199: every link they held was dead).
    def renewed() -> Any:
        address = rejected["email"]
        return next((m for m in emails_to(address) if "Nuevo enlace" in str(m["Subject"])), None)

    told = parts_of(eventually(renewed))
    assert new in told["text/plain"] and new in told["text/html"]
    assert old not in told["text/plain"]
    assert client.http.get(new).status_code == 200


def test_revoking_the_links_of_an_unknown_order_is_404(client: Any) -> None:
    response = client.http.post(
        "/ops/orders/ord_00000000000000000000/tracking-token/revoke", headers=OPS
    )
    assert_problem(response, 404, "order_id")


def test_a_link_sent_before_key_ids_still_opens(client: Any, deps: Any) -> None:
    placed = place_order(client, order_body())
    secret = deps.secrets.tracking_keys().keys["k0"]
    signature = hmac.new(secret.encode(), f"track:{placed['order_id']}".encode(), hashlib.sha256)
    legacy = f"/track/{placed['order_id']}.{signature.hexdigest()[:32]}"

    assert client.http.get(legacy).status_code == 200


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_on_a_revoked_link_reads_a_page_in_both_languages_not_a_problem(
    client: Any, rejected: dict[str, Any], deps: Any
) -> None:
    order_id, old = rejected["order"]["order_id"], rejected["path"]
    assert (
        client.http.post(f"/ops/orders/{order_id}/tracking-token/revoke", headers=OPS).status_code
        == 200
    )
    survey = urlparse(survey_links.survey_url(order_id, deps)).path

    for dead in (old, "/track/not-a-token", "/surveys/not-a-token"):
        response = client.http.get(dead, headers=BROWSER)
        assert response.status_code == 404, dead
        assert response.headers["Content-Type"].startswith("text/html"), dead
        assert response.headers["Cache-Control"] == "no-store"
        page = response.body.decode()
        assert "Este enlace ya no es válido" in page and "This link is no longer valid" in page
        assert order_id not in page
        assert "Orquesta" in page and 'class="brand"' in page
        # It sends nobody to write from an order's page they cannot open (probe 199).
        assert "página de tu pedido" not in page
        # Nor only of emails: a renewed link reaches a phone-only customer by text (probe 214).
        assert "en un SMS" in page and "by text message" in page
    # An API client (no Accept naming HTML) keeps the problem document; a live survey link
    # still opens.
    assert_problem(client.http.get(old), 404, "token")
    assert_problem(
        client.http.get("/surveys/not-a-token", headers={"Accept": "application/json"}), 404
    )
    assert client.http.get(survey, headers=BROWSER).status_code == 200


def _deliveries(client: Any, path: str) -> str:
    """The page's deliveries section, as HTML."""
    html = client.http.get(path, headers={"Accept": "text/html"}).body.decode()
    found = re.search(r"<h2>(?:Entregas|Deliveries)</h2>(.*?)</section>", html, re.S)
    assert found, html
    return found.group(1)


def _reported_at(deps: Any, order_id: str, kind: str) -> str:
    """When the order's parcel's last ``kind`` event happened, as the customer reads it."""
    order = deps.store.get_order(order_id)
    events = order.fulfillments[0].shipment.events
    at = next(e["occurred_at"] for e in reversed(events) if e["type"] == kind)
    return Wording.for_order(order).when(datetime.fromisoformat(at))


@pytest.mark.parametrize(
    ("locale", "out_for_delivery", "problem", "on_time"),
    [
        (
            "es",
            "En reparto desde el {at}",
            "Incidencia: el transportista nos avisó de un problema con el paquete el {at}.",
            "En plazo",
        ),
        (
            "en",
            "Out for delivery since {at}",
            "A problem: the carrier told us of a problem with the parcel on {at}.",
            "On time",
        ),
    ],
)
def test_what_the_carrier_last_reported_is_on_the_parcel_until_it_is_delivered(
    client: Any, deps: Any, locale: str, out_for_delivery: str, problem: str, on_time: str
) -> None:
    # Probe 185: the exception's email sent the customer to a page that said "Enviado ·
    # En plazo", with no word of the problem, nor of the parcel being out for delivery.
    body = order_body()
    body["customer"]["locale"] = locale
    placed = place_order(client, body)
    order_id, path = placed["order_id"], urlparse(placed["tracking_url"]).path
    order = wait_for_status(client, order_id, "SHIPPED", settled=True)
    tracking = order["fulfillments"][0]["shipment"]["tracking_number"]
    json_keys = set(client.http.get(path, headers=JSON_ACCEPT).json_body)
    before_any = client.http.get(path, headers=JSON_ACCEPT).json_body["fulfillments"][0]
    assert before_any["shipment"]["last_event"] is None
    # An in-transit scan adds nothing to the page's words.
    post_carrier_event(client, tracking, "in_transit")
    assert "data-carrier-event" not in _deliveries(client, path)

    post_carrier_event(client, tracking, "out_for_delivery")
    shown = _deliveries(client, path)
    at = _reported_at(deps, order_id, "out_for_delivery")
    assert 'data-carrier-event="out_for_delivery"' in shown
    assert out_for_delivery.format(at=at) in unescape(shown)
    assert on_time not in shown

    post_carrier_event(client, tracking, "exception")
    shown = unescape(_deliveries(client, path))
    assert 'data-carrier-event="exception"' in shown
    assert problem.format(at=_reported_at(deps, order_id, "exception")) in shown
    assert on_time not in shown and out_for_delivery.format(at=at) not in shown
    # The JSON keeps its keys, and says what the carrier last reported as codes.
    as_json = _tracked(client, path)
    assert set(as_json) == json_keys
    assert as_json["fulfillments"][0]["shipment"]["last_event"]["type"] == "exception"

    post_carrier_event(client, tracking, "delivered")
    wait_for_status(client, order_id, "DELIVERED", settled=True)
    shown = _deliveries(client, path)
    assert "data-carrier-event" not in shown
    as_json = client.http.get(path, headers=JSON_ACCEPT).json_body
    assert as_json["fulfillments"][0]["shipment"]["last_event"]["type"] == "delivered"
    assert problem.format(at="")[:20] not in unescape(shown)


JSON_ACCEPT = {"Accept": "application/json"}
HTML_ACCEPT = {"Accept": "text/html"}


def _said(html: str, mark: str) -> str | None:
    found = re.search(rf"<p {mark}>([^<]*)</p>", html)
    return unescape(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("locale", "ended"),
    [
        ("es", "El plazo para pagar de nuevo este pedido terminó el {when}. Para seguir, haz un "),
        ("en", "The time to pay again for this order ended on {when}. A new order is the way on."),
    ],
)
def test_once_the_time_to_pay_again_is_over_the_page_says_so_and_when(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch, locale: str, ended: str
) -> None:
    # Probe 185: the rejection email said "you can pay again until …"; after that the
    # page silently dropped the form.
    body = order_body(payment={"method": "card", "token": "tok_declined"})
    body["customer"]["locale"] = locale
    placed = place_order(client, body)
    order_id, path = placed["order_id"], urlparse(placed["tracking_url"]).path
    wait_for_status(client, order_id, "REJECTED", settled=True)
    # Within the window: the form, and no word of an end.
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))
    html = client.http.get(path, headers=HTML_ACCEPT).body.decode()
    assert 'id="form-pay"' in html and _said(html, "data-pay-ended") is None

    # A window that ended at the rejection itself: over by the time the customer looks.
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(0))
    html = client.http.get(path, headers=HTML_ACCEPT).body.decode()

    order = deps.store.get_order(order_id)
    rejected_at = next(e.at for e in order.history if e.status.value == "REJECTED")
    said = _said(html, "data-pay-ended")
    assert said is not None and said.startswith(
        ended.format(when=Wording.for_order(order).when(rejected_at))
    ), said
    assert 'id="form-pay"' not in html
    assert client.http.get(path, headers=JSON_ACCEPT).json_body["actions"] == ["ticket"]


@pytest.mark.parametrize(
    ("locale", "closed"),
    [
        ("es", "El plazo para devolver este pedido terminó el {when}."),
        ("en", "The return window for this order closed on {when}."),
    ],
)
def test_once_the_return_window_closed_the_page_says_so_and_when(
    client: Any, deps: Any, settings: Any, locale: str, closed: str
) -> None:
    # Probe 185: "Return items" just vanished; nothing said the window had closed.
    settings.return_window_days = 0  # closes a second after the delivery
    body = order_body()
    body["customer"]["locale"] = locale
    placed = place_order(client, body)
    order_id, path = placed["order_id"], urlparse(placed["tracking_url"]).path
    order = wait_for_status(client, order_id, "SHIPPED", settled=True)
    post_carrier_event(client, order["fulfillments"][0]["shipment"]["tracking_number"])
    wait_for_status(client, order_id, "DELIVERED", settled=True)

    assert eventually(
        lambda: client.http.get(path, headers=JSON_ACCEPT).json_body["actions"] == ["ticket"]
    )
    html = client.http.get(path, headers=HTML_ACCEPT).body.decode()

    ends = deps.store.get_order(order_id).returns_window_ends
    when = Wording.for_order(deps.store.get_order(order_id)).when(ends)
    assert _said(html, "data-return-ended") == closed.format(when=when)
    assert 'id="form-return"' not in html


def test_while_the_return_window_is_open_the_page_names_no_end(client: Any, deps: Any) -> None:
    placed = place_order(client, order_body())
    order_id, path = placed["order_id"], urlparse(placed["tracking_url"]).path
    order = wait_for_status(client, order_id, "SHIPPED", settled=True)
    post_carrier_event(client, order["fulfillments"][0]["shipment"]["tracking_number"])
    wait_for_status(client, order_id, "DELIVERED", settled=True)

    html = client.http.get(path, headers=HTML_ACCEPT).body.decode()
    assert 'id="form-return"' in html and _said(html, "data-return-ended") is None


@pytest.mark.parametrize(
    ("country", "postal_code", "zone", "named"),
    [
        ("PT", "1100-048", "Europe/Lisbon", False),
        ("PT", "9500-150", "Atlantic/Azores", False),
        ("US", "10001", "Europe/Madrid", True),
    ],
)
def test_a_customer_abroad_reads_times_on_their_clock_or_told_whose(
    client: Any, country: str, postal_code: str, zone: str, named: bool
) -> None:
    # Probe 199: a Lisbon customer read Madrid's times, an hour off and unlabelled.
    address = {"name": "Ana", "line1": "Rua Augusta 1", "city": "Lisboa"}
    body = order_body(shipping_address=address | {"postal_code": postal_code, "country": country})
    body["customer"]["locale"] = "en"
    placed = place_order(client, body)
    order = get_order(client, placed["order_id"])
    placed_at = datetime.fromisoformat(order["placed_at"])

    page = unescape(client.http.get(urlparse(placed["tracking_url"]).path).body.decode())

    local = placed_at.astimezone(ZoneInfo(zone))
    shown = f"{local.day} {local:%b %Y}, {local:%H:%M}"
    assert shown + (" Spain (Madrid) Time" if named else "") in page
    madrid = placed_at.astimezone(ZoneInfo("Europe/Madrid"))
    if zone != "Europe/Madrid":
        assert f"{madrid.day} {madrid:%b %Y}, {madrid:%H:%M}" not in page
