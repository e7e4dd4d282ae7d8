"""Order bodies for the pricing tests (``tests/service/test_pricing_*.py``): an address by
postal code, lines shipped or picked up, a SKU at a price in stock everywhere, a Canaries
order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.deps import Deps
from tests.support.catalogue import fresh_sku

D = Decimal

# A delivery address in the Canary Islands (IGIC on top, the Canaries' shipping fee).
CANARIES = {
    "name": "Ana",
    "line1": "Calle Triana 1",
    "city": "Las Palmas",
    "postal_code": "35001",
    "country": "ES",
}


def _address(postal_code: str, country: str = "ES") -> dict[str, str]:
    return {
        "name": "Ana",
        "line1": "Calle Mayor 1",
        "city": "Somewhere",
        "postal_code": postal_code,
        "country": country,
    }


def _ship(sku: str, quantity: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "fulfillment": "ship"}


def _pickup(sku: str, quantity: int, store: str = "ST-MADRID") -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "fulfillment": "pickup", "location_id": store}


def _sku(deps: Deps, price: str) -> str:
    stock = {"WH-GETAFE": 20, "ST-MADRID": 20, "ST-BARCELONA": 20}
    return fresh_sku(deps, stock, price=price)


def _canaries(deps: Deps, quantity: int = 2) -> dict[str, Any]:
    sku = _sku(deps, "10.00")
    return {"lines": [_ship(sku, quantity)], "shipping_address": _address("35001")}
