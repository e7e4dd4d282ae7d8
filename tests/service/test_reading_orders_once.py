"""What a step or an event delivery reads, on fakes: the order a write just saved is where
the next write starts (refused, then read again, if anybody wrote in between), and one
delivery of an order event reads the order and its customer once for all its handlers,
except the projection's read after the summary and every retry's, which stay fresh."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import ConcurrentModification, OrderCancelled
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.ports.persistence import CustomerRecord
from chalicelib.services import (
    customer_records,
    fulfillment_steps,
    ordering,
    payment_steps,
    settlement,
)
from chalicelib.services.order_event_subscribers import handle_order_event
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway, Outgoing, RecordingEvents
from tests.fakes.customers import FakeCustomerStore
from tests.fakes.orders import FakeOrderStore
from tests.service import flows


def _reads(deps: Deps) -> Counter[str]:
    assert isinstance(deps.store, FakeOrderStore)
    return deps.store.reads


def _status_events(deps: Deps, order_id: str) -> list[dict[str, Any]]:
    assert isinstance(deps.events, RecordingEvents)
    return [
        e
        for e in deps.events.published
        if e.get("order_id") == order_id and e["type"] == "order.status_changed"
    ]


# Steps: a write starts from the order the previous one left ---------------------------------
def test_a_write_from_an_order_somebody_changed_since_is_decided_again_on_a_fresh_read(
    deps: Deps,
) -> None:
    order = flows.place(deps)
    stale = deps.store.get_order(order.order_id)
    ordering.cancel_order(order.order_id, deps)  # another writer, after that read
    seen: list[OrderStatus] = []

    def note(current: Order) -> Change:
        seen.append(current.status)
        current.sourcing_reason = "looked at twice"
        return Change()

    _reads(deps).clear()
    written = mutate(deps, order.order_id, note, start=stale)

    assert seen == [OrderStatus.ACCEPTED, OrderStatus.CANCELLED]  # the retry read afresh
    assert _reads(deps)["order"] == 1
    stored = deps.store.get_order(order.order_id)
    assert (stored.status, stored.sourcing_reason) == (OrderStatus.CANCELLED, "looked at twice")
    assert written.order.version == stored.version


def test_a_write_starts_from_the_order_it_is_given_without_reading_it(deps: Deps) -> None:
    order = flows.place(deps)

    def note(current: Order) -> Change:
        current.sourcing_reason = "from the order in hand"
        return Change()

    _reads(deps).clear()
    written = mutate(deps, order.order_id, note, start=deps.store.get_order(order.order_id))

    assert _reads(deps)["order"] == 1  # the caller's read only
    assert deps.store.get_order(order.order_id).sourcing_reason == "from the order in hand"
    assert written.order.version == deps.store.get_order(order.order_id).version


def test_a_write_refuses_to_start_from_another_order(deps: Deps) -> None:
    first, second = flows.place(deps), flows.place(deps)
    with pytest.raises(ValueError, match=second.order_id):
        mutate(deps, first.order_id, lambda _: Change(), start=second)
    assert deps.store.get_order(first.order_id).version == first.version


def test_authorising_reads_the_order_once_and_announces_it_paid(deps: Deps) -> None:
    order = flows.place(deps)
    _reads(deps).clear()

    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    assert _reads(deps)["order"] == 1
    paid = deps.store.get_order(order.order_id)
    assert paid.status is OrderStatus.PAID and paid.payment.authorized is not None
    assert [e["status"] for e in _status_events(deps, order.order_id)][-1] == "PAID"


class CancelWhilePaying(FakeGateway):
    """A gateway during whose authorisation the shopper cancels the order."""

    def __init__(self, deps: Deps) -> None:
        super().__init__()
        self.deps = deps

    def authorize(self, order_id: str, amount: Money, token: str) -> str:
        payment_id = super().authorize(order_id, amount, token)
        ordering.cancel_order(order_id, self.deps)
        return payment_id


def test_an_order_cancelled_while_paying_is_read_again_and_its_authorisation_voided(
    deps: Deps,
) -> None:
    deps.payments = CancelWhilePaying(deps)
    order = flows.place(deps)

    with pytest.raises(OrderCancelled):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    cancelled = deps.store.get_order(order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.payment.authorized is not None and cancelled.payment.owed() == []
    assert [kind for kind, *_ in deps.payments.calls].count("void") == 1


def test_dispatching_and_parking_the_wait_read_the_order_once(deps: Deps) -> None:
    order = flows.reserved(deps)
    (parcel,) = order.fulfillments
    step = flows.dispatch_step(order, parcel.fulfillment_id)
    _reads(deps).clear()

    fulfillment_steps.dispatch_and_await(step, deps)

    assert _reads(deps)["order"] == 1
    shipped = deps.store.get_order(order.order_id)
    assert shipped.fulfillment(parcel.fulfillment_id).task_token == "token-1"
    assert shipped.payment.owed() == [] and deps.store.orders_owing(10) == []
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.total("capture") == order.total.amount


def test_a_settlement_answers_with_the_order_as_stored(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert isinstance(deps.payments, FakeGateway)
    deps.payments.unavailable = 1
    ordering.cancel_order(order.order_id, deps)  # its void fails: owed
    _reads(deps).clear()

    settled = settlement.settle(order.order_id, deps)

    assert settled.done and settled.settled and _reads(deps)["order"] == 1
    assert settled.order is not None
    assert settled.order.model_dump() == deps.store.get_order(order.order_id).model_dump()


# Event deliveries: one read of the order and its customer for every handler ---------------
def test_one_delivery_reads_the_order_twice_and_the_customer_twice(deps: Deps) -> None:
    order = flows.reserved(deps)
    confirmation = _status_events(deps, order.order_id)[-1]
    assert confirmation["status"] == "RESERVED"
    _reads(deps).clear()

    outcomes = handle_order_event(confirmation, deps)

    assert outcomes["email_customer"] is not None and outcomes["project_customer_view"]
    # The delivery's read, then the projection's after the summary; the chain once for the
    # email and the erasure check, once (fresh) for whose summary it is, and once after
    # the order's first summary is written (a merge meanwhile would have stranded it).
    assert _reads(deps) == Counter(order=2, profile=3)


def test_a_delivery_of_a_state_already_projected_reads_the_order_once(deps: Deps) -> None:
    order = flows.reserved(deps)
    confirmation = _status_events(deps, order.order_id)[-1]
    handle_order_event(confirmation, deps)
    _reads(deps).clear()

    outcomes = handle_order_event(confirmation, deps)  # SNS delivers it again

    assert not outcomes["project_customer_view"]
    assert _reads(deps)["order"] == 1


class ProjectorRacedOnce(FakeCustomerStore):
    """A customer store whose first projection write loses to a writer who cancelled the
    order and projected that first."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps.customers._m)  # type: ignore[attr-defined]
        self.deps = deps
        self.raced = False

    def project(self, customer_id: str, summary: dict[str, Any], *rest: Any) -> None:
        if not self.raced:
            self.raced = True
            ordering.cancel_order(str(summary["order_id"]), self.deps)
            raise ConcurrentModification("the summary changed while we worked on it")
        super().project(customer_id, summary, *rest)


def test_a_projection_retry_reads_the_order_again(deps: Deps) -> None:
    order = flows.reserved(deps)
    assert order.customer_id is not None
    confirmation = _status_events(deps, order.order_id)[-1]
    deps.customers = ProjectorRacedOnce(deps)

    handle_order_event(confirmation, deps)

    summaries, _ = deps.customers.records(order.customer_id, CustomerRecord.ORDERS)
    assert [s["status"] for s in summaries] == ["CANCELLED"]  # not the RESERVED first read
    assert deps.customers.metrics(order.customer_id).order_count == 0


def test_an_erased_customers_order_is_followed_up_without_their_address(deps: Deps) -> None:
    order = flows.place(deps, customer={"email": "gone@example.com", "name": "Ana"})
    assert order.customer_id is not None
    # Erased before any event of the order was projected: the erasure did not see it.
    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)
    rejected = {
        "type": "order.status_changed",
        "event_id": f"{order.order_id}:002:REJECTED",
        "order_id": order.order_id,
        "status": "REJECTED",
        "status_reason": "out_of_stock",
    }

    handle_order_event(rejected, deps)

    assert deps.store.get_order(order.order_id).contact.email is None
    subscribed = [
        s.email for line in order.lines for s in deps.opportunities.open_subscriptions(line.sku)
    ]
    assert "gone@example.com" not in subscribed


def test_only_the_pick_up_email_reads_the_locations_and_it_names_the_store(deps: Deps) -> None:
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"},
    ]
    order = flows.shipped(deps, lines=lines)  # the parcel handed over, the pick-up ready
    assert isinstance(deps.events, RecordingEvents) and isinstance(deps.mailer, Outgoing)
    dispatched = [
        e
        for e in deps.events.published
        if e["type"] in ("fulfillment.shipped", "fulfillment.ready_for_pickup")
    ]
    (store,) = [loc.name for loc in deps.store.locations() if loc.location_id == "ST-MADRID"]
    _reads(deps).clear()

    for event in dispatched:
        handle_order_event(event, deps)

    assert len(deps.mailer.sent) == 2
    (pickup,) = [mail for mail in deps.mailer.sent if store in mail["parts"]]
    assert order.order_id in pickup["parts"]
    assert _reads(deps)["locations"] == 1
