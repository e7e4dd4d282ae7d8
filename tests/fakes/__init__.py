"""In-memory fakes of every port, and ``fake_deps`` to build a whole ``Deps`` on them.

Service tests run on these in milliseconds, without moto; ``tests/contract`` holds them to
the same behaviour as the DynamoDB repositories."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.carriers import SANDBOX_CARRIERS, carrier_for
from chalicelib.config import Settings
from chalicelib.deps import Deps
from tests.fakes.customers import FakeCustomerStore
from tests.fakes.memory import Memory
from tests.fakes.opportunities import FakeOpportunityStore
from tests.fakes.orders import FakeOrderStore
from tests.fakes.outside import (
    Clock,
    FakeAccess,
    FakeAlertLog,
    FakeGateway,
    FakeIdempotency,
    FakeSecrets,
    FakeWorkflow,
    Outgoing,
    RecordingEvents,
)
from tests.fakes.surveys import FakeSurveyStore

__all__ = ["Clock", "FakeGateway", "Memory", "RecordingEvents", "fake_deps"]


def fake_deps(**overrides: Any) -> Deps:
    """A ``Deps`` on fakes sharing one ``Memory``, with a settable ``Clock`` (``deps.clock``)
    that also ages the once-only markers. Any field can be overridden by name."""
    clock = overrides.pop("clock", None) or Clock()
    memory = overrides.pop("memory", None) or Memory(now=lambda: clock().timestamp())
    fields: dict[str, Any] = {
        "settings": Settings(),
        "store": FakeOrderStore(memory),
        "payments": FakeGateway(),
        "carriers": dict(SANDBOX_CARRIERS),
        "workflow": FakeWorkflow(),
        "events": RecordingEvents(),
        "mailer": Outgoing(),
        "secrets": FakeSecrets(),
        "idempotency": FakeIdempotency(),
        "customers": FakeCustomerStore(memory),
        "access": FakeAccess(),
        "texter": Outgoing(),
        "alerts": FakeAlertLog(),
        "surveys": FakeSurveyStore(),
        "opportunities": FakeOpportunityStore(),
        "clock": clock,
        "choose_carrier": carrier_for,
    }
    unknown = set(overrides) - set(fields) - {"outbox", "sandbox_ledger"}
    if unknown:
        raise TypeError(f"Deps has no {sorted(unknown)}")
    return Deps(**(fields | overrides))
