"""The customer's own actions from the tracking page, on fakes: each refused (409) when
the order's state does not allow it, and paying again restarts the same order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customer_actions import MAX_PAYMENT_RETRIES, CustomerAction, PayWithdrawn
from chalicelib.domain.errors import (
    ActionNotAvailable,
    Conflict,
    NotFound,
    TooManyAttempts,
    UnservableLines,
)
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.domain.tickets import Ticket, TicketType
from chalicelib.ports.persistence import CustomerRecord
from chalicelib.services import fulfillment_steps, payment_steps, self_service
from chalicelib.services.step_models import FulfillmentStep, OrderStep, RejectOrderInput
from tests.fakes import Clock, FakeGateway, FakeWorkflow, RecordingEvents
from tests.service import flows


def declined(deps: Deps) -> Order:
    """An order rejected because its card was declined, as the workflow leaves it."""
    order = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    _bank_declines(deps, order.order_id)
    return deps.store.get_order(order.order_id)


def _bank_declines(deps: Deps, order_id: str) -> None:
    """The workflow's authorisation of the order's card is declined, and it rejects the
    order."""
    with pytest.raises(Exception, match="declined"):
        payment_steps.authorize_payment(OrderStep(order_id=order_id), deps)
    payment_steps.reject_order(RejectOrderInput(order_id=order_id, error="PaymentDeclined"), deps)


def _clock(deps: Deps) -> Clock:
    assert isinstance(deps.clock, Clock)
    return deps.clock


def _workflow(deps: Deps) -> FakeWorkflow:
    assert isinstance(deps.workflow, FakeWorkflow)
    return deps.workflow


def _dies_before_starting(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, order_id: str, card: str
) -> None:
    """A pay-again request killed between its write and the start of its execution."""

    def dying(name: str, payload: object) -> str:
        raise flows.Killed

    with monkeypatch.context() as patched:
        patched.setattr(_workflow(deps), "start_named", dying)
        with pytest.raises(flows.Killed):
            self_service.pay_again(order_id, card, deps)


def _asked_again_while_starting(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, order_id: str, card: str
) -> list[BaseException | Order]:
    """From now on, the first execution start runs a second pay-again request with
    ``card`` first: what it answered, or its refusal, is put in the list returned."""
    workflow = _workflow(deps)
    start = workflow.start_named
    answers: list[BaseException | Order] = []
    asked: list[str] = []

    def second_request_meanwhile(name: str, payload: object) -> str:
        if not asked:
            asked.append(name)  # once: the second request's own start starts
            try:
                answers.append(self_service.pay_again(order_id, card, deps))
            except ActionNotAvailable as refused:
                answers.append(refused)
        return start(name, payload)  # type: ignore[arg-type]

    monkeypatch.setattr(workflow, "start_named", second_request_meanwhile)
    return answers


def _one_202_and_its_card_kept(
    deps: Deps, second: list[BaseException | Order], answered: Order, card: str
) -> None:
    """The second request was refused naming ``payment``; the answered one's card stands."""
    (refused,) = second
    assert isinstance(refused, ActionNotAvailable) and refused.field == "payment"
    assert answered.payment_token == card
    assert deps.store.get_order(answered.order_id).payment_token == card


def test_paying_after_the_scaled_48_hours_is_refused_and_changes_nothing(deps: Deps) -> None:
    order = declined(deps)
    window = deps.settings.waits.duration(self_service.PAYMENT_RETRY_WINDOW)
    _clock(deps).advance(seconds=window.total_seconds() + 1)

    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(order.order_id, "tok_visa", deps)

    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    assert not any(name.endswith("-pay1") for name in _workflow(deps).started)


def test_declining_again_does_not_extend_the_time_to_pay_again(deps: Deps) -> None:
    # Found by a probe: each new decline restarted the 48 hours, so a declining card
    # every 47 hours kept the order, and its ended promotion's coupon, payable for weeks.
    order = declined(deps)
    window = deps.settings.waits.duration(self_service.PAYMENT_RETRY_WINDOW)
    _clock(deps).advance(seconds=window.total_seconds() * 0.9)
    self_service.pay_again(order.order_id, "tok_declined", deps)
    _bank_declines(deps, order.order_id)
    _clock(deps).advance(seconds=window.total_seconds() * 0.2)  # 1.1 windows after the first

    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(order.order_id, "tok_visa", deps)

    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    assert not any(name.endswith("-pay2") for name in _workflow(deps).started)


@pytest.mark.parametrize("state", ["reserved", "shipped"])
def test_an_order_that_was_not_declined_cannot_be_paid_again(deps: Deps, state: str) -> None:
    order = getattr(flows, state)(deps)

    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(order.order_id, "tok_visa", deps)


def test_paying_again_reopens_the_same_order_in_a_new_execution(deps: Deps) -> None:
    order = declined(deps)
    first_arn = order.execution_arn

    reopened = self_service.pay_again(order.order_id, "tok_visa", deps)

    assert reopened.status is OrderStatus.ACCEPTED and reopened.status_reason is None
    assert reopened.payment_token == "tok_visa"
    name = f"{order.order_id}-pay1"
    assert _workflow(deps).started[name]["order_id"] == order.order_id
    assert reopened.execution_arn == _workflow(deps).execution_arn(name) != first_arn
    (restart,) = reopened.retries
    assert (restart.by, restart.previous_execution_arn) == ("customer", first_arn)
    # The one announcement of a paid-again order.
    events = deps.events
    assert isinstance(events, RecordingEvents)
    changes = events.of_type("order.status_changed")
    assert (changes[-1]["status"], changes[-1]["detail"]) == (
        "ACCEPTED",
        self_service.PAID_AGAIN_DETAIL,
    )
    # The new execution's first step authorises the new card: the order goes on.
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID
    with pytest.raises(ActionNotAvailable):  # and it is not declined any more
        self_service.pay_again(order.order_id, "tok_visa", deps)


def test_paying_again_after_a_request_that_died_before_starting_carries_the_order_on(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: a pay-again request killed between its write and the start of the new
    # execution left the order ACCEPTED with no execution, and refused to be paid again
    # ("only an order rejected for a declined card"): it waited for good, told nothing.
    order = declined(deps)
    workflow = _workflow(deps)
    _dies_before_starting(deps, monkeypatch, order.order_id, "tok_visa")
    name = f"{order.order_id}-pay1"
    assert deps.store.get_order(order.order_id).status is OrderStatus.ACCEPTED
    assert name not in workflow.started
    # Within a request's lifetime it may still be running: another card is refused (the
    # caller told to wait), not taken in its place.
    with pytest.raises(ActionNotAvailable, match="another card") as refused:
        self_service.pay_again(order.order_id, "tok_mastercard", deps)
    assert refused.value.field == "payment"
    assert deps.store.get_order(order.order_id).payment_token == "tok_visa"
    assert name not in workflow.started
    _clock(deps).advance(seconds=self_service.REQUEST_LIFETIME.total_seconds() + 1)

    reopened = self_service.pay_again(order.order_id, "tok_mastercard", deps)  # asked again

    assert workflow.started[name]["order_id"] == order.order_id
    assert reopened.execution_arn == workflow.execution_arn(name)
    assert len(reopened.retries) == 1 and reopened.payment_token == "tok_mastercard"
    events = deps.events
    assert isinstance(events, RecordingEvents)
    paid_again = [
        e["event_id"]
        for e in events.of_type("order.status_changed")
        if e["detail"] == self_service.PAID_AGAIN_DETAIL
    ]
    assert len(paid_again) == 1  # what the dead request did not announce
    # Started once it is running: asked a third time, it is refused as any paid-again order.
    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID


def test_another_card_while_the_first_request_is_still_starting_is_refused(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A probe, 4 in 100 pairs of concurrent requests with two cards: the second read the
    # first's retry, written but not yet started, as left by a dead request, put its card
    # in place of the first's and answered 202 too; one caller's card was never tried.
    order = declined(deps)
    workflow = _workflow(deps)
    second = _asked_again_while_starting(deps, monkeypatch, order.order_id, "tok_mastercard")

    first = self_service.pay_again(order.order_id, "tok_visa", deps)

    _one_202_and_its_card_kept(deps, second, first, "tok_visa")
    assert [n for n in workflow.started if n.endswith("-pay1")] == [f"{order.order_id}-pay1"]
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    tried = {token for (order_id, token) in gateway.by_order if order_id == order.order_id}
    assert tried == {"tok_declined", "tok_visa"}


def test_two_requests_taking_over_a_dead_requests_restart_with_two_cards_get_one_202(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lease moves to the request that takes the dead one's restart over: a second
    # request with another card meanwhile is refused as the first's would have been.
    order = declined(deps)
    _dies_before_starting(deps, monkeypatch, order.order_id, "tok_visa")
    _clock(deps).advance(seconds=self_service.REQUEST_LIFETIME.total_seconds() + 1)
    second = _asked_again_while_starting(deps, monkeypatch, order.order_id, "tok_amex")

    taken_over = self_service.pay_again(order.order_id, "tok_mastercard", deps)

    _one_202_and_its_card_kept(deps, second, taken_over, "tok_mastercard")
    assert f"{order.order_id}-pay1" in _workflow(deps).started


def test_the_same_card_sent_twice_at_once_is_one_restart_answered_twice(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A double tap: both asked for the same thing, which is being done.
    order = declined(deps)
    second = _asked_again_while_starting(deps, monkeypatch, order.order_id, "tok_visa")

    first = self_service.pay_again(order.order_id, "tok_visa", deps)

    (again,) = second
    assert isinstance(again, Order)
    assert again.order_id == first.order_id and len(first.retries) == 1
    assert again.status is first.status is OrderStatus.ACCEPTED
    events = deps.events
    assert isinstance(events, RecordingEvents)
    paid_again = {
        e["event_id"]
        for e in events.of_type("order.status_changed")
        if e["detail"] == self_service.PAID_AGAIN_DETAIL
    }
    assert len(paid_again) == 1


def test_a_declined_card_again_is_declined_again_and_may_be_retried(deps: Deps) -> None:
    order = declined(deps)
    self_service.pay_again(order.order_id, "tok_declined", deps)

    _bank_declines(deps, order.order_id)

    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    # Within the first decline's 48 hours: a second restart, with its own name.
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID
    assert f"{order.order_id}-pay2" in _workflow(deps).started
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    assert len(gateway.payments) == 2  # one per card: the decline and the new card


def _declined_again(deps: Deps, order_id: str, card: str = "tok_declined") -> None:
    """A minute on, the customer pays again with ``card``, and the workflow declines it.
    (Time moves: two rejections at one instant would be one history entry to its event's
    id, which counts entries equal to it.)"""
    _clock(deps).advance(seconds=60)
    self_service.pay_again(order_id, card, deps)
    _bank_declines(deps, order_id)


def test_after_three_more_declined_cards_the_order_cannot_be_paid_again(deps: Deps) -> None:
    # Probe 165: ten cards tried through one rejected order's link, ten authorisations and
    # eleven rejection emails (card testing with the link as the only credential).
    order = declined(deps)
    for _ in range(MAX_PAYMENT_RETRIES):
        assert self_service.actions_now(order, deps).allows(CustomerAction.PAY)
        _declined_again(deps, order.order_id)
        order = deps.store.get_order(order.order_id)

    with pytest.raises(ActionNotAvailable) as refused:
        self_service.pay_again(order.order_id, "tok_visa", deps)

    assert refused.value.field_errors()[0][0] == "payment"
    actions = self_service.actions_now(deps.store.get_order(order.order_id), deps)
    assert not actions.allows(CustomerAction.PAY)
    assert actions.pay_withdrawn is PayWithdrawn.TRIES_USED
    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    started = _workflow(deps).started
    assert f"{order.order_id}-pay{MAX_PAYMENT_RETRIES}" in started
    assert f"{order.order_id}-pay{MAX_PAYMENT_RETRIES + 1}" not in started


def test_a_bank_that_did_not_answer_uses_up_no_try(deps: Deps) -> None:
    # A re-probe (166): three tries while our gateway was down used up the customer's
    # tries, and the refusal said three cards "were declined".
    order = declined(deps)
    for _ in range(MAX_PAYMENT_RETRIES):
        self_service.pay_again(order.order_id, "tok_unavailable", deps)
        payment_steps.reject_order(
            RejectOrderInput(order_id=order.order_id, error="PaymentGatewayUnavailable"), deps
        )
    for _ in range(MAX_PAYMENT_RETRIES - 1):
        _declined_again(deps, order.order_id)

    order = deps.store.get_order(order.order_id)
    assert self_service.actions_now(order, deps).allows(CustomerAction.PAY)
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID


def test_the_last_declined_cards_email_invites_no_other_card(deps: Deps) -> None:
    # A re-probe (166): the rejection email after the last card allowed still said "you
    # can pay again with another card", and paying again was then 409.
    order = declined(deps)
    flows.mail_everything(deps)
    for _ in range(MAX_PAYMENT_RETRIES):
        _declined_again(deps, order.order_id)
        flows.mail_everything(deps)  # each decline told as it happens

    rejections = [
        mail["parts"]
        for mail in flows.mail_everything(deps)
        if mail["parts"].startswith(f"No hemos podido completar tu pedido {order.order_id}")
    ]

    assert len(rejections) == 1 + MAX_PAYMENT_RETRIES
    assert all("Puedes pagar de nuevo con otra tarjeta" in text for text in rejections[:-1])
    assert "Puedes pagar de nuevo" not in rejections[-1]
    assert "así que ya no se puede pagar. Si aún lo quieres" in rejections[-1]


def test_the_last_card_may_still_pay(deps: Deps) -> None:
    order = declined(deps)
    for _ in range(MAX_PAYMENT_RETRIES - 1):
        _declined_again(deps, order.order_id)

    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID


def test_cancelling_a_shipped_order_is_refused(deps: Deps) -> None:
    order = flows.shipped(deps)

    with pytest.raises(ActionNotAvailable) as refused:
        self_service.cancel(order, deps)

    assert refused.value.field == "status"  # the problem's errors name it
    assert deps.store.get_order(order.order_id).status is OrderStatus.SHIPPED


def test_cancelling_a_mixed_order_whose_parcel_left_names_the_parcel(deps: Deps) -> None:
    # The pick-up is still being prepared, so the status alone does not say why (a probe:
    # the staff routes named the part handed over and the customer's did not).
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)
    current = deps.store.get_order(order.order_id)

    with pytest.raises(ActionNotAvailable, match=f"{parcel.fulfillment_id} handed over") as no:
        self_service.cancel(current, deps)

    assert no.value.field == "status"
    assert deps.store.get_order(order.order_id).status is current.status


def test_cancelling_twice_answers_the_same(deps: Deps) -> None:
    order = flows.reserved(deps)

    first = self_service.cancel(order, deps)
    second = self_service.cancel(deps.store.get_order(order.order_id), deps)

    assert first.status is second.status is OrderStatus.CANCELLED


def test_a_return_outside_the_window_is_refused(deps: Deps) -> None:
    order = flows.delivered(deps)
    _clock(deps).advance(seconds=deps.settings.waits.return_window_seconds + 1)
    request = RequestReturnRequest(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="size", channel="mail"
    )

    with pytest.raises(ActionNotAvailable):
        self_service.request_return(order, request, deps)

    assert deps.store.get_order(order.order_id).returns == []


def test_a_return_within_the_window_is_requested(deps: Deps) -> None:
    order = flows.delivered(deps)
    request = RequestReturnRequest(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="size", channel="mail"
    )

    created = self_service.request_return(order, request, deps)

    assert created.status.value == "REQUESTED"
    assert [r.return_id for r in deps.store.get_order(order.order_id).returns] == [
        created.return_id
    ]


def test_a_ticket_is_on_the_customers_record_and_the_same_key_finds_it(deps: Deps) -> None:
    order = flows.delivered(deps)

    first = self_service.open_ticket(order, "Size", "Too small", TicketType.QUESTION, "k1", deps)
    again = self_service.open_ticket(order, "Size", "Too small", TicketType.QUESTION, "k1", deps)

    assert first.ticket_id == again.ticket_id
    assert (first.customer_id, first.order_id) == (order.customer_id, order.order_id)
    assert deps.customers.get_ticket(first.ticket_id) is not None


def test_an_orders_page_opens_five_tickets_then_pauses_for_a_day(deps: Deps) -> None:
    # Probe 165: 40 tickets through one order's link, each mailed to the customer with
    # the sender's subject, and each in the support queue.
    order, other = flows.delivered(deps), flows.delivered(deps)

    def ask(about: Order, words: str) -> Ticket:
        return self_service.open_ticket(about, "Size", words, TicketType.QUESTION, None, deps)

    for n in range(self_service.MAX_PAGE_TICKETS):
        ask(order, f"question {n}")
    with pytest.raises(TooManyAttempts) as paused:
        ask(order, "one more")

    assert 23 * 3600 < paused.value.retry_after <= 24 * 3600 + 1
    assert order.customer_id is not None
    opened, _ = deps.customers.records(order.customer_id, CustomerRecord.TICKETS)
    assert len(opened) == self_service.MAX_PAGE_TICKETS
    assert ask(other, "another order's page is its own").order_id == other.order_id
    _clock(deps).advance(seconds=self_service.PAGE_TICKETS_PAUSE_SECONDS + 1)
    assert ask(order, "the next day").order_id == order.order_id


def test_the_page_stops_offering_a_ticket_while_its_questions_rest(deps: Deps) -> None:
    # Re-probe 166: after the five the form stayed on the page, and each post was refused.
    order, other = flows.delivered(deps), flows.delivered(deps)
    for n in range(self_service.MAX_PAGE_TICKETS):
        self_service.open_ticket(order, "Size", f"q{n}", TicketType.QUESTION, None, deps)

    shown = self_service.actions_shown(order, deps)

    assert not shown.allows(CustomerAction.TICKET)
    pause = timedelta(seconds=self_service.PAGE_TICKETS_PAUSE_SECONDS)
    assert shown.tickets_paused_until == deps.clock() + pause
    # The post itself is still refused by the counter (429 with its wait), not as an
    # action the order does not allow (409).
    assert self_service.actions_now(order, deps).allows(CustomerAction.TICKET)
    assert self_service.actions_shown(other, deps).allows(CustomerAction.TICKET)
    _clock(deps).advance(seconds=self_service.PAGE_TICKETS_PAUSE_SECONDS + 1)
    again = self_service.actions_shown(order, deps)
    assert again.allows(CustomerAction.TICKET) and again.tickets_paused_until is None


def test_an_order_without_a_customer_cannot_open_a_ticket(deps: Deps) -> None:
    order = flows.delivered(deps)
    order.customer_id = None

    with pytest.raises(ActionNotAvailable):
        self_service.open_ticket(order, "Size", "Too small", TicketType.QUESTION, "k2", deps)
    with pytest.raises(NotFound):
        deps.store.get_order("ord_unknown")


def test_paying_again_for_goods_gone_since_is_refused_before_the_card_is_charged(
    deps: Deps,
) -> None:
    """Found by a probe: every unit was sold after the decline; paying again authorised
    the new card, voided it and rejected the order out_of_stock. POST /orders refuses such
    lines up front (409 out-of-stock), and so does paying again now."""
    order = declined(deps)
    flows.sell_out(deps, "TSHIRT-BLK-M")
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    calls = len(gateway.calls)

    with pytest.raises(UnservableLines) as refused:
        self_service.pay_again(order.order_id, "tok_visa", deps)

    assert refused.value.status == 409 and refused.value.field == "lines.0"
    assert len(gateway.calls) == calls  # no authorisation, no void
    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED
    assert not any(name.endswith("-pay1") for name in _workflow(deps).started)
    # Found by a probe: the page kept offering "pay" though paying would be refused, and
    # the refusal subscribed nobody, where a refused order subscribes its customer.
    refused_order = deps.store.get_order(order.order_id)
    now = self_service.actions_now(refused_order, deps)
    assert not now.allows(CustomerAction.PAY)
    assert now.pay_withdrawn is PayWithdrawn.OUT_OF_STOCK  # the page says why
    (wish,) = deps.opportunities.open_subscriptions("TSHIRT-BLK-M")
    assert (wish.email, wish.order_id, wish.customer_id) == (
        order.contact.email,
        order.order_id,
        order.customer_id,
    )
    with pytest.raises(UnservableLines):  # asked again: still one wish
        self_service.pay_again(order.order_id, "tok_visa", deps)
    assert len(deps.opportunities.open_subscriptions("TSHIRT-BLK-M")) == 1


def test_paying_again_is_offered_while_the_goods_are_there(deps: Deps) -> None:
    order = declined(deps)
    now = self_service.actions_now(order, deps)
    assert now.allows(CustomerAction.PAY) and now.pay_withdrawn is None


def test_a_payment_gateway_that_did_not_answer_alerts_ops_once(deps: Deps) -> None:
    # Found by the deadlines probe: tok_unavailable's order was rejected with no alert;
    # the customer is told, and a gateway down is ops' to know.
    order = flows.place(deps, payment={"method": "card", "token": "tok_unavailable"})
    step = RejectOrderInput(order_id=order.order_id, error="PaymentGatewayUnavailable")

    payment_steps.reject_order(step, deps)
    payment_steps.reject_order(step, deps)  # the step retried

    events = deps.events
    assert isinstance(events, RecordingEvents)
    kinds = [message["kind"] for _, message in events.alerts]
    assert kinds == ["payment_gateway_unavailable"]
    declined_order = declined(deps)
    assert declined_order.status is OrderStatus.REJECTED
    assert [message["kind"] for _, message in events.alerts] == kinds  # a decline: none


def _timeline_reasons(deps: Deps, order_id: str) -> list[tuple[str, str]]:
    """The page's steps that end the order (status, the reason said under it)."""
    from chalicelib.presentation.tracking_page import tracking_page

    order = deps.store.get_order(order_id)
    page = tracking_page(order, self_service.actions_now(order, deps), {}, deps.clock(), {})
    return [(s.status, s.reason) for s in page["timeline"] if s.status in ("REJECTED", "CANCELLED")]


def test_each_rejection_on_the_page_says_its_own_cause(deps: Deps) -> None:
    # Probe 176: declined, then paid again while the gateway was down: both "No
    # completado" steps read "No pudimos contactar con el banco", the order's last cause.
    order = declined(deps)
    self_service.pay_again(order.order_id, "tok_unavailable", deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=order.order_id, error="PaymentGatewayUnavailable"), deps
    )

    assert _timeline_reasons(deps, order.order_id) == [
        ("REJECTED", "La tarjeta fue rechazada"),
        ("REJECTED", "No pudimos contactar con el banco"),
    ]


def test_a_rejection_paid_again_after_keeps_its_cause_on_the_page(deps: Deps) -> None:
    # Probe 176: once paid again, the earlier "No completado" steps lost their reason.
    order = declined(deps)
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    assert deps.store.get_order(order.order_id).status is OrderStatus.PAID
    assert _timeline_reasons(deps, order.order_id) == [("REJECTED", "La tarjeta fue rechazada")]


def test_staff_cancel_an_order_whose_card_was_declined_and_it_can_no_longer_be_paid(
    deps: Deps,
) -> None:
    # Probe 192: ops were told a declined order "can no longer be cancelled", while anyone
    # with its link could still pay it again and have it shipped.
    from chalicelib.services import ordering

    order = declined(deps)

    cancelled = ordering.cancel_order(order.order_id, deps, "no longer wanted")

    assert cancelled.status is OrderStatus.CANCELLED
    assert [h.status for h in cancelled.history][-2:] == [
        OrderStatus.REJECTED,
        OrderStatus.CANCELLED,
    ]
    assert CustomerAction.PAY not in self_service.actions_now(cancelled, deps).actions
    with pytest.raises(ActionNotAvailable):
        self_service.pay_again(order.order_id, "tok_visa", deps)
    assert isinstance(deps.events, RecordingEvents)
    told = [e for e in deps.events.published if e.get("order_id") == order.order_id]
    assert told[-1]["status"] == "CANCELLED"
    # The customer's own page still offers paying, not cancelling, a declined order.
    with pytest.raises(ActionNotAvailable):
        self_service.cancel(declined(deps), deps)


def test_a_declined_order_past_its_time_to_pay_again_is_not_cancelled(deps: Deps) -> None:
    order = declined(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=49)

    from chalicelib.services import ordering

    with pytest.raises(Conflict, match="can no longer be cancelled"):
        ordering.cancel_order(order.order_id, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.REJECTED


@pytest.mark.parametrize("channel", ["phone", "kiosk"])
def test_a_ticket_written_on_the_orders_page_came_through_the_web(deps: Deps, channel: str) -> None:
    # Probe 230: a phone order's page ticket read "phone" in the 360, as if they had called.
    at_a_store = {"store_id": "ST-MADRID"} if channel == "kiosk" else {}
    order = flows.delivered(deps, channel=channel, **at_a_store)

    ticket = self_service.open_ticket(order, "Size", "Too small", TicketType.QUESTION, "k1", deps)

    assert ticket.channel == "web"
