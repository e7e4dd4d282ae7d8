"""The sandbox payment gateway on moto, on the running stack's table, with fresh order ids:
an authorisation held once per order and card, declines and an unavailable gateway, each
idempotency key moving money once, refusals beyond what was authorised or captured, flaky
refunds and voids, a lost capture reply retried. Split from test_dynamo_store.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.domain.errors import PaymentDeclined, PaymentGatewayUnavailable, PaymentRefused
from chalicelib.domain.money import Money


def _ord() -> str:
    return f"ord_it_{uuid.uuid4().hex[:12]}"


def test_an_authorisation_is_held_once_per_order(deps: Any) -> None:
    order_id = _ord()
    first = deps.payments.authorize(order_id, Money.of("42.00"), "tok_visa")
    second = deps.payments.authorize(order_id, Money.of("42.00"), "tok_visa")
    assert first == second
    ledger = deps.payments.statement(first)
    assert ledger["authorized"] == {"amount": "42.00", "currency": "EUR"}
    assert ledger["captured"] == ledger["refunded"] == ledger["voided"]
    assert ledger["captured"] == {"amount": "0.00", "currency": "EUR"}
    assert [op["type"] for op in ledger["operations"]] == ["authorize"]


def test_racing_authorisations_hold_once_and_a_new_card_is_a_new_payment(deps: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    order_id = _ord()
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(
            pool.map(
                lambda _: deps.payments.authorize(order_id, Money.of("9.00"), "tok_visa"), range(8)
            )
        )
    assert len(ids) == 1
    (payment_id,) = ids
    assert [op["type"] for op in deps.payments.statement(payment_id)["operations"]] == ["authorize"]
    other_card = deps.payments.authorize(order_id, Money.of("9.00"), "tok_mastercard")
    assert other_card != payment_id
    assert deps.payments.authorize(_ord(), Money.of("9.00"), "tok_visa") != payment_id


def test_a_declined_card_keeps_its_payment_id_and_an_unavailable_gateway_records_nothing(
    deps: Any,
) -> None:
    order_id = _ord()
    with pytest.raises(PaymentDeclined) as declined:
        deps.payments.authorize(order_id, Money.of("5.00"), "tok_declined")
    payment_id = declined.value.payment_id
    assert payment_id
    assert deps.payments.statement(payment_id)["authorized"]["amount"] == "0.00"
    with pytest.raises(PaymentDeclined):  # asked again: the same decline, same id
        deps.payments.authorize(order_id, Money.of("5.00"), "tok_declined")
    with pytest.raises(PaymentGatewayUnavailable):
        deps.payments.authorize(_ord(), Money.of("5.00"), "tok_unavailable")


def test_each_key_moves_money_once(deps: Any) -> None:
    order_id = _ord()
    payment_id = deps.payments.authorize(order_id, Money.of("30.00"), "tok_visa")
    capture = deps.payments.capture(payment_id, Money.of("20.00"), f"{order_id}:F1:capture")
    assert deps.payments.capture(payment_id, Money.of("20.00"), f"{order_id}:F1:capture") == capture
    void = deps.payments.void(payment_id, Money.of("10.00"), f"{order_id}:F2:void")
    assert deps.payments.void(payment_id, Money.of("10.00"), f"{order_id}:F2:void") == void
    refund = deps.payments.refund(payment_id, Money.of("5.00"), f"{order_id}:ret_a:refund")
    assert deps.payments.refund(payment_id, Money.of("5.00"), f"{order_id}:ret_a:refund") == refund
    ledger = deps.payments.statement(payment_id)
    assert [op["type"] for op in ledger["operations"]] == [
        "authorize",
        "capture",
        "void",
        "refund",
    ]
    assert (ledger["captured"]["amount"], ledger["voided"]["amount"]) == ("20.00", "10.00")
    assert ledger["refunded"]["amount"] == "5.00"


def test_the_gateway_refuses_more_than_authorised_or_captured(deps: Any) -> None:
    order_id = _ord()
    payment_id = deps.payments.authorize(order_id, Money.of("30.00"), "tok_visa")
    with pytest.raises(PaymentRefused):
        deps.payments.refund(payment_id, Money.of("1.00"), f"{order_id}:x:refund")
    deps.payments.void(payment_id, Money.of("25.00"), f"{order_id}:F1:void")
    with pytest.raises(PaymentRefused):
        deps.payments.capture(payment_id, Money.of("5.01"), f"{order_id}:F2:capture")
    deps.payments.capture(payment_id, Money.of("5.00"), f"{order_id}:F2:capture")
    with pytest.raises(PaymentRefused):
        deps.payments.refund(payment_id, Money.of("5.01"), f"{order_id}:y:refund")
    ledger = deps.payments.statement(payment_id)
    assert ledger["refunded"]["amount"] == "0.00"


def test_flaky_refunds_and_voids_fail_twice_then_succeed_once(deps: Any) -> None:
    for token, call in (("tok_refund_flaky", "refund"), ("tok_void_flaky", "void")):
        order_id = _ord()
        payment_id = deps.payments.authorize(order_id, Money.of("30.00"), token)
        if call == "refund":
            deps.payments.capture(payment_id, Money.of("30.00"), f"{order_id}:F1:capture")
        key = f"{order_id}:F1:{call}"
        for _ in range(2):
            with pytest.raises(PaymentGatewayUnavailable):
                getattr(deps.payments, call)(payment_id, Money.of("30.00"), key)
        first = getattr(deps.payments, call)(payment_id, Money.of("30.00"), key)
        assert getattr(deps.payments, call)(payment_id, Money.of("30.00"), key) == first
        ops = [op["type"] for op in deps.payments.statement(payment_id)["operations"]]
        assert ops.count(call) == 1


def test_a_lost_capture_reply_is_retried_without_capturing_twice(deps: Any) -> None:
    order_id = _ord()
    payment_id = deps.payments.authorize(order_id, Money.of("30.00"), "tok_reply_lost")
    key = f"{order_id}:F1:capture"
    with pytest.raises(PaymentGatewayUnavailable):
        deps.payments.capture(payment_id, Money.of("30.00"), key)
    # Done at the gateway although the caller never heard it.
    assert deps.payments.statement(payment_id)["captured"]["amount"] == "30.00"
    deps.payments.capture(payment_id, Money.of("30.00"), key)
    ledger = deps.payments.statement(payment_id)
    assert ledger["captured"]["amount"] == "30.00"
    assert [op["type"] for op in ledger["operations"]] == ["authorize", "capture"]


def test_an_operation_on_a_payment_the_gateway_does_not_know_is_refused(deps: Any) -> None:
    # Probe 249: the ledger gone (an expired authorisation, at a real gateway), each void
    # raised NotFound, which settlement neither counted nor alerted on.
    unknown = f"pay_{uuid.uuid4().hex[:16]}"
    for operate in (deps.payments.void, deps.payments.capture, deps.payments.refund):
        with pytest.raises(PaymentRefused, match="knows no payment"):
            operate(unknown, Money.of("4.95"), f"{unknown}:{operate.__name__}")
