"""Products and locations: what is sold and where stock lives."""

from enum import StrEnum

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money


class LocationType(StrEnum):
    """A shop floor or a warehouse."""

    STORE = "store"
    WAREHOUSE = "warehouse"


class Product(DeferredModel):
    """A sellable SKU with its catalogue price (the only price an order ever uses)."""

    sku: str
    name: str
    price: Money
    low_stock_threshold: int = 3


class Location(DeferredModel):
    """A store or warehouse; ``ships`` counts it in web availability, ``pickup`` lets
    customers collect there."""

    location_id: str
    type: LocationType
    name: str
    city: str
    pickup: bool
    ships: bool
    pickup_window_hours: int = 72
    # Where it is: its region's calendar, time zone and taxes (delivery promises, pick-up
    # readiness, the tax of pick-up lines). Locations stored before it read as unknown.
    postal_code: str | None = None
    # Street and number: where a return sent by post goes (the customer's page says it).
    address: str | None = None

    def street_address(self) -> str:
        """Where it is, for someone going there: ``Calle X 1, 28906 Getafe``, leaving out
        what is not known."""
        town = " ".join(part for part in (self.postal_code, self.city) if part)
        return ", ".join(part for part in (self.address, town) if part)

    def postal_address(self) -> str:
        """The address a parcel is written to: ``Almacén Getafe, Calle X 1, 28906 Getafe``."""
        return f"{self.name}, {self.street_address()}"
