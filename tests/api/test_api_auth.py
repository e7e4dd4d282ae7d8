"""Bearer keys and roles: 401 without a valid key, 403 for a role the route does not allow."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, idempotency_key, order_body
from tests.support.api import (
    assert_not_stored,
    expected_order_id,
    get_order,
    place_order,
    post_order,
)
from tests.support.catalogue import fresh_sku


def _store_order(deps: Any, **overrides: Any) -> dict[str, Any]:
    """An anonymous in-store order at the Madrid store, collected there: of a product of the
    test's own, since the demo stock at Madrid is shared by every test on the stack (found
    when a new test moved these onto a worker whose earlier tests had sold it out)."""
    body = order_body(
        channel="store",
        store_id="ST-MADRID",
        lines=[
            {
                "sku": fresh_sku(deps, {"ST-MADRID": 1}),
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-MADRID",
            }
        ],
        **overrides,
    )
    del body["customer"]
    del body["shipping_address"]
    return body


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic ZGVtbzpkZW1v", "demo-storefront", "Bearer nope"],
)
def test_order_without_a_valid_key_is_401_and_stores_nothing(
    client: Any, deps: Any, authorization: str | None
) -> None:
    key = idempotency_key()
    headers = JSON | key
    if authorization is not None:
        headers["Authorization"] = authorization
    body = order_body()

    response = client.http.post("/orders", headers=headers, body=json.dumps(body))

    assert_problem(response, 401, "Authorization")
    assert response.headers.get("WWW-Authenticate") == "Bearer"
    assert_not_stored(deps, STOREFRONT, key, body["customer"]["email"])


def test_reads_need_a_key_too(client: Any) -> None:
    for path in ("/catalog", "/locations", "/inventory/TSHIRT-BLK-M", "/orders/ord_x"):
        assert_problem(client.http.get(path), 401, "Authorization")
        assert_problem(
            client.http.get(path, headers={"Authorization": "Bearer wrong-key"}),
            401,
            "Authorization",
        )


@pytest.mark.parametrize("auth", [STOREFRONT, STORE])
def test_only_ops_may_read_an_execution(client: Any, auth: dict[str, str]) -> None:
    order = place_order(client, order_body())

    response = client.http.get(f"/ops/orders/{order['order_id']}/execution", headers=auth)

    assert_problem(response, 403, "Authorization")


def test_ops_key_places_orders_too(client: Any, deps: Any) -> None:
    """API.md part two: ops keys see and do everything (part one listed storefronts and
    stores only; part two wins)."""
    response, key = post_order(client, order_body(), auth=OPS)

    assert response.status_code == 202, response.body
    assert response.json_body["order_id"] == expected_order_id(OPS, key)


@pytest.mark.parametrize("channel", ["web", "app", "phone"])
def test_store_key_may_not_place_a_remote_channel_order(
    client: Any, deps: Any, channel: str
) -> None:
    body = order_body(channel=channel)

    response, key = post_order(client, body, auth=STORE)

    assert_problem(response, 403, "channel")
    assert_not_stored(deps, STORE, key, body["customer"]["email"])


def test_store_key_places_an_anonymous_store_order(client: Any, deps: Any) -> None:
    response, key = post_order(client, _store_order(deps), auth=STORE)

    assert response.status_code == 202, response.body
    placed = response.json_body
    assert placed["status"] == "ACCEPTED"
    assert placed["customer_id"] is None
    assert placed["order_id"] == expected_order_id(STORE, key)
    order = get_order(client, placed["order_id"], auth=STORE)
    assert order["channel"] == "store"
    assert order["store_id"] == "ST-MADRID"
    assert order["customer_id"] is None


def test_storefront_key_may_place_a_store_channel_order(client: Any, deps: Any) -> None:
    placed = place_order(client, _store_order(deps), auth=STOREFRONT)

    assert placed["status"] == "ACCEPTED"


def test_the_same_idempotency_key_from_two_clients_makes_two_orders(client: Any, deps: Any) -> None:
    key = idempotency_key()
    from_storefront, _ = post_order(client, _store_order(deps), auth=STOREFRONT, key=key)
    from_store, _ = post_order(client, _store_order(deps), auth=STORE, key=key)

    assert from_storefront.status_code == from_store.status_code == 202
    assert from_storefront.json_body["order_id"] != from_store.json_body["order_id"]


def test_health_needs_no_key(client: Any) -> None:
    response = client.http.get("/health")

    assert response.status_code == 200
    assert response.json_body["status"] == "ok"


def test_every_role_reads_an_order(client: Any) -> None:
    order_id = place_order(client, order_body())["order_id"]

    for auth in (STOREFRONT, STORE, OPS):
        assert get_order(client, order_id, auth=auth)["order_id"] == order_id
