"""The catalogue's port: products and the stores and warehouses (apart from
``persistence`` to keep each module short; ``OrderStore`` includes it)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.catalog import Location, Product


class Catalogue(Protocol):
    """Products and locations."""

    def products(self) -> list[Product]:
        """The whole catalogue."""
        ...

    def product(self, sku: str) -> Product | None:
        """One product, or None."""
        ...

    def put_product(self, product: Product) -> None:
        """Add or replace a catalogue entry."""
        ...

    def locations(self) -> list[Location]:
        """Every store and warehouse."""
        ...

    def put_location(self, location: Location) -> None:
        """Add or replace a location."""
        ...

    def products_of(self, skus: list[str]) -> dict[str, Product]:
        """The products of these SKUs that exist, by SKU, read together (one request)."""
        ...
