"""Every fake offers every method of its port, with the port's parameters: a method added
to a port fails here until the fake has it too."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from chalicelib import ports
from chalicelib.ports.opportunities import OpportunityStore
from chalicelib.ports.surveys import SurveyStore
from tests.fakes import outside
from tests.fakes.customers import FakeCustomerStore
from tests.fakes.opportunities import FakeOpportunityStore
from tests.fakes.orders import FakeOrderStore
from tests.fakes.surveys import FakeSurveyStore

PAIRS: list[tuple[Any, Any]] = [
    (ports.OrderStore, FakeOrderStore),
    (ports.CustomerStore, FakeCustomerStore),
    (ports.PaymentGateway, outside.FakeGateway),
    (ports.Workflow, outside.FakeWorkflow),
    (ports.EventPublisher, outside.RecordingEvents),
    (ports.Secrets, outside.FakeSecrets),
    (ports.AccessRecords, outside.FakeAccess),
    (ports.AlertLog, outside.FakeAlertLog),
    (ports.IdempotentRequests, outside.FakeIdempotency),
    (SurveyStore, FakeSurveyStore),
    (OpportunityStore, FakeOpportunityStore),
]


def _methods(cls: Any) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(("port", "fake"), PAIRS, ids=[port.__name__ for port, _ in PAIRS])
def test_the_fake_has_every_method_of_its_port(port: Any, fake: Any) -> None:
    offered = _methods(fake)
    for name, wanted in _methods(port).items():
        assert name in offered, f"{fake.__name__} lacks {name}"
        assert list(offered[name].parameters) == list(wanted.parameters), name
