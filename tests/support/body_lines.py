"""Order lines of a ``POST /orders`` body, shipped or picked up, for the workflow tests."""

from __future__ import annotations

from typing import Any


def _ship(sku: str, quantity: int = 1) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "fulfillment": "ship"}


def _pickup(sku: str, store: str = "ST-VALENCIA") -> dict[str, Any]:
    return {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": store}
