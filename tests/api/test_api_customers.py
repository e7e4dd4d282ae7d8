"""POST /customers: one customer however their identifiers are written."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, order_body
from tests.support.api import place_order


def _identify(client: Any, body: Any, auth: dict[str, str] = STOREFRONT) -> Any:
    return client.http.post("/customers", headers=auth | JSON, body=json.dumps(body))


def _fresh_mobile() -> str:
    """Nine national digits of a Spanish mobile number nobody else in the run uses."""
    return "612" + "".join(random.choices("0123456789", k=6))


def test_phone_written_three_ways_is_one_customer(client: Any) -> None:
    national = _fresh_mobile()
    spaced = f"+34 {national[:3]} {national[3:6]} {national[6:]}"

    first = _identify(client, {"phone": spaced, "name": "Luis"})
    second = _identify(client, {"phone": national}, auth=STORE)
    third = _identify(client, {"phone": f"0034{national}"}, auth=OPS)

    assert first.status_code == second.status_code == third.status_code == 200, first.body
    assert first.json_body["created"] is True
    assert first.json_body["matched_by"] is None
    customer_id = first.json_body["customer_id"]
    for later in (second, third):
        assert later.json_body["customer_id"] == customer_id
        assert later.json_body["matched_by"] == "phone"
        assert later.json_body["created"] is False


def test_email_matches_whatever_its_case(client: Any) -> None:
    local = f"Marta.{uuid.uuid4().hex[:8]}"
    first = _identify(client, {"email": f"{local}@Example.com"})
    second = _identify(client, {"email": f"{local.lower()}@example.COM"})

    assert first.json_body["created"] is True
    assert second.json_body["customer_id"] == first.json_body["customer_id"]
    assert second.json_body["matched_by"] == "email"
    assert second.json_body["created"] is False


def test_an_order_and_the_customer_endpoint_find_the_same_customer(client: Any) -> None:
    national = _fresh_mobile()
    placed = place_order(client, order_body(customer={"phone": f"+34{national}"}))
    found = _identify(client, {"phone": national})

    assert found.json_body["customer_id"] == placed["customer_id"]
    assert found.json_body["matched_by"] == "phone"


def test_distinct_people_are_distinct_customers(client: Any) -> None:
    one = _identify(client, {"email": f"a-{uuid.uuid4().hex[:8]}@example.com"})
    two = _identify(client, {"email": f"b-{uuid.uuid4().hex[:8]}@example.com"})

    assert one.json_body["customer_id"] != two.json_body["customer_id"]
    assert one.json_body["created"] is two.json_body["created"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "ana@"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"loyalty_id": "LOY-1!"}, "loyalty_id"),
        ({"email": "x@example.com", "age": 30}, "age"),
        ({"email": "x@example.com", "locale": "fr"}, "locale"),
    ],
)
def test_invalid_identifiers_are_422_naming_the_field(
    client: Any, body: dict[str, Any], field: str
) -> None:
    assert_problem(_identify(client, body), 422, field)


def test_invalid_email_creates_nobody_even_with_a_valid_phone(client: Any) -> None:
    national = _fresh_mobile()

    refused = _identify(client, {"email": "nope@", "phone": national})
    assert_problem(refused, 422, "email")
    later = _identify(client, {"phone": national})

    assert later.json_body["created"] is True


@pytest.mark.parametrize("name", ["   ", "\u200b", "\ufeff\u2800"])
def test_a_name_that_shows_nothing_is_422_and_founds_no_record(client: Any, name: str) -> None:
    # Probe 211: "   " founded a record named "", and "\u200b" was greeted in emails.
    email = f"nombre-{uuid.uuid4().hex[:8]}@example.com"

    assert_problem(_identify(client, {"email": email, "name": name}), 422, "name")
    refused = client.http.post(
        "/orders",
        headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
        body=json.dumps(order_body(customer={"email": email, "name": name})),
    )
    assert_problem(refused, 422, "customer.name")

    later = _identify(client, {"email": email, "name": "Ana"})
    assert later.json_body["created"] is True


def test_no_identifier_at_all_is_422(client: Any) -> None:
    response = _identify(client, {"name": "Nadie"})

    body = assert_problem(response, 422)
    assert body["errors"], body


def test_customers_needs_a_key(client: Any) -> None:
    response = client.http.post("/customers", headers=JSON, body=json.dumps({"email": "a@b.es"}))

    assert_problem(response, 401, "Authorization")
