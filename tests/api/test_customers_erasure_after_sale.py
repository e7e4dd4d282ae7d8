"""Erasure over HTTP reaches what the after-sale features keep: a survey answer's comment,
and the address of every back-in-stock subscription and opportunity of the person (one
made with a bare email before they were a customer, one already notified, one still
open). Their scores, kinds, values and dates stay: the satisfaction and opportunity
figures are the retailer's books; the back-in-stock opportunities are closed ``lost`` (no
one can be told or recognised any more). No back-in-stock email reaches the person
afterwards."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.services import self_service
from tests.api.test_customers_erasure import (
    Person,
    _erase,
    _get,
    _post,
    _projected,
    _ship_order,
    _wait_order,
    assert_nothing_of,
    everything_shown,
    leaks,
)
from tests.support import JSON, STOREFRONT, assert_problem, eventually, signed_event
from tests.support.api import place_order
from tests.support.flow import fresh_sku, receive_at_warehouse
from tests.support.orders import wait_for_status


def _subscribe(client: Any, sku: str, email: str) -> str:
    return str(
        _post(client, f"/inventory/{sku}/subscriptions", {"email": email}, STOREFRONT)[
            "subscription_id"
        ]
    )


def _mails_to(stack: Any, address: str, about: str) -> int:
    return sum(
        1
        for mail in stack.outbox.glob("*.eml")
        if address in (text := mail.read_text(encoding="utf-8")) and about in text
    )


def _delivered(client: Any, person: Person, sku: str) -> dict[str, Any]:
    placed = place_order(client, _ship_order(person, sku))
    shipped = _wait_order(client, placed["order_id"], "SHIPPED")
    shipment = shipped["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"])
    posted = client.http.post(
        f"/carriers/{shipment['carrier']}/events", headers=headers, body=event
    )
    assert posted.status_code == 200, posted.body
    _wait_order(client, placed["order_id"], "DELIVERED")
    return placed


def _survey_path(client: Any, tracking_url: str) -> str:
    track = "/" + tracking_url.split("/", 3)[3]
    view = _get(client, track, {"Accept": "application/json"})
    return "/" + str(view["survey_url"]).split("/", 3)[3]


def _rows(client: Any, ids: set[str]) -> dict[str, Any]:
    listed = _get(client, "/ops/opportunities")["opportunities"]
    return {row["opportunity_id"]: row for row in listed if row["opportunity_id"] in ids}


def _figures(rows: dict[str, Any]) -> dict[str, Any]:
    """What the books keep of each opportunity through an erasure."""
    kept = ("kind", "customer_id", "order_id", "sku", "value", "created_at")
    return {key: {name: row.get(name) for name in kept} for key, row in rows.items()}


def test_erasure_takes_the_survey_comment_and_every_subscriptions_address_and_keeps_the_figures(
    client: Any, deps: Any, stack: Any
) -> None:
    person = Person()
    ship_sku = fresh_sku(deps, {"WH-GETAFE": 10})
    waited, notified_sku = fresh_sku(deps, {"WH-GETAFE": 0}), fresh_sku(deps, {"WH-GETAFE": 0})
    # Subscribed with a bare email before they were a customer, then once known.
    bare = _subscribe(client, notified_sku, person.email)
    placed = _delivered(client, person, ship_sku)
    customer_id, order_id = placed["customer_id"], placed["order_id"]
    still_open = _subscribe(client, waited, person.email)
    receive_at_warehouse(client, notified_sku, 3)
    assert _mails_to(stack, person.email, notified_sku) == 1
    answered = client.http.post(
        _survey_path(client, placed["tracking_url"]),
        headers=JSON,
        body=json.dumps({"score": 4, "comment": person.text("Lovely, thanks")}),
    )
    assert answered.status_code == 201, answered.body
    before = _projected(client, customer_id, {order_id: "DELIVERED"})
    assert [i for i in before["interactions"] if i["type"] == "survey"]
    stack.lambdas.drain()
    export = _get(client, f"/customers/{customer_id}/export")
    assert {s["subscription_id"]: s["status"] for s in export["subscriptions"]} == {
        bare: "notified",
        still_open: "open",
    }
    assert leaks(export["survey_answers"], person.needles)
    assert leaks(export["subscriptions"], person.needles)
    opportunity_ids = {f"opp_{bare}", f"opp_{still_open}"}
    assert {o["opportunity_id"] for o in export["opportunities"]} == opportunity_ids
    books = {
        "opportunities": _rows(client, opportunity_ids),
        "satisfaction": _get(client, "/analytics/satisfaction"),
    }

    erased = _erase(client, customer_id)

    assert erased.status_code == 200, erased.body
    shown = everything_shown(client, [customer_id], {order_id: placed["tracking_url"]}, [])
    assert_nothing_of(person, shown | books)
    export = shown[f"export {customer_id}"]
    assert [(a["order_id"], a["score"], a["comment"]) for a in export["survey_answers"]] == [
        (order_id, 4, None)
    ]
    # Closed, its notice must never go. The one made with a bare email no longer leads
    # to the person at all: its address was all that linked them.
    assert {s["subscription_id"]: s["status"] for s in export["subscriptions"]} == {
        still_open: "erased"
    }
    (survey,) = [i for i in shown[f"view {customer_id}"]["interactions"] if i["type"] == "survey"]
    assert (survey["order_id"], survey["summary"]) == (order_id, "[erased]")
    # What the store keeps, not only what it shows: no address, no comment.
    stored = deps.surveys.survey(order_id)
    assert (stored.score, stored.comment) == (4, None)
    for subscription_id, status in ((bare, "notified"), (still_open, "erased")):
        kept = deps.opportunities.subscription(subscription_id)
        assert (kept.email, kept.status) == ("[erased]", status)
        assert deps.opportunities.opportunity(f"opp_{subscription_id}").email is None
    assert deps.opportunities.open_subscriptions(waited) == []
    # The books stay: each opportunity's kind, value and creation; the CSAT figures. The
    # wishes (notified or still open) are closed: nobody can be told or recognised.
    after = _rows(client, opportunity_ids)
    assert _figures(after) == _figures(books["opportunities"])
    assert {key: row["status"] for key, row in books["opportunities"].items()} == {
        f"opp_{bare}": "notified",
        f"opp_{still_open}": "open",
    }
    assert {row["status"] for row in after.values()} == {"lost"}
    assert _get(client, "/analytics/satisfaction") == books["satisfaction"]

    # The SKU the person still waited for comes back: nobody is emailed about it.
    receive_at_warehouse(client, waited, 2)
    assert _mails_to(stack, person.email, waited) == 0
    # Asking again finds nothing left to do and changes nothing.
    assert _erase(client, customer_id).status_code == 200
    assert _rows(client, opportunity_ids) == after


def test_erasure_loses_the_persons_payment_retry_at_once_and_paying_again_is_refused(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 215: paying the declined order again answered 409 "its customer's data was
    # erased", yet its payment retry stayed open (34.85) until the 30-day review.
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))
    person = Person()
    body = _ship_order(person, "TSHIRT-BLK-M")
    body["payment"] = {"method": "card", "token": "tok_declined"}
    placed = place_order(client, body)
    wait_for_status(client, placed["order_id"], "REJECTED")
    retry = f"opp_retry_{placed['order_id']}"
    row = eventually(lambda: _rows(client, {retry}).get(retry))
    assert (row["kind"], row["status"], row["value"]) == (
        "payment_retry",
        "open",
        placed["total"],
    )

    erased = _erase(client, placed["customer_id"])

    assert erased.status_code == 200, erased.body
    after = _rows(client, {retry})[retry]
    assert after["status"] == "lost"
    assert _figures({retry: after}) == _figures({retry: row})
    paid_again = client.http.post(
        urlparse(placed["tracking_url"]).path + "/payment",
        headers=JSON,
        body=json.dumps({"payment": {"method": "card", "token": "tok_visa"}}),
    )
    assert "erased" in assert_problem(paid_again, 409)["detail"]
    # Asking again moves nothing.
    assert _erase(client, placed["customer_id"]).status_code == 200
    assert _rows(client, {retry}) == {retry: after}
