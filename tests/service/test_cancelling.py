"""Cancelling an order, on fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.orders import OrderStatus, StatusReason
from chalicelib.services import ordering, payment_steps, settlement
from chalicelib.services.step_models import OrderStep
from tests.fakes import FakeGateway, RecordingEvents
from tests.service import flows


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def test_cancelling_before_payment_moves_no_money(deps: Deps) -> None:
    order = flows.place(deps)
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.status_reason is StatusReason.CUSTOMER_REQUEST
    assert _gateway(deps).calls == []


def test_cancelling_after_authorising_voids_the_whole_authorisation(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    ordering.cancel_order(order.order_id, deps)
    assert _gateway(deps).total("void") == order.total.amount
    assert deps.store.get_order(order.order_id).payment.owed() == []


def test_cancelling_twice_answers_the_same_and_voids_once(deps: Deps) -> None:
    order = flows.reserved(deps)
    first = ordering.cancel_order(order.order_id, deps)
    second = ordering.cancel_order(order.order_id, deps)
    assert first.status is second.status is OrderStatus.CANCELLED
    # The lines' void and the shipping fee's (39.90 of T-shirts pay the 4.95 fee), each
    # once: together exactly what was authorised.
    assert order.total.amount == order.lines[0].line_total.amount + Decimal("4.95")
    voids = [amount for kind, _, amount in _gateway(deps).calls if kind == "void"]
    assert sorted(voids) == [Decimal("4.95"), order.lines[0].line_total.amount]
    assert _gateway(deps).total("void") == order.total.amount
    events = deps.events
    assert isinstance(events, RecordingEvents)
    cancelled = [e for e in events.of_type("order.status_changed") if e["status"] == "CANCELLED"]
    # Told again by the second (the first may have died before telling), under one id.
    assert len({e["event_id"] for e in cancelled}) == 1


def test_a_shipped_order_cannot_be_cancelled(deps: Deps) -> None:
    order = flows.shipped(deps)
    with pytest.raises(Conflict):
        ordering.cancel_order(order.order_id, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.SHIPPED
    assert _gateway(deps).total("void") == 0


def test_a_void_the_gateway_misses_stays_owed_until_the_sweeper_makes_it(deps: Deps) -> None:
    order = flows.place(deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    _gateway(deps).unavailable = 1
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.status is OrderStatus.CANCELLED
    assert [op.type.value for op in cancelled.payment.owed()] == ["void"]
    assert deps.store.orders_owing(10) == [order.order_id]
    assert settlement.sweep(deps) == {"orders": 1, "settled": 1, "errors": 0}
    assert _gateway(deps).total("void") == order.total.amount
    assert deps.store.orders_owing(10) == []


def test_cancelling_an_unknown_order_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound):
        ordering.cancel_order("ord_missing", deps)
