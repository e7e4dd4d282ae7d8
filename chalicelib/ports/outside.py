"""Ports to services outside the table: payments, carriers, the workflow, events, metrics,
email and text messages, secrets, and the table's small records kept by their own adapters
(access records, ops alerts, idempotent requests)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.errors import LOCKED_DETAIL
from chalicelib.domain.money import Money
from chalicelib.domain.observability import MetricPoint

if TYPE_CHECKING:
    from chalicelib.config import ApiKey
    from chalicelib.domain.alerts import AlertStatus, OpsAlert
    from chalicelib.domain.promises import CarrierService
from chalicelib.domain.fulfillments import Shipment


class PaymentGateway(Protocol):
    """Authorises, captures, voids and refunds. Every call after ``authorize`` carries an
    idempotency key (``<order>:<fulfillment>:capture``...): the same key moves money once
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

    @property
    def service(self) -> CarrierService:
        """Its cut-off, transit time and zones: what delivery promises are computed from."""
        ...

    def book(
        self, order_id: str, fulfillment_id: str, now: datetime, promised_by: datetime
    ) -> Shipment:
        """Book a pick-up of a parcel, held to ``promised_by`` (the promise the shopper was
        given); returns the shipment."""
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

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        """End a running execution at once (it ends ABORTED); False if it is not running."""
        ...

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """Status, ordered state history and console link; None if there is no such
        execution (not started yet, or its start failed)."""
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

    def forget(
        self, addresses: set[str], orders: Collection[str] = (), messages: Collection[str] = ()
    ) -> int:
        """Delete the copies of every email and text message sent to one of these addresses
        (an erased customer's emails and phone numbers), of every email about one of
        ``orders`` (theirs, wherever it went), and of the messages with these ids (one
        sent as its customer was erased); returns how many went."""
        ...


class CarrierChoice(Protocol):
    """Which carrier takes a parcel to an address."""

    def __call__(self, country: str, postal_code: str) -> str:
        """The name of the carrier for this country and postal code."""
        ...


class Keyring(Protocol):
    """Signing keys by key id: every one verifies, ``signing_kid``'s signs."""

    @property
    def keys(self) -> Mapping[str, str]:
        """Secrets by key id."""
        ...

    @property
    def signing_kid(self) -> str:
        """The id of the key new tokens are signed with."""
        ...

    @property
    def signing_key(self) -> str:
        """The secret new tokens are signed with."""
        ...


class Secrets(Protocol):
    """API keys and signing secrets, from where the deployment keeps them."""

    def api_keys(self) -> dict[str, ApiKey]:
        """The API keys and what each may do."""
        ...

    def carrier_secret(self, carrier: str) -> str:
        """The secret a carrier signs its webhooks with."""
        ...

    def tracking_keys(self) -> Keyring:
        """The keys tracking links (and customer tokens) are signed with."""
        ...


class AccessRecords(Protocol):
    """Attempt counters with their lockout, one-time codes and tracking-link generations."""

    def begin_attempt(
        self,
        scope: str,
        now: datetime,
        limit: int,
        lock_seconds: int,
        field: str = "code",
        locked: str = LOCKED_DETAIL,
    ) -> int:
        """Reserve an attempt; returns how many are reserved, or ``TooManyAttempts`` (its
        detail ``locked`` while the lock holds: what the limit is, said to whoever hit it)."""
        ...

    def attempt_failed(
        self, scope: str, failures: int, now: datetime, limit: int, lock_seconds: int
    ) -> None:
        """The reserved attempt was wrong; the one that reaches the limit locks."""
        ...

    def attempt_succeeded(self, scope: str) -> None:
        """The reserved attempt was no wrong guess: it is given back (the others stay)."""
        ...

    def attempts_cleared(self, scope: str, now: datetime) -> None:
        """What the attempts were for is proven: the wrong guesses before are forgotten,
        unless a lock holds at ``now`` (it runs out as it would have)."""
        ...

    def lock_ends(self, scope: str, now: datetime) -> datetime | None:
        """When the scope's lock ends, while one holds at ``now``; None when unlocked.
        Read only, to say so before an attempt is made."""
        ...

    def put_code(self, identifier: str, code_hash: str, kid: str, valid_until: int) -> None:
        """Keep a one-time code's hash for an identifier."""
        ...

    def code(self, identifier: str) -> dict[str, Any] | None:
        """The code record of an identifier, if one is kept."""
        ...

    def use_code(self, identifier: str, code_hash: str) -> bool:
        """Spend the code if it is this one; False if it is not (or was spent)."""
        ...

    def tracking_generation(self, order_id: str) -> int:
        """The generation of an order's tracking links (0 until one is revoked)."""
        ...

    def revoke_tracking(self, order_id: str) -> int:
        """Revoke every tracking link of the order; returns the new generation."""
        ...


class AlertLog(Protocol):
    """Ops alerts, as recorded."""

    def record(self, alert: OpsAlert) -> None:
        """Store a new alert."""
        ...

    def get(self, alert_id: str) -> OpsAlert:
        """One alert, or ``NotFound``."""
        ...

    def list(
        self,
        order_id: str | None,
        status: AlertStatus | None,
        limit: int,
        kind: str | None = None,
        before: str | None = None,
    ) -> list[OpsAlert]:
        """Newest first: one order's alerts, the open ones, or all; ``status`` and ``kind``
        narrow (``limit`` counts only the alerts that match). ``before``: only alerts older
        than the one with this id (the last of the page before; it need not exist)."""
        ...

    def resolve(self, alert_id: str, by: str, note: str | None, at: datetime) -> OpsAlert:
        """Mark an alert resolved, once."""
        ...


class IdempotentRequests(Protocol):
    """Requests made with an Idempotency-Key answer the same however often they come."""

    def run(
        self, scope: str, key: str, body: Any, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """The answer ``compute`` gave the first time this key came with this body;
        ``IdempotencyKeyReused`` (422 naming the header) for another body."""
        ...


class SandboxLedger(Protocol):
    """The sandbox payment gateway's books (local stack only)."""

    def statement(self, payment_id: str) -> dict[str, Any]:
        """A payment's operations and totals, or ``NotFound``."""
        ...
