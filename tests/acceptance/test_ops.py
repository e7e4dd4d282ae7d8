"""Ops looking behind an order: its Step Functions execution, and who may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support import OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.orders import wait_for_status
from tests.support.shop import Shop

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]

ORDER_WORKFLOW = ["AuthorizePayment", "ReserveStock", "FulfilEach"]


def test_ops_see_the_execution_behind_an_order(shop: Shop) -> None:
    placed = shop.place_ok(
        order_body(lines=[{"sku": "SCARF-WOOL", "quantity": 1, "fulfillment": "ship"}])
    )
    order = wait_for_status(shop, placed["order_id"], "SHIPPED", settled=True)

    # The shipment's status is written as AwaitCompletion dispatches it, before it captures
    # its share and parks the token.
    def waiting_for_the_carrier() -> dict[str, Any] | None:
        described = shop.execution(placed["order_id"])
        entered = {row["state"] for row in described["history"]}
        return described if "AwaitCompletion" in entered else None

    execution = eventually(waiting_for_the_carrier, timeout=30)
    assert execution["execution_arn"] == order["execution_arn"]
    assert execution["execution_arn"].endswith(f":{placed['order_id']}")
    assert execution["status"] == "RUNNING"  # waiting for the carrier
    states = [row["state"] for row in execution["history"]]
    assert states[: len(ORDER_WORKFLOW)] == ORDER_WORKFLOW, states
    assert {"AwaitHandover", "AwaitCompletion"} <= set(states), states
    entered = [datetime.fromisoformat(row["entered"]) for row in execution["history"]]
    assert entered == sorted(entered)
    for row in execution["history"][:2]:
        assert row["exited"] is not None
        assert datetime.fromisoformat(row["exited"]) >= datetime.fromisoformat(row["entered"])
    assert execution["console_url"].startswith("https://")
    assert "console.aws.amazon.com/states" in execution["console_url"]
    assert execution["execution_arn"] in execution["console_url"]


def test_only_ops_may_see_executions(shop: Shop) -> None:
    placed = shop.place_ok(order_body())
    path = f"/ops/orders/{placed['order_id']}/execution"
    assert_problem(shop.get(path, STOREFRONT), 403)
    assert_problem(shop.get(path, STORE), 403)
    assert_problem(shop.get(path), 401)
    assert_problem(shop.get("/ops/orders/ord_does_not_exist/execution", OPS), 404)
