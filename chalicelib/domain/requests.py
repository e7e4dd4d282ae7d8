"""What clients send: validated commands, named by role. Unknown fields are refused."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.errors import InvalidFields
from chalicelib.domain.orders import Channel, FulfillmentType

MAX_LINES = 100
MAX_QUANTITY = 999
# All of an order's reservations go in one DynamoDB transaction (100 items at most),
# together with the order item and its history entry.
MAX_TRANSACTION_ITEMS = 100
MAX_RESERVED_LINES = MAX_TRANSACTION_ITEMS - 2


class Strict(BaseModel):
    """Base of request models: unknown fields are an error, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerRef(Strict):
    """Who orders: an existing id and/or identifiers to resolve."""

    customer_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    loyalty_id: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    locale: Literal["es", "en"] = "es"

    def has_identifier(self) -> bool:
        """Whether anything identifies the customer."""
        return any((self.customer_id, self.email, self.phone, self.loyalty_id))


class OrderLineRequest(Strict):
    """One line as the storefront asks for it; the price comes from the catalogue."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)
    fulfillment: FulfillmentType = FulfillmentType.SHIP
    location_id: str | None = Field(default=None, max_length=64)


class AddressRequest(Strict):
    """A delivery address."""

    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")


class PaymentRequest(Strict):
    """A tokenised card."""

    method: Literal["card"]
    token: str = Field(min_length=1, max_length=200)


class ConsentRequest(Strict):
    """The terms the customer accepted."""

    terms_version: str = Field(min_length=1, max_length=40)
    privacy_version: str = Field(min_length=1, max_length=40)
    accepted: Literal[True]


class PlaceOrderRequest(Strict):
    """``POST /orders``."""

    channel: Channel
    store_id: str | None = Field(default=None, max_length=64)
    customer: CustomerRef | None = None
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    shipping_address: AddressRequest | None = None
    payment: PaymentRequest
    consent: ConsentRequest

    def check(self) -> None:
        """Rules that span fields; raises ``InvalidFields`` naming each offending one."""
        problems: list[tuple[str, str]] = []
        if len(self.lines) > MAX_RESERVED_LINES:
            problems.append(
                (
                    "lines",
                    f"at most {MAX_RESERVED_LINES} lines: an order is reserved in one "
                    f"transaction of {MAX_TRANSACTION_ITEMS} items with the order itself",
                )
            )
        if self.channel in (Channel.STORE, Channel.KIOSK) and not self.store_id:
            problems.append(("store_id", "required for store and kiosk orders"))
        if self.channel is not Channel.STORE and (
            self.customer is None or not self.customer.has_identifier()
        ):
            problems.append(("customer", "needs an email, phone, loyalty_id or customer_id"))
        for index, line in enumerate(self.lines):
            if line.fulfillment is FulfillmentType.PICKUP and not line.location_id:
                problems.append((f"lines.{index}.location_id", "required for a pickup line"))
        if (
            any(line.fulfillment is FulfillmentType.SHIP for line in self.lines)
            and self.shipping_address is None
        ):
            problems.append(("shipping_address", "required when a line ships"))
        if problems:
            raise InvalidFields(problems)


class CancelOrderRequest(Strict):
    """``POST /orders/{id}/cancel``; the body is optional."""

    reason: str | None = Field(default=None, max_length=500)


class ReturnLineRequest(Strict):
    """Units of one SKU to send back."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)


class RequestReturnRequest(Strict):
    """``POST /orders/{id}/returns``."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    reason: str = Field(min_length=1, max_length=500)
    channel: Literal["store", "mail"]
    location_id: str | None = Field(default=None, max_length=64)

    def check(self) -> None:
        """A return in store names the store."""
        if self.channel == "store" and not self.location_id:
            raise InvalidFields([("location_id", "required for a return in store")])


class ReceiveReturnRequest(Strict):
    """``POST /returns/{id}/receive``."""

    location_id: str = Field(min_length=1, max_length=64)


class CarrierEventRequest(Strict):
    """A carrier's webhook body."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=128)
    tracking_number: str = Field(min_length=1, max_length=64)
    type: Literal["in_transit", "out_for_delivery", "delivered", "exception"]
    occurred_at: str = Field(min_length=1, max_length=40)


class RecordMovementRequest(Strict):
    """``POST /inventory/movements``: a store's POS or back office moving stock."""

    sku: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    type: Literal["receipt", "sale", "adjustment", "return"]
    quantity: int = Field(ge=-100_000, le=100_000, strict=True)
    reference: str | None = Field(default=None, max_length=200)

    def on_hand_delta(self) -> int:
        """The change to on_hand: receipts and returns add, sales take, adjustments are
        signed. Raises ``InvalidFields`` for a quantity the type does not allow."""
        if self.type == "adjustment":
            if self.quantity == 0:
                raise InvalidFields([("quantity", "an adjustment is a non-zero signed delta")])
            return self.quantity
        if self.quantity <= 0:
            raise InvalidFields([("quantity", f"a {self.type} takes a positive quantity")])
        return -self.quantity if self.type == "sale" else self.quantity
