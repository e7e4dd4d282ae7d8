"""What the customer placed, fixed with the order: the channel, the lines at their
prices, how to reach the customer, where shipped lines go and the terms accepted."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money


class Channel(StrEnum):
    """Where the customer placed the order."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    KIOSK = "kiosk"
    PHONE = "phone"


class OrderLine(DeferredModel):
    """A SKU, its catalogue price and how it reaches the customer."""

    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    fulfillment: FulfillmentType
    location_id: str | None = None
    # What the customer pays for the line all in: less its share of the discount, plus
    # its own tax when the tax is on top. None on orders priced before the engine: then
    # ``line_total``. Money follows it (domain/line_values.py).
    charged: Money | None = None


class Consent(DeferredModel):
    """The terms the customer accepted with this order."""

    terms_version: str
    privacy_version: str
    accepted_at: datetime
    channel: Channel


class CustomerContact(DeferredModel):
    """How to reach the customer about this order."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    locale: str = "es"


class ShippingAddress(DeferredModel):
    """Where shipped lines go."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class AskedLine(Protocol):
    """A line as a request asks for it: how it is fulfilled, and where for a pick-up."""

    @property
    def fulfillment(self) -> FulfillmentType: ...

    @property
    def location_id(self) -> str | None: ...


Problems = list[tuple[str, str]]


def store_problems(channel: Channel, store_id: str | None) -> Problems:
    """A store or kiosk sale names its store."""
    if channel in (Channel.STORE, Channel.KIOSK) and not store_id:
        return [("store_id", "required for store and kiosk orders")]
    return []


def fulfillment_problems(lines: Sequence[AskedLine], has_address: bool) -> Problems:
    """A pick-up line names its store; a basket with a line to ship has an address."""
    problems = [
        (f"lines.{index}.location_id", "required for a pickup line")
        for index, line in enumerate(lines)
        if line.fulfillment is FulfillmentType.PICKUP and not line.location_id
    ]
    if any(line.fulfillment is FulfillmentType.SHIP for line in lines) and not has_address:
        problems.append(("shipping_address", "required when a line ships"))
    return problems
