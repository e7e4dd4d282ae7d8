"""An order cancelled before its payment was authorised takes nothing, and says so: a probe
found such orders at rest with payment ``PENDING`` for good, which reads as money still
expected."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import OrderCancelled
from chalicelib.domain.money import Money
from chalicelib.domain.payments import PaymentStatus
from chalicelib.services import ordering, payment_steps
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway
from tests.service import flows


def test_cancelled_before_authorisation_the_payment_is_cancelled_and_nothing_asked(
    deps: Deps,
) -> None:
    order = flows.place(deps)
    ordering.cancel_order(order.order_id, deps)

    with pytest.raises(OrderCancelled):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    payment = deps.store.get_order(order.order_id).payment
    assert (payment.status, payment.payment_id, payment.authorized) == (
        PaymentStatus.CANCELLED,
        None,
        None,
    )
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.payments == {}


def test_an_authorisation_landing_after_the_cancel_is_voided(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = flows.place(deps)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    authorize = gateway.authorize

    def cancelled_meanwhile(order_id: str, amount: Money, token: str) -> Any:
        ordering.cancel_order(order_id, deps)
        return authorize(order_id, amount, token)

    monkeypatch.setattr(gateway, "authorize", cancelled_meanwhile)

    with pytest.raises(OrderCancelled):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)

    payment = deps.store.get_order(order.order_id).payment
    assert payment.status is PaymentStatus.VOIDED
    assert payment.voided == order.total
