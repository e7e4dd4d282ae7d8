"""GET /ops/orders/{id}/execution: the Step Functions execution behind an order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support import OPS, assert_problem, eventually, order_body
from tests.support.api import get_order, place_order

EXECUTION_STATUSES = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _execution(client: Any, order_id: str) -> dict[str, Any]:
    response = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def test_execution_lists_the_states_visited_in_order(client: Any) -> None:
    placed = place_order(client, order_body())
    order_id = placed["order_id"]

    execution = eventually(
        lambda: (
            (e := _execution(client, order_id))
            and [row["state"] for row in e["history"]][:2] == ["AuthorizePayment", "ReserveStock"]
            and e
        )
    )

    assert execution["execution_arn"] == get_order(client, order_id)["execution_arn"]
    assert execution["status"] in EXECUTION_STATUSES
    assert execution["execution_arn"] in execution["console_url"]
    assert execution["console_url"].startswith("https://")
    history = execution["history"]
    assert history[0]["state"] == "AuthorizePayment"
    for row in history:
        assert {"state", "entered", "exited"} <= set(row)
    entered = [datetime.fromisoformat(row["entered"]) for row in history]
    assert entered == sorted(entered)
    first = history[0]
    assert first["exited"] is not None
    assert datetime.fromisoformat(first["exited"]) >= datetime.fromisoformat(first["entered"])


def test_declined_order_execution_ends_through_reject_order(client: Any) -> None:
    placed = place_order(client, order_body(payment={"method": "card", "token": "tok_declined"}))

    execution = eventually(
        lambda: (e := _execution(client, placed["order_id"]))["status"] != "RUNNING" and e
    )

    states = [row["state"] for row in execution["history"]]
    assert states[0] == "AuthorizePayment"
    assert "RejectOrder" in states
    assert "ReserveStock" not in states


def test_execution_of_an_unknown_order_is_404(client: Any) -> None:
    response = client.http.get("/ops/orders/ord_00000000000000000000/execution", headers=OPS)

    assert_problem(response, 404, "order_id")
