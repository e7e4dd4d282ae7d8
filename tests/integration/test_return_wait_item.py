"""Where the return window's wait sits in the table (``OrderRepository.park_return_wait``):
an item of its own in the order's partition, outside the ``ORDER`` items an order read
queries, swept by TTL a day after the window; the order's items never carry the token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.services.return_steps import await_returns
from chalicelib.services.step_models import AwaitInput
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.integration.test_order_items import raw_items
from tests.service import flows


def _delivered_order(deps: Any) -> Any:
    """A delivered order stored on the stack, its return window open for 30 days."""
    fake = fake_deps()
    load_demo_data(fake.store)
    delivered = flows.delivered(fake)
    order = delivered.model_copy(update={"order_id": f"ord_it_{uuid.uuid4().hex[:12]}"})
    order.version = 0
    # Delivered on the fakes' clock; the stack's is today's.
    order.returns_window_ends = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    deps.store.create_order(order)
    return order


def test_the_wait_is_an_item_of_its_own_that_the_order_read_leaves_out(deps: Any) -> None:
    order = _delivered_order(deps)
    token = "T" * 900  # AWS's task tokens run to hundreds of characters

    await_returns(AwaitInput(order_id=order.order_id, task_token=token), deps)

    items = raw_items(deps, order.order_id)
    assert set(items) == {"ORDER", "WAIT#RETURNS"}
    wait = items["WAIT#RETURNS"]
    assert wait["task_token"] == {"S": token}
    swept_at = int((order.returns_window_ends + timedelta(days=1)).timestamp())
    assert wait["expires_at"] == {"N": str(swept_at)}
    assert token not in str(items["ORDER"])
    assert deps.store.get_order(order.order_id) == order

    # Read, not taken: released by whoever comes first, and swept by TTL.
    assert deps.store.return_wait(order.order_id) == token
    assert deps.store.return_wait(order.order_id) == token


def test_the_bench_ends_a_parked_return_window_with_its_token(deps: Any) -> None:
    # The bench ends each sampled order's window as a real one ends; it reads the wait
    # through the store's port (found when that port changed and the bench did not).
    from bench.load import end_return_windows

    order = _delivered_order(deps)
    await_returns(AwaitInput(order_id=order.order_id, task_token="T-bench"), deps)
    told: list[tuple[str, str]] = []

    class Sfn:
        def send_task_success(self, taskToken: str, output: str) -> None:  # noqa: N803
            told.append((taskToken, output))

    end_return_windows(Sfn(), [order.order_id])

    assert told == [("T-bench", '{"window": "ended"}')]
