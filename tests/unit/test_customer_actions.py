"""The customer's own page: which of cancel, return, ticket and pay are possible now."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.customer_actions import (
    PAYMENT_RETRY_WINDOW,
    CustomerAction,
    OrderFacts,
    ReturnableLine,
    available_actions,
    can_cancel,
    can_open_ticket,
    can_pay_again,
    facts_of,
    reopen_for_payment,
)
from chalicelib.domain.errors import ActionNotAvailable, Conflict
from chalicelib.domain.orders import (
    FulfillmentStatus,
    FulfillmentType,
    Order,
    OrderStatus,
    PaymentStatus,
    ReturnLine,
    StatusReason,
)
from chalicelib.domain.payments import PaymentFailure
from tests.support.builders import (
    NOW,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    delivered,
    fulfillment_id,
    line,
    new_id,
    order,
    paid,
    pickup,
    reserved,
    shipment,
)

CANCEL, RETURN, TICKET, PAY = (
    CustomerAction.CANCEL,
    CustomerAction.RETURN,
    CustomerAction.TICKET,
    CustomerAction.PAY,
)
WINDOW = timedelta(days=30)
# The window ends 30 days after NOW (the builders' delivered() sets it so).
WINDOW_ENDS = NOW + WINDOW
TICK = timedelta(microseconds=1)


def known(placed: Order) -> Order:
    """The order, on a known customer's record."""
    placed.customer_id = new_id("cus")
    return placed


def declined(at_hours_ago: float = 1) -> tuple[Order, datetime]:
    """A web order rejected for a declined card, and when."""
    placed = known(order())
    rejected_at = NOW - timedelta(hours=at_hours_ago)
    placed.reject(StatusReason.PAYMENT_DECLINED, rejected_at, "the card was declined")
    return placed, rejected_at


def actions(
    placed: Order, now: datetime = NOW, payment_retry_window: timedelta = PAYMENT_RETRY_WINDOW
) -> list[CustomerAction]:
    return available_actions(facts_of(placed), now, payment_retry_window).actions


# --- cancel ---------------------------------------------------------------------------


def test_a_new_order_can_be_cancelled_and_asked_about() -> None:
    assert actions(known(order())) == [CANCEL, TICKET]
    assert actions(known(paid())) == [CANCEL, TICKET]


def test_a_reserved_order_and_a_pickup_waiting_in_store_can_be_cancelled() -> None:
    lines = [pickup("MUG-WHT", 1)]
    waiting = known(reserved(lines, [allocate("MUG-WHT", STORE_SOL, 1)]))
    assert actions(waiting)[0] is CANCEL
    fid = fulfillment_id(waiting, FulfillmentType.PICKUP, STORE_SOL)
    waiting.ready_for_pickup(fid, "123456", NOW + timedelta(days=3), NOW)
    assert waiting.status is OrderStatus.READY_FOR_PICKUP
    assert actions(waiting)[0] is CANCEL


def test_once_anything_shipped_the_order_can_no_longer_be_cancelled() -> None:
    # A mixed order: the pick-up is still being prepared, but the parcel has left.
    lines = [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)]
    placed = known(
        reserved(lines, [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)])
    )
    placed.dispatch_shipment(
        fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE), shipment(), NOW
    )
    assert CANCEL not in actions(placed)
    # Refused naming what was handed over (a probe read "is READY_FOR_PICKUP" as the why).
    parcel = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    with pytest.raises(Conflict, match=f"{parcel} handed over already"):
        placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")


@pytest.mark.parametrize("status", ["REJECTED", "CANCELLED", "DELIVERED", "RETURNED", "SHIPPED"])
def test_orders_past_shipping_or_ended_cannot_be_cancelled(status: str) -> None:
    assert not can_cancel(status, [])


def test_cancel_rule_agrees_with_the_order_s_own_cancel() -> None:
    """Every order status against every fulfillment status: the page offers cancel exactly
    when ``Order.cancel`` would accept it."""
    for status, fstatus in itertools.product(OrderStatus, FulfillmentStatus):
        placed = reserved([line("CAP-RED", 1)], [allocate("CAP-RED", WAREHOUSE, 1)])
        placed.status = status
        placed.fulfillments[0].status = fstatus
        try:
            placed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")
            accepted = True
        except Conflict:
            accepted = False
        assert can_cancel(status.value, [fstatus.value]) is accepted, (status, fstatus)


# --- return ---------------------------------------------------------------------------


def test_a_delivered_order_offers_its_lines_back_within_the_window() -> None:
    placed = known(delivered(line("TSHIRT-BLK-M", 2), line("MUG-WHT", 1)))
    result = available_actions(facts_of(placed), NOW + timedelta(days=1))
    assert result.actions == [RETURN, TICKET]
    assert result.returnable == [
        ReturnableLine(sku="TSHIRT-BLK-M", name="Tshirt-Blk-M", quantity=2),
        ReturnableLine(sku="MUG-WHT", name="Mug-Wht", quantity=1),
    ]
    assert result.return_until == WINDOW_ENDS


def test_the_window_s_last_instant_still_counts_and_the_next_does_not() -> None:
    placed = known(delivered())
    assert RETURN in actions(placed, WINDOW_ENDS)
    late = available_actions(facts_of(placed), WINDOW_ENDS + TICK)
    assert RETURN not in late.actions
    assert late.returnable == [] and late.return_until is None


def test_nothing_can_be_returned_before_delivery() -> None:
    placed = known(reserved([line("CAP-RED", 1)], [allocate("CAP-RED", WAREHOUSE, 1)]))
    placed.dispatch_shipment(placed.fulfillments[0].fulfillment_id, shipment(), NOW)
    assert placed.status is OrderStatus.SHIPPED
    assert actions(placed) == [TICKET]


def test_units_already_asked_back_are_no_longer_offered() -> None:
    placed = known(delivered(line("TSHIRT-BLK-M", 2), line("MUG-WHT", 1)))
    placed.request_return(
        "ret_1", [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)], "size", "mail", None, NOW
    )
    result = available_actions(facts_of(placed), NOW)
    assert [(r.sku, r.quantity) for r in result.returnable] == [
        ("TSHIRT-BLK-M", 1),
        ("MUG-WHT", 1),
    ]
    placed.request_return(
        "ret_2",
        [ReturnLine(sku="TSHIRT-BLK-M", quantity=1), ReturnLine(sku="MUG-WHT", quantity=1)],
        "size",
        "store",
        STORE_SOL,
        NOW,
    )
    assert RETURN not in actions(placed)


def test_returnable_quantities_are_what_the_order_accepts_and_no_more() -> None:
    placed = known(delivered(line("SOCKS-3P", 3)))
    (offered,) = available_actions(facts_of(placed), NOW).returnable
    more = ReturnLine(sku=offered.sku, quantity=offered.quantity + 1)
    with pytest.raises(Conflict):
        placed.request_return("ret_x", [more], "r", "mail", None, NOW)
    exact = ReturnLine(sku=offered.sku, quantity=offered.quantity)
    placed.request_return("ret_y", [exact], "r", "mail", None, NOW)


def test_a_window_not_on_the_order_is_taken_from_the_delivery_and_the_setting() -> None:
    placed = known(delivered())
    placed.returns_window_ends = None
    delivered_at = placed.delivered_at()
    assert delivered_at is not None
    facts = facts_of(placed, return_window=timedelta(days=2))
    assert facts.return_window_ends == delivered_at + timedelta(days=2)
    assert RETURN not in available_actions(facts, delivered_at + timedelta(days=3)).actions
    # With no window known at all, the order sets no limit (as request_return does).
    assert RETURN in actions(placed, NOW + timedelta(days=400))


# --- ticket ---------------------------------------------------------------------------


def test_an_anonymous_order_offers_no_ticket_a_known_one_always_does() -> None:
    anonymous = order()
    assert anonymous.customer_id is None
    assert TICKET not in actions(anonymous)
    assert not can_open_ticket("")
    ended, _ = declined(at_hours_ago=1000)
    assert TICKET in actions(ended)


# --- pay again ------------------------------------------------------------------------


def test_a_declined_card_can_be_paid_again_within_48_hours() -> None:
    placed, rejected_at = declined()
    result = available_actions(facts_of(placed), NOW)
    assert result.actions == [TICKET, PAY]
    assert result.pay_until == rejected_at + PAYMENT_RETRY_WINDOW


def test_paying_again_closes_after_the_48th_hour() -> None:
    placed, rejected_at = declined()
    deadline = rejected_at + PAYMENT_RETRY_WINDOW
    assert PAY in actions(placed, deadline)
    late = available_actions(facts_of(placed), deadline + TICK)
    assert PAY not in late.actions and late.pay_until is None


def test_a_scaled_window_is_passed_in() -> None:
    placed, _ = declined(at_hours_ago=0)
    scaled = PAYMENT_RETRY_WINDOW / 1000  # 172.8 seconds
    assert PAY in actions(placed, NOW + timedelta(seconds=172), payment_retry_window=scaled)
    assert PAY not in actions(placed, NOW + timedelta(seconds=173), payment_retry_window=scaled)


@pytest.mark.parametrize(
    "reason",
    [StatusReason.OUT_OF_STOCK, StatusReason.PROCESSING_ERROR],
)
def test_other_rejections_cannot_be_paid_again(reason: StatusReason) -> None:
    placed = known(order())
    placed.reject(reason, NOW, "no")
    assert actions(placed) == [TICKET]


def test_a_payment_the_gateway_never_answered_can_be_paid_again() -> None:
    # Rejected payment_declined (API.md's reasons), the gateway down: nothing was charged
    # and paying again is the way on, as after a declined card.
    placed = known(order())
    rejected_at = NOW - timedelta(hours=1)
    placed.reject(
        StatusReason.PAYMENT_DECLINED,
        rejected_at,
        "gateway down",
        PaymentFailure.GATEWAY_UNAVAILABLE,
    )
    assert PAY in actions(placed)


def test_a_cancelled_order_cannot_be_paid_again() -> None:
    assert not can_pay_again("CANCELLED", "payment_declined", NOW, NOW, PAYMENT_RETRY_WINDOW)
    facts = OrderFacts(order_id="o", status="REJECTED", status_reason="payment_declined")
    assert PAY not in available_actions(facts, NOW).actions  # no rejection time known


def test_paying_again_reopens_the_same_order_with_the_new_card() -> None:
    placed, _ = declined()
    before = len(placed.history)
    entry = reopen_for_payment(placed, "tok_visa_2", NOW)
    assert placed.status is OrderStatus.ACCEPTED and placed.status_reason is None
    assert placed.payment.status is PaymentStatus.PENDING and placed.payment.payment_id is None
    assert placed.payment_token == "tok_visa_2"
    assert placed.history[-1] is entry and len(placed.history) == before + 1
    assert [e.status for e in placed.history][-2:] == [OrderStatus.REJECTED, OrderStatus.ACCEPTED]
    # It moves on as any order does.
    placed.record_payment("pay_2", NOW)
    assert placed.status is OrderStatus.PAID
    # Paid: nothing to pay again.
    assert PAY not in actions(placed)


def test_paying_again_late_or_on_another_order_is_refused() -> None:
    placed, rejected_at = declined()
    too_late = rejected_at + PAYMENT_RETRY_WINDOW + TICK
    with pytest.raises(ActionNotAvailable) as refused:
        reopen_for_payment(placed, "tok_visa", too_late)
    assert refused.value.status == 409 and refused.value.field == "payment"
    assert "time to pay again" in refused.value.detail
    assert placed.status is OrderStatus.REJECTED
    # A paid order was never declined: the refusal says so, not that a window passed (a
    # probe read "only within 0:00:08 of a declined card" on an order already paid).
    with pytest.raises(ActionNotAvailable) as refused:
        reopen_for_payment(known(paid()), "tok_visa", NOW)
    assert "only an order rejected for a declined card" in refused.value.detail


def test_require_names_the_action_refused() -> None:
    result = available_actions(facts_of(known(delivered())), NOW)
    result.require(RETURN)
    with pytest.raises(ActionNotAvailable, match="cancel"):
        result.require(CANCEL)
    assert result.codes() == ["return", "ticket"]
