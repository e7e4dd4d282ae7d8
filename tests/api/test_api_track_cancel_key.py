"""The customer's cancel from the tracking page under an Idempotency-Key (probe 161: the
route declared the key and ignored it, so the key with another reason was 200)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from tests.support import JSON, assert_problem, idempotency_key, order_body
from tests.support.api import place_order
from tests.support.orders import wait_for_status

PICKUP_LINE = {
    "sku": "TSHIRT-BLK-M",
    "quantity": 1,
    "fulfillment": "pickup",
    "location_id": "ST-MADRID",
}


def _cancel(client: Any, path: str, body: dict[str, Any], key: dict[str, str]) -> Any:
    return client.http.post(f"{path}/cancel", headers=JSON | key, body=json.dumps(body))


def test_the_cancel_key_with_another_reason_is_422_and_with_its_own_answers_the_same(
    client: Any,
) -> None:
    placed = place_order(client, order_body(lines=[PICKUP_LINE], shipping_address=None))
    wait_for_status(client, placed["order_id"], "READY_FOR_PICKUP")
    path = urlparse(placed["tracking_url"]).path
    key = idempotency_key()

    first = _cancel(client, path, {"reason": "changed my mind"}, key)
    other = _cancel(client, path, {"reason": "found it cheaper"}, key)
    again = _cancel(client, path, {"reason": "changed my mind"}, key)

    assert first.status_code == 200, first.body
    assert first.json_body["status"] == "CANCELLED"
    assert_problem(other, 422, "Idempotency-Key")
    assert again.status_code == 200 and again.json_body == first.json_body
