"""A run that died between its write and its announcement (a Lambda stopped by its timeout
after DynamoDB took the write, before SNS took the event): the run that follows finds the
work done and announces it again, under the same event id, which subscribers act on once.
Found by a review: the RESERVED event, and with it the confirmation email, was lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict, PaymentDeclined
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import PlaceOrderRequest, RequestReturnRequest
from chalicelib.services import (
    compensation,
    fulfillment_steps,
    ordering,
    payment_steps,
    pickups,
    recovery,
    returns,
    settlement,
    sla,
    stock_steps,
)
from chalicelib.services.compensation import CompensateInput
from chalicelib.services.order_writes import announce_again
from chalicelib.services.pickups import order_id_of_fulfillment
from chalicelib.services.return_steps import await_returns
from chalicelib.services.step_models import (
    AwaitInput,
    DispatchInput,
    FulfillmentStep,
    OrderStep,
    RejectOrderInput,
)
from tests.fakes import FakeWorkflow, RecordingEvents
from tests.service import flows


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
    flows.dying_at(deps, status)
    with pytest.raises(flows.Killed):
        step(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status.value == status
    assert _announced(deps, order.order_id, status) == []

    step(OrderStep(order_id=order.order_id), deps)  # the state machine's retry

    (event_id,) = _announced(deps, order.order_id, status)
    assert event_id.endswith(f":{status}")


def test_placing_again_after_a_dead_first_request_announces_the_order(deps: Deps) -> None:
    request = PlaceOrderRequest.model_validate(flows.body())
    flows.dying_at(deps, "ACCEPTED")
    with pytest.raises(flows.Killed):
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
    flows.dying_at(deps, kind, field="type")
    with pytest.raises(flows.Killed):
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


# The endings: a review found the same gap in every step that cancels or rejects. Each
# run again below found its write done and announced nothing, so the customer never heard
# that the order was rejected (nor got the link to pay again), that the goods went back
# to the shelf, or that a part was cancelled and its money given back.


def _parts(order: Order) -> tuple[Fulfillment, Fulfillment]:
    """The parcel and the pick-up of a ``flows.MIXED`` order."""
    ship = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    return ship, pickup


def _events(deps: Deps, kind: str) -> list[dict[str, Any]]:
    assert isinstance(deps.events, RecordingEvents)
    return deps.events.of_type(kind)


def _run_killed_then_again(
    deps: Deps, run: Callable[[], object], value: str, field: str = "status"
) -> tuple[list[str], list[str]]:
    """Run a step killed at the publish of its ``value``, then twice more (the state
    machine's retry, and one more after a run that did announce): the subjects mailed
    after the killed run and after each run again."""
    flows.dying_at(deps, value, field)
    with pytest.raises(flows.Killed):
        run()
    killed = _mailed(deps)[:]
    run()
    again = _mailed(deps)[:]
    run()
    assert _mailed(deps) == again  # nothing twice
    return killed, again


def test_a_rejection_run_again_tells_the_customer_why(deps: Deps) -> None:
    order = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    step = RejectOrderInput(order_id=order.order_id, error="PaymentDeclined")

    killed, again = _run_killed_then_again(
        deps, lambda: payment_steps.reject_order(step, deps), "REJECTED"
    )

    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    assert set(_announced(deps, order.order_id, "REJECTED")) == {f"{order.order_id}:002:REJECTED"}
    assert len(again) == len(killed) + 1
    assert again[-1] == f"No hemos podido completar tu pedido {order.order_id}"


def test_a_pickup_timeout_run_again_tells_the_customer_the_goods_went_back(deps: Deps) -> None:
    order = flows.reserved(deps, lines=flows.MIXED)
    _, pickup = _parts(order)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)

    killed, again = _run_killed_then_again(
        deps,
        lambda: fulfillment_steps.handle_fulfillment_timeout(step, deps),
        "fulfillment.not_collected",
        field="type",
    )

    stored = deps.store.get_order(order.order_id).fulfillment(pickup.fulfillment_id)
    assert stored.status is FulfillmentStatus.CANCELLED
    told = _events(deps, "fulfillment.not_collected")
    assert len(told) == 2 and told[0] == told[1]  # the same event, to the moment
    assert told[0]["event_id"] == f"{order.order_id}:{pickup.fulfillment_id}:NOT_COLLECTED"
    assert told[0]["voided"] == {"amount": str(order.lines[1].line_total.amount), "currency": "EUR"}
    assert len(again) == len(killed) + 1


def _ops_told(deps: Deps, order_id: str) -> list[list[str]]:
    """The fulfillments each alert about the order's workflow ending names."""
    assert isinstance(deps.events, RecordingEvents)
    return [
        m["cancelled_fulfillments"]
        for _, m in deps.events.alerts
        if m.get("order_id") == order_id
        and m["kind"] in ("workflow_compensated", "workflow_stopped")
    ]


def _compensate(deps: Deps, order_id: str) -> Callable[[], object]:
    step = CompensateInput(order_id=order_id, error={"Error": "Boom", "Cause": "a bug"})
    return lambda: compensation.compensate(step, deps)


def _execution_ended(deps: Deps, order_id: str) -> Callable[[], object]:
    workflow: Any = deps.workflow
    arn = workflow.execution_arn(order_id)
    workflow.end(arn, "ABORTED")
    return lambda: recovery.execution_ended(arn, order_id, "ABORTED", deps)


@pytest.mark.parametrize("ending", [_compensate, _execution_ended], ids=["step", "ended"])
def test_a_compensation_run_again_tells_the_customer_the_order_was_cancelled(
    deps: Deps, ending: Callable[[Deps, str], Callable[[], object]]
) -> None:
    order = flows.reserved(deps)

    killed, again = _run_killed_then_again(deps, ending(deps, order.order_id), "CANCELLED")

    assert deps.store.get_order(order.order_id).status is OrderStatus.CANCELLED
    assert set(_announced(deps, order.order_id, "CANCELLED")) == {f"{order.order_id}:004:CANCELLED"}
    assert len(again) == len(killed) + 1
    assert _events(deps, "fulfillment.cancelled") == []  # told by the status change alone
    assert _ops_told(deps, order.order_id) == [[order.fulfillments[0].fulfillment_id]]


@pytest.mark.parametrize("ending", [_compensate, _execution_ended], ids=["step", "ended"])
def test_a_compensation_run_again_tells_the_customer_a_part_was_cancelled(
    deps: Deps, ending: Callable[[Deps, str], Callable[[], object]]
) -> None:
    order = flows.reserved(deps, lines=flows.MIXED)
    ship, pickup = _parts(order)
    parcel = FulfillmentStep(order_id=order.order_id, fulfillment_id=ship.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(parcel, deps)

    killed, again = _run_killed_then_again(
        deps, ending(deps, order.order_id), "fulfillment.cancelled", field="type"
    )

    told = _events(deps, "fulfillment.cancelled")
    assert len(told) == 2 and told[0] == told[1]
    assert told[0]["event_id"] == f"{order.order_id}:{pickup.fulfillment_id}:CANCELLED"
    assert deps.store.get_order(order.order_id).fulfillment(ship.fulfillment_id).status is (
        FulfillmentStatus.SHIPPED
    )
    assert len(again) == len(killed) + 1
    assert _ops_told(deps, order.order_id) == [[pickup.fulfillment_id]]


def test_a_late_parcel_step_run_again_tells_the_breach_each_once(deps: Deps) -> None:
    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    clock: Any = deps.clock
    clock.now = parcel.shipment.breaks_at + timedelta(minutes=1)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)

    def follow_up() -> object:
        return fulfillment_steps.handle_fulfillment_timeout(step, deps)

    killed, again = _run_killed_then_again(deps, follow_up, "shipment.sla_breached", "type")

    told = _events(deps, "shipment.sla_breached")
    assert len(told) == 2 and told[0] == told[1]
    assert len(again) == len(killed) + 1  # the apology
    assert isinstance(deps.events, RecordingEvents)
    alerted = [m for _, m in deps.events.alerts if m.get("kind") == "sla_breached"]
    assert [m["order_id"] for m in alerted] == [order.order_id]
    ticket = deps.customers.get_ticket(sla.late_ticket_id(order.order_id, parcel.fulfillment_id))
    assert ticket is not None and ticket.order_id == order.order_id

    # The follow-up at the lost deadline is not the breach's run again: nothing is told again.
    clock.now = sla.lost_deadline(parcel.shipment.promised_by, deps) + timedelta(minutes=1)
    follow_up()
    assert len(_events(deps, "shipment.sla_breached")) == 2


def test_a_cancel_asked_again_tells_the_customer_what_the_dead_request_did(deps: Deps) -> None:
    order = flows.reserved(deps)

    killed, again = _run_killed_then_again(
        deps, lambda: ordering.cancel_order(order.order_id, deps), "CANCELLED"
    )

    assert set(_announced(deps, order.order_id, "CANCELLED")) == {f"{order.order_id}:004:CANCELLED"}
    assert again[len(killed) :] == [f"Tu pedido {order.order_id} ha sido cancelado"]


def _parked(deps: Deps, fulfillment: str) -> Fulfillment:
    """An order's one fulfillment dispatched as the workflow does it, its wait's token
    parked on it."""
    line = {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": fulfillment}
    if fulfillment == "pickup":
        line["location_id"] = "ST-MADRID"
    (part,) = flows.reserved(deps, lines=[line]).fulfillments
    order_id = order_id_of_fulfillment(part.fulfillment_id)
    step = DispatchInput(
        order_id=order_id,
        fulfillment_id=part.fulfillment_id,
        task_token=f"token-{part.fulfillment_id}",
        wait_seconds=48 * 3600,
        entered_at=deps.clock(),
    )
    fulfillment_steps.dispatch_and_await(step, deps)
    (parked,) = deps.store.get_order(order_id).fulfillments
    assert parked.task_token == step.task_token
    return parked


def _released(deps: Deps, token: str | None) -> int:
    """How often the wait parked on ``token`` was released."""
    assert isinstance(deps.workflow, FakeWorkflow)
    return sum(1 for resumed, _ in deps.workflow.resumed if resumed == token)


def _collection_killed(deps: Deps) -> tuple[Fulfillment, str]:
    """A pick-up collected with its code by a request that died before its publish: the
    pick-up as parked, and its order's id."""
    pickup = _parked(deps, "pickup")
    assert pickup.pickup_code is not None
    flows.dying_at(deps, "DELIVERED")
    with pytest.raises(flows.Killed):
        pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    return pickup, order_id_of_fulfillment(pickup.fulfillment_id)


def test_a_collection_that_died_before_telling_is_finished_by_the_clerks_retry(
    deps: Deps,
) -> None:
    # A review: the collection's write took, then its Lambda ran out of time. The clerk's
    # retry got 409 and did nothing: no "collected" email, the pick-up's share left for
    # the sweeper, and the execution waiting out the pick-up window.
    pickup, order_id = _collection_killed(deps)
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
    before = _mailed(deps)
    wrong = "000000" if pickup.pickup_code != "000000" else "111111"
    with pytest.raises(Conflict):
        pickups.collect(pickup.fulfillment_id, wrong, deps)
    assert (_announced(deps, order_id, "DELIVERED"), _released(deps, pickup.task_token)) == ([], 0)

    for _ in range(2):  # the clerk asks again, and again: the goods were handed over
        with pytest.raises(Conflict):
            pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)

    assert len(set(_announced(deps, order_id, "DELIVERED"))) == 1
    sent = _mailed(deps)
    assert len(sent) == len(before) + 1 and "recogido" in sent[-1]
    assert _released(deps, pickup.task_token) >= 1
    settled = deps.store.get_order(order_id).payment
    assert settled.captured is not None and settled.captured == settled.authorized


def test_a_pick_up_window_ending_on_a_collection_that_died_tells_the_customer(
    deps: Deps,
) -> None:
    # The clerk never asked again: the wait runs out, finds the goods collected, and tells.
    pickup, order_id = _collection_killed(deps)
    before = _mailed(deps)
    step = FulfillmentStep(order_id=order_id, fulfillment_id=pickup.fulfillment_id)

    for _ in range(2):  # the timeout's step, and the state machine's retry of it
        assert fulfillment_steps.handle_fulfillment_timeout(step, deps).keep_waiting is False

    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
    assert len(set(_announced(deps, order_id, "DELIVERED"))) == 1
    sent = _mailed(deps)
    assert len(sent) == len(before) + 1 and "recogido" in sent[-1]


@pytest.mark.parametrize("retry", ["same event", "new event id"])
def test_a_delivery_that_died_before_releasing_the_wait_is_released_by_the_carriers_retry(
    deps: Deps, retry: str
) -> None:
    # A review: the webhook's write took the delivery and the wait's token; its Lambda then
    # ran out of time, and the execution waited until the promise before it carried on.
    parcel = _parked(deps, "ship")
    assert parcel.shipment is not None
    carrier, tracking = parcel.shipment.carrier, parcel.shipment.tracking_number
    flows.dying_at(deps, "DELIVERED")
    with pytest.raises(flows.Killed):
        flows.carrier_event(deps, carrier, tracking, event_id="evt_first")
    assert _released(deps, parcel.task_token) == 0

    event_id = "evt_first" if retry == "same event" else "evt_second"
    again = flows.carrier_event(deps, carrier, tracking, event_id=event_id)

    assert again["status"] == ("duplicate" if retry == "same event" else "applied")
    assert _released(deps, parcel.task_token) == 1


def test_a_promise_ending_on_a_delivery_that_died_before_telling_tells_the_customer(
    deps: Deps,
) -> None:
    # The carrier never sent its event again: the wait runs out at the promise.
    parcel = _parked(deps, "ship")
    order_id = order_id_of_fulfillment(parcel.fulfillment_id)
    assert parcel.shipment is not None
    flows.dying_at(deps, "DELIVERED")
    with pytest.raises(flows.Killed):
        flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
    before = _mailed(deps)
    step = FulfillmentStep(order_id=order_id, fulfillment_id=parcel.fulfillment_id)

    for _ in range(2):
        assert fulfillment_steps.handle_fulfillment_timeout(step, deps).keep_waiting is False

    assert len(set(_announced(deps, order_id, "DELIVERED"))) == 1
    sent = _mailed(deps)
    assert len(sent) == len(before) + 1 and "entregado" in sent[-1]


def test_a_wait_registered_again_after_the_delivery_is_released_at_once(deps: Deps) -> None:
    # The delivery keeps the token it released; the registration's run again must still
    # see the parcel delivered, not "parked already", or the execution would wait on.
    parcel = _parked(deps, "ship")
    assert parcel.shipment is not None and parcel.task_token is not None
    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
    released = _released(deps, parcel.task_token)
    again = AwaitInput(
        order_id=order_id_of_fulfillment(parcel.fulfillment_id),
        task_token=parcel.task_token,
        fulfillment_id=parcel.fulfillment_id,
    )

    fulfillment_steps.await_fulfillment(again, deps)

    # Released at once: Step Functions refuses it as stale (the delivery released it).
    assert isinstance(deps.workflow, FakeWorkflow)
    assert _released(deps, parcel.task_token) == released == 1
    assert [token for token, _ in deps.workflow.stale] == [parcel.task_token]


@pytest.mark.parametrize("dying_at", ["the refund", "the announcement"])
def test_a_return_receipt_that_died_after_its_write_is_finished_by_the_stores_retry(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, dying_at: str
) -> None:
    # A review: the receipt's write took the goods back, then its Lambda ran out of time.
    # The store's retry got 409 and did nothing: the refund waited for the sweeper, and the
    # execution for the end of the return window.
    order = flows.delivered(deps)
    await_returns(AwaitInput(order_id=order.order_id, task_token="t-returns"), deps)
    store = next(loc.location_id for loc in deps.store.locations() if loc.type.value == "store")
    everything = [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]
    request = {"lines": everything, "reason": "too small", "channel": "store"}
    asked = RequestReturnRequest.model_validate(request | {"location_id": store})
    opened = returns.request_return(order.order_id, asked, deps)
    if dying_at == "the refund":
        settle = settlement.settle

        def dying_once(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.setattr(settlement, "settle", settle)
            raise flows.Killed

        monkeypatch.setattr(settlement, "settle", dying_once)
    else:
        flows.dying_at(deps, "RETURNED")
    with pytest.raises(flows.Killed):
        returns.receive_return(opened.return_id, store, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.RETURNED
    before = _mailed(deps)

    for _ in range(2):  # the clerk asks again, and again: the goods are back already
        with pytest.raises(Conflict):
            returns.receive_return(opened.return_id, store, deps)

    after = deps.store.get_order(order.order_id)
    (received,) = after.returns
    assert received.refund is not None and after.payment.refunded == received.refund
    assert len(set(_announced(deps, order.order_id, "RETURNED"))) == 1
    assert _released(deps, "t-returns") == 1
    # One email for the return, whichever request sent it.
    sent = _mailed(deps)
    assert sum("devolución" in subject for subject in sent) == 1
    assert len(sent) - len(before) <= 1


def test_announcing_a_status_again_skips_a_part_s_later_entry(deps: Deps) -> None:
    # A pick-up not collected while the parcel travels records its own entry under the
    # order's SHIPPED status; the SHIPPED announced again is still the hand-over's event
    # (its id), not one made up from the part's entry.
    order = flows.shipped(deps, lines=flows.MIXED)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    shipped_ids = [e["event_id"] for e in deps.events.published if e.get("status") == "SHIPPED"]
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)
    after = deps.store.get_order(order.order_id)
    assert after.history[-1].fulfillment_id == pickup.fulfillment_id

    announce_again(deps, after, OrderStatus.SHIPPED)

    again = [e for e in deps.events.published if e.get("status") == "SHIPPED"]
    assert [e["event_id"] for e in again] == shipped_ids * 2
    assert again[-1]["detail"] == again[0]["detail"]
