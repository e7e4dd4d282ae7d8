"""``POST /orders`` refuses up front what available-to-promise cannot cover: 409, problem
type ``.../out-of-stock``, each short line named ``lines.<i>``, nothing stored."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.requests import MAX_RESERVED_LINES
from tests.support import (
    JSON,
    OPS,
    STORE,
    STOREFRONT,
    assert_problem,
    error_fields,
    idempotency_key,
    order_body,
)
from tests.support.api import assert_not_stored, post_order
from tests.support.flow import fresh_sku


def test_a_ship_line_beyond_every_shipping_location_is_409_out_of_stock(
    client: Any, deps: Any
) -> None:
    # Three ship (warehouse and Madrid); Valencia's five do not ship.
    sku = fresh_sku(deps, {"WH-GETAFE": 2, "ST-MADRID": 1, "ST-VALENCIA": 5})
    other = fresh_sku(deps, {"WH-GETAFE": 9})
    lines = [
        {"sku": other, "quantity": 1, "fulfillment": "ship"},
        {"sku": sku, "quantity": 4, "fulfillment": "ship"},
    ]
    body = order_body(lines=lines)

    response, key = post_order(client, body)

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/out-of-stock"), problem
    assert error_fields(response) == {"lines.1"}
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_a_pickup_line_counts_only_its_store(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 50, "ST-VALENCIA": 1})
    line = {"sku": sku, "quantity": 2, "fulfillment": "pickup", "location_id": "ST-VALENCIA"}
    body = order_body(channel="store", store_id="ST-VALENCIA", lines=[line])
    del body["shipping_address"]

    response, key = post_order(client, body, STORE)

    assert_problem(response, 409)
    assert error_fields(response) == {"lines.0"}
    assert_not_stored(deps, STORE, key, body["customer"]["email"])


def test_exactly_what_is_left_is_accepted(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 2, "ST-MADRID": 1})
    body = order_body(lines=[{"sku": sku, "quantity": 3, "fulfillment": "ship"}])

    response, _ = post_order(client, body)

    assert response.status_code == 202, response.body


def test_a_refusal_sent_again_under_its_key_once_stock_is_back_is_refused_again(
    client: Any, deps: Any
) -> None:
    # Probe 191: the same key and body, sent again after a receipt, placed an order; API.md
    # says they return the first response and create nothing new.
    sku = fresh_sku(deps, {"WH-GETAFE": 0})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    first, key = post_order(client, body)
    assert_problem(first, 409)
    receipt = {"sku": sku, "location_id": "WH-GETAFE", "type": "receipt", "quantity": 3}
    received = client.http.post(
        "/inventory/movements",
        headers=OPS | JSON | idempotency_key(),
        body=json.dumps(receipt | {"reference": "albarán"}),
    )
    assert received.status_code == 201, received.body

    again, _ = post_order(client, body, key=key)

    assert again.status_code == 409
    assert again.json_body == first.json_body
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])
    # A new key is a new request: the units are there now.
    placed, _ = post_order(client, body)
    assert placed.status_code == 202, placed.body


def test_lines_spread_over_too_many_places_are_409_too_many_places_and_so_is_the_replay(
    client: Any, deps: Any
) -> None:
    # Probe 255: the order's refusal, kept under its Idempotency-Key and answered from
    # there, came back as a 422 (only the shortage's class was known by name).
    lines = [
        {"sku": fresh_sku(deps, {"WH-GETAFE": 1, "ST-MADRID": 1}), "quantity": 2}
        | {"fulfillment": "ship"}
        for _ in range(MAX_RESERVED_LINES // 2 + 1)
    ]
    body = order_body(lines=lines)

    response, key = post_order(client, body)
    again, _ = post_order(client, body, key=key)

    for answer in (response, again):
        problem = assert_problem(answer, 409, "lines")
        assert problem["type"].endswith("/too-many-places"), problem
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])
