"""Answers that carry a person's data or a token are kept by no cache, and a page's
address that answers HTML or JSON by its Accept header says so (probe 165: a confirmed
code's customer token, an export and the tracking JSON went out with no Cache-Control,
and ``/track/{token}`` without ``Vary: Accept``)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.support import JSON, OPS, STOREFRONT, order_body
from tests.support.api import place_order, sent_code


def test_a_confirmed_codes_token_is_kept_by_no_cache(client: Any, stack: Any) -> None:
    address = f"cache-{uuid.uuid4().hex[:10]}@example.com"
    sent = client.http.post(
        "/customers/verifications", headers=STOREFRONT | JSON, body=json.dumps({"email": address})
    )
    assert sent.status_code == 202, sent.body

    confirmed = client.http.post(
        "/customers/verifications/confirm",
        headers=STOREFRONT | JSON,
        body=json.dumps({"email": address, "code": sent_code(stack.outbox, address)}),
    )

    assert confirmed.status_code == 200, confirmed.body
    assert confirmed.headers["Cache-Control"] == "no-store"


def test_a_customers_export_and_a_problem_are_kept_by_no_cache(client: Any) -> None:
    customer_id = place_order(client, order_body())["customer_id"]

    export = client.http.get(f"/customers/{customer_id}/export", headers=OPS)
    unknown = client.http.get("/orders/ord_000000000000", headers=STOREFRONT)

    assert (export.status_code, unknown.status_code) == (200, 404)
    assert export.headers["Cache-Control"] == unknown.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_the_tracking_page_varies_by_accept_and_is_kept_by_no_cache(
    client: Any, accept: str
) -> None:
    path = urlparse(place_order(client, order_body())["tracking_url"]).path

    page = client.http.get(path, headers={"Accept": accept})
    forged = client.http.get(f"{path}x", headers={"Accept": accept})

    assert page.status_code == 200, page.body
    assert page.headers["Content-Type"].startswith(accept)
    for answer in (page, forged):
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Vary"] == "Accept"
