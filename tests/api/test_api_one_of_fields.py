"""A rule over several fields names each field it is about, not the body: none given names
every one that could be; several given where one is wanted names those given (API.md:
"every offending field named"; a probe read "field": "body")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import JSON, OPS, STOREFRONT, assert_problem, error_fields, order_body
from tests.support.api import place_order


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, {"email", "phone"}),
        ({"email": "ana@example.com", "phone": "+34600111222"}, {"email", "phone"}),
    ],
)
def test_a_verification_names_email_and_phone(
    client: Any, body: dict[str, Any], named: set[str]
) -> None:
    for path in ("/customers/verifications", "/customers/verifications/confirm"):
        sent = body | ({"code": "123456"} if path.endswith("confirm") else {})
        response = client.http.post(path, headers=STOREFRONT | JSON, body=json.dumps(sent))
        assert_problem(response, 422, *named)
        assert error_fields(response) == named


def test_a_customer_without_an_identifier_names_each_identifier(client: Any) -> None:
    response = client.http.post("/customers", headers=OPS | JSON, body=json.dumps({"name": "X"}))

    assert_problem(response, 422, "email", "phone", "loyalty_id")
    assert error_fields(response) == {"email", "phone", "loyalty_id"}


def test_a_lookup_by_two_identifiers_names_those_given(client: Any) -> None:
    response = client.http.get("/customers?email=a@example.com&phone=%2B34600111222", headers=OPS)

    assert_problem(response, 422, "email", "phone")
    assert error_fields(response) == {"email", "phone"}


def test_a_ticket_update_with_nothing_names_status_and_note(client: Any) -> None:
    placed = place_order(client, order_body())
    opened = client.http.post(
        f"/customers/{placed['customer_id']}/tickets",
        headers=OPS | JSON,
        body=json.dumps({"subject": "s", "description": "d", "channel": "phone"}),
    )
    ticket_id = opened.json_body["ticket_id"]

    response = client.http.request(
        "PATCH", f"/tickets/{ticket_id}", headers=OPS | JSON, body=json.dumps({})
    )

    assert_problem(response, 422, "status", "note")
    assert error_fields(response) == {"status", "note"}
