"""Which order an execution runs, whatever restarted it."""

from __future__ import annotations

import pytest

from chalicelib.domain.execution_names import (
    ops_retry_name,
    order_of_execution,
    payment_retry_name,
)


@pytest.mark.parametrize(
    "name",
    [
        "ord_0a1b2c3d4e5f60718293",
        ops_retry_name("ord_0a1b2c3d4e5f60718293", 2),
        payment_retry_name("ord_0a1b2c3d4e5f60718293", 1),
        ops_retry_name("ord_0a1b2c3d4e5f60718293", 12),
    ],
)
def test_every_execution_of_an_order_names_that_order(name: str) -> None:
    assert order_of_execution(name) == "ord_0a1b2c3d4e5f60718293"


def test_an_order_id_that_merely_ends_in_letters_is_left_whole() -> None:
    assert order_of_execution("ord_0a1b2c3d4e5f6071pay") == "ord_0a1b2c3d4e5f6071pay"
