"""Fixtures of the workflow tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flow import stop_if_running


@pytest.fixture
def parked(deps: Any) -> Iterator[list[str]]:
    """Order ids whose executions may still be waiting when the test ends; they are stopped
    then, so that few executions stay parked on task tokens."""
    order_ids: list[str] = []
    yield order_ids
    for order_id in order_ids:
        stop_if_running(deps, order_id)


@pytest.fixture
def faults(stack: Any) -> Iterator[Any]:
    """The stack's in-process Lambdas, to inject failures into; cleared afterwards."""
    stack.lambdas.clear_faults()
    yield stack.lambdas
    stack.lambdas.clear_faults()
