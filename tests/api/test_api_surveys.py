"""Satisfaction surveys over HTTP: the signed link is the only credential (anything else is
404), one answer per delivered order (201, then 409), the answer on the 360 with the
customer's average, a complaint for a low score, and CSAT for ops only."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.composition import deps
from chalicelib.services.survey_links import survey_url
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, order_body, signed_event
from tests.support.api import customer_360, get_order, place_order
from tests.support.orders import wait_for_status


def _delivered(
    client: Any, body: dict[str, Any] | None = None, auth: dict[str, str] = STOREFRONT
) -> dict[str, Any]:
    """A shipped order its carrier delivered, with its tracking JSON."""
    placed = place_order(client, body or order_body(), auth=auth)
    shipped = wait_for_status(deps(), placed["order_id"], "SHIPPED")
    shipment = shipped.fulfillments[0].shipment
    event, headers = signed_event(shipment.tracking_number)
    posted = client.http.post(f"/carriers/{shipment.carrier}/events", headers=headers, body=event)
    assert posted.status_code == 200, posted.body
    track = urlparse(placed["tracking_url"]).path
    view = client.http.get(track, headers={"Accept": "application/json"}).json_body
    return {"placed": placed, "tracking": view, "path": urlparse(str(view["survey_url"])).path}


@pytest.fixture
def delivered(client: Any) -> dict[str, Any]:
    return _delivered(client)


def _post(client: Any, path: str, body: Any) -> Any:
    return client.http.post(path, headers=JSON, body=json.dumps(body))


def _get_json(client: Any, path: str) -> Any:
    return client.http.get(path, headers={"Accept": "application/json"})


@pytest.mark.parametrize(
    "token",
    ["s1.k0.ord_nope.00000000000000000000000000000000", "garbage", "%C3%B1%C3%B1", "s1...."],
)
def test_a_forged_survey_link_is_404_for_reading_and_answering(client: Any, token: str) -> None:
    assert_problem(_get_json(client, f"/surveys/{token}"), 404)
    assert_problem(_post(client, f"/surveys/{token}", {"score": 5}), 404)


def test_the_tracking_token_does_not_open_the_survey(
    client: Any, delivered: dict[str, Any]
) -> None:
    tracking_token = urlparse(delivered["placed"]["tracking_url"]).path.rsplit("/", 1)[1]
    assert_problem(_post(client, f"/surveys/{tracking_token}", {"score": 5}), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "score"),
        ({"score": 0}, "score"),
        ({"score": 6}, "score"),
        ({"score": "5"}, "score"),
        ({"score": True}, "score"),
        ({"score": 4.5}, "score"),
        ({"score": 3, "comment": "x" * 1001}, "comment"),
        ({"score": 2, "comment": "cold\x1b[2J\x07"}, "comment"),
        ({"score": 3, "extra": 1}, "extra"),
    ],
)
def test_a_bad_answer_is_422_naming_the_field_and_keeps_the_survey_open(
    client: Any, delivered: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    assert_problem(_post(client, delivered["path"], body), 422, field)
    assert _get_json(client, delivered["path"]).json_body["answered"] is False


def test_the_survey_link_appears_once_delivered_and_not_before(client: Any) -> None:
    placed = place_order(client, order_body())
    wait_for_status(client, placed["order_id"], "SHIPPED")
    view = _get_json(client, urlparse(placed["tracking_url"]).path).json_body
    assert view["status"] == "SHIPPED"
    assert view["survey_url"] is None
    page = client.http.get(urlparse(placed["tracking_url"]).path, headers={"Accept": "text/html"})
    assert 'id="survey-link"' not in page.body.decode()


def test_the_delivered_order_s_page_links_its_survey_as_the_json_does(
    client: Any, delivered: dict[str, Any]
) -> None:
    # A probe: the HTML page never linked the survey its JSON and email carry.
    track = urlparse(delivered["placed"]["tracking_url"]).path
    page = client.http.get(track, headers={"Accept": "text/html"}).body.decode()

    link = re.search(
        r'<a class="button" id="survey-link" href="([^"]+)">Valora tu pedido</a>', page
    )
    assert link is not None and unescape(link.group(1)) == delivered["tracking"]["survey_url"]


def test_an_order_not_yet_delivered_cannot_be_rated(client: Any, delivered: dict[str, Any]) -> None:
    placed = place_order(client, order_body(payment={"method": "card", "token": "tok_declined"}))
    wait_for_status(client, placed["order_id"], "REJECTED")
    # Links are only handed out once delivered: sign one for the rejected order to check
    # the state refuses it too.
    path = urlparse(survey_url(placed["order_id"], deps())).path
    state = _get_json(client, path).json_body
    assert (state["answered"], state["open"]) == (False, False)
    assert_problem(_post(client, path, {"score": 5}), 409, "token")


def test_one_answer_then_409_and_the_page_says_it_was_answered(
    client: Any, delivered: dict[str, Any]
) -> None:
    order_id = delivered["placed"]["order_id"]
    page = client.http.get(delivered["path"])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'name="score"' in page.body.decode()
    assert _get_json(client, delivered["path"]).json_body == {
        "order_id": order_id,
        "answered": False,
        "open": True,
        "score": None,
    }

    first = _post(client, delivered["path"], {"score": 5, "comment": "Perfecto"})
    assert first.status_code == 201, first.body
    assert (first.json_body["order_id"], first.json_body["score"]) == (order_id, 5)
    # Like every refusal, it names what it is about: the survey's link (a probe: none).
    assert_problem(_post(client, delivered["path"], {"score": 1}), 409, "token")
    state = _get_json(client, delivered["path"]).json_body
    assert (state["answered"], state["score"]) == (True, 5)
    assert 'name="score"' not in client.http.get(delivered["path"]).body.decode()


def test_answers_are_360_interactions_with_the_average_and_a_low_one_opens_a_complaint(
    client: Any,
) -> None:
    body = order_body()
    good = _delivered(client, body)
    bad = _delivered(client, order_body(customer=body["customer"]))
    customer_id = good["placed"]["customer_id"]
    assert bad["placed"]["customer_id"] == customer_id
    assert _post(client, good["path"], {"score": 5}).status_code == 201
    assert _post(client, bad["path"], {"score": 2, "comment": "Llegó roto"}).status_code == 201

    view = customer_360(client, customer_id)
    surveys = [i for i in view["interactions"] if i["type"] == "survey"]
    assert sorted(i["order_id"] for i in surveys) == sorted(
        [good["placed"]["order_id"], bad["placed"]["order_id"]]
    )
    assert view["metrics"]["satisfaction"] == 3.5
    complaints = [t for t in view["tickets"] if t["type"] == "complaint"]
    assert [t["order_id"] for t in complaints] == [bad["placed"]["order_id"]]


def test_satisfaction_analytics_are_for_ops_and_count_each_answer(
    client: Any, delivered: dict[str, Any]
) -> None:
    for auth in (STOREFRONT, STORE):
        assert_problem(client.http.get("/analytics/satisfaction", headers=auth), 403)
    assert_problem(client.http.get("/analytics/satisfaction"), 401)
    before = client.http.get("/analytics/satisfaction", headers=OPS).json_body
    assert _post(client, delivered["path"], {"score": 4}).status_code == 201
    after = client.http.get("/analytics/satisfaction", headers=OPS).json_body
    assert after["responses"] == before["responses"] + 1
    assert after["by_channel"]["web"]["responses"] == (
        before["by_channel"].get("web", {"responses": 0})["responses"] + 1
    )
    carrier = get_order(client, delivered["placed"]["order_id"])["fulfillments"][0]["shipment"][
        "carrier"
    ]
    assert carrier in after["by_carrier"]
    assert 0 <= after["csat_pct"] <= 100


def test_a_low_score_on_an_anonymous_store_order_opens_a_complaint_ops_can_read(
    client: Any,
) -> None:
    body = order_body(channel="store", store_id="ST-MADRID")
    body.pop("customer")
    delivered = _delivered(client, body, auth=STORE)
    order_id = delivered["placed"]["order_id"]

    answered = _post(client, delivered["path"], {"score": 2, "comment": "La caja llegó rota"})

    assert answered.status_code == 201, answered.body
    ticket = client.http.get(f"/tickets/tkt_survey_{order_id}", headers=OPS)
    assert ticket.status_code == 200, ticket.body
    shown = ticket.json_body
    assert (shown["type"], shown["status"], shown["order_id"]) == ("complaint", "open", order_id)
    assert shown["customer_id"] is None
    assert "La caja llegó rota" in shown["description"]
    # No customer token proves a ticket without a customer.
    assert_problem(client.http.get(f"/tickets/tkt_survey_{order_id}", headers=STOREFRONT), 403)


def test_after_erasure_the_survey_is_closed_says_so_and_keeps_no_answer(
    client: Any, delivered: dict[str, Any]
) -> None:
    """Found by a probe: after erasure the link answered 409 yet kept the score and the
    comment on the erased record."""
    customer_id = delivered["placed"]["customer_id"]
    erased = client.http.post(f"/customers/{customer_id}/erase", headers=OPS | JSON, body="{}")
    assert erased.status_code == 200, erased.body

    state = _get_json(client, delivered["path"]).json_body
    assert (state["open"], state["answered"]) == (False, False)
    page = client.http.get(delivered["path"]).body.decode()
    assert 'name="score"' not in page
    assert "Esta encuesta ya no está disponible." in page  # the order's language (es)
    assert_problem(
        _post(client, delivered["path"], {"score": 2, "comment": "call me"}), 409, "token"
    )
    assert _get_json(client, delivered["path"]).json_body["answered"] is False
    # Nor is it offered where the customer follows the order (probe 158: its link stayed).
    track = urlparse(delivered["placed"]["tracking_url"]).path
    followed = client.http.get(track, headers={"Accept": "application/json"}).json_body
    assert followed["survey_url"] is None
    page = client.http.get(track, headers={"Accept": "text/html"}).body.decode()
    assert 'id="survey-link"' not in page


def test_a_retried_answer_is_not_replayed_once_the_customer_was_erased(
    client: Any, delivered: dict[str, Any]
) -> None:
    """Found by a probe: the answer's Idempotency-Key replayed the score and the comment
    after the erasure had taken them off the record."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = json.dumps({"score": 2, "comment": "ring me on 600123456"})
    first = client.http.post(delivered["path"], headers=JSON | key, body=body)
    assert first.status_code == 201, first.body
    assert client.http.post(delivered["path"], headers=JSON | key, body=body).body == first.body
    customer_id = delivered["placed"]["customer_id"]
    erased = client.http.post(f"/customers/{customer_id}/erase", headers=OPS | JSON, body="{}")
    assert erased.status_code == 200, erased.body

    replayed = client.http.post(delivered["path"], headers=JSON | key, body=body)

    assert_problem(replayed, 409, "token")
    assert "600123456" not in replayed.body.decode()


def test_once_answered_the_page_thanks_instead_of_offering_the_survey(
    client: Any, delivered: dict[str, Any]
) -> None:
    # A probe: "Rate your order" stayed on the page after the answer, and led to a form
    # that only said it was answered.
    track = urlparse(delivered["placed"]["tracking_url"]).path
    assert _post(client, delivered["path"], {"score": 4}).status_code == 201

    page = client.http.get(track, headers={"Accept": "text/html"}).body.decode()
    assert 'id="survey-link"' not in page
    assert '<p class="muted" id="survey-rated">Gracias por tu valoración: 4 de 5.</p>' in page
    view = _get_json(client, track).json_body
    assert view["survey_url"] == delivered["tracking"]["survey_url"]
