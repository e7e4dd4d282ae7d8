"""The return window's wait scenarios of tests/service/test_return_wait.py on both backends
of the contract suite (the services on fakes around the fake order store, then around the
DynamoDB repositories on moto)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.service.test_return_wait import *  # noqa: F403 - the same scenarios


@pytest.fixture
def deps(stores: tuple[Any, Any]) -> Deps:
    """Fakes around the order store (and customer store) of one backend."""
    order_store, customer_store = stores
    built = fake_deps(store=order_store, customers=customer_store)
    load_demo_data(built.store)
    return built
