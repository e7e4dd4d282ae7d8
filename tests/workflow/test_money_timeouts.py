"""Lambda timeouts injected into the real order.asl.json on the local stack: a step that
times out after doing its work is retried and moves money once; reject and not-collected
steps that time out void once; an uncollected pickup whose void fails is still voided once.
Other faults are in ``test_money_faults.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import eventually, order_body
from tests.support.body_lines import _pickup, _ship
from tests.support.flow import (
    amounts,
    emails_to,
    fresh_sku,
    ledger_of,
    place,
    place_then_sell_out,
    post_carrier_event,
    raw_history,
    return_wait_parked,
    states_entered,
    stock_of,
    tracking_number,
    wait_for_execution,
    wait_until_settled,
)
from tests.support.orders import wait_for_status

STEPS_TIMING_OUT = [
    "authorize_payment",
    "reserve_stock",
    "dispatch_fulfillment",
    "await_returns",
]


@pytest.mark.parametrize("step", STEPS_TIMING_OUT)
def test_a_step_that_times_out_after_doing_its_work_is_retried_and_moves_money_once(
    client: Any,
    deps: Any,
    faults: Any,
    parked: list[str],
    settings: Any,
    stack: Any,
    step: str,
) -> None:
    # A 40 s carrier SLA: the delivery below is on time even on a busy machine.
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {"WH-GETAFE": 3}, price="9.00")
    faults.inject_fault(step, "Sandbox.Timedout")
    body = order_body(lines=[_ship(sku, 2)])
    order_id = place(client, body)
    parked.append(order_id)
    wait_for_status(deps, order_id, "SHIPPED")
    shipped = wait_until_settled(deps, order_id)
    ledger = ledger_of(deps, shipped)
    # The goods and the 4.95 fee, each captured once whichever step was retried.
    assert [(op["type"], op["amount"]["amount"]) for op in ledger["operations"]] == [
        ("authorize", "22.95"),
        ("capture", "18.00"),
        ("capture", "4.95"),
    ]
    assert stock_of(deps, sku) == {"WH-GETAFE": (1, 0)}
    statuses = [e.status.value for e in shipped.history]
    assert statuses == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]

    def parked_on(token_field: str) -> Any:
        order = deps.store.get_order(order_id)
        if token_field == "delivery":
            return order if order.fulfillments[0].task_token else None
        return order if return_wait_parked(deps, order_id) else None

    eventually(lambda: parked_on("delivery"), timeout=30)
    post_carrier_event(client, tracking_number(shipped))
    wait_for_status(deps, order_id, "DELIVERED")
    eventually(lambda: parked_on("returns"), timeout=30)
    # The timed-out step runs again (the return wait's first run parks the token before
    # it times out: waiting on the park alone raced the retry) and the order carries on:
    # no compensation, the execution waits out the return window, the money is as it was.
    eventually(lambda: faults.invocations[step] >= 2, timeout=30)
    described = deps.workflow.describe(shipped.execution_arn)
    assert described["status"] == "RUNNING"
    assert "Compensate" not in states_entered(described)
    assert amounts(ledger_of(deps, deps.store.get_order(order_id)))["captured"] == "22.95"
    # The run again announced what the first had (in case it died before): each email once.
    stack.lambdas.drain()
    subjects = [str(m["Subject"]) for m in emails_to(body["customer"]["email"])]
    assert len(subjects) == 3 and len(set(subjects)) == 3, subjects


def test_reject_and_not_collected_steps_that_time_out_void_once(
    client: Any, deps: Any, faults: Any, settings: Any, stack: Any
) -> None:
    faults.inject_fault("reject_order", "Sandbox.Timedout")
    faults.inject_fault("handle_fulfillment_timeout", "Sandbox.Timedout")
    short = fresh_sku(deps, {"WH-GETAFE": 2}, price="5.00")
    short_body = order_body(lines=[_ship(short, 2)])
    rejected_id = place_then_sell_out(deps, short_body, short, keep={"WH-GETAFE": 1})
    waiting = fresh_sku(deps, {"ST-VALENCIA": 2}, price="7.00")
    waiting_body = order_body(lines=[_pickup(waiting)])
    uncollected_id = place(client, waiting_body)

    rejected = wait_for_status(deps, rejected_id, "REJECTED")
    assert wait_for_execution(deps, rejected, timeout=60)["status"] == "SUCCEEDED"
    ledger = ledger_of(deps, wait_until_settled(deps, rejected_id))
    assert [op["type"] for op in ledger["operations"]] == ["authorize", "void"]

    # The pick-up window (72 h, scaled to seconds) runs out: restocked, its share voided.
    cancelled = wait_for_status(deps, uncollected_id, "CANCELLED", timeout=90)
    assert wait_for_execution(deps, cancelled, timeout=60)["status"] == "SUCCEEDED"
    final = wait_until_settled(deps, uncollected_id)
    ledger = ledger_of(deps, final)
    assert [op["type"] for op in ledger["operations"]] == ["authorize", "void"]
    assert amounts(ledger)["voided"] == "7.00"
    assert stock_of(deps, waiting) == {"ST-VALENCIA": (2, 0)}
    assert final.status_reason is not None and final.status_reason.value == "not_collected"
    # Each step ran again and announced what it had (in case it died before): the
    # rejection, the pick-up's code and its cancellation, each emailed once.
    stack.lambdas.drain()
    for body, count in ((short_body, 1), (waiting_body, 3)):
        subjects = [str(m["Subject"]) for m in emails_to(body["customer"]["email"])]
        assert len(subjects) == len(set(subjects)) == count, subjects


def test_an_uncollected_pickup_whose_void_fails_is_still_voided_once(
    client: Any, deps: Any, stack: Any
) -> None:
    # Before: the order was marked CANCELLED before the money was given back, and a
    # gateway failure then lost it. Now the void is recorded owed in that same write. The
    # scheduled settlement sweeper is held meanwhile, so the workflow makes every void.
    sku = fresh_sku(deps, {"ST-VALENCIA": 2}, price="6.00")
    body = order_body(lines=[_pickup(sku)], payment={"method": "card", "token": "tok_void_flaky"})
    with stack.scheduler.paused():
        order_id = place(client, body)
        cancelled = wait_for_status(deps, order_id, "CANCELLED", timeout=90)
        described = wait_for_execution(deps, cancelled, timeout=60)
        final = wait_until_settled(deps, order_id)
    assert cancelled.status_reason is not None
    assert cancelled.status_reason.value == "not_collected"
    assert described["status"] == "SUCCEEDED"
    ledger = ledger_of(deps, final)
    assert [op["type"] for op in ledger["operations"]] == ["authorize", "void"]
    assert amounts(ledger) == {
        "authorized": "6.00",
        "captured": "0.00",
        "refunded": "0.00",
        "voided": "6.00",
    }
    assert stock_of(deps, sku) == {"ST-VALENCIA": (2, 0)}
    errors = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in raw_history(described["execution_arn"])
        if e["type"] == "LambdaFunctionFailed"
    ]
    # The gateway fails the first two voids; the workflow retried both.
    assert errors == ["PaymentGatewayUnavailable"] * 2
