"""What a service may touch, each as its port: the composition root (composition.py) fills
it with the real adapters, the fast tests (tests/fakes) with in-memory fakes. It imports no
adapter that talks to AWS, so a test on fakes never loads boto3's wiring."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.adapters.carriers import carrier_for
from chalicelib.config import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.ports import (
        AccessRecords,
        AlertLog,
        Carrier,
        CarrierChoice,
        EventPublisher,
        IdempotentRequests,
        Mailer,
        OrderStore,
        Outbox,
        PaymentGateway,
        SandboxLedger,
        Secrets,
        Texter,
        Workflow,
    )
    from chalicelib.ports import CustomerStore as CustomerStorePort
    from chalicelib.ports.opportunities import OpportunityStore
    from chalicelib.ports.surveys import SurveyStore


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass
class Deps:
    """Everything a service may touch, handed in explicitly, each as its port."""

    settings: Settings
    store: OrderStore
    payments: PaymentGateway
    carriers: dict[str, Carrier]
    workflow: Workflow
    events: EventPublisher
    mailer: Mailer
    secrets: Secrets
    idempotency: IdempotentRequests
    customers: CustomerStorePort
    # Guessing limits, one-time codes, tracking-link generations; text messages.
    access: AccessRecords
    texter: Texter
    alerts: AlertLog
    # Satisfaction survey answers and the CSAT counters kept from them.
    surveys: SurveyStore
    # Back-in-stock subscriptions and the sales followed up.
    opportunities: OpportunityStore
    clock: Callable[[], datetime] = field(default=utc_now)
    choose_carrier: CarrierChoice = field(default=carrier_for)
    # Where sent emails can be read back: wired by the local stack; AWS has none.
    outbox: Outbox | None = None
    # The sandbox gateway's own ledger (``GET /sandbox/payments/{id}``): wired by the local
    # stack only, where the sandbox is the gateway the books are held against.
    sandbox_ledger: SandboxLedger | None = None
