"""Service tests on the in-memory fakes: no moto, no stack, milliseconds each."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps


@pytest.fixture
def deps() -> Deps:
    """Dependencies on fakes, holding the demo catalogue, locations and stock."""
    built = fake_deps()
    load_demo_data(built.store)
    return built
