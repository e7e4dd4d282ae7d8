"""What the customer placed, fixed with the order: the channel, the lines at their
prices, how to reach the customer, where shipped lines go and the terms accepted."""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

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
    # Its share of the order's discount, as the quote showed it; None when it took none,
    # which keeps the stored order small (and on orders priced before the engine).
    discount: Money | None = None

    def discount_shown(self) -> dict[str, Any]:
        """``discount`` as the API shows it: zero on a priced line without one, absent on
        a line priced before the engine."""
        if self.discount is not None:
            return {"discount": self.discount.model_dump(mode="json")}
        if self.charged is None:
            return {}
        return {"discount": Money.of(0, self.charged.currency).model_dump(mode="json")}


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


Problems = list[tuple[str, str]]


# The rules below read a request as sent (its JSON), as the JSON Schema's rules do, so that
# they are named together with the fields that are themselves invalid: a value the rule
# cannot read (a channel that is no channel, a line that is no object) is that field's own
# error, and the rule leaves it out.


def store_problems(data: Mapping[str, Any]) -> Problems:
    """A store or kiosk sale names its store."""
    if data.get("channel") in (Channel.STORE, Channel.KIOSK) and data.get("store_id") is None:
        return [("store_id", "required for store and kiosk orders")]
    return []


def fulfillment_problems(data: Mapping[str, Any]) -> Problems:
    """A pick-up line names its store; a basket with a line to ship has an address (a line
    that does not say how it is fulfilled ships)."""
    lines = data.get("lines")
    if not isinstance(lines, list):
        return []
    problems: Problems = []
    ships = False
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            continue
        fulfillment = line.get("fulfillment", FulfillmentType.SHIP.value)
        if fulfillment == FulfillmentType.PICKUP and line.get("location_id") is None:
            problems.append((f"lines.{index}.location_id", "required for a pickup line"))
        ships = ships or fulfillment == FulfillmentType.SHIP
    if ships and data.get("shipping_address") is None:
        problems.append(("shipping_address", "required when a line ships"))
    return problems
