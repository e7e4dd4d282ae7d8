"""An order of 0.00 (a 100 % coupon), on fakes: its payment reads what happened to it, as
any other order's does, though the gateway is never asked to move 0.00. It read
AUTHORIZED for good, cancelled or returned, and was counted in open authorisations (a
tester's finding)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.domain.payments import PaymentStatus
from chalicelib.domain.promotions import PromotionTerms
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import ordering, pickups, promotions, returns
from tests.fakes import FakeGateway
from tests.service import flows

PICKUP = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}
]


def _coupon(deps: Deps) -> str:
    code = f"ALL{uuid.uuid4().hex[:6].upper()}"
    terms = PromotionTerms(name="All", code=code, kind="percent", value=Decimal("100"))
    promotions.create_promotion(terms, deps)
    return code


def _ready(deps: Deps, free: bool) -> Order:
    """A pick-up waiting at Madrid: of 0.00 with ``free``, else an ordinary one."""
    coupon = {"coupon": _coupon(deps)} if free else {}
    order = flows.shipped(deps, lines=PICKUP, **coupon)
    assert (order.total.amount == 0) is free
    return order


def _collected(deps: Deps, order: Order) -> Order:
    """The order once its one pick-up was collected, as stored."""
    (pickup,) = order.fulfillments
    assert pickup.pickup_code is not None
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    return deps.store.get_order(order.order_id)


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def _the_email(sent: list[dict[str, Any]], order: Order, word: str) -> str:
    """The one email about ``order`` whose subject says ``word`` (in any case)."""
    (told,) = [
        m["parts"]
        for m in sent
        if order.order_id in (subject := m["parts"].split("\n")[0]) and word in subject.lower()
    ]
    return str(told)


def _moved_nothing(deps: Deps, order: Order) -> None:
    """Nothing of the 0.00 order went to the gateway: no authorisation (probe 202: a free
    order was rejected for its card), and no 0.00 capture, void or refund."""
    if order.total.amount == 0:
        assert [kind for kind, *_ in _gateway(deps).calls] == []
    assert order.payment.owed() == []


@pytest.mark.parametrize("gateway", ["declines the card", "does not answer"])
def test_a_free_order_goes_on_whatever_its_card_would_say(deps: Deps, gateway: str) -> None:
    # Probe 202: a 0.00 order ended REJECTED payment_declined, told "your card was
    # declined" (or that the bank did not answer), for nothing to pay.
    coupon = _coupon(deps)
    card = {"payment": {"method": "card", "token": "tok_declined"}}
    if gateway == "does not answer":
        card = {}
        _gateway(deps).unavailable = 10
    order = flows.shipped(deps, lines=PICKUP, coupon=coupon, **card)

    assert order.status is OrderStatus.READY_FOR_PICKUP
    assert order.payment.status is PaymentStatus.AUTHORIZED
    _moved_nothing(deps, order)
    collected = _collected(deps, order)
    assert collected.payment.status is PaymentStatus.CAPTURED
    _moved_nothing(deps, collected)


@pytest.mark.parametrize("free", [True, False], ids=["zero", "ordinary"])
def test_a_cancelled_order_reads_voided(deps: Deps, free: bool) -> None:
    order = _ready(deps, free)
    ordering.cancel_order(order.order_id, deps)
    cancelled = deps.store.get_order(order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.payment.status is PaymentStatus.VOIDED
    _moved_nothing(deps, cancelled)


@pytest.mark.parametrize("free", [True, False], ids=["zero", "ordinary"])
def test_a_collected_order_reads_captured(deps: Deps, free: bool) -> None:
    collected = _collected(deps, _ready(deps, free))
    assert collected.status is OrderStatus.DELIVERED
    assert collected.payment.status is PaymentStatus.CAPTURED
    _moved_nothing(deps, collected)


@pytest.mark.parametrize("free", [True, False], ids=["zero", "ordinary"])
def test_a_fully_returned_order_reads_refunded(deps: Deps, free: bool) -> None:
    order = _collected(deps, _ready(deps, free))
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "not for me",
            "channel": "store",
            "location_id": "ST-MADRID",
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    returned = returns.receive_return(opened.return_id, "ST-MADRID", deps)
    assert returned.status is OrderStatus.RETURNED
    assert returned.payment.status is PaymentStatus.REFUNDED
    _moved_nothing(deps, deps.store.get_order(order.order_id))


@pytest.mark.parametrize(
    ("cancelled", "locale", "says", "not_said"),
    [
        # Probe 199: it said a payment of 0,00 € was authorised, each part charged when handed.
        (False, "es", "No tienes nada que pagar.", "autorizado el pago"),
        (False, "en", "There is nothing for you to pay.", "authorised your payment"),
        # Probe 203: it said the amount held on the card was being released; none was asked.
        (
            True,
            "es",
            "No tenías nada que pagar: no se te ha cobrado ni retenido nada.",
            "liberamos",
        ),
        (True, "en", "There was nothing to pay: nothing was charged or held.", "releasing"),
    ],
    ids=["confirmed-es", "confirmed-en", "cancelled-es", "cancelled-en"],
)
def test_a_free_order_s_email_speaks_of_no_payment(
    deps: Deps, cancelled: bool, locale: str, says: str, not_said: str
) -> None:
    customer = flows.body()["customer"] | {"locale": locale}
    free = flows.shipped(deps, lines=PICKUP, coupon=_coupon(deps), customer=customer)
    paid = flows.shipped(deps, lines=PICKUP, customer=customer)
    for order in (free, paid) if cancelled else ():
        ordering.cancel_order(order.order_id, deps)

    sent = flows.mail_everything(deps)

    word = "cancel" if cancelled else "confirm"
    told_free, told_paid = (_the_email(sent, order, word) for order in (free, paid))
    assert says in told_free and not_said not in told_free
    assert not_said in told_paid and says not in told_paid


def test_a_free_order_that_could_not_be_served_speaks_of_no_card(deps: Deps) -> None:
    # Its rejection said any amount held on the card was being released; none was asked.
    from chalicelib.domain.errors import OutOfStock
    from chalicelib.services import payment_steps, stock_steps
    from chalicelib.services.step_models import OrderStep, RejectOrderInput

    order = flows.place(deps, lines=PICKUP, coupon=_coupon(deps))
    step = OrderStep(order_id=order.order_id)
    payment_steps.authorize_payment(step, deps)
    flows.sell_out(deps, "TSHIRT-BLK-M")
    with pytest.raises(OutOfStock):
        stock_steps.reserve_stock(step, deps)
    payment_steps.reject_order(RejectOrderInput(order_id=order.order_id, error="OutOfStock"), deps)

    (told,) = [m["parts"] for m in flows.mail_everything(deps) if "completar" in m["parts"]]
    assert "No tenías nada que pagar: no se te ha cobrado ni retenido nada." in told
    assert "retenido en tu tarjeta" not in told


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("es", "Lo damos por perdido; no se te cobró, así que no hay nada que reembolsar."),
        ("en", "We consider it lost; it was not charged, so there is nothing to refund."),
    ],
)
def test_a_free_order_s_lost_parcel_refunds_nothing_and_says_so(
    deps: Deps, locale: str, says: str
) -> None:
    # Probe 203: "we consider it lost and have refunded 0,00 €".
    from chalicelib.services import lost_parcels, sla

    free_shipping = PromotionTerms(name="Envío gratis", kind="free_shipping")
    promotions.create_promotion(free_shipping, deps)
    customer = flows.body()["customer"] | {"locale": locale}
    order = flows.shipped(deps, coupon=_coupon(deps), customer=customer)
    assert order.total.amount == 0
    (parcel,) = order.fulfillments
    assert sla.record_breach(order.order_id, parcel.fulfillment_id, deps)

    lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)

    (told,) = [
        m["parts"]
        for m in flows.mail_everything(deps)
        if "perdido" in m["parts"] or "lost" in m["parts"].split("\n")[0]
    ]
    assert says in told
    assert "reembolsado" not in told and "refunded" not in told
    # Its subject (and the HTML's heading) promises no refund either (probe 206).
    assert "devolvemos el dinero" not in told and "refunding" not in told


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("es", "Los hemos devuelto a la tienda y no se te cobrarán."),
        ("en", "They went back to the store and you will not be charged for them."),
    ],
)
def test_a_free_pick_up_not_collected_names_no_amount(deps: Deps, locale: str, says: str) -> None:
    # Probe 206: "you will not be charged for them (€0.00)".
    from chalicelib.services import fulfillment_steps
    from chalicelib.services.step_models import FulfillmentStep

    customer = flows.body()["customer"] | {"locale": locale}
    order = flows.shipped(deps, lines=PICKUP, coupon=_coupon(deps), customer=customer)
    (pickup,) = order.fulfillments
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)

    fulfillment_steps.handle_fulfillment_timeout(step, deps)

    (told,) = [
        m["parts"]
        for m in flows.mail_everything(deps)
        if "Madrid Centro" in m["parts"].split("\n")[0]
        and ("cancelad" in m["parts"].split("\n")[0] or "cancelled" in m["parts"].split("\n")[0])
    ]
    assert says in told
    assert "0,00" not in told.split("Subtotal")[0] and "0.00" not in told.split("Subtotal")[0]
