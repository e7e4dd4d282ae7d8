"""``GET /availability/{sku}?postal_code=&quantity=``: the product page's "delivered by"
and "pick it up today at", from live stock, the carriers' services and the calendars."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support import OPS, STORE, STOREFRONT, assert_problem
from tests.support.flow import fresh_sku


def _get(client: Any, path: str, auth: dict[str, str] = STOREFRONT) -> Any:
    return client.http.get(path, headers=auth)


def test_without_a_key_is_401_and_ops_may_ask(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    assert_problem(client.http.get(f"/availability/{sku}?postal_code=28013"), 401)
    # API.md part two: ops keys see and do everything.
    as_ops = _get(client, f"/availability/{sku}?postal_code=28013", OPS)
    assert as_ops.status_code == 200, as_ops.body
    assert as_ops.json_body["ship"]["available"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "postal_code"),
        ("?postal_code=99999", "postal_code"),
        ("?postal_code=2801", "postal_code"),
        ("?postal_code=28013&quantity=0", "quantity"),
        ("?postal_code=28013&quantity=1000", "quantity"),
        ("?postal_code=28013&quantity=dos", "quantity"),
        ("?postal_code=28013&colour=red", "colour"),
        # A probe: the second code's promise was given (Canaries for a Madrid shopper).
        ("?postal_code=28013&postal_code=35001", "postal_code"),
    ],
)
def test_bad_queries_are_422_naming_the_parameter(client: Any, query: str, field: str) -> None:
    assert_problem(_get(client, f"/availability/TSHIRT-BLK-M{query}"), 422, field)


def test_an_unknown_sku_is_404(client: Any) -> None:
    assert_problem(_get(client, "/availability/NOPE-123?postal_code=28013"), 404, "sku")


def test_shipping_and_pickup_answer_from_live_stock(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 2, "ST-MADRID": 1, "ST-VALENCIA": 4})

    response = _get(client, f"/availability/{sku}?postal_code=08012&quantity=3", STORE)

    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["sku"] == sku
    assert body["ship"]["available"] is True  # 2 in Getafe and 1 in Madrid both ship
    assert body["ship"]["carrier"] == "rapido"
    promised = datetime.fromisoformat(body["ship"]["promised_by"])
    assert promised.utcoffset() is not None and promised.utcoffset().total_seconds() == 0
    stores = {p["location_id"]: p for p in body["pickup"]}
    assert set(stores) == {"ST-MADRID", "ST-BARCELONA", "ST-VALENCIA"}  # not the warehouse
    assert stores["ST-VALENCIA"]["available"] is True
    assert stores["ST-VALENCIA"]["name"] == "Tienda Valencia Ruzafa"
    assert datetime.fromisoformat(stores["ST-VALENCIA"]["ready_by"]) > datetime.fromisoformat(
        "2026-01-01T00:00:00+00:00"
    )
    assert stores["ST-MADRID"] == {
        "location_id": "ST-MADRID",
        "name": "Tienda Madrid Centro",
        "available": False,
        "ready_by": None,
    }


def test_more_than_ships_is_not_available_and_promises_nothing(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 2, "ST-VALENCIA": 9})

    body = _get(client, f"/availability/{sku}?postal_code=35001&quantity=3").json_body

    assert body["ship"] == {"available": False, "carrier": "veloz", "promised_by": None}
