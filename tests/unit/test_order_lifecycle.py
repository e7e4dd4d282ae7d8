"""The order's status lifecycle: forward only, terminal ends, payment and cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import Conflict, InvalidTransition
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import ALLOWED_TRANSITIONS, OrderStatus, can_transition
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentFailure, PaymentStatus
from chalicelib.domain.status_reasons import (
    OUT_OF_STOCK_DETAIL,
    StatusReason,
    out_of_stock_detail,
    rejection_cause,
)
from tests.support.builders import (
    NOW,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    fulfillment_id,
    line,
    mixed_order,
    order,
    paid,
    pickup,
    reserved,
    shipment,
)

S = OrderStatus

# The lifecycle as the API contract describes it, written out independently of the code.
EXPECTED_TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.ACCEPTED: {S.PAID, S.REJECTED, S.CANCELLED},
    S.PAID: {S.RESERVED, S.REJECTED, S.CANCELLED},
    S.RESERVED: {S.SHIPPED, S.READY_FOR_PICKUP, S.CANCELLED},
    S.SHIPPED: {S.READY_FOR_PICKUP, S.DELIVERED},
    S.READY_FOR_PICKUP: {S.SHIPPED, S.DELIVERED, S.CANCELLED},
    S.DELIVERED: {S.RETURNED},
    S.RETURNED: set(),
    S.REJECTED: set(),
    S.CANCELLED: set(),
}

# How far along the happy path each status is; SHIPPED and READY_FOR_PICKUP are one step.
STEP = {
    S.ACCEPTED: 0,
    S.PAID: 1,
    S.RESERVED: 2,
    S.SHIPPED: 3,
    S.READY_FOR_PICKUP: 3,
    S.DELIVERED: 4,
    S.RETURNED: 5,
}

statuses = st.sampled_from(list(OrderStatus))


def test_allowed_transitions_are_exactly_the_documented_lifecycle() -> None:
    assert {k: set(v) for k, v in ALLOWED_TRANSITIONS.items()} == EXPECTED_TRANSITIONS


@given(current=statuses, new=statuses)
def test_move_to_follows_the_lifecycle_for_every_pair_of_statuses(
    current: OrderStatus, new: OrderStatus
) -> None:
    placed = order(status=current)
    if new in EXPECTED_TRANSITIONS[current]:
        entry = placed.move_to(new, NOW, "moved")
        assert placed.status is new
        assert placed.history[-1] == entry
        assert (entry.status, entry.at, entry.detail) == (new, NOW, "moved")
    else:
        with pytest.raises(InvalidTransition):
            placed.move_to(new, NOW, "moved")
        assert placed.status is current
        assert placed.history == []


@given(current=statuses, new=statuses)
def test_no_transition_goes_back_or_skips_a_step(current: OrderStatus, new: OrderStatus) -> None:
    if not can_transition(current, new):
        return
    if new in (S.REJECTED, S.CANCELLED):
        assert current not in (S.REJECTED, S.CANCELLED, S.RETURNED, S.DELIVERED)
    else:
        lateral = {current, new} == {S.SHIPPED, S.READY_FOR_PICKUP}
        assert lateral or STEP[new] == STEP[current] + 1


@pytest.mark.parametrize("terminal", [S.REJECTED, S.CANCELLED, S.RETURNED])
def test_terminal_statuses_have_no_way_out(terminal: OrderStatus) -> None:
    placed = order(status=terminal)
    for new in OrderStatus:
        with pytest.raises(InvalidTransition):
            placed.move_to(new, NOW, "after the end")
    assert placed.status is terminal


def test_skipping_payment_straight_to_reserved_is_refused() -> None:
    placed = order()
    with pytest.raises(InvalidTransition):
        placed.move_to(S.RESERVED, NOW, "skip")


def test_delivered_order_cannot_go_back_to_shipped() -> None:
    placed = order(status=S.DELIVERED)
    with pytest.raises(InvalidTransition):
        placed.move_to(S.SHIPPED, NOW, "back")


def test_invalid_transition_is_a_conflict() -> None:
    assert issubclass(InvalidTransition, Conflict)
    assert InvalidTransition("x").status == 409


def test_record_payment_authorises_the_total_captures_nothing_and_marks_the_order_paid() -> None:
    placed = order(line("TSHIRT-BLK-M", 2), line("MUG-WHT", 1))
    entry = placed.record_payment("pay_123", NOW)
    assert placed.status is S.PAID
    assert placed.payment.status is PaymentStatus.AUTHORIZED
    assert placed.payment.payment_id == "pay_123"
    assert placed.payment.authorized == Money.of("48.40")
    assert placed.payment.captured is None
    assert entry.status is S.PAID
    assert "48.40" in entry.detail


def test_payment_cannot_be_recorded_twice() -> None:
    placed = paid()
    with pytest.raises(InvalidTransition):
        placed.record_payment("pay_again", NOW)


def test_payment_cannot_be_recorded_on_a_cancelled_order() -> None:
    placed = order(status=S.CANCELLED)
    with pytest.raises(InvalidTransition):
        placed.record_payment("pay_late", NOW)
    assert placed.status is S.CANCELLED


def test_declined_payment_rejects_the_order_with_a_declined_payment() -> None:
    placed = order()
    placed.reject(StatusReason.PAYMENT_DECLINED, NOW, "the card was declined")
    assert placed.status is S.REJECTED
    assert placed.status_reason is StatusReason.PAYMENT_DECLINED
    assert placed.payment.status is PaymentStatus.DECLINED
    assert placed.payment.authorized is None
    assert placed.history[-1].detail == "the card was declined"


def test_unavailable_gateway_rejects_the_order_as_payment_declined_with_its_cause() -> None:
    placed = order()
    placed.reject(
        StatusReason.PAYMENT_DECLINED, NOW, "gateway down", PaymentFailure.GATEWAY_UNAVAILABLE
    )
    assert placed.status is S.REJECTED
    # API.md fixes the reasons: the payment could not be authorised; the cause is kept.
    assert placed.status_reason is StatusReason.PAYMENT_DECLINED
    assert placed.payment.status is PaymentStatus.FAILED
    assert placed.payment.failure is PaymentFailure.GATEWAY_UNAVAILABLE
    assert placed.payment.authorized is None
    assert placed.reason_cause() == "gateway_unavailable"


def test_a_declined_card_is_the_failure_of_a_payment_declined_rejection() -> None:
    placed = order()
    placed.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
    assert placed.payment.failure is PaymentFailure.DECLINED
    assert placed.reason_cause() == "payment_declined"


def test_an_order_stored_with_the_old_unavailable_reason_reads_as_payment_declined() -> None:
    placed = order()
    placed.reject(
        StatusReason.PAYMENT_DECLINED, NOW, "gateway down", PaymentFailure.GATEWAY_UNAVAILABLE
    )
    stored = placed.model_dump(mode="json")
    stored["status_reason"] = "payment_unavailable"
    stored["payment"].pop("failure")
    read = Order.model_validate(stored)
    assert read.status_reason is StatusReason.PAYMENT_DECLINED
    assert read.payment.failure is PaymentFailure.GATEWAY_UNAVAILABLE
    assert "payment_unavailable" not in {r.value for r in StatusReason}


def test_out_of_stock_rejection_keeps_the_authorisation_for_the_void() -> None:
    placed = paid()
    placed.reject(StatusReason.OUT_OF_STOCK, NOW, "not enough stock")
    assert placed.status is S.REJECTED
    assert placed.status_reason is StatusReason.OUT_OF_STOCK
    assert placed.payment.status is PaymentStatus.AUTHORIZED
    assert placed.payment.authorized == placed.total


def test_an_out_of_stock_rejection_records_and_details_the_skus_that_ran_out() -> None:
    # Probe 224: ops could not tell from the order which SKU failed. The cause read back
    # from the detail stays API.md's code, and an order told nothing short keeps the
    # bare words (its stock spread over too many places).
    placed = paid(line("TSHIRT-BLK-M", 2), line("MUG-WHT", 1))
    detail = out_of_stock_detail(["MUG-WHT"])
    placed.reject(StatusReason.OUT_OF_STOCK, NOW, detail, None, ["MUG-WHT"])
    assert placed.history[-1].detail == "not enough stock of MUG-WHT; nothing charged"
    assert placed.out_of_stock_skus == ["MUG-WHT"]
    assert rejection_cause(detail) == "out_of_stock" == placed.step_causes()[-1]
    assert out_of_stock_detail([]) == OUT_OF_STOCK_DETAIL
    assert rejection_cause(OUT_OF_STOCK_DETAIL) == "out_of_stock"
    assert rejection_cause("the card was declined") == "payment_declined"
    # Stored only where there is something to store.
    assert "out_of_stock_skus" not in paid().model_dump(exclude_defaults=True)
    assert Order.model_validate(placed.model_dump(mode="json")).out_of_stock_skus == ["MUG-WHT"]


def test_a_declined_authorisation_keeps_the_gateways_payment_id() -> None:
    placed = order()
    placed.record_decline("pay_declined_1")
    placed.reject(StatusReason.PAYMENT_DECLINED, NOW, "the card was declined")
    assert placed.payment.status is PaymentStatus.DECLINED
    assert placed.payment.payment_id == "pay_declined_1"


def test_reserved_order_cannot_be_rejected() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    with pytest.raises(InvalidTransition):
        placed.reject(StatusReason.OUT_OF_STOCK, NOW, "too late")


@pytest.mark.parametrize("status", [S.ACCEPTED, S.PAID])
def test_order_can_be_cancelled_before_it_is_reserved(status: OrderStatus) -> None:
    placed = order(status=status)
    entry = placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "changed my mind")
    assert placed.status is S.CANCELLED
    assert placed.status_reason is StatusReason.CUSTOMER_REQUEST
    assert entry.detail == "changed my mind"


def test_cancelling_a_reserved_order_cancels_every_fulfillment() -> None:
    lines = [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)]
    placed = reserved(
        lines, [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)]
    )
    held = sorted(placed.reserved_allocations(), key=lambda a: a.sku)
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "cancel")
    assert placed.status is S.CANCELLED
    assert {f.status for f in placed.fulfillments} == {FulfillmentStatus.CANCELLED}
    # Each part says why, as the order does (a re-probe found the parts' reason null).
    assert {f.status_reason for f in placed.fulfillments} == {StatusReason.CUSTOMER_REQUEST}
    assert [(a.sku, a.location_id, a.quantity) for a in held] == [
        ("MUG-WHT", STORE_SOL, 1),
        ("TSHIRT-BLK-M", WAREHOUSE, 1),
    ]
    assert placed.reserved_allocations() == []


def test_a_part_cancelled_before_the_order_keeps_its_own_reason() -> None:
    placed = mixed_order()
    mug = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    shirt = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    placed.ready_for_pickup(mug, "123456", NOW + timedelta(days=3), NOW)
    placed.cancel_fulfillment(mug, StatusReason.NOT_COLLECTED, NOW + timedelta(days=3))

    placed.cancel(NOW + timedelta(days=3), StatusReason.CUSTOMER_REQUEST, "cancel")

    assert placed.fulfillment(mug).status_reason is StatusReason.NOT_COLLECTED
    assert placed.fulfillment(shirt).status_reason is StatusReason.CUSTOMER_REQUEST


def test_order_ready_for_pickup_can_still_be_cancelled() -> None:
    placed = reserved([pickup("MUG-WHT", 1)], [allocate("MUG-WHT", STORE_SOL, 1)])
    fid = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.ready_for_pickup(fid, "123456", NOW + timedelta(days=3), NOW)
    assert placed.status is S.READY_FOR_PICKUP
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "cancel")
    assert placed.status is S.CANCELLED


def test_shipped_order_cannot_be_cancelled() -> None:
    placed = reserved([line("MUG-WHT", 1)], [allocate("MUG-WHT", WAREHOUSE, 1)])
    placed.dispatch_shipment(placed.fulfillments[0].fulfillment_id, shipment(), NOW)
    assert placed.status is S.SHIPPED
    with pytest.raises(Conflict) as raised:
        placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "too late")
    assert raised.value.field == "status"
    assert placed.status is S.SHIPPED
    assert placed.fulfillments[0].status is FulfillmentStatus.SHIPPED


def test_order_with_one_fulfillment_shipped_cannot_be_cancelled_while_it_looks_reserved() -> None:
    # A ship fulfillment left the warehouse while the pick-up is still being picked: the
    # order's status is still RESERVED, yet something is on a van.
    lines = [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)]
    placed = reserved(
        lines, [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)]
    )
    ship_id = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    assert placed.status is S.RESERVED
    with pytest.raises(Conflict):
        placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "too late")
    assert placed.status is S.RESERVED
    assert placed.fulfillment(ship_id).status is FulfillmentStatus.SHIPPED


@pytest.mark.parametrize("status", [S.DELIVERED, S.RETURNED, S.REJECTED, S.CANCELLED])
def test_finished_orders_cannot_be_cancelled(status: OrderStatus) -> None:
    placed = order(status=status)
    with pytest.raises(Conflict):
        placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "cancel")
    assert placed.status is status
