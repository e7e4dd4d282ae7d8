"""The customer 360 over HTTP: lookup, the view projected from real order events, access."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import quote

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import customer_360, place_order


def _email() -> str:
    return f"c360-{uuid.uuid4().hex[:10]}@example.com"


def _view_when(client: Any, customer_id: str, check: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body = customer_360(client, customer_id)
        return body if check(body) else None

    return eventually(probe)


def test_an_order_shows_in_the_customer_360_with_figures_and_consent(client: Any) -> None:
    email = _email()
    placed = place_order(client, order_body(customer={"email": email, "name": "Eva"}))
    customer_id = placed["customer_id"]

    # The view reads the order list and the figures apart (two reads, no snapshot): wait
    # until the projection shows in both.
    view = _view_when(
        client, customer_id, lambda v: v["metrics"]["order_count"] == 1 and bool(v["orders"])
    )

    assert view["customer_id"] == customer_id
    assert {"type": "email", "value": email} in view["identifiers"]
    assert [o["order_id"] for o in view["orders"]] == [placed["order_id"]]
    assert view["orders"][0]["channel"] == "web"
    assert view["orders"][0]["total"] == placed["total"]
    assert view["metrics"]["lifetime_value"] == placed["total"]
    assert view["metrics"]["preferred_channel"] == "web"
    assert view["metrics"]["rfm_segment"] == "new"
    assert view["consents"][0]["order_id"] == placed["order_id"]
    assert view["consents"][0]["terms_version"] == "2026-01"
    assert view["consents"][0]["channel"] == "web"


def test_emails_sent_about_an_order_are_interactions(client: Any) -> None:
    placed = place_order(client, order_body(customer={"email": _email()}))

    view = _view_when(
        client,
        placed["customer_id"],
        lambda v: any(i["type"] == "email" for i in v["interactions"]),
    )

    email = next(i for i in view["interactions"] if i["type"] == "email")
    assert email["channel"] == "email"
    assert placed["order_id"] in email["summary"]


def test_orders_are_paginated_newest_first_with_a_cursor(client: Any) -> None:
    email = _email()
    placed = [
        place_order(client, order_body(customer={"email": email}))["order_id"] for _ in range(3)
    ]
    customer_id = place_order(client, order_body(customer={"email": email}))["customer_id"]
    _view_when(client, customer_id, lambda v: v["metrics"]["order_count"] == 4)

    first = customer_360(client, customer_id, query="?limit=3")
    second = customer_360(
        client, customer_id, query=f"?limit=3&cursor={first['orders_next_cursor']}"
    )

    assert len(first["orders"]) == 3
    order_ids = [o["order_id"] for o in first["orders"] + second["orders"]]
    assert len(order_ids) == 4 and set(placed) <= set(order_ids)
    stamps = [o["placed_at"] for o in first["orders"] + second["orders"]]
    assert stamps == sorted(stamps, reverse=True)
    assert second["orders_next_cursor"] is None


def test_a_cursor_that_is_not_ours_names_no_page_404(client: Any) -> None:
    customer_id = place_order(client, order_body(customer={"email": _email()}))["customer_id"]

    unknown_cursor = client.http.get(f"/customers/{customer_id}?cursor=bm9wZQ", headers=OPS)
    assert_problem(unknown_cursor, 404, "cursor")


def test_a_made_up_cursor_is_refused_naming_cursor_whatever_it_holds(client: Any) -> None:
    # Found by a probe: deep nesting was a 500 (RecursionError); a key outside the orders
    # was accepted, which DynamoDB refuses (a 500 on AWS) and moto answered with an empty
    # or restarted page.
    customer_id = place_order(client, order_body(customer={"email": _email()}))["customer_id"]
    pk = f"CUSTOMER#{customer_id}"

    def encoded(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode()

    made_up = [
        encoded("[" * 1500),
        encoded('{"a":' * 1500),
        encoded(json.dumps({pk: 1, "ORDER#x": 2})),
        encoded(json.dumps([pk, ""])),
        encoded(json.dumps([pk, "ORDER#"])),
        encoded(json.dumps([pk, "PROFILE"])),
        encoded(json.dumps([pk, "INTERACTION#2026"])),
        encoded(json.dumps([pk, "ZZZZ"])),
        encoded(json.dumps([pk, "ORDER#" + "9" * 1100])),
        encoded('["' + pk + '", "ORDER#\\ud800"]'),
    ]
    for cursor in made_up:
        for auth in (OPS, STORE):
            refused = client.http.get(
                f"/customers/{customer_id}?cursor={quote(cursor)}", headers=auth
            )
            assert_problem(refused, 404, "cursor")


def test_a_last_page_that_is_exactly_full_hands_out_no_cursor(client: Any) -> None:
    email = _email()
    customer_id = ""
    for _ in range(2):
        customer_id = place_order(client, order_body(customer={"email": email}))["customer_id"]
    _view_when(client, customer_id, lambda v: v["metrics"]["order_count"] == 2)

    first = customer_360(client, customer_id, query="?limit=1")
    assert first["orders_next_cursor"] is not None
    last = customer_360(client, customer_id, query=f"?limit=1&cursor={first['orders_next_cursor']}")
    whole = customer_360(client, customer_id, query="?limit=2")

    assert len(last["orders"]) == 1 and last["orders_next_cursor"] is None
    assert len(whole["orders"]) == 2 and whole["orders_next_cursor"] is None


def test_lookup_by_identifier_finds_the_customer(client: Any) -> None:
    email = _email()
    placed = place_order(client, order_body(customer={"email": email}))

    for auth in (STOREFRONT, STORE, OPS):
        found = client.http.get(f"/customers?email={email.upper()}", headers=auth)
        assert found.status_code == 200, found.body
        assert found.json_body == {"customer_id": placed["customer_id"], "matched_by": "email"}


def test_lookup_of_an_unknown_or_invalid_identifier_is_a_problem(client: Any) -> None:
    assert_problem(client.http.get(f"/customers?email={_email()}", headers=OPS), 404)
    assert_problem(client.http.get("/customers?email=nope@", headers=OPS), 422, "email")
    assert_problem(client.http.get("/customers?phone=12", headers=OPS), 422, "phone")
    # Not an identifier: ignored, as every route's unknown parameters are, so nothing is given.
    assert_problem(client.http.get("/customers?name=Ana", headers=OPS), 422, "email")


def test_a_lookup_ignores_parameters_it_does_not_take(client: Any) -> None:
    """A link tracker's tags do not stop a lookup (the schema says so: a fuzzer must not
    believe a lookup with an extra parameter it never sent was refused)."""
    email = _email()
    placed = place_order(client, order_body(customer={"email": email}))

    found = client.http.get(f"/customers?utm_source=mail&email={email}&x=", headers=OPS)

    assert found.status_code == 200, found.body
    assert found.json_body["customer_id"] == placed["customer_id"]


def test_unknown_customer_is_404(client: Any) -> None:
    assert_problem(client.http.get("/customers/cus_nobody", headers=OPS), 404, "customer_id")


def test_staff_record_calls_chats_and_visits(client: Any) -> None:
    customer_id = place_order(client, order_body(customer={"email": _email()}))["customer_id"]

    added = client.http.post(
        f"/customers/{customer_id}/interactions",
        headers=STORE | JSON,
        body=json.dumps({"type": "store_visit", "channel": "store", "summary": "tried shoes"}),
    )

    assert added.status_code == 201, added.body
    view = customer_360(client, customer_id)
    assert {"type": "store_visit", "channel": "store", "summary": "tried shoes"}.items() <= next(
        i for i in view["interactions"] if i["type"] == "store_visit"
    ).items()


def test_an_interaction_with_unknown_fields_is_422_naming_them(client: Any) -> None:
    customer_id = place_order(client, order_body(customer={"email": _email()}))["customer_id"]

    response = client.http.post(
        f"/customers/{customer_id}/interactions",
        headers=OPS | JSON,
        body=json.dumps({"type": "teleport", "channel": "store", "summary": "x", "mood": 1}),
    )

    assert_problem(response, 422, "type", "mood")
