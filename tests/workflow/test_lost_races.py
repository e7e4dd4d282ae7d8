"""A step that keeps losing races to other writers of its order, on the real order.asl.json:
the state machine retries it by the name it gives lost races (``ConcurrentModification``)
instead of compensating an order that nothing was wrong with."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamodb.table import TransactionCancelled
from chalicelib.services.stock_steps import RESERVE_ATTEMPTS
from tests.support import order_body
from tests.support.body_lines import _ship
from tests.support.flow import fresh_sku, place, raw_history, stop_if_running
from tests.support.orders import wait_for_status


def test_a_reservation_that_lost_every_race_is_retried_not_compensated(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 4}, price="12.00")
    save_order = deps.store.save_order
    lost: list[str] = []

    def losing_the_first_reservations(order: Any, *args: Any, **kwargs: Any) -> None:
        stock = kwargs.get("stock", args[1] if len(args) > 1 else None) or []
        # Every attempt of the first run of ReserveStock finds another writer's
        # transaction on the order, as DynamoDB cancels a transaction that collides.
        if any(change.sku == sku for change in stock) and len(lost) < RESERVE_ATTEMPTS:
            lost.append(order.order_id)
            raise TransactionCancelled([])
        save_order(order, *args, **kwargs)

    monkeypatch.setattr(deps.store, "save_order", losing_the_first_reservations)
    order_id = place(client, order_body(lines=[_ship(sku, 2)]))

    shipped = wait_for_status(deps, order_id, "SHIPPED", "CANCELLED")
    stop_if_running(deps, order_id)
    assert lost == [order_id] * RESERVE_ATTEMPTS
    assert shipped.status.value == "SHIPPED"
    history = raw_history(str(shipped.execution_arn))
    failures = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in history
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert failures == ["ConcurrentModification"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if e["type"] == "TaskStateEntered"
    ]
    assert "Compensate" not in entered
