"""The language a customer is written to in: recorded on their profile by ``POST
/customers``, changed for a known record by staff or with the customer's token, and
spoken by an order that names none (probe 184: an agent's "write to me in English" was
answered 200 and dropped, and a customer recorded as English got Spanish order emails)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.services import customers as customer_service
from tests.support import JSON, OPS, OTHER_STOREFRONT, STORE, STOREFRONT, order_body
from tests.support.api import place_order


def _identify(client: Any, auth: dict[str, str], body: dict[str, Any]) -> Any:
    answer = client.http.post("/customers", headers=auth | JSON, body=json.dumps(body))
    assert answer.status_code == 200, answer.body
    return answer.json_body


def _language(client: Any, customer_id: str) -> str:
    view = client.http.get(f"/customers/{customer_id}", headers=OPS)
    assert view.status_code == 200, view.body
    return str(view.json_body["profile"]["locale"])


def _email() -> str:
    return f"lang-{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize("staff", [STORE, OPS], ids=["store", "ops"])
def test_staff_change_a_known_customer_s_language(client: Any, staff: dict[str, str]) -> None:
    email = _email()
    customer_id = _identify(client, STOREFRONT, {"email": email})["customer_id"]
    assert _language(client, customer_id) == "es"

    again = _identify(client, staff, {"email": email.upper(), "locale": "en"})

    assert (again["customer_id"], again["created"]) == (customer_id, False)
    assert _language(client, customer_id) == "en"


@pytest.mark.parametrize(
    "auth", [STOREFRONT, OTHER_STOREFRONT], ids=["same-client", "other-client"]
)
def test_a_storefront_changes_it_only_with_the_customer_s_token(
    client: Any, deps: Any, auth: dict[str, str]
) -> None:
    email = _email()
    customer_id = _identify(client, STOREFRONT, {"email": email, "locale": "en"})["customer_id"]

    # The same shopper's body sent again by a storefront resolves and changes nothing.
    assert _identify(client, auth, {"email": email, "locale": "es"})["customer_id"] == customer_id
    assert _language(client, customer_id) == "en"

    token = customer_service.customer_token(customer_id, deps).token
    with_token = auth | {"X-Customer-Token": token}
    assert _identify(client, with_token, {"email": email, "locale": "es"})["created"] is False
    assert _language(client, customer_id) == "es"


def test_no_language_sent_leaves_a_known_customer_s(client: Any) -> None:
    email = _email()
    customer_id = _identify(client, OPS, {"email": email, "locale": "en"})["customer_id"]

    _identify(client, OPS, {"email": email, "name": "Ann"})

    assert _language(client, customer_id) == "en"


@pytest.mark.parametrize("naming", ["email", "customer_id"])
def test_an_order_that_names_no_language_speaks_its_customer_s(client: Any, naming: str) -> None:
    email = _email()
    customer_id = _identify(client, OPS, {"email": email, "locale": "en"})["customer_id"]
    body = order_body()
    body["customer"] = {"email": email} if naming == "email" else {"customer_id": customer_id}

    placed = place_order(client, body)

    page = client.http.get(urlparse(placed["tracking_url"]).path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert '<html lang="en"' in page.body.decode()


def test_an_order_that_names_a_language_speaks_it(client: Any) -> None:
    email = _email()
    _identify(client, OPS, {"email": email, "locale": "en"})
    body = order_body()
    body["customer"] = {"email": email, "locale": "es"}

    placed = place_order(client, body)

    page = client.http.get(urlparse(placed["tracking_url"]).path, headers={"Accept": "text/html"})
    assert '<html lang="es"' in page.body.decode()


def test_a_merge_keeps_a_language_only_the_merged_record_chose(client: Any) -> None:
    # Re-probe 188: a record founded without a language (Spanish by default) kept it
    # when merged with one whose customer asked for English.
    survivor = _identify(client, OPS, {"email": _email()})["customer_id"]
    english = _email()
    merged = _identify(client, OPS, {"email": english, "locale": "en"})["customer_id"]

    answer = client.http.post(
        f"/customers/{survivor}/merge",
        headers=OPS | JSON,
        body=json.dumps({"from_customer_id": merged}),
    )

    assert answer.status_code == 200, answer.body
    assert _language(client, survivor) == "en"
    body = order_body()
    body["customer"] = {"email": english}
    placed = place_order(client, body)
    page = client.http.get(urlparse(placed["tracking_url"]).path, headers={"Accept": "text/html"})
    assert '<html lang="en"' in page.body.decode()


def test_a_merge_of_two_chosen_languages_keeps_the_survivor_s(client: Any) -> None:
    survivor = _identify(client, OPS, {"email": _email(), "locale": "es"})["customer_id"]
    merged = _identify(client, OPS, {"email": _email(), "locale": "en"})["customer_id"]

    client.http.post(
        f"/customers/{survivor}/merge",
        headers=OPS | JSON,
        body=json.dumps({"from_customer_id": merged}),
    )

    assert _language(client, survivor) == "es"
