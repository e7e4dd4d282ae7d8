"""Idempotency-Key on the writes that create things besides ``POST /orders`` (API.md,
Conventions): optional there; the same key and body answer the first response and create
nothing new; the same key with another body is 422 naming the header; no key works as
before. Each route keeps its keys apart per client and per resource."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.support import (
    JSON,
    OPS,
    STORE,
    STOREFRONT,
    assert_problem,
    idempotency_key,
    order_body,
)
from tests.support.api import customer_360, place_order
from tests.support.died import Killed, answer_never_kept, in_progress_time_passes
from tests.support.flow import fresh_sku, post_carrier_event, tracking_number
from tests.support.orders import wait_for_status


def _post(client: Any, path: str, body: Any, auth: dict[str, str], key: dict[str, str]) -> Any:
    return client.http.post(path, headers=auth | JSON | key, body=json.dumps(body))


def _once_per_key(client: Any, path: str, body: Any, other: Any, auth: dict[str, str]) -> Any:
    """Post ``body`` twice and ``other`` once with one key: the replay answers the first
    response, the other body is 422 naming the header. The first answer."""
    key = idempotency_key()
    first = _post(client, path, body, auth, key)
    again = _post(client, path, body, auth, key)
    reused = _post(client, path, other, auth, key)
    assert first.status_code == again.status_code == 201, first.body
    assert again.json_body == first.json_body
    assert_problem(reused, 422, "Idempotency-Key")
    return first


def _delivered(client: Any, deps: Any) -> dict[str, Any]:
    """An order placed and delivered: what placing it answered."""
    placed = place_order(client, order_body())
    wait_for_status(client, placed["order_id"], "SHIPPED")
    post_carrier_event(client, tracking_number(deps.store.get_order(placed["order_id"])))
    wait_for_status(client, placed["order_id"], "DELIVERED")
    return placed


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


# POST /customers ------------------------------------------------------------------------


def test_identify_replays_the_first_answer_for_the_same_key_and_body(client: Any) -> None:
    body = {"email": _email("idem-cus")}
    key = idempotency_key()

    first = _post(client, "/customers", body, STOREFRONT, key)
    again = _post(client, "/customers", body, STOREFRONT, key)

    assert first.status_code == again.status_code == 200, first.body
    assert first.json_body["created"] is True
    assert again.body == first.body  # the first answer, created: true and all
    # Without a key the same body resolves to the same customer, as before.
    unkeyed = _post(client, "/customers", body, STOREFRONT, {})
    assert unkeyed.status_code == 200, unkeyed.body
    assert unkeyed.json_body == {
        "customer_id": first.json_body["customer_id"],
        "matched_by": "email",
        "created": False,
    }


def test_identify_with_a_reused_key_and_another_body_is_422_and_creates_nobody(
    client: Any,
) -> None:
    key = idempotency_key()
    first = _post(client, "/customers", {"email": _email("idem-cus")}, STOREFRONT, key)
    assert first.status_code == 200, first.body
    other = _email("idem-other")

    reused = _post(client, "/customers", {"email": other}, STOREFRONT, key)

    assert_problem(reused, 422, "Idempotency-Key")
    looked_up = client.http.get(f"/customers?email={other}", headers=OPS)
    assert looked_up.status_code == 404, looked_up.body


def test_one_key_from_two_clients_identifies_two_customers(client: Any) -> None:
    key = idempotency_key()
    mine = _post(client, "/customers", {"email": _email("idem-a")}, STOREFRONT, key)
    theirs = _post(client, "/customers", {"email": _email("idem-b")}, STORE, key)

    assert mine.status_code == theirs.status_code == 200, theirs.body
    assert mine.json_body["customer_id"] != theirs.json_body["customer_id"]


# POST /customers/{customer_id}/tickets --------------------------------------------------

TICKET = {"subject": "Wrong size", "description": "Sent M, ordered L", "channel": "phone"}


def _ticket_ids(client: Any, customer_id: str) -> list[str]:
    return sorted(t["ticket_id"] for t in customer_360(client, customer_id)["tickets"])


def test_a_staff_ticket_is_opened_once_per_key(client: Any) -> None:
    customer_id = place_order(client, order_body())["customer_id"]
    before = _ticket_ids(client, customer_id)
    path = f"/customers/{customer_id}/tickets"

    first = _once_per_key(client, path, TICKET, TICKET | {"subject": "Wrong colour"}, OPS)

    assert _ticket_ids(client, customer_id) == sorted([*before, first.json_body["ticket_id"]])

    # Without a key each request opens its own ticket, as before.
    unkeyed = _post(client, path, TICKET, OPS, {})
    assert unkeyed.status_code == 201, unkeyed.body
    assert unkeyed.json_body["ticket_id"] != first.json_body["ticket_id"]
    assert len(_ticket_ids(client, customer_id)) == len(before) + 2


# POST /inventory/{sku}/subscriptions ----------------------------------------------------


def _open_subscriptions(deps: Any, sku: str) -> list[str]:
    return sorted(s.subscription_id for s in deps.opportunities.open_subscriptions(sku))


def test_a_subscription_is_made_once_per_key(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 0})
    path = f"/inventory/{sku}/subscriptions"
    body, other = {"email": _email("bis")}, {"email": _email("bis-other")}

    first = _once_per_key(client, path, body, other, STOREFRONT)

    assert _open_subscriptions(deps, sku) == [first.json_body["subscription_id"]]

    # Without a key another address subscribes on its own, as before.
    unkeyed = _post(client, path, {"email": _email("bis-third")}, STOREFRONT, {})
    assert unkeyed.status_code == 201, unkeyed.body
    assert len(_open_subscriptions(deps, sku)) == 2


def test_one_key_on_two_skus_subscribes_to_both(client: Any, deps: Any) -> None:
    body, key = {"email": _email("bis")}, idempotency_key()
    skus = [fresh_sku(deps, {"WH-GETAFE": 0}) for _ in range(2)]

    answers = [
        _post(client, f"/inventory/{sku}/subscriptions", body, STOREFRONT, key) for sku in skus
    ]

    assert [a.status_code for a in answers] == [201, 201], [a.body for a in answers]
    assert [a.json_body["sku"] for a in answers] == skus
    assert [len(_open_subscriptions(deps, sku)) for sku in skus] == [1, 1]


# POST /orders/{order_id}/returns --------------------------------------------------------

RETURN = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "size", "channel": "mail"}


@pytest.fixture
def delivered(client: Any, deps: Any) -> str:
    return str(_delivered(client, deps)["order_id"])


def test_a_return_is_asked_for_once_per_key(client: Any, deps: Any, delivered: str) -> None:
    path = f"/orders/{delivered}/returns"

    first = _once_per_key(client, path, RETURN, RETURN | {"reason": "colour"}, STOREFRONT)

    returns = deps.store.get_order(delivered).returns
    assert [(r.return_id, r.reason) for r in returns] == [(first.json_body["return_id"], "size")]

    # Without a key the second unit is asked back on its own, as before.
    unkeyed = _post(client, path, RETURN, STOREFRONT, {})
    assert unkeyed.status_code == 201, unkeyed.body
    assert len(deps.store.get_order(delivered).returns) == 2


# POST /customers/{customer_id}/interactions (found by the audit) -----------------------

VISIT = {"type": "store_visit", "channel": "store", "summary": "tried shoes"}


def _visits(client: Any, customer_id: str) -> list[dict[str, Any]]:
    view = customer_360(client, customer_id)
    return [i for i in view["interactions"] if i["type"] == "store_visit"]


def test_a_staff_interaction_is_recorded_once_per_key(client: Any) -> None:
    customer_id = place_order(client, order_body())["customer_id"]
    path = f"/customers/{customer_id}/interactions"

    _once_per_key(client, path, VISIT, VISIT | {"summary": "tried boots"}, STORE)

    assert [v["summary"] for v in _visits(client, customer_id)] == ["tried shoes"]

    unkeyed = _post(client, path, VISIT, STORE, {})
    assert unkeyed.status_code == 201, unkeyed.body
    assert len(_visits(client, customer_id)) == 2


def test_a_staff_interaction_asked_again_after_its_request_died_is_recorded_once(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the note was recorded, then the Lambda died before its answer was stored;
    # once the key's in-progress time passed, the retry recorded it a second time.
    customer_id = place_order(client, order_body())["customer_id"]
    path = f"/customers/{customer_id}/interactions"
    key = idempotency_key()
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        _post(client, path, VISIT, STORE, key)
    (first,) = _visits(client, customer_id)
    in_progress_time_passes(deps)

    again = _post(client, path, VISIT, STORE, key)

    assert again.status_code == 201, again.body
    assert _visits(client, customer_id) == [first]
    assert (again.json_body["interaction_id"], again.json_body["at"]) == (
        first["interaction_id"],
        first["at"],
    )


# POST /surveys/{token} (found by the audit) ---------------------------------------------


def test_a_survey_answer_retried_with_its_key_replays_the_201(client: Any, deps: Any) -> None:
    track = urlparse(_delivered(client, deps)["tracking_url"]).path
    view = client.http.get(track, headers={"Accept": "application/json"}).json_body
    path = urlparse(str(view["survey_url"])).path

    _once_per_key(client, path, {"score": 5}, {"score": 1}, {})
    unkeyed = client.http.post(path, headers=JSON, body=json.dumps({"score": 5}))

    # Without the key a second answer is still the contract's 409; the first one stands.
    assert_problem(unkeyed, 409)
    state = client.http.get(path, headers={"Accept": "application/json"}).json_body
    assert (state["answered"], state["score"]) == (True, 5)
