"""Receiving a return is a write that creates a refund: under an Idempotency-Key a store's
till that sends it again (its connection dropped before the answer) gets the first answer,
not a 409, and the customer is refunded once (a probe: the retry was "already received")."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_api_actions_by_state import delivered
from tests.support import JSON, OPS, STORE, assert_problem, idempotency_key
from tests.support.api import get_order


def _asked(client: Any, order_id: str) -> str:
    opened = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STORE | JSON,
        body=json.dumps(
            {
                "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
                "reason": "x",
                "channel": "store",
                "location_id": "ST-MADRID",
            }
        ),
    )
    assert opened.status_code == 201, opened.body
    return str(opened.json_body["return_id"])


def _receive(client: Any, return_id: str, key: dict[str, str], location_id: str) -> Any:
    return client.http.post(
        f"/returns/{return_id}/receive",
        headers=STORE | JSON | key,
        body=json.dumps({"location_id": location_id}),
    )


def test_a_receipt_sent_again_under_its_key_answers_the_first_answer_and_refunds_once(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, _path = delivered(client, deps, settings)
    return_id = _asked(client, order_id)
    key = idempotency_key()

    first = _receive(client, return_id, key, "ST-MADRID")
    again = _receive(client, return_id, key, "ST-MADRID")

    assert first.status_code == 200, first.body
    assert (again.status_code, again.json_body) == (200, first.json_body)
    refund = first.json_body["refund"]
    assert float(refund["amount"]) > 0
    payment = get_order(client, order_id, OPS)["payment"]
    assert payment["refunded"]["amount"] == refund["amount"]


def test_a_receipt_key_reused_with_another_body_is_refused_and_receives_nothing(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, _path = delivered(client, deps, settings)
    first_return, second_return = _asked(client, order_id), _asked(client, order_id)
    key = idempotency_key()
    assert _receive(client, first_return, key, "ST-MADRID").status_code == 200

    other_place = _receive(client, first_return, key, "ST-BARCELONA")

    assert_problem(other_place, 422, "Idempotency-Key")
    # The key is the caller's for one return: another return's receipt is its own.
    assert _receive(client, second_return, key, "ST-MADRID").status_code == 200


def test_without_a_key_a_second_receipt_is_still_a_conflict(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, _path = delivered(client, deps, settings)
    return_id = _asked(client, order_id)
    assert _receive(client, return_id, {}, "ST-MADRID").status_code == 200
    assert_problem(_receive(client, return_id, {}, "ST-MADRID"), 409, "return_id")
