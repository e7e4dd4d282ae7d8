"""Where a return in store may go, and which countries an address may name, over HTTP.

A return in store names a store that takes returns: without one it is 422 naming
``location_id`` (the schema says so, ``if channel is store then location_id``); a
location that exists but is a warehouse is 409 naming ``location_id``, on both return
routes, as a pick-up line at a warehouse is refused. An address's country is an ISO
3166-1 alpha-2 code (422 naming ``shipping_address.country``), for orders and quotes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api_actions_by_state import delivered
from tests.support import JSON, STOREFRONT, assert_problem, idempotency_key, order_body
from tests.support.api import get_order

LINES = [{"sku": "TSHIRT-BLK-M", "quantity": 1}]


def _order_route(client: Any, order_id: str, path: str, body: dict[str, Any]) -> Any:
    return client.http.post(
        f"/orders/{order_id}/returns", headers=STOREFRONT | JSON, body=json.dumps(body)
    )


def _track_route(client: Any, order_id: str, path: str, body: dict[str, Any]) -> Any:
    return client.http.post(
        f"{path}/returns", headers=JSON | idempotency_key(), body=json.dumps(body)
    )


@pytest.mark.parametrize("route", [_order_route, _track_route], ids=["orders", "track"])
def test_a_return_in_store_at_a_warehouse_is_409_naming_location_id(
    client: Any, deps: Any, settings: Any, route: Any
) -> None:
    order_id, path = delivered(client, deps, settings)
    body = {"lines": LINES, "reason": "size", "channel": "store", "location_id": "WH-GETAFE"}
    assert_problem(route(client, order_id, path, body), 409, "location_id")
    assert get_order(client, order_id)["returns"] == []
    # The same return at a store is taken.
    at_store = route(client, order_id, path, body | {"location_id": "ST-MADRID"})
    assert at_store.status_code == 201, at_store.body


def test_a_return_in_store_without_a_location_is_422_naming_location_id(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, path = delivered(client, deps, settings)
    body = {"lines": LINES, "reason": "size", "channel": "store"}
    assert_problem(_order_route(client, order_id, path, body), 422, "location_id")
    assert_problem(
        _order_route(client, order_id, path, body | {"location_id": None}), 422, "location_id"
    )
    assert get_order(client, order_id)["returns"] == []


def test_the_schema_asks_a_return_in_store_for_its_location(client: Any) -> None:
    schemas = client.http.get("/openapi.json").json_body["components"]["schemas"]
    rule = schemas["RequestReturnRequest"]
    assert rule["if"] == {"properties": {"channel": {"const": "store"}}, "required": ["channel"]}
    assert rule["then"]["required"] == ["location_id"]


@pytest.mark.parametrize("country", ["XX", "EU", "ZZ", "001"])
def test_an_order_to_a_country_that_is_not_iso_3166_is_422_naming_it(
    client: Any, country: str
) -> None:
    body = order_body()
    body["shipping_address"]["country"] = country
    response = client.http.post(
        "/orders", headers=STOREFRONT | JSON | idempotency_key(), body=json.dumps(body)
    )
    assert_problem(response, 422, "shipping_address.country")


@pytest.mark.parametrize("country", ["XX", "eu"])
def test_a_quote_to_a_country_that_is_not_iso_3166_is_422_naming_it(
    client: Any, country: str
) -> None:
    body = order_body()
    for field in ("payment", "consent"):
        body.pop(field)
    body["shipping_address"]["country"] = country
    response = client.http.post("/quotes", headers=STOREFRONT | JSON, body=json.dumps(body))
    assert_problem(response, 422, "shipping_address.country")


def test_an_order_to_portugal_in_any_case_is_accepted(client: Any) -> None:
    body = order_body()
    body["shipping_address"] |= {"country": "pt", "postal_code": "1100-148", "city": "Lisboa"}
    response = client.http.post(
        "/orders", headers=STOREFRONT | JSON | idempotency_key(), body=json.dumps(body)
    )
    assert response.status_code == 202, response.body
