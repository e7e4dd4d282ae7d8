"""A hand-over whose request died after its write (a Lambda stopped by its timeout after
DynamoDB took it), on the real ASL: the clerk's or the carrier's retry finishes what it
left, and the execution carries on at once instead of waiting out its deadline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.order_status import OrderStatus
from tests.support import JSON, STORE, eventually, order_body, pickup_order_body
from tests.support.api import get_order
from tests.support.flow import (
    fresh_sku,
    place,
    post_carrier_event,
    return_wait_parked,
    states_entered,
    tracking_number,
)
from tests.support.inbox import expect_emails
from tests.support.orders import wait_for_status


class _Killed(BaseException):
    """A Lambda stopped by its timeout: no ``except Exception`` sees it."""


def _carried_on(deps: Any, order_id: str) -> None:
    """The execution left the hand-over's wait by its release, not by its deadline."""
    eventually(lambda: return_wait_parked(deps, order_id) or None, timeout=60)
    order = deps.store.get_order(order_id)
    assert "HandleTimeout" not in states_entered(deps.workflow.describe(order.execution_arn))


def test_a_collection_that_died_after_its_write_is_finished_by_the_clerks_retry(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any, monkeypatch: Any
) -> None:
    # A review: the collection wrote DELIVERED, then its Lambda ran out of time before
    # telling anyone. The clerk's retry got 409 and did nothing more: the customer never
    # got the "collected" email, and the execution waited out the pick-up window (800 s
    # here) before it carried on.
    settings.time_scale = settings.time_scale / 100
    sku = fresh_sku(deps, {"ST-VALENCIA": 3})
    body = pickup_order_body(sku)
    order_id = place(client, body)
    parked.append(order_id)
    wait_for_status(client, order_id, "READY_FOR_PICKUP")
    (pickup,) = get_order(client, order_id, STORE)["fulfillments"]
    collect = f"/fulfillments/{pickup['fulfillment_id']}/collect"
    code = json.dumps({"pickup_code": pickup["pickup_code"]})
    publish = deps.events.publish

    def dying_at_delivered(event: dict[str, Any]) -> None:
        if event.get("status") == "DELIVERED":
            monkeypatch.setattr(deps.events, "publish", publish)
            raise _Killed
        publish(event)

    monkeypatch.setattr(deps.events, "publish", dying_at_delivered)
    with pytest.raises(_Killed):
        client.http.post(collect, headers=STORE | JSON, body=code)
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED

    again = client.http.post(collect, headers=STORE | JSON, body=code)

    assert again.status_code == 409, again.body  # handed over by the first request
    _carried_on(deps, order_id)
    payment = deps.store.get_order(order_id).payment
    assert payment.captured is not None and payment.captured == payment.authorized
    expect_emails(
        stack,
        deps,
        body["customer"]["email"],
        order_id,
        "es",
        {"confirmation": 1, "pickup_ready": 1, "collected": 1},
    )


def test_a_delivery_that_died_before_releasing_the_wait_is_released_by_the_carriers_retry(
    client: Any, deps: Any, stack: Any, parked: list[str], settings: Any, monkeypatch: Any
) -> None:
    # A review: the webhook's write took the delivery and the wait's token, then its Lambda
    # ran out of time; the carrier's retry was "duplicate", and the execution waited until
    # the promise (hundreds of seconds here) before it carried on.
    settings.time_scale = settings.time_scale / 100
    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    parked.append(order_id)
    tracking = tracking_number(wait_for_status(deps, order_id, "SHIPPED"))
    resume = deps.workflow.resume

    def dying_at_the_release(task_token: str, output: dict[str, Any]) -> bool:
        monkeypatch.setattr(deps.workflow, "resume", resume)
        raise _Killed

    monkeypatch.setattr(deps.workflow, "resume", dying_at_the_release)
    with pytest.raises(_Killed):
        post_carrier_event(client, tracking, event_id="evt_died")
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED

    assert post_carrier_event(client, tracking, event_id="evt_died")["status"] == "duplicate"

    _carried_on(deps, order_id)
