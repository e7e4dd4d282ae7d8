"""Erasing a customer whose orders are still under way: what cannot be served without the
erased data (a parcel not yet booked needs the address, a pick-up not yet ready the email
its code goes to) is cancelled first, its stock released and its authorisation voided,
instead of being booked to "[erased]" and charged. What was handed over goes on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import identifiers_of
from chalicelib.domain.errors import OrderCancelled
from chalicelib.domain.events import OrderClaimed, OrderStatusChanged
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import CustomerRef
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.services import (
    customer_projection,
    customer_records,
    fulfillment_steps,
    ordering,
    payment_steps,
    pickups,
    stock_steps,
)
from chalicelib.services.customer_export import export_customer
from chalicelib.services.customers import SeenClaims, find_owner, resolve_customer
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway
from tests.fakes.outside import FakeWorkflow
from tests.service import flows

PICKUP = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}
]


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def _reserved_units(deps: Deps, location_id: str) -> int:
    return next(
        s.reserved for s in deps.store.stock_levels("TSHIRT-BLK-M") if s.location_id == location_id
    )


def _projected(deps: Deps, order: Order) -> Order:
    current = deps.store.get_order(order.order_id)
    event = OrderStatusChanged.of(current, current.history[-1]).message()
    assert customer_projection.project_order_event(event, deps)
    return current


def _customer() -> dict[str, str]:
    return {"email": f"olvido-{uuid.uuid4().hex[:8]}@example.com", "name": "Ana Olvido"}


def test_an_order_not_yet_handed_over_is_cancelled_voided_and_released(deps: Deps) -> None:
    customer = _customer()
    waiting = _projected(deps, flows.reserved(deps, customer=customer))
    on_its_way = _projected(deps, flows.shipped(deps, customer=customer))
    assert waiting.customer_id == on_its_way.customer_id is not None
    held = _reserved_units(deps, waiting.fulfillments[0].location_id)
    captured = _gateway(deps).total("capture")

    erased = customer_records.erase_customer(waiting.customer_id, "ops", "ops", deps)

    assert erased["cancelled_orders"] == [waiting.order_id]
    cancelled = deps.store.get_order(waiting.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.status_reason is StatusReason.CUSTOMER_REQUEST
    assert [f.status for f in cancelled.fulfillments] == [FulfillmentStatus.CANCELLED]
    assert cancelled.payment.captured.amount == 0
    assert cancelled.payment.owed() == []
    assert _gateway(deps).payments[cancelled.payment.payment_id]["void"] == waiting.total.amount
    assert _reserved_units(deps, waiting.fulfillments[0].location_id) == held - 2
    # The parcel with the carrier needs nothing of theirs: it goes on, and so does its money.
    assert deps.store.get_order(on_its_way.order_id).status is OrderStatus.SHIPPED
    assert _gateway(deps).total("capture") == captured
    # Asking again answers the same and cancels nothing more.
    again = customer_records.erase_customer(waiting.customer_id, "ops", "ops", deps)
    assert again["cancelled_orders"] == [waiting.order_id]
    assert _gateway(deps).total("void") == waiting.total.amount


def test_a_pickup_ready_with_its_code_sent_stays_for_collection(deps: Deps) -> None:
    order = flows.shipped(deps, customer=_customer(), lines=PICKUP, shipping_address=None)
    ready = _projected(deps, order)
    assert ready.status is OrderStatus.READY_FOR_PICKUP and ready.customer_id is not None

    erased = customer_records.erase_customer(ready.customer_id, "ops", "ops", deps)

    assert erased["cancelled_orders"] == []
    assert deps.store.get_order(order.order_id).status is OrderStatus.READY_FOR_PICKUP


def test_an_order_placed_as_the_erasure_ran_is_cancelled_when_its_event_arrives(
    deps: Deps,
) -> None:
    # The erasure did not see it (no summary yet); the projector of its first event does.
    customer = _customer()
    first = _projected(deps, flows.shipped(deps, customer=customer))
    assert first.customer_id is not None
    late = flows.reserved(deps, customer={"customer_id": first.customer_id})
    customer_records.erase_customer(first.customer_id, "ops", "ops", deps)
    assert deps.store.get_order(late.order_id).status is OrderStatus.RESERVED

    _projected(deps, late)

    shown = deps.store.get_order(late.order_id)
    assert shown.status is OrderStatus.CANCELLED
    assert ordering.cancelled_for_erasure(shown)
    assert shown.payment.captured.amount == 0 and shown.payment.owed() == []
    assert "Olvido" not in str(shown.contact) and "Calle Mayor" not in str(shown.shipping_address)
    # The first answer could not list it; asking again does, read from the orders.
    again = customer_records.erase_customer(first.customer_id, "ops", "ops", deps)
    assert again["cancelled_orders"] == [late.order_id]


@pytest.mark.parametrize("lines", [None, PICKUP], ids=["parcel", "pickup"])
def test_an_order_neither_the_erasure_nor_its_events_reached_is_cancelled_at_hand_over(
    deps: Deps, lines: list[dict[str, Any]] | None
) -> None:
    # A probe, 12 of 12 under load: an order placed just before the erasure, whose events
    # waited behind others', was shipped, charged, and kept the address.
    customer = _customer()
    first = _projected(deps, flows.shipped(deps, customer=customer))
    assert first.customer_id is not None
    shape = {} if lines is None else {"lines": lines, "shipping_address": None}
    late = flows.reserved(deps, customer={"customer_id": first.customer_id}, **shape)
    customer_records.erase_customer(first.customer_id, "ops", "ops", deps)
    (part,) = late.fulfillments
    held = _reserved_units(deps, part.location_id)
    captured = _gateway(deps).total("capture")
    step = flows.dispatch_step(late, part.fulfillment_id)

    with pytest.raises(OrderCancelled):
        fulfillment_steps.dispatch_and_await(step, deps)

    cancelled = deps.store.get_order(late.order_id)
    assert cancelled.status is OrderStatus.CANCELLED and ordering.cancelled_for_erasure(cancelled)
    assert [f.status for f in cancelled.fulfillments] == [FulfillmentStatus.CANCELLED]
    assert (
        cancelled.fulfillments[0].shipment is None and cancelled.fulfillments[0].pickup_code is None
    )
    assert _gateway(deps).total("capture") == captured
    assert _gateway(deps).payments[cancelled.payment.payment_id]["void"] == late.total.amount
    assert _reserved_units(deps, part.location_id) == held - sum(
        line.quantity for line in late.lines
    )


@pytest.mark.parametrize("paid", [False, True], ids=["accepted", "paid"])
def test_an_order_missed_by_the_erasure_before_its_stock_is_reserved_is_cancelled(
    deps: Deps, paid: bool
) -> None:
    # It has no fulfilment yet: every part of it waits for the address (the rule read
    # "a part is pending", and an order without parts went on to be shipped).
    customer = _customer()
    first = _projected(deps, flows.shipped(deps, customer=customer))
    assert first.customer_id is not None
    late = flows.place(deps, customer={"customer_id": first.customer_id})
    if paid:
        payment_steps.authorize_payment(OrderStep(order_id=late.order_id), deps)
    customer_records.erase_customer(first.customer_id, "ops", "ops", deps)

    _projected(deps, late)

    shown = deps.store.get_order(late.order_id)
    assert shown.status is OrderStatus.CANCELLED and ordering.cancelled_for_erasure(shown)
    assert shown.payment.captured is None or shown.payment.captured.amount == 0
    assert shown.payment.owed() == [] and "Olvido" not in str(shown.contact)
    if paid:
        assert _gateway(deps).payments[shown.payment.payment_id]["void"] == late.total.amount
    with pytest.raises(OrderCancelled):
        stock_steps.reserve_stock(OrderStep(order_id=late.order_id), deps)


def test_an_order_resolved_just_before_the_erasure_attaches_nothing_to_the_erased_record(
    deps: Deps,
) -> None:
    # A probe (1 in 48): the order read its email's claim before the erasure and attached
    # its new phone after it, so the erased record's 360 and export listed the phone.
    email = _customer()["email"]
    founded = resolve_customer(CustomerRef(email=email), deps)
    seen: SeenClaims = {}
    assert find_owner(identifiers_of(email, None, None)[0], deps, seen) == founded.customer_id
    customer_records.erase_customer(founded.customer_id, "ops", "ops", deps)

    phone = "+34600123987"
    late = resolve_customer(CustomerRef(email=email, phone=phone), deps, seen=seen)

    assert late.customer_id == founded.customer_id  # the erasure's paths cancel its order
    assert deps.customers.identifiers(founded.customer_id) == []
    assert deps.customers.find_identifier(identifiers_of(None, phone, None)[0]) is None
    assert phone not in str(export_customer(founded.customer_id, deps))


@pytest.mark.parametrize("first_out", [FulfillmentType.SHIP, FulfillmentType.PICKUP])
def test_a_part_still_waiting_when_another_was_handed_over_is_cancelled_not_served(
    deps: Deps, first_out: FulfillmentType
) -> None:
    # Found and left in earlier rounds: the order cannot be cancelled whole once a part
    # left, and the part still waiting was booked to "[erased]" (or its code mailed to no
    # one). It is cancelled alone at its hand-over: stock back, its share voided, its wait
    # ended; the part handed over goes on.
    order = _projected(deps, flows.reserved(deps, customer=_customer(), lines=flows.MIXED))
    assert order.customer_id is not None
    out = next(f for f in order.fulfillments if f.type is first_out)
    waiting = next(f for f in order.fulfillments if f.type is not first_out)
    fulfillment_steps.dispatch_and_await(flows.dispatch_step(order, out.fulfillment_id), deps)
    if first_out is FulfillmentType.PICKUP:  # handed over once collected
        code = deps.store.get_order(order.order_id).fulfillment(out.fulfillment_id).pickup_code
        assert code is not None
        pickups.collect(out.fulfillment_id, code, deps)
    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)
    held = _reserved_units(deps, waiting.location_id)
    captured = _gateway(deps).total("capture")
    step = flows.dispatch_step(order, waiting.fulfillment_id).model_copy(
        update={"task_token": "token-2"}
    )

    fulfillment_steps.dispatch_and_await(step, deps)

    current = deps.store.get_order(order.order_id)
    part = current.fulfillment(waiting.fulfillment_id)
    assert part.status is FulfillmentStatus.CANCELLED
    assert part.shipment is None and part.pickup_code is None
    assert current.fulfillment(out.fulfillment_id).status is not FulfillmentStatus.CANCELLED
    # The pick-up was collected before the parcel was booked: the order was RESERVED
    # until now, and passes its hand-over on its way to DELIVERED.
    reached = first_out is FulfillmentType.PICKUP
    assert current.status is (OrderStatus.DELIVERED if reached else OrderStatus.SHIPPED)
    assert [h.status for h in current.history][-2:] == (
        [OrderStatus.READY_FOR_PICKUP, OrderStatus.DELIVERED]
        if reached
        else [OrderStatus.RESERVED, OrderStatus.SHIPPED]
    )
    assert "shipped with" in current.history[-1].detail or reached
    assert _reserved_units(deps, waiting.location_id) == held - 1
    assert _gateway(deps).total("capture") == captured
    # What was handed over is paid (with the shipping fee if a parcel left), the rest voided.
    money = _gateway(deps).payments[current.payment.payment_id]
    assert money["void"] > 0 and money["capture"] + money["void"] == order.total.amount
    assert current.payment.owed() == []
    assert isinstance(deps.workflow, FakeWorkflow)
    assert "token-2" in [token for token, _ in deps.workflow.resumed]  # its branch ends
    # Run again (the step retried): nothing more happens, and the wait still ends.
    fulfillment_steps.dispatch_and_await(step, deps)
    assert _gateway(deps).total("capture") == captured
    assert deps.store.get_order(order.order_id).version == current.version


def test_a_pick_up_made_ready_as_its_customer_is_erased_is_cancelled_not_left_waiting(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI run under load: the erasure ran while the pick-up's dispatch, past its check of
    # the customer, chose its code; the erasure missed the order (its summary was not
    # projected yet), and the pick-up stayed ready, its stock held, for nobody.
    order = flows.reserved(deps, customer=_customer(), lines=flows.MIXED)
    assert order.customer_id is not None
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    fulfillment_steps.dispatch_and_await(flows.dispatch_step(order, parcel.fulfillment_id), deps)
    held = _reserved_units(deps, pickup.location_id)
    erased: list[dict[str, Any]] = []

    class _ErasedWhileChoosing:
        @staticmethod
        def randbelow(limit: int) -> int:
            assert order.customer_id is not None
            erased.append(customer_records.erase_customer(order.customer_id, "ops", "ops", deps))
            return 123456 % limit

    monkeypatch.setattr(fulfillment_steps, "secrets", _ErasedWhileChoosing)
    step = flows.dispatch_step(order, pickup.fulfillment_id).model_copy(
        update={"task_token": "token-2"}
    )

    fulfillment_steps.dispatch_and_await(step, deps)

    assert [e["cancelled_orders"] for e in erased] == [[]]  # the erasure missed it
    current = deps.store.get_order(order.order_id)
    assert current.fulfillment(pickup.fulfillment_id).status is FulfillmentStatus.CANCELLED
    assert current.fulfillment(parcel.fulfillment_id).status is FulfillmentStatus.SHIPPED
    assert current.status is OrderStatus.SHIPPED
    assert _reserved_units(deps, pickup.location_id) == held - 1
    assert current.payment.owed() == []
    assert isinstance(deps.workflow, FakeWorkflow)
    assert "token-2" in [token for token, _ in deps.workflow.resumed]  # its branch ends


def test_a_sale_claimed_as_its_customer_is_erased_loses_their_data_all_the_same(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 241 (1 in 5 to 14 races): the claim's projection read the profile before the
    # erasure recorded itself, and the erasure read the summaries before the claim's was
    # written. Neither saw the other, and a collected till sale, which nothing else
    # comes to later, kept the erased person's name and email in their export.
    customer = _customer()
    founded = resolve_customer(CustomerRef(**customer), deps).customer_id
    sale = flows.place(deps, channel="store", store_id="ST-MADRID", customer=None)
    assert sale.receipt_code is not None
    customer_records.claim_order(sale.order_id, sale.receipt_code, CustomerRef(**customer), deps)
    erased: list[dict[str, Any]] = []
    write_summary = deps.customers.project

    def erased_before_the_summary_is_written(*args: Any, **kwargs: Any) -> None:
        if not erased:
            erased.append(customer_records.erase_customer(founded, "ops", "ops", deps))
        write_summary(*args, **kwargs)

    monkeypatch.setattr(deps.customers, "project", erased_before_the_summary_is_written)
    claimed = deps.store.get_order(sale.order_id)

    customer_projection.project_order_event(OrderClaimed.of(claimed, deps.clock()).message(), deps)

    assert [e["status"] for e in erased] == ["completed"]
    assert sale.order_id not in str(erased)  # the erasure did not see the sale
    shown = deps.store.get_order(sale.order_id)
    assert (shown.contact.email, shown.contact.name) == (None, None)
    exported = str(export_customer(founded, deps))
    assert customer["email"] not in exported and "Olvido" not in exported
