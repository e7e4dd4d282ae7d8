"""A run that died between its write and its announcement (a Lambda stopped by its timeout
after DynamoDB took the write, before SNS took the event): the run that follows finds the
work done and announces it again, under the same event id, which subscribers act on once.
Found by a review: the RESERVED event, and with it the confirmation email, was lost."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import ordering, payment_steps, stock_steps
from chalicelib.services.step_models import OrderStep
from tests.fakes import RecordingEvents
from tests.service import flows


class _Killed(BaseException):
    """The function stopped by its timeout: nothing after this point of it runs."""


def _dying_at(deps: Deps, status: str) -> None:
    """Make the next publish of a ``status`` event die."""
    events = deps.events
    assert isinstance(events, RecordingEvents)
    publish = events.publish
    armed = [True]

    def dying(event: dict[str, Any]) -> None:
        if armed[0] and event.get("status") == status:
            armed[0] = False
            raise _Killed
        publish(event)

    events.publish = dying  # type: ignore[method-assign]


def _announced(deps: Deps, order_id: str, status: str) -> list[str]:
    assert isinstance(deps.events, RecordingEvents)
    return [
        e["event_id"]
        for e in deps.events.of_type("order.status_changed")
        if e["order_id"] == order_id and e["status"] == status
    ]


@pytest.mark.parametrize(
    ("status", "step"),
    [("PAID", payment_steps.authorize_payment), ("RESERVED", stock_steps.reserve_stock)],
    ids=["paid", "reserved"],
)
def test_a_step_run_again_announces_what_its_dead_run_wrote(
    deps: Deps, status: str, step: Any
) -> None:
    order = flows.place(deps)
    if status == "RESERVED":
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _dying_at(deps, status)
    with pytest.raises(_Killed):
        step(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status.value == status
    assert _announced(deps, order.order_id, status) == []

    step(OrderStep(order_id=order.order_id), deps)  # the state machine's retry

    (event_id,) = _announced(deps, order.order_id, status)
    assert event_id.endswith(f":{status}")


def test_placing_again_after_a_dead_first_request_announces_the_order(deps: Deps) -> None:
    request = PlaceOrderRequest.model_validate(flows.body())
    _dying_at(deps, "ACCEPTED")
    with pytest.raises(_Killed):
        ordering.place_order(request, "ord_died", deps, "demo-shop")
    assert _announced(deps, "ord_died", "ACCEPTED") == []

    ordering.place_order(request, "ord_died", deps, "demo-shop")

    assert _announced(deps, "ord_died", "ACCEPTED") == ["ord_died:001:ACCEPTED"]
