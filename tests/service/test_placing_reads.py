"""What placing an order reads, on fakes: the owners of the shopper's identifiers are read
once, by pricing, and resolving the customer decides on them first; a customer created
in between is found by the resolution's retry, which reads afresh."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.requests import CustomerRef
from chalicelib.services import customers, pricing_engine, promotions
from tests.fakes.orders import FakeOrderStore
from tests.service import flows


def _reads(deps: Deps) -> Counter[str]:
    assert isinstance(deps.store, FakeOrderStore)
    return deps.store.reads


def _shopper() -> dict[str, Any]:
    return {"email": f"s-{uuid.uuid4().hex[:8]}@example.com", "name": "Sara"}


def test_placing_for_a_new_shopper_reads_the_email_owner_once(deps: Deps) -> None:
    _reads(deps).clear()

    order = flows.place(deps, customer=_shopper())

    assert order.customer_id is not None
    assert _reads(deps)["identifier"] == 1


def test_placing_for_a_known_shopper_reads_the_email_owner_once(deps: Deps) -> None:
    shopper = _shopper()
    first = flows.place(deps, customer=shopper)
    _reads(deps).clear()

    again = flows.place(deps, customer=shopper)

    assert again.customer_id == first.customer_id
    assert _reads(deps)["identifier"] == 1


def test_a_customer_created_between_pricing_and_resolving_is_the_orders_customer(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    shopper = _shopper()
    known_shopper = promotions.known_shopper
    rivals: list[str] = []

    def priced_then_raced(ref: Any, deps: Deps, seen: Any = None) -> Any:
        answer = known_shopper(ref, deps, seen)
        # Another request for the same address creates its customer right after pricing
        # found nobody: the first resolution's create is refused and its retry reads again.
        rival = customers.resolve_customer(CustomerRef.model_validate(shopper), deps)
        rivals.append(rival.customer_id)
        return answer

    monkeypatch.setattr(pricing_engine.promotions, "known_shopper", priced_then_raced)

    order = flows.place(deps, customer=shopper)

    assert rivals and order.customer_id == rivals[0]
