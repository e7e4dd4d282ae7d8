"""The profile's ``notifications`` preference, set through ``POST /customers``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support import JSON, OPS, STOREFRONT, assert_problem


def _identify(client: Any, body: Any) -> Any:
    return client.http.post("/customers", headers=STOREFRONT | JSON, body=json.dumps(body))


def _email() -> str:
    return f"pref-{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize("bad", ["everything", "", 1, None, ["all"]])
def test_an_unknown_preference_is_422_naming_notifications_and_creates_nobody(
    client: Any, bad: Any
) -> None:
    email = _email()
    if bad is None:
        # null means "not given": the customer is created with the default.
        assert _identify(client, {"email": email, "notifications": None}).status_code == 200
        return
    answer = _identify(client, {"email": email, "notifications": bad})
    assert_problem(answer, 422, "notifications")
    assert_problem(client.http.get(f"/customers?email={email}", headers=OPS), 404)


def test_the_preference_is_on_the_profile_and_can_be_changed_back(client: Any) -> None:
    email = _email()
    created = _identify(client, {"email": email, "notifications": "all"})
    assert created.status_code == 200, created.body
    customer_id = created.json_body["customer_id"]
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "all"

    again = _identify(client, {"email": email, "notifications": "essential"})
    assert again.json_body["customer_id"] == customer_id
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["profile"]["notifications"] == "essential"


def test_a_customer_who_never_chose_reads_as_essential(client: Any) -> None:
    created = _identify(client, {"email": _email()})
    view = client.http.get(f"/customers/{created.json_body['customer_id']}", headers=OPS)
    assert view.json_body["profile"]["notifications"] == "essential"
