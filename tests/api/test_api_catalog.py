"""Catalogue, locations and inventory reads."""

from __future__ import annotations

import re
from typing import Any

from tests.support import OPS, STORE, STOREFRONT, assert_problem

AMOUNT = re.compile(r"^\d+\.\d{2}$")


def test_catalogue_lists_at_least_30_products_priced_in_euros(client: Any) -> None:
    response = client.http.get("/catalog", headers=STOREFRONT)

    assert response.status_code == 200
    products = response.json_body["products"]
    assert len(products) >= 30
    skus = [product["sku"] for product in products]
    assert len(set(skus)) == len(skus)
    for product in products:
        assert product["name"]
        assert product["price"]["currency"] == "EUR"
        assert AMOUNT.match(product["price"]["amount"]), product
        assert float(product["price"]["amount"]) > 0
    prices = {product["sku"]: product["price"]["amount"] for product in products}
    assert prices["TSHIRT-BLK-M"] == "19.95"


def test_locations_are_three_stores_and_a_warehouse(client: Any) -> None:
    response = client.http.get("/locations", headers=STORE)

    assert response.status_code == 200
    locations = {loc["location_id"]: loc for loc in response.json_body["locations"]}
    for location in locations.values():
        assert {"location_id", "type", "name", "city", "pickup", "ships"} <= set(location)
        assert isinstance(location["pickup"], bool)
        assert isinstance(location["ships"], bool)
        assert location["type"] in ("store", "warehouse")
    stores = {loc["city"]: loc for loc in locations.values() if loc["type"] == "store"}
    assert {"Madrid", "Barcelona", "Valencia"} <= set(stores)
    assert all(store["pickup"] for store in stores.values())
    warehouse = locations["WH-GETAFE"]
    assert warehouse["type"] == "warehouse"
    assert warehouse["pickup"] is False
    assert warehouse["ships"] is True
    # Where a return by post goes and a customer collects.
    assert warehouse["address"] == "Calle de la Confianza 14"
    assert stores["Madrid"]["address"] == "Calle de Preciados 21"


def test_inventory_shows_stock_at_every_location(client: Any) -> None:
    response = client.http.get("/inventory/HOODIE-GRY-L", headers=OPS)

    assert response.status_code == 200
    body = response.json_body
    assert body["sku"] == "HOODIE-GRY-L"
    assert isinstance(body["available_to_promise"], int)
    by_id = {loc["location_id"]: loc for loc in body["locations"]}
    assert {"WH-GETAFE", "ST-MADRID", "ST-BARCELONA", "ST-VALENCIA"} <= set(by_id)
    for location in body["locations"]:
        assert {"location_id", "type", "on_hand", "reserved", "available"} <= set(location)
        assert location["type"] in ("store", "warehouse")
        assert 0 <= location["available"] <= location["on_hand"] - location["reserved"]
    assert by_id["WH-GETAFE"]["type"] == "warehouse"
    assert by_id["ST-MADRID"]["type"] == "store"
    # Web availability counts only locations that ship (Valencia does not).
    assert body["available_to_promise"] == sum(
        loc["available"] for loc in body["locations"] if loc["ships"]
    )
    assert body["available_to_promise"] < sum(loc["available"] for loc in body["locations"])


def test_inventory_of_an_unknown_sku_is_404_problem(client: Any) -> None:
    response = client.http.get("/inventory/NOPE-404", headers=STOREFRONT)

    assert_problem(response, 404, "sku")
