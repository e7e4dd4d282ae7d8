"""Fixtures shared by every test folder.

``stack`` is the embedded local stack (moto in this process, the app's Lambda functions
dispatched in-process), started once per test process with demo data. Tests stay
independent by using fresh ids (idempotency keys, customers, SKUs of their own).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# Speed is measured in bench/, never asserted: hypothesis's per-example deadline (200 ms)
# is a wall-clock limit that a loaded machine trips (seen: 302 ms once, 0.7 ms the next run).
hypothesis_settings.register_profile("orquesta", deadline=None)
hypothesis_settings.load_profile("orquesta")

# Waits scaled so that a 24 h SLA is 4 s and the return window 2 minutes: long enough for
# a test to act inside them, short enough to run out when a test wants a timeout.
os.environ.setdefault("ORQUESTA_TIME_SCALE", "21600")
os.environ.setdefault("ORQUESTA_HANDLING_SECONDS", "0")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local stack, serving HTTP on a free port."""
    from infra.local.stack import LocalStack, free_port

    outbox = Path(tmp_path_factory.mktemp("outbox"))
    local = LocalStack(port=free_port(), outbox=outbox).start()
    _stock_the_demo_tshirt(local)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def deps(stack: Any) -> Any:
    """The app's dependencies, as the handlers use them."""
    from chalicelib.composition import deps as app_deps

    return app_deps()


@pytest.fixture
def settings(deps: Any) -> Iterator[Any]:
    """The live settings; changes a test makes are undone after it."""
    saved = deps.settings.model_copy()
    yield deps.settings
    for name in type(saved).model_fields:
        setattr(deps.settings, name, getattr(saved, name))


@pytest.fixture
def client(stack: Any) -> Iterator[Any]:
    """``chalice.test.Client`` on the app the stack runs."""
    from chalice.test import Client

    with Client(stack.app_module.app) as test_client:
        yield test_client


# Units of the demo T-shirt (``order_body``'s default line) the shared stack's warehouse
# receives on top of the demo quantity: every test on a worker buys it from the same
# warehouse, and orders are refused up front once it runs out (API.md "Refuse what cannot
# be served"), which would make a test's outcome depend on how many ran before it.
SUITE_TSHIRTS = 5000


def _stock_the_demo_tshirt(local: Any) -> None:
    from chalicelib.composition import deps as app_deps
    from chalicelib.domain.requests import RecordMovementRequest
    from chalicelib.services import inventory

    receipt = {"sku": "TSHIRT-BLK-M", "location_id": "WH-GETAFE", "type": "receipt"}
    request = RecordMovementRequest.model_validate(receipt | {"quantity": SUITE_TSHIRTS})
    inventory.record_movement(request, app_deps())
