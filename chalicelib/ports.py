"""The ports: what services need from the outside world. Adapters implement them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from chalicelib.domain.catalog import Location, Product
from chalicelib.domain.customers import Identifier
from chalicelib.domain.fulfillments import Fulfillment, Shipment
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.money import Money
from chalicelib.domain.observability import MetricPoint
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order


class StockChange(BaseModel):
    """A delta on one stock item, applied only if it keeps the counts valid."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0


class OrderStore(Protocol):
    """Orders, stock, catalogue and the small records around them (DynamoDB)."""

    def get_order(self, order_id: str) -> Order:
        """The order, or ``NotFound``."""
        ...

    def create_order(self, order: Order) -> None:
        """Store a new order and its first history entry; ``Conflict`` if it exists."""
        ...

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        pointers: list[tuple[str, str]] | None = None,
        shipments: list[Fulfillment] | None = None,
    ) -> None:
        """Write the order if nobody changed it since it was read, with its new history
        entry, the stock deltas and lookup pointers, all in one transaction. Raises
        ``OutOfStock`` if a stock condition fails, ``ConcurrentModification`` otherwise."""
        ...

    def orders_owing(self, limit: int) -> list[str]:
        """Ids of orders with captures, voids or refunds owed (listed in the order's own
        write while any is owed; read with one query, never a scan)."""
        ...

    def order_id_for(self, pointer: str) -> str:
        """The order a pointer (``SHIPMENT#…``, ``RETURN#…``) names, or ``NotFound``."""
        ...

    def products(self) -> list[Product]:
        """The whole catalogue."""
        ...

    def product(self, sku: str) -> Product | None:
        """One product, or None."""
        ...

    def locations(self) -> list[Location]:
        """Every store and warehouse."""
        ...

    def stock_levels(self, sku: str) -> list[StockLevel]:
        """One SKU at every location that holds it."""
        ...

    def apply_stock(self, changes: list[StockChange]) -> None:
        """Apply stock deltas atomically, or raise ``OutOfStock``."""
        ...

    def remember_once(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key``; True the first time, False if it was already there."""
        ...

    def find_identifier(self, identifier: Identifier) -> str | None:
        """The customer an identifier belongs to."""
        ...

    def create_customer(
        self, customer_id: str, identifiers: list[Identifier], profile: dict[str, Any]
    ) -> None:
        """Store a customer and claim its identifiers, or ``Conflict`` if one is taken."""
        ...

    def customer_exists(self, customer_id: str) -> bool:
        """Whether this customer id is known."""
        ...


class PaymentGateway(Protocol):
    """Authorises, captures, voids and refunds. Every call after ``authorize`` carries an
    idempotency key (``<order>:<fulfilment>:capture``...): the same key moves money once
    and a retry answers with the first result. Transient failures raise
    ``PaymentGatewayUnavailable`` (safe to retry with the same key); a request the gateway
    refuses (more than authorised or captured) raises ``PaymentRefused``."""

    def authorize(self, order_id: str, amount: Money, token: str) -> str:
        """Hold ``amount`` on the card; returns the payment id. Idempotent per order.
        ``PaymentDeclined`` (with the gateway's ``payment_id`` where it gave one)."""
        ...

    def capture(self, payment_id: str, amount: Money, key: str) -> str:
        """Take ``amount`` of the authorisation; returns the operation id."""
        ...

    def void(self, payment_id: str, amount: Money, key: str) -> str:
        """Release ``amount`` of the authorisation uncaptured; returns the operation id."""
        ...

    def refund(self, payment_id: str, amount: Money, key: str) -> str:
        """Give back ``amount`` of what was captured; returns the operation id."""
        ...


class Carrier(Protocol):
    """A parcel carrier that books shipments with a delivery promise."""

    @property
    def name(self) -> str:
        """The carrier's id in webhook paths."""
        ...

    @property
    def service_level(self) -> str:
        """The service booked."""
        ...

    @property
    def sla_hours(self) -> int:
        """Hours from booking to the delivery promise."""
        ...

    def book(self, order_id: str, fulfillment_id: str, now: datetime) -> Shipment:
        """Book a pick-up of a parcel; returns the shipment with its promise."""
        ...


class Workflow(Protocol):
    """The per-order Step Functions execution."""

    def start(self, order_id: str, payload: dict[str, Any]) -> str:
        """Start (or find) the execution named after the order; returns its ARN."""
        ...

    def start_named(self, name: str, payload: dict[str, Any]) -> str:
        """Start (or find) the execution called ``name`` (an ops retry); returns its ARN."""
        ...

    def execution_arn(self, order_id: str) -> str:
        """The ARN the order's execution has (or will have)."""
        ...

    def status(self, execution_arn: str) -> str | None:
        """The execution's status, or None if there is no such execution."""
        ...

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Complete a wait; False if the token is no longer waiting."""
        ...

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        """End a wait with ``error`` (a name the ASL catches); False if the token is no
        longer waiting."""
        ...

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """Status, ordered state history and console link."""
        ...

    def list_executions(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` executions (of one status, or all): order id, ARN, status,
        start and stop times."""
        ...

    def definition(self) -> dict[str, Any]:
        """The state machine's ASL definition."""
        ...


class EventPublisher(Protocol):
    """Publishes order events for the subscribers (emails, customer view, ops)."""

    def publish(self, event: dict[str, Any]) -> None:
        """Publish one event."""
        ...

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        """Tell ops something needs a person."""
        ...


class Metrics(Protocol):
    """Business metrics: counts ops chart and alarm on."""

    def record(self, points: list[MetricPoint]) -> None:
        """Add each point to its metric."""
        ...


class Mailer(Protocol):
    """Sends customer emails."""

    def send(self, to: str, subject: str, html: str, text: str) -> str:
        """Send one email; returns the message id."""
        ...


class Texter(Protocol):
    """Sends text messages to phones."""

    def send(self, to: str, text: str) -> str:
        """Send one message to an E.164 number; returns the message id."""
        ...


class Outbox(Protocol):
    """Emails as they were sent, where the environment keeps them (the local stack writes
    every email to a folder; on AWS SES keeps none, and there is no outbox)."""

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` emails, newest first: message id, sender, recipient,
        subject, sent_at and the start of the text."""
        ...

    def forget(self, addresses: set[str]) -> int:
        """Delete the copies of every email sent to one of these addresses (an erased
        customer's); returns how many went."""
        ...
