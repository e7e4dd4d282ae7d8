"""Paying again after a declined card, on the real ASL: the first execution ends in
OrderRejected, the customer pays from the tracking page, and a second execution of the same
state machine, ``<order id>-pay1``, carries the same order on; ops see both."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.services import self_service
from tests.support import JSON, OPS, idempotency_key, order_body
from tests.support.api import executions_named, place_order
from tests.support.flow import states_entered
from tests.support.orders import wait_for_status


@pytest.fixture(autouse=True)
def wide_payment_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the tests' time scale the 48 hours are 8 seconds, too short on a busy machine;
    the boundary is tested on fakes (tests/service/test_self_service.py)."""
    monkeypatch.setattr(self_service, "PAYMENT_RETRY_WINDOW", timedelta(days=3650))


def test_a_declined_order_paid_again_runs_a_second_execution_to_the_end(
    client: Any, deps: Any
) -> None:
    placed = place_order(client, order_body(payment={"method": "card", "token": "tok_declined"}))
    order_id, path = placed["order_id"], urlparse(placed["tracking_url"]).path
    wait_for_status(client, order_id, "REJECTED")
    (first,) = executions_named(deps, order_id)

    paid = client.http.post(
        f"{path}/payment",
        headers=JSON | idempotency_key(),
        body=json.dumps({"payment": {"method": "card", "token": "tok_visa"}}),
    )

    assert paid.status_code == 202, paid.body
    wait_for_status(client, order_id, "SHIPPED")
    (second,) = executions_named(deps, f"{order_id}-pay1")
    assert states_entered(deps.workflow.describe(first["executionArn"]))[-1] == "OrderRejected"
    assert {"AuthorizePayment", "ReserveStock", "FulfilEach"} <= set(
        states_entered(deps.workflow.describe(second["executionArn"]))
    )
    # Ops follow the new execution, and the timeline says the customer restarted it.
    execution = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)
    assert execution.status_code == 200, execution.body
    assert execution.json_body["execution_arn"] == second["executionArn"]
    timeline = client.http.get(f"/ops/orders/{order_id}/timeline", headers=OPS)
    assert timeline.status_code == 200, timeline.body
    restarts = [e for e in timeline.json_body["entries"] if e["kind"] == "retry"]
    assert len(restarts) == 1 and "by customer" in restarts[0]["detail"]
    # The money: one authorisation of the new card, none of the declined one.
    order = deps.store.get_order(order_id)
    assert order.payment.authorized == order.total
