"""The catalogue's products and the stores and warehouses."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.catalog import Location, Product


class CatalogueRepository:
    """Products and locations, each in one partition."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def products(self) -> list[Product]:
        """The whole catalogue."""
        page = self._table.partition(keys.CATALOG_PK)
        return [Product.model_validate(item) for item in page.items]

    def product(self, sku: str) -> Product | None:
        """One product, or None."""
        item = self._table.get(keys.product(sku), consistent=False)
        return Product.model_validate(item) if item is not None else None

    def products_of(self, skus: list[str]) -> dict[str, Product]:
        """The products of these SKUs that exist, by SKU, read together (one request)."""
        items = self._table.get_many([keys.product(sku) for sku in skus], consistent=False)
        found = [Product.model_validate(item) for item in items]
        return {product.sku: product for product in found}

    def put_product(self, product: Product) -> None:
        """Add or replace a catalogue entry."""
        item = keys.product(product.sku) | product.model_dump(mode="json")
        self._table.write(self._table.put(item))

    def locations(self) -> list[Location]:
        """Every store and warehouse."""
        page = self._table.partition(keys.LOCATION_PK)
        return [Location.model_validate(item) for item in page.items]

    def put_location(self, location: Location) -> None:
        """Add or replace a location."""
        item = keys.location(location.location_id) | location.model_dump(mode="json")
        self._table.write(self._table.put(item))
