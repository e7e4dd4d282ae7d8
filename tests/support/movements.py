"""Inventory movements over HTTP for the ``POST /inventory/movements`` tests
(``tests/api/test_api_inventory_movements*.py``): a SKU of the test's own at Madrid (ships),
Valencia (pick-up only) and Getafe, a movement body, posting and recording it, and the
inventory the API shows."""

from __future__ import annotations

import json
from typing import Any

from tests.support import JSON, STORE, STOREFRONT, idempotency_key
from tests.support.flow import fresh_sku as workflow_fresh_sku

MADRID = "ST-MADRID"  # ships: counted in web availability
VALENCIA = "ST-VALENCIA"  # does not ship: pick-up only
WAREHOUSE = "WH-GETAFE"


def fresh_sku(deps: Any, stock: dict[str, int], threshold: int = 3) -> str:
    """A product of this test's own with ``stock`` on hand at Madrid, Valencia and Getafe
    (zero where not given), nothing reserved and no safety stock."""
    return workflow_fresh_sku(
        deps, {MADRID: 0, VALENCIA: 0, WAREHOUSE: 0} | stock, threshold=threshold
    )


def movement(sku: str, location_id: str, kind: str, quantity: Any, **extra: Any) -> dict[str, Any]:
    """A movement body."""
    return {"sku": sku, "location_id": location_id, "type": kind, "quantity": quantity} | extra


def post_movement(
    client: Any,
    body: Any,
    auth: dict[str, str] = STORE,
    key: dict[str, str] | None = None,
) -> Any:
    """``POST /inventory/movements`` with a fresh Idempotency-Key unless one is given."""
    key = key if key is not None else idempotency_key()
    return client.http.post(
        "/inventory/movements", headers=auth | JSON | key, body=json.dumps(body)
    )


def record(client: Any, body: dict[str, Any], auth: dict[str, str] = STORE) -> dict[str, Any]:
    """A movement that must be accepted; its response body."""
    response = post_movement(client, body, auth)
    assert response.status_code == 201, response.body
    result: dict[str, Any] = response.json_body
    return result


def inventory(client: Any, sku: str) -> dict[str, Any]:
    """``GET /inventory/{sku}``, which must succeed."""
    response = client.http.get(f"/inventory/{sku}", headers=STOREFRONT)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def at(body: dict[str, Any], location_id: str) -> dict[str, Any]:
    """One location's row of a ``GET /inventory/{sku}`` body."""
    row: dict[str, Any] = next(
        loc for loc in body["locations"] if loc["location_id"] == location_id
    )
    return row
