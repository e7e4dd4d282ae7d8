"""A rejection for lack of stock names what ran out (probe 224): its history detail, its
email (subject and body, with a back-in-stock promise only where its wish is opened), the
text a phone-only customer gets, and the back-in-stock notice that follows. On fakes; the
same over the real state machine is ``tests/workflow/test_shortage_named_everywhere.py``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.catalog import Product
from chalicelib.domain.errors import OutOfStock
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import (
    inventory,
    order_event_subscribers,
    payment_steps,
    stock_steps,
)
from chalicelib.services.step_models import OrderStep, RejectOrderInput
from tests.fakes import Outgoing, RecordingEvents
from tests.service import flows

PHONE = "+34 655 123 224"


def _dress(deps: Deps) -> str:
    """A product of its own, 1 unit in the warehouse."""
    sku = f"DRESS-{uuid.uuid4().hex[:8].upper()}"
    deps.store.put_product(Product(sku=sku, name="Vestido de verano", price=Money.of("39.95")))
    receipt = {"sku": sku, "location_id": "WH-GETAFE", "type": "receipt", "reference": "alb"}
    inventory.record_movement(RecordMovementRequest.model_validate(receipt | {"quantity": 1}), deps)
    return sku


def _rejected_short_of_the_dress(
    deps: Deps, customer: dict[str, Any], before_told: Callable[[str], None] | None = None
) -> tuple[Order, str]:
    """Two shirts and the dress, paid; the till sells the dress before the reservation;
    ``before_told(dress)`` runs between the rejection and its event's delivery."""
    dress = _dress(deps)
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"},
        {"sku": dress, "quantity": 1, "fulfillment": "ship"},
    ]
    order = flows.place(deps, customer=customer, lines=lines)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    flows.sell_out(deps, dress)
    with pytest.raises(OutOfStock):
        stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    rejected = _rejected_and_told(
        deps, order.order_id, before_told=lambda: before_told(dress) if before_told else None
    )
    return rejected, dress


def _rejected_and_told(
    deps: Deps, order_id: str, before_told: Callable[[], object] | None = None
) -> Order:
    """The order's reservation having failed: rejected out of stock, then its REJECTED
    event delivered to the subscribers (``before_told`` runs in between)."""
    payment_steps.reject_order(RejectOrderInput(order_id=order_id, error="OutOfStock"), deps)
    rejected = deps.store.get_order(order_id)
    if before_told is not None:
        before_told()
    assert isinstance(deps.events, RecordingEvents)
    (event,) = [
        e
        for e in deps.events.of_type("order.status_changed")
        if e["order_id"] == order_id and e["status"] == "REJECTED"
    ]
    order_event_subscribers.handle_order_event(event, deps)
    return rejected


def _sent_to(deps: Deps, address: str) -> list[str]:
    assert isinstance(deps.mailer, Outgoing)
    return [m["parts"] for m in deps.mailer.sent if m["to"] == address]


@pytest.mark.parametrize(
    ("locale", "subject", "said", "promised", "rest"),
    [
        (
            "es",
            "No hemos podido completar tu pedido {}: sin existencias de Vestido de verano",
            "(sin existencias suficientes de Vestido de verano)",
            "Te avisaremos por correo cuando vuelva a haber Vestido de verano",
            "Si aún quieres el resto de artículos, puedes pedirlos en un pedido nuevo.",
        ),
        (
            "en",
            "We could not complete your order {}: Vestido de verano out of stock",
            "(not enough stock of Vestido de verano)",
            "We will email you when we have Vestido de verano in our online shop again.",
            "If you still want the other items, you can order them in a new order.",
        ),
    ],
)
def test_the_rejection_names_the_product_that_ran_out_and_promises_its_notice(
    deps: Deps, locale: str, subject: str, said: str, promised: str, rest: str
) -> None:
    address = f"p224-{uuid.uuid4().hex[:8]}@example.com"
    rejected, dress = _rejected_short_of_the_dress(deps, {"email": address, "locale": locale})

    assert rejected.status_reason is not None and rejected.status_reason.value == "out_of_stock"
    assert rejected.history[-1].detail == f"not enough stock of {dress}; nothing charged"
    assert rejected.out_of_stock_skus == [dress]
    (mail,) = _sent_to(deps, address)
    assert subject.format(rejected.order_id) in mail
    assert said in mail and promised in mail and rest in mail
    assert "Camiseta" not in mail.split(said)[0]  # the shirts are not said to be short
    # The promise is the wish the event opened: for the dress alone.
    assert [s.sku for s in deps.opportunities.open_subscriptions(dress)] == [dress]
    assert deps.opportunities.open_subscriptions("TSHIRT-BLK-M") == []

    _receive(deps, dress)
    notice = _sent_to(deps, address)[-1]
    assert "Vestido de verano" in notice
    # Nothing claims a promise the notice cannot know was made (a refusal's 409 makes
    # none): no "and we told you we'd let you know".
    assert "te dijimos" not in notice and "said we would tell you" not in notice


def _receive(deps: Deps, sku: str) -> None:
    receipt = {"sku": sku, "location_id": "WH-GETAFE", "type": "receipt", "reference": "alb"}
    inventory.record_movement(RecordMovementRequest.model_validate(receipt | {"quantity": 2}), deps)


def test_an_order_short_of_everything_names_it_and_offers_no_rest(deps: Deps) -> None:
    address = f"p224-{uuid.uuid4().hex[:8]}@example.com"
    dress = _dress(deps)
    order = flows.place(
        deps,
        customer={"email": address, "locale": "en"},
        lines=[{"sku": dress, "quantity": 1, "fulfillment": "ship"}],
    )
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    flows.sell_out(deps, dress)
    _rejected_and_told(deps, order.order_id)
    (mail,) = _sent_to(deps, address)
    assert "(not enough stock of Vestido de verano)" in mail
    assert "the other items" not in mail


def test_a_phone_only_customer_is_texted_the_product_and_promised_no_notice(deps: Deps) -> None:
    rejected, dress = _rejected_short_of_the_dress(deps, {"phone": PHONE, "locale": "es"})

    assert isinstance(deps.texter, Outgoing)
    (text,) = [t["parts"] for t in deps.texter.sent if t["to"] == PHONE.replace(" ", "")]
    assert f"no hemos podido completar tu pedido {rejected.order_id}" in text
    assert "(sin existencias suficientes de Vestido de verano)" in text
    assert "avisaremos" not in text
    # No address, no wish: nothing was promised, and nothing is owed.
    assert deps.opportunities.open_subscriptions(dress) == []


def test_an_order_refused_up_front_is_not_told_later_of_a_promise_never_made(
    deps: Deps,
) -> None:
    # The wish a 409 opens was never told to the shopper: the notice must not say "we
    # said we would tell you" (probe 224).
    dress = _dress(deps)
    flows.sell_out(deps, dress)
    address = f"p224-{uuid.uuid4().hex[:8]}@example.com"
    with pytest.raises(Exception, match="not enough"):
        flows.place(
            deps,
            customer={"email": address, "locale": "es"},
            lines=[{"sku": dress, "quantity": 1, "fulfillment": "ship"}],
        )
    _receive(deps, dress)
    (notice,) = _sent_to(deps, address)
    assert "No pudimos venderte Vestido de verano" in notice
    assert "te dijimos" not in notice


def test_a_unit_back_before_the_rejection_is_told_keeps_the_promise_of_its_notice(
    deps: Deps,
) -> None:
    # Probe 231: the email and the wish read the stock apart; a unit back between them
    # (the winning order cancelled, a return received) left "we will email you when we
    # have it again" with no wish behind it, and no notice ever came. The wish follows
    # what the rejection recorded, and with the unit there it is told at once.
    address = f"p231-{uuid.uuid4().hex[:8]}@example.com"
    rejected, dress = _rejected_short_of_the_dress(
        deps, {"email": address, "locale": "es"}, before_told=lambda sku: _receive(deps, sku)
    )

    assert rejected.out_of_stock_wished == {dress: 1}
    rejection, notice = _sent_to(deps, address)
    assert "Te avisaremos por correo cuando vuelva a haber Vestido de verano" in rejection
    assert "Vestido de verano" in notice and "vuelve a estar disponible" in notice
    assert deps.opportunities.open_subscriptions(dress) == []


def test_a_pick_up_short_at_its_store_is_told_so_and_promised_nothing(deps: Deps) -> None:
    # Probe 232: a pick-up short at its store, with units on the web, was told "not
    # enough stock of" the product, as if it were sold out everywhere.
    address = f"p232-{uuid.uuid4().hex[:8]}@example.com"
    belt = f"BELT-{uuid.uuid4().hex[:8].upper()}"
    deps.store.put_product(Product(sku=belt, name="Cinturón de piel", price=Money.of("29.90")))
    for location, units in (("ST-MADRID", 1), ("WH-GETAFE", 5)):
        receipt = {"sku": belt, "location_id": location, "type": "receipt", "reference": "a"}
        inventory.record_movement(
            RecordMovementRequest.model_validate(receipt | {"quantity": units}), deps
        )
    lines = [{"sku": belt, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}]
    order = flows.place(deps, customer={"email": address, "locale": "es"}, lines=lines)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    sale = {"sku": belt, "location_id": "ST-MADRID", "type": "sale", "reference": "till"}
    inventory.record_movement(RecordMovementRequest.model_validate(sale | {"quantity": 1}), deps)
    with pytest.raises(OutOfStock):
        stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    _rejected_and_told(deps, order.order_id)

    (mail,) = _sent_to(deps, address)
    subject = f"{order.order_id}: sin existencias de Cinturón de piel en la tienda de recogida"
    assert subject in mail
    assert "(sin existencias suficientes de Cinturón de piel en la tienda de recogida)" in mail
    assert "Te avisaremos" not in mail
    assert deps.opportunities.open_subscriptions(belt) == []


def test_a_unit_back_between_the_failed_reservation_and_the_rejection_is_still_named(
    deps: Deps,
) -> None:
    # Probe 235: the rejection read the stock again, apart from the reservation that gave
    # up; a unit back in between left it naming nothing ("not enough stock"), on its page
    # and email, and opening no wish. It says what the reservation found short.
    address = f"p235-{uuid.uuid4().hex[:8]}@example.com"
    dress = _dress(deps)
    lines = [{"sku": dress, "quantity": 1, "fulfillment": "ship"}]
    order = flows.place(deps, customer={"email": address, "locale": "es"}, lines=lines)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    flows.sell_out(deps, dress)
    with pytest.raises(OutOfStock):
        stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    _receive(deps, dress)

    rejected = _rejected_and_told(deps, order.order_id)

    assert rejected.out_of_stock_skus == [dress]
    assert rejected.out_of_stock_wished == {dress: 1}
    assert rejected.history[-1].detail == f"not enough stock of {dress}; nothing charged"
    rejection, notice = _sent_to(deps, address)
    assert "sin existencias de Vestido de verano" in rejection
    assert "Vestido de verano" in notice and "vuelve a estar disponible" in notice


def test_a_rejection_short_on_the_web_and_at_a_pick_up_store_names_both_in_its_subject(
    deps: Deps,
) -> None:
    # Probe 245: the subject named the product the web lacked, not the one its pick-up
    # store lacked, which only the body named.
    address = f"p245-{uuid.uuid4().hex[:8]}@example.com"
    belt, scarf = (f"{kind}-{uuid.uuid4().hex[:8].upper()}" for kind in ("BELT", "SCARF"))
    for sku, name, location in (
        (belt, "Cinturón de piel", "ST-MADRID"),
        (scarf, "Bufanda", "WH-GETAFE"),
    ):
        deps.store.put_product(Product(sku=sku, name=name, price=Money.of("29.90")))
        receipt = {"sku": sku, "location_id": location, "type": "receipt", "reference": "a"}
        inventory.record_movement(
            RecordMovementRequest.model_validate(receipt | {"quantity": 1}), deps
        )
    web = {"sku": belt, "location_id": "WH-GETAFE", "type": "receipt", "reference": "b"}
    inventory.record_movement(RecordMovementRequest.model_validate(web | {"quantity": 5}), deps)
    lines = [
        {"sku": belt, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"},
        {"sku": scarf, "quantity": 1, "fulfillment": "ship"},
    ]
    order = flows.place(deps, customer={"email": address, "locale": "es"}, lines=lines)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    for sku, location in ((belt, "ST-MADRID"), (scarf, "WH-GETAFE")):
        sale = {"sku": sku, "location_id": location, "type": "sale", "reference": "till"}
        inventory.record_movement(
            RecordMovementRequest.model_validate(sale | {"quantity": 1}), deps
        )
    with pytest.raises(OutOfStock):
        stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    _rejected_and_told(deps, order.order_id)

    (mail, *_) = _sent_to(deps, address)
    subject = (
        f"{order.order_id}: sin existencias de Bufanda, "
        "ni de Cinturón de piel en la tienda de recogida"
    )
    assert subject in mail
