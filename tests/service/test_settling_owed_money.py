"""Settling what an order owes with a gateway that fails, on fakes."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import PaymentGatewayUnavailable
from chalicelib.domain.orders import OrderStatus
from chalicelib.services import fulfillment_steps, ordering, payment_steps, settlement
from chalicelib.services.step_models import FulfillmentStep, OrderStep, RejectOrderInput
from tests.fakes import FakeGateway
from tests.service import flows


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def test_shipping_captures_what_was_shipped(deps: Deps) -> None:
    order = flows.shipped(deps)
    assert _gateway(deps).total("capture") == order.total.amount
    assert deps.store.get_order(order.order_id).payment.owed() == []


def test_a_capture_the_gateway_misses_is_owed_then_made_once_by_the_sweeper(deps: Deps) -> None:
    order = flows.reserved(deps)
    _gateway(deps).unavailable = 1
    (parcel,) = order.fulfillments
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)
    # The workflow retries the step; the capture is owed meanwhile.
    with pytest.raises(PaymentGatewayUnavailable):
        fulfillment_steps.dispatch_fulfillment(step, deps)
    assert deps.store.orders_owing(10) == [order.order_id]
    assert settlement.sweep(deps)["settled"] == 1
    assert settlement.sweep(deps) == {"orders": 0, "settled": 0}
    assert _gateway(deps).total("capture") == order.total.amount


def test_the_sweeper_leaves_the_order_listed_while_the_gateway_is_down(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _gateway(deps).unavailable = 10
    ordering.cancel_order(order.order_id, deps)
    assert settlement.sweep(deps) == {"orders": 1, "settled": 0}
    assert deps.store.orders_owing(10) == [order.order_id]
    owed = deps.store.get_order(order.order_id).payment.owed()
    assert owed and owed[0].attempts >= 1


def test_settling_twice_moves_the_money_once(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _gateway(deps).unavailable = 1
    ordering.cancel_order(order.order_id, deps)
    settlement.settle(order.order_id, deps)
    settlement.settle(order.order_id, deps)
    assert [kind for kind, *_ in _gateway(deps).calls].count("void") == 1


def test_a_rejection_with_the_gateway_down_raises_and_keeps_the_void_owed(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _gateway(deps).unavailable = 1
    with pytest.raises(PaymentGatewayUnavailable):
        payment_steps.reject_order(
            RejectOrderInput(order_id=order.order_id, error="OutOfStock"), deps
        )
    rejected = deps.store.get_order(order.order_id)
    assert rejected.status is OrderStatus.REJECTED
    assert [op.type.value for op in rejected.payment.owed()] == ["void"]
    payment_steps.reject_order(RejectOrderInput(order_id=order.order_id, error="OutOfStock"), deps)
    assert _gateway(deps).total("void") == order.total.amount


def test_nothing_owed_sweeps_nothing(deps: Deps) -> None:
    flows.shipped(deps)
    assert settlement.sweep(deps) == {"orders": 0, "settled": 0}
