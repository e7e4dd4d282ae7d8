"""What the order's state calls for at the gateway: captures at hand-over, voids for what
is never handed over, refunds only of captured money, each keyed by its cause."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain import settlement as rules
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentStatus
from chalicelib.domain.returns import ReturnLine
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import (
    NOW,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    fulfillment_id,
    line,
    order,
    paid,
    pickup,
    shipment,
)


def _owed(placed: Order) -> list[tuple[str, str, str]]:
    return [
        (op.key.removeprefix(f"{placed.order_id}:"), op.type.value, str(op.amount.amount))
        for op in rules.record_owed(placed, NOW)
    ]


def _settle_all(placed: Order) -> None:
    for op in rules.owed_in_order(placed):
        rules.confirm(placed, op.key, NOW)


def _mixed(fee: str = "0") -> Order:
    """A T-shirt shipped from the warehouse and a cap to collect at Sol."""
    placed = order(line("TSHIRT-BLK-M", 1), pickup("CAP-RED", 1, STORE_SOL))
    placed.total = placed.total + Money.of(fee)
    placed.record_payment("pay_1", NOW)
    placed.reserve(
        [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("CAP-RED", STORE_SOL, 1)], "t", NOW
    )
    return placed


def test_nothing_is_owed_while_the_order_is_only_authorised() -> None:
    placed = _mixed()
    assert _owed(placed) == []
    assert placed.payment.status is PaymentStatus.AUTHORIZED


def test_a_rejection_before_reservation_voids_the_whole_authorisation_once() -> None:
    placed = paid(line("MUG-WHT", 2))
    placed.reject(StatusReason.OUT_OF_STOCK, NOW, "no stock")
    assert _owed(placed) == [("order:void", "void", "17.00")]
    assert _owed(placed) == []  # the same cause is never recorded twice
    _settle_all(placed)
    assert placed.payment.status is PaymentStatus.VOIDED
    assert placed.payment.voided == Money.of("17.00")


def test_each_part_is_captured_at_hand_over_and_the_uncollected_one_voided() -> None:
    placed = _mixed(fee="4.95")
    ship = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    cap = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship, shipment(), NOW)
    # The shipping fee goes with the first shipment.
    assert _owed(placed) == [
        (f"{ship}:capture", "capture", "19.95"),
        ("shipping:capture", "capture", "4.95"),
    ]
    placed.ready_for_pickup(cap, "123456", NOW + timedelta(days=3), NOW)
    placed.cancel_fulfillment(cap, StatusReason.NOT_COLLECTED, NOW)
    assert _owed(placed) == [(f"{cap}:void", "void", "12.00")]
    placed.deliver(ship, NOW)
    _settle_all(placed)
    assert placed.payment.captured == Money.of("24.90")
    assert placed.payment.voided == Money.of("12.00")
    assert rules.kept_value(placed) == Money.of("24.90")


def test_a_lost_parcel_is_refunded_with_its_shipping_fee_when_nothing_else_was_delivered() -> None:
    placed = _mixed(fee="4.95")
    ship = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    cap = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship, shipment(), NOW)
    placed.ready_for_pickup(cap, "123456", NOW + timedelta(days=3), NOW)
    placed.deliver(cap, NOW)
    rules.record_owed(placed, NOW)
    _settle_all(placed)
    placed.fulfillment(ship).status = FulfillmentStatus.LOST
    assert _owed(placed) == [
        (f"{ship}:refund", "refund", "19.95"),
        ("shipping:refund", "refund", "4.95"),
    ]
    _settle_all(placed)
    assert placed.payment.captured is not None and placed.payment.refunded is not None
    kept = placed.payment.captured - placed.payment.refunded
    assert kept == rules.kept_value(placed) == Money.of("12.00")
    assert placed.payment.status is PaymentStatus.PARTIALLY_REFUNDED


def test_a_received_return_is_refunded_under_its_own_key() -> None:
    placed = paid(line("TSHIRT-BLK-M", 2))
    placed.reserve([allocate("TSHIRT-BLK-M", WAREHOUSE, 2)], "t", NOW)
    (only,) = placed.fulfillments
    placed.dispatch_shipment(only.fulfillment_id, shipment(), NOW)
    placed.deliver(only.fulfillment_id, NOW)
    rules.record_owed(placed, NOW)
    _settle_all(placed)
    placed.request_return(
        "ret_1", [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)], "r", "store", None, NOW
    )
    assert _owed(placed) == []  # asked for, not yet received: nothing to give back
    placed.receive_return("ret_1", WAREHOUSE, NOW)
    assert _owed(placed) == [("ret_1:refund", "refund", "19.95")]


def test_an_operation_that_keeps_failing_alerts_once_and_marks_the_order() -> None:
    placed = paid(line("MUG-WHT", 1))
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "no")
    (op,) = rules.record_owed(placed, NOW)
    alerts = [
        rules.record_failure(placed, op.key, "PaymentGatewayUnavailable", NOW) for _ in range(6)
    ]
    assert alerts == [False, False, False, True, False, False]
    assert placed.attention is not None and placed.attention.kind == "payment"
    rules.confirm(placed, op.key, NOW)
    assert placed.attention is None
    assert placed.payment.owed() == []


def _goods_free(fee: str = "0") -> Order:
    """``_mixed`` with a 100 % coupon on the goods: only the shipping fee, if any, is paid."""
    placed = order(line("TSHIRT-BLK-M", 1), pickup("CAP-RED", 1, STORE_SOL))
    for each in placed.lines:
        each.charged = Money.zero()
    placed.total = Money.of(fee)
    placed.record_payment("pay_1", NOW)
    placed.reserve(
        [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("CAP-RED", STORE_SOL, 1)], "t", NOW
    )
    return placed


def _hand_over(placed: Order) -> None:
    ship = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    cap = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship, shipment(), NOW)
    placed.deliver(ship, NOW)
    placed.ready_for_pickup(cap, "123456", NOW + timedelta(days=3), NOW)
    placed.deliver(cap, NOW)
    rules.record_owed(placed, NOW)
    _settle_all(placed)


def _return_all(placed: Order) -> None:
    placed.request_return(
        "ret_1",
        [ReturnLine(sku="TSHIRT-BLK-M", quantity=1), ReturnLine(sku="CAP-RED", quantity=1)],
        "r",
        "store",
        None,
        NOW,
    )
    placed.receive_return("ret_1", WAREHOUSE, NOW)


def test_an_order_of_nothing_is_voided_at_once_when_it_ends() -> None:
    placed = _goods_free()
    placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "no")
    assert _owed(placed) == []  # the gateway is never asked to void 0.00
    assert placed.payment.status is PaymentStatus.VOIDED


def test_an_order_of_nothing_reads_captured_then_refunded_as_it_goes() -> None:
    placed = _goods_free()
    _hand_over(placed)
    assert _owed(placed) == []  # nor to capture 0.00
    assert placed.payment.status is PaymentStatus.CAPTURED
    _return_all(placed)
    assert _owed(placed) == []
    assert placed.payment.status is PaymentStatus.REFUNDED
    assert placed.payment.refunded == placed.payment.captured == Money.zero()


def test_a_refund_of_nothing_leaves_a_kept_shipping_fee_captured() -> None:
    placed = _goods_free(fee="4.95")
    _hand_over(placed)
    _return_all(placed)
    assert _owed(placed) == []  # the goods were free; the fee is kept
    assert placed.payment.status is PaymentStatus.CAPTURED
    assert placed.payment.captured == Money.of("4.95")


def test_a_free_part_handed_over_leaves_an_order_with_money_authorised_until_captured() -> None:
    # Only an order of 0.00 counts its 0.00 operations as done: one with a fee to capture
    # reads what the gateway confirmed, not CAPTURED while its capture is still owed.
    placed = _goods_free(fee="4.95")
    cap = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.ready_for_pickup(cap, "123456", NOW + timedelta(days=3), NOW)
    placed.deliver(cap, NOW)
    rules.record_owed(placed, NOW)
    assert placed.payment.status is PaymentStatus.AUTHORIZED
