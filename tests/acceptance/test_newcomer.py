"""A newcomer's first minutes: `make run`, read the banner, try what it says; and what a
storefront sees when it sends something wrong."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.support import (
    OPS,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    idempotency_key,
    order_body,
)
from tests.support.shop import RunningStack, Shop

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]


def _example_order(banner: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL, headers and body of the order the banner's curl example places."""
    curl = banner[banner.index("curl -s -X POST") :]
    url = curl.split()[4]
    headers = dict(
        header.split(": ", 1) for header in re.findall(r"-H '([^']+)'", curl.split(" -d ")[0])
    )
    body = json.loads(curl.split(" -d '", 1)[1].split("'", 1)[0])
    return url, headers, body


def test_the_banner_tells_a_newcomer_where_the_api_is_and_how_to_order(
    local_stack: RunningStack, shop: Shop
) -> None:
    expected = [
        local_stack.url,
        "demo-storefront",
        "demo-store",
        "demo-ops",
        f"curl -s -X POST {local_stack.url}/orders",
        "Idempotency-Key",
    ]

    def printed() -> str | None:
        out = local_stack.stdout()
        return out if all(s in out for s in expected) else None

    banner = eventually(printed, timeout=30)
    assert f"{local_stack.url}/openapi.json" in banner
    assert str(local_stack.outbox) in banner

    # The example works as printed: the same URL, headers and body place an order.
    url, headers, body = _example_order(banner)
    assert url == f"{local_stack.url}/orders"
    assert headers["Authorization"] == "Bearer demo-storefront"
    placed = shop.post("/orders", body, {**headers, **idempotency_key()})
    assert placed.status_code == 202, placed.text
    assert placed.json()["status"] == "ACCEPTED"
    assert shop.order(placed.json()["order_id"])["lines"][0]["sku"] == body["lines"][0]["sku"]


def test_catalogue_and_locations_are_there_for_every_role(shop: Shop) -> None:
    catalog = shop.get("/catalog", STOREFRONT)
    assert catalog.status_code == 200, catalog.text
    products = catalog.json()["products"]
    assert len(products) >= 10
    for product in products:
        assert product["sku"] and product["name"]
        assert product["price"]["currency"] == "EUR"
        assert Decimal(product["price"]["amount"]) > 0
        assert re.fullmatch(r"\d+\.\d{2}", product["price"]["amount"]), product

    for role in (STOREFRONT, STORE, OPS):
        response = shop.get("/locations", role)
        assert response.status_code == 200, response.text
    locations = {loc["location_id"]: loc for loc in response.json()["locations"]}
    types = {loc["type"] for loc in locations.values()}
    assert types == {"store", "warehouse"}
    for location in locations.values():
        assert {"name", "city", "pickup", "ships"} <= location.keys()
    assert any(loc["pickup"] for loc in locations.values() if loc["type"] == "store")
    assert any(loc["ships"] for loc in locations.values() if loc["type"] == "warehouse")

    assert shop.get("/catalog").status_code == 401
    openapi = shop.get("/openapi.json")
    assert openapi.status_code == 200
    assert "/orders" in openapi.json()["paths"]


def test_malformed_json_is_a_400_problem(shop: Shop) -> None:
    response = shop.post("/orders", '{"channel": "web", "lines": [', STOREFRONT | idempotency_key())
    problem = assert_problem(response, 400)
    assert problem["errors"], problem


def test_an_unknown_sku_is_a_404_naming_the_line(shop: Shop) -> None:
    # The schema cannot know the catalogue: an unknown id is a 404, as in a path.
    body = order_body(lines=[{"sku": "NO-SUCH-SKU", "quantity": 1, "fulfillment": "ship"}])
    problem = assert_problem(shop.place(body), 404)
    assert "lines.0.sku" in [error["field"] for error in problem["errors"]], problem


def test_an_order_without_idempotency_key_is_refused(shop: Shop) -> None:
    response = shop.post("/orders", order_body(), STOREFRONT)
    problem = assert_problem(response, 422)
    assert "Idempotency-Key" in [error["field"] for error in problem["errors"]], problem
