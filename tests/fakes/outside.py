"""In-memory stand-ins for the services outside the table: they record what they were
asked, and can be told to fail."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.config import ApiKey
from chalicelib.domain.alerts import AlertStatus, OpsAlert
from chalicelib.domain.errors import (
    LOCKED_DETAIL,
    IdempotencyKeyReused,
    NotFound,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    PaymentRefused,
    TooManyAttempts,
)
from chalicelib.domain.execution_names import order_of_execution
from chalicelib.domain.money import Money

DECLINED_TOKEN = "tok_declined"


@dataclass
class Clock:
    """A clock that moves only when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        self.now += timedelta(**delta)
        return self.now


@dataclass
class FakeGateway:
    """``PaymentGateway`` keeping a ledger per payment. ``unavailable`` counts the calls
    (of any kind) still to fail as if the gateway did not answer; a key repeats the first
    answer, as the sandbox does."""

    unavailable: int = 0
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # One payment per order and card, as the sandbox: a new card after a decline is new.
    by_order: dict[tuple[str, str], str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, Decimal]] = field(default_factory=list)

    def _answer(self) -> None:
        if self.unavailable > 0:
            self.unavailable -= 1
            raise PaymentGatewayUnavailable("the payment gateway did not answer")

    def authorize(self, order_id: str, amount: Money, token: str) -> str:
        self._answer()
        if (order_id, token) not in self.by_order:
            payment_id = f"pay_{uuid.uuid4().hex[:12]}"
            self.by_order[order_id, token] = payment_id
            self.payments[payment_id] = {
                "authorized": amount.amount,
                "declined": token == DECLINED_TOKEN,
                "capture": Decimal(0),
                "void": Decimal(0),
                "refund": Decimal(0),
            }
        payment_id = self.by_order[order_id, token]
        if self.payments[payment_id]["declined"]:
            raise PaymentDeclined(
                "the card was declined", field="payment.token", payment_id=payment_id
            )
        self.calls.append(("authorize", payment_id, amount.amount))
        return payment_id

    def capture(self, payment_id: str, amount: Money, key: str) -> str:
        return self._operate("capture", payment_id, amount, key)

    def void(self, payment_id: str, amount: Money, key: str) -> str:
        return self._operate("void", payment_id, amount, key)

    def refund(self, payment_id: str, amount: Money, key: str) -> str:
        return self._operate("refund", payment_id, amount, key)

    def _operate(self, kind: str, payment_id: str, amount: Money, key: str) -> str:
        self._answer()
        if key in self.answers:
            return self.answers[key]
        ledger = self.payments[payment_id]
        open_amount = ledger["authorized"] - ledger["capture"] - ledger["void"]
        limit = ledger["capture"] - ledger["refund"] if kind == "refund" else open_amount
        if amount.amount > limit:
            raise PaymentRefused(f"cannot {kind} {amount.amount}: {limit} left")
        ledger[kind] += amount.amount
        self.calls.append((kind, payment_id, amount.amount))
        self.answers[key] = f"{kind[:3]}_{uuid.uuid4().hex[:12]}"
        return self.answers[key]

    def total(self, kind: str) -> Decimal:
        """What every payment's operations of one kind add up to."""
        return sum((p[kind] for p in self.payments.values()), Decimal(0))


@dataclass
class FakeWorkflow:
    """``Workflow`` that starts nothing: it remembers the executions it was asked for."""

    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Releases of a token released already, refused as stale (the adapter's False).
    stale: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    # Executions that ended, by name, with how (``end`` records it, as a stop would).
    ended: dict[str, str] = field(default_factory=dict)

    def end(self, execution_arn: str, status: str) -> None:
        """The execution ends ``status`` (FAILED, TIMED_OUT, ABORTED...)."""
        self.ended[execution_arn.rsplit(":", 1)[-1]] = status

    def start(self, order_id: str, payload: dict[str, Any]) -> str:
        self.started.setdefault(order_id, payload)
        return self.execution_arn(order_id)

    def start_named(self, name: str, payload: dict[str, Any]) -> str:
        self.started.setdefault(name, payload)
        return self.execution_arn(name)

    def execution_arn(self, order_id: str) -> str:
        return f"arn:aws:states:eu-west-1:123456789012:execution:orders:{order_id}"

    def status(self, execution_arn: str) -> str | None:
        name = execution_arn.rsplit(":", 1)[-1]
        if name in self.ended:
            return self.ended[name]
        return "RUNNING" if name in self.started else None

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        # As Step Functions: a token is released once; a second release is refused as
        # stale, and the adapter answers False.
        if self._released(task_token):
            self.stale.append((task_token, output))
            return False
        self.resumed.append((task_token, output))
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        if self._released(task_token):
            self.stale.append((task_token, {"error": error}))
            return False
        self.failed.append((task_token, error, cause))
        return True

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        if self.status(execution_arn) != "RUNNING":
            return False
        self.end(execution_arn, "ABORTED")
        return True

    def _released(self, task_token: str) -> bool:
        return any(token == task_token for token, *_ in (*self.resumed, *self.failed))

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        status = self.status(execution_arn)
        return None if status is None else {"status": status, "history": [], "console_url": ""}

    def list_executions(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        rows = [
            {
                "order_id": order_of_execution(name),
                "execution_arn": self.execution_arn(name),
                "status": self.status(self.execution_arn(name)),
                "started_at": None,
                "stopped_at": None,
            }
            for name in reversed(self.started)  # newest first, as Step Functions lists
        ]
        return [row for row in rows if status in (None, row["status"])][:limit]

    def definition(self) -> dict[str, Any]:
        return {}


@dataclass
class RecordingEvents:
    """``EventPublisher`` that keeps what was published and every ops alert."""

    published: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        self.alerts.append((subject, message))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The published events of one type, in order."""
        return [event for event in self.published if event.get("type") == kind]


@dataclass
class Outgoing:
    """``Mailer`` and ``Texter``: what would have been sent."""

    sent: list[dict[str, str]] = field(default_factory=list)

    def send(self, to: str, *parts: str) -> str:
        self.sent.append({"to": to, "parts": "\n".join(parts)})
        return f"msg_{len(self.sent)}"


@dataclass
class KeptCopies:
    """An ``Outbox`` holding a copy of every message sent (its id, recipient and text), as
    the local stack keeps them; addresses are forgotten whatever their case."""

    copies: list[dict[str, str]] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        return [copy["to"] for copy in self.copies]

    def recent(self, limit: int) -> list[dict[str, Any]]:
        return self.copies[-limit:]

    def forget(
        self, addresses: set[str], orders: Collection[str] = (), messages: Collection[str] = ()
    ) -> int:
        wanted = {address.lower() for address in addresses}

        def gone(copy: dict[str, str]) -> bool:
            about = any(order_id in copy["text"] for order_id in orders)
            return copy["to"].lower() in wanted or about or copy["id"] in messages

        kept = [copy for copy in self.copies if not gone(copy)]
        forgotten, self.copies = len(self.copies) - len(kept), kept
        return forgotten


@dataclass(frozen=True)
class Keys:
    """``Keyring`` with fixed secrets."""

    keys: Mapping[str, str] = field(default_factory=lambda: {"k1": "a-test-secret"})
    signing_kid: str = "k1"

    @property
    def signing_key(self) -> str:
        return self.keys[self.signing_kid]


@dataclass
class FakeSecrets:
    """``Secrets`` with fixed values."""

    keys: Keys = field(default_factory=Keys)
    carrier: str = "carrier-secret"
    api: dict[str, ApiKey] = field(default_factory=dict)

    def api_keys(self) -> dict[str, ApiKey]:
        return self.api

    def carrier_secret(self, carrier: str) -> str:
        return self.carrier

    def tracking_keys(self) -> Keys:
        return self.keys


@dataclass
class FakeAccess:
    """``AccessRecords`` in memory: counters with their lockout, codes, generations."""

    failures: dict[str, int] = field(default_factory=dict)
    locked_until: dict[str, datetime] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)

    def begin_attempt(
        self,
        scope: str,
        now: datetime,
        limit: int,
        lock_seconds: int,
        field: str = "code",
        locked: str = LOCKED_DETAIL,
    ) -> int:
        until = self.locked_until.get(scope)
        if until is not None and until > now:
            retry = int((until - now).total_seconds()) + 1
            raise TooManyAttempts(locked, field=field, retry_after=retry)
        if until is not None:
            del self.locked_until[scope]
            self.failures[scope] = 0
        self.failures[scope] = self.failures.get(scope, 0) + 1
        return self.failures[scope]

    def attempt_failed(
        self, scope: str, failures: int, now: datetime, limit: int, lock_seconds: int
    ) -> None:
        if failures >= limit:
            self.locked_until.setdefault(scope, now + timedelta(seconds=lock_seconds))

    def attempt_succeeded(self, scope: str) -> None:
        self.failures[scope] = max(0, self.failures.get(scope, 0) - 1)

    def attempts_cleared(self, scope: str, now: datetime) -> None:
        until = self.locked_until.get(scope)
        if scope in self.failures and (until is None or until <= now):
            self.failures[scope] = 0

    def lock_ends(self, scope: str, now: datetime) -> datetime | None:
        until = self.locked_until.get(scope)
        return until if until is not None and until > now else None

    def put_code(self, identifier: str, code_hash: str, kid: str, valid_until: int) -> None:
        self.codes[identifier] = {"code_hash": code_hash, "kid": kid, "valid_until": valid_until}

    def code(self, identifier: str) -> dict[str, Any] | None:
        return dict(self.codes[identifier]) if identifier in self.codes else None

    def use_code(self, identifier: str, code_hash: str) -> bool:
        record = self.codes.get(identifier)
        if record is None or record["code_hash"] != code_hash or record.get("used"):
            return False
        record["used"] = True
        return True

    def tracking_generation(self, order_id: str) -> int:
        return self.generations.get(order_id, 0)

    def revoke_tracking(self, order_id: str) -> int:
        self.generations[order_id] = self.generations.get(order_id, 0) + 1
        return self.generations[order_id]


@dataclass
class FakeAlertLog:
    """``AlertLog`` in memory."""

    alerts: dict[str, OpsAlert] = field(default_factory=dict)

    def record(self, alert: OpsAlert) -> None:
        self.alerts[alert.alert_id] = alert.model_copy(deep=True)

    def get(self, alert_id: str) -> OpsAlert:
        if alert_id not in self.alerts:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        return self.alerts[alert_id].model_copy(deep=True)

    def list(
        self,
        order_id: str | None,
        status: AlertStatus | None,
        limit: int,
        kind: str | None = None,
        before: str | None = None,
    ) -> list[OpsAlert]:
        found = [
            a
            for a in self.alerts.values()
            if (order_id is None or a.order_id == order_id)
            and (status is None or a.status is status)
            and (kind is None or a.kind == kind)
            and (before is None or a.alert_id < before)
        ]
        return sorted(found, key=lambda a: a.alert_id, reverse=True)[:limit]

    def resolve(self, alert_id: str, by: str, note: str | None, at: datetime) -> OpsAlert:
        alert = self.get(alert_id)
        if alert.resolve(by, note, at):
            self.alerts[alert_id] = alert
        return alert.model_copy(deep=True)


@dataclass
class FakeIdempotency:
    """``IdempotentRequests`` in memory: the first answer per key, for that body only."""

    answers: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = field(default_factory=dict)

    def run(
        self, scope: str, key: str, body: Any, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        if (scope, key) in self.answers:
            first_body, answer = self.answers[(scope, key)]
            if first_body != body:
                raise IdempotencyKeyReused(
                    "the key was used with another body", field="Idempotency-Key"
                )
            return answer
        answer = compute()
        self.answers[(scope, key)] = (body, answer)
        return answer
