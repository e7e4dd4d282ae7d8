"""Catalogue, locations and inventory."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import ALL_ROLES, Access, Call, endpoint
from chalicelib.api.models import (
    CatalogResponse,
    InventoryResponse,
    LocationResponse,
    LocationsResponse,
    ProductResponse,
    StockAtLocation,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.inventory import available_to_promise

catalog = Blueprint(__name__)


@endpoint(
    catalog,
    "/catalog",
    "GET",
    summary="Products and their EUR prices",
    roles=ALL_ROLES,
    response=CatalogResponse,
    tag="catalog",
    access=Access.CATALOGUE,
)
def list_catalog(call: Call) -> dict[str, Any]:
    """Every product."""
    products = sorted(call.deps.store.products(), key=lambda p: p.sku)
    return CatalogResponse(
        products=[ProductResponse.model_validate(p.model_dump()) for p in products]
    ).model_dump(mode="json")


@endpoint(
    catalog,
    "/locations",
    "GET",
    summary="Stores and warehouses",
    roles=ALL_ROLES,
    response=LocationsResponse,
    tag="catalog",
    access=Access.CATALOGUE,
)
def list_locations(call: Call) -> dict[str, Any]:
    """Every location."""
    locations = sorted(call.deps.store.locations(), key=lambda loc: loc.location_id)
    return LocationsResponse(
        locations=[LocationResponse.model_validate(loc.model_dump()) for loc in locations]
    ).model_dump(mode="json")


@endpoint(
    catalog,
    "/inventory/{sku}",
    "GET",
    summary="Stock of a SKU at every location and web available-to-promise",
    roles=ALL_ROLES,
    response=InventoryResponse,
    tag="inventory",
    access=Access.CATALOGUE,
)
def get_inventory(call: Call, sku: str) -> dict[str, Any]:
    """One SKU everywhere."""
    if call.deps.store.product(sku) is None:
        raise NotFound(f"unknown SKU {sku}", field="sku")
    levels = sorted(call.deps.store.stock_levels(sku), key=lambda lv: lv.location_id)
    return InventoryResponse(
        sku=sku,
        available_to_promise=available_to_promise(levels),
        on_hand=sum(lv.on_hand for lv in levels),
        reserved=sum(lv.reserved for lv in levels),
        locations=[
            StockAtLocation(
                location_id=lv.location_id,
                type=lv.location_type.value,
                on_hand=lv.on_hand,
                reserved=lv.reserved,
                safety_stock=lv.safety_stock,
                available=max(0, lv.available),
                ships=lv.ships,
                pickup=lv.pickup,
            )
            for lv in levels
        ],
    ).model_dump(mode="json")
