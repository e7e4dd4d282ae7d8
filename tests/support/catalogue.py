"""Products and stock of a test's own, on any store (the stack's DynamoDB or the fakes):
no stack import, so the fast tier may use it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from chalicelib.domain.catalog import Product
from chalicelib.domain.money import Money
from infra.local.demo_data import LOCATIONS
from tests.support.builders import stock as stock_level

__all__ = ["fresh_sku"]


def fresh_sku(
    deps: Any, stock: dict[str, int], price: str = "10.00", threshold: int = 1, **safety: int
) -> str:
    """A product of this test's own, with ``stock`` units on hand per location id (and
    optional safety stock per location id); no other test touches it."""
    sku = f"T-{uuid.uuid4().hex[:10].upper()}"
    deps.store.put_product(
        Product(
            sku=sku,
            name=f"Test {sku}",
            price=Money.of(Decimal(price)),
            low_stock_threshold=threshold,
        )
    )
    locations = {location.location_id: location for location in LOCATIONS}
    for location_id, on_hand in stock.items():
        location = locations[location_id]
        deps.store.put_stock(
            stock_level(
                sku,
                location_id,
                on_hand,
                location_type=location.type,
                ships=location.ships,
                pickup=location.pickup,
                safety_stock=safety.get(location_id, 0),
            )
        )
    return sku
