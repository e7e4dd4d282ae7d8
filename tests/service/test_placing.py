"""Placing an order, on fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import OrquestaError, UnknownReferences
from chalicelib.domain.money import Money
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import ordering, payment_steps
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway, RecordingEvents
from tests.service import flows


def test_an_order_is_accepted_at_catalogue_prices_plus_shipping(deps: Deps) -> None:
    order = flows.place(deps)
    stored = deps.store.get_order(order.order_id)
    assert stored.status is OrderStatus.ACCEPTED
    (line,) = stored.lines
    price = deps.store.product("TSHIRT-BLK-M")
    assert price is not None
    # Madrid: the catalogue price, IVA included; two T-shirts (39.90) are below the
    # mainland's 50.00 free-shipping threshold, so the 4.95 fee is on the total.
    assert line.unit_price == price.price
    assert stored.pricing is not None and stored.pricing.shipping == Decimal("4.95")
    assert stored.total == price.price.times(2) + Money.of("4.95")


def test_placing_starts_the_orders_workflow_and_announces_it(deps: Deps) -> None:
    order = flows.place(deps)
    assert isinstance(deps.events, RecordingEvents)
    assert order.order_id in deps.workflow.started  # type: ignore[attr-defined]
    (event,) = deps.events.of_type("order.status_changed")
    assert (event["order_id"], event["status"]) == (order.order_id, "ACCEPTED")


def test_placing_again_with_the_same_id_answers_with_the_first_order(deps: Deps) -> None:
    request = PlaceOrderRequest.model_validate(flows.body())
    first = ordering.place_order(request, "ord_same", deps, "demo-shop")
    again = ordering.place_order(request, "ord_same", deps, "demo-shop")
    assert again.order_id == first.order_id
    assert deps.store.get_order("ord_same").version == 1
    assert isinstance(deps.events, RecordingEvents)
    # Told again under its one id (in case the first request died before telling it).
    told = {e["event_id"] for e in deps.events.of_type("order.status_changed")}
    assert told == {"ord_same:001:ACCEPTED"}


def test_orders_with_the_same_email_belong_to_one_customer(deps: Deps) -> None:
    customer = {"email": "same@example.com", "name": "Ana"}
    first = flows.place(deps, customer=customer)
    second = flows.place(deps, customer={**customer, "email": "SAME@example.com"})
    assert first.customer_id is not None
    assert first.customer_id == second.customer_id


def test_an_order_names_a_new_customer_by_the_email_given(deps: Deps) -> None:
    order = flows.place(deps, customer={"email": "new@example.com", "name": "Eva"})
    assert order.customer_id is not None
    assert deps.customers.profile(order.customer_id) is not None
    assert [i.value for i in deps.customers.identifiers(order.customer_id)] == ["new@example.com"]


def test_an_unknown_sku_is_refused_and_nothing_is_stored(deps: Deps) -> None:
    lines = [{"sku": "NOPE-1", "quantity": 1, "fulfillment": "ship"}]
    with pytest.raises(OrquestaError):
        flows.place(deps, lines=lines)
    assert deps.store.orders_owing(10) == []
    assert deps.workflow.started == {}  # type: ignore[attr-defined]


def test_a_ship_line_at_an_unknown_location_is_refused_naming_it(deps: Deps) -> None:
    # As a pick-up line at an unknown location is (404): the location_id a ship line
    # names is not ignored (a probe placed one naming a location that does not exist).
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"},
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship", "location_id": "ST-ATLANTIS"},
    ]
    with pytest.raises(UnknownReferences) as raised:
        flows.place(deps, lines=lines)
    assert raised.value.field_errors() == [("lines.1.location_id", raised.value.detail)]
    assert "ST-ATLANTIS" in raised.value.detail
    assert deps.store.orders_owing(10) == []
    assert deps.workflow.started == {}  # type: ignore[attr-defined]


def test_a_ship_line_may_name_a_store_that_ships_nothing(deps: Deps) -> None:
    # A kiosk's storefront may name its own store on every line: Valencia ships nothing,
    # and where the line ships from is sourcing's to choose.
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship", "location_id": "ST-VALENCIA"}
    ]
    placed = flows.place(deps, lines=lines)
    assert placed.status is OrderStatus.ACCEPTED
    assert deps.store.get_order(placed.order_id).lines[0].sku == "TSHIRT-BLK-M"


def test_payment_is_authorised_for_the_total(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    paid = deps.store.get_order(order.order_id)
    assert paid.status is OrderStatus.PAID
    assert paid.payment.authorized == order.total
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.total("authorized") == order.total.amount


def test_authorising_twice_holds_the_money_once(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    assert isinstance(deps.payments, FakeGateway)
    assert len(deps.payments.payments) == 1


def test_a_declined_card_ends_the_order_rejected_with_nothing_owed(deps: Deps) -> None:
    rejected = flows.declined(deps)
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.payment.owed() == []
    assert deps.store.orders_owing(10) == []


def test_the_total_adds_up_every_line(deps: Deps) -> None:
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
        {"sku": "HOODIE-GRY-L", "quantity": 2, "fulfillment": "ship"},
    ]
    order = flows.place(deps, lines=lines)
    assert order.total == sum((line.line_total for line in order.lines), Money.zero())
    assert len(order.lines) == 2
