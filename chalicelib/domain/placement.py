"""What the customer placed, fixed with the order: the channel, the lines at their
prices, how to reach the customer, where shipped lines go and the terms accepted."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money


class Channel(StrEnum):
    """Where the customer placed the order."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    KIOSK = "kiosk"
    PHONE = "phone"


class OrderLine(BaseModel):
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


class Consent(BaseModel):
    """The terms the customer accepted with this order."""

    terms_version: str
    privacy_version: str
    accepted_at: datetime
    channel: Channel


class CustomerContact(BaseModel):
    """How to reach the customer about this order."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    locale: str = "es"


class ShippingAddress(BaseModel):
    """Where shipped lines go."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str
