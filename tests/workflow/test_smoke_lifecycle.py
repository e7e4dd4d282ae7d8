"""The real order.asl.json, executed by moto, driven through the app."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, STOREFRONT, eventually, idempotency_key, order_body


def test_web_order_is_paid_reserved_and_shipped_on_its_own(client: Any, deps: Any) -> None:
    response = client.http.post(
        "/orders", headers=STOREFRONT | JSON | idempotency_key(), body=json.dumps(order_body())
    )
    assert response.status_code == 202, response.body
    order_id = response.json_body["order_id"]

    order = eventually(
        lambda: (o := deps.store.get_order(order_id)).status.value == "SHIPPED" and o
    )
    assert [h.status.value for h in order.history] == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]
