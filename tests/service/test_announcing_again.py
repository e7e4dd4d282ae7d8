"""A run that died between its write and its announcement (a Lambda stopped by its timeout
after DynamoDB took the write, before SNS took the event): the run that follows finds the
work done and announces it again, under the same event id, which subscribers act on once.
Found by a review: the RESERVED event, and with it the confirmation email, was lost."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import fulfillment_steps, ordering, payment_steps, stock_steps
from chalicelib.services.step_models import FulfillmentStep, OrderStep
from tests.fakes import RecordingEvents
from tests.service import flows


class _Killed(BaseException):
    """The function stopped by its timeout: nothing after this point of it runs."""


def _dying_at(deps: Deps, value: str, field: str = "status") -> None:
    """Make the next publish of an event whose ``field`` is ``value`` die."""
    events = deps.events
    assert isinstance(events, RecordingEvents)
    publish = events.publish
    armed = [True]

    def dying(event: dict[str, Any]) -> None:
        if armed[0] and event.get(field) == value:
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


def _mailed(deps: Deps) -> list[str]:
    """The subject lines of every email sent, every event delivered again first."""
    return [mail["parts"].split("\n", 1)[0] for mail in flows.mail_everything(deps)]


@pytest.mark.parametrize(
    ("fulfillment", "kind", "status"),
    [
        ("ship", "fulfillment.shipped", "SHIPPED"),
        ("pickup", "fulfillment.ready_for_pickup", "READY_FOR_PICKUP"),
    ],
)
def test_a_dispatch_run_again_tells_the_customer_what_its_dead_run_did(
    deps: Deps, fulfillment: str, kind: str, status: str
) -> None:
    # A review: a dispatch that died between its write and its publish was retried, found
    # the fulfillment dispatched, and announced nothing: no "your parcel left" email, and
    # for a pick-up no code, ever.
    line = {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": fulfillment}
    if fulfillment == "pickup":
        line["location_id"] = "ST-MADRID"
    order = flows.reserved(deps, lines=[line])
    step = flows.parcel_step(order)
    _dying_at(deps, kind, field="type")
    with pytest.raises(_Killed):
        fulfillment_steps.dispatch_fulfillment(step, deps)
    assert deps.store.get_order(order.order_id).status.value == status
    assert isinstance(deps.events, RecordingEvents)
    assert deps.events.of_type(kind) == []
    confirmation_only = _mailed(deps)

    fulfillment_steps.dispatch_fulfillment(step, deps)  # the state machine's retry

    (told,) = deps.events.of_type(kind)
    assert told["event_id"] == f"{order.order_id}:{step.fulfillment_id}:{status}"
    # The order's status, announced before the run died, is announced again: same id.
    assert set(_announced(deps, order.order_id, status)) == {f"{order.order_id}:004:{status}"}
    sent = _mailed(deps)
    assert len(sent) == len(confirmation_only) + 1
    if fulfillment == "pickup":
        stored = deps.store.get_order(order.order_id).fulfillments[0]
        assert stored.pickup_code and stored.pickup_code in deps.mailer.sent[-1]["parts"]


def test_a_dispatch_run_again_after_announcing_sends_no_second_email(deps: Deps) -> None:
    """The retry after a run that did announce (killed later): the same events, to the
    moment, so the email's record finds the first and nothing is sent twice."""
    order = flows.reserved(deps, lines=flows.MIXED)
    steps = [
        FulfillmentStep(order_id=order.order_id, fulfillment_id=f.fulfillment_id)
        for f in order.fulfillments
    ]
    for step in steps:
        fulfillment_steps.dispatch_fulfillment(step, deps)
    first = _mailed(deps)
    assert isinstance(deps.events, RecordingEvents)
    before = list(deps.events.published)

    for step in steps:
        fulfillment_steps.dispatch_fulfillment(step, deps)

    again = deps.events.published[len(before) :]
    told = {e["event_id"]: e for e in before}
    assert again and all(told[e["event_id"]] == e for e in again)
    assert _mailed(deps) == first


def test_a_dispatch_run_again_after_the_parcel_arrived_does_not_say_it_left(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert isinstance(deps.events, RecordingEvents)
    published = len(deps.events.published)

    fulfillment_steps.dispatch_fulfillment(flows.parcel_step(order), deps)

    assert deps.events.published[published:] == []
