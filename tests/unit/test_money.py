"""Money: decimal amounts to the cent, one currency at a time, never floats."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.money import Money

cents = st.integers(min_value=-(10**9), max_value=10**9)


def test_amount_is_serialised_as_a_decimal_string_with_two_places() -> None:
    assert Money.of("12.5").model_dump(mode="json") == {"amount": "12.50", "currency": "EUR"}
    assert Money.of(3).model_dump(mode="json") == {"amount": "3.00", "currency": "EUR"}


def test_json_carries_no_float() -> None:
    document = json.loads(Money.of("19.95", "USD").model_dump_json())
    assert document == {"amount": "19.95", "currency": "USD"}
    assert isinstance(document["amount"], str)


def test_amount_is_a_decimal_rounded_half_up_to_the_cent() -> None:
    assert Money.of("2.675").amount == Decimal("2.68")
    assert Money.of("2.665").amount == Decimal("2.67")
    assert Money.of("-0.005").amount == Decimal("-0.01")
    assert isinstance(Money.of("1").amount, Decimal)


def test_adding_cents_is_exact_where_floats_are_not() -> None:
    assert Money.of("0.10") + Money.of("0.20") == Money.of("0.30")
    total = Money.zero()
    for _ in range(10):
        total = total + Money.of("0.10")
    assert total == Money.of("1.00")


def test_subtracting_and_multiplying() -> None:
    assert Money.of("50.00") - Money.of("19.95") == Money.of("30.05")
    assert Money.of("19.95").times(3) == Money.of("59.85")
    assert Money.of("8.50").times(0) == Money.zero()


def test_zero_is_zero_in_its_currency() -> None:
    assert Money.zero("USD").model_dump(mode="json") == {"amount": "0.00", "currency": "USD"}


def test_mixing_currencies_raises() -> None:
    with pytest.raises(ValueError, match="EUR"):
        Money.of("1.00", "EUR") + Money.of("1.00", "USD")
    with pytest.raises(ValueError):
        Money.of("1.00", "EUR") - Money.of("1.00", "GBP")


def test_money_is_immutable() -> None:
    price = Money.of("1.00")
    with pytest.raises(ValueError):
        price.amount = Decimal("2.00")  # type: ignore[misc]


def test_money_round_trips_through_its_wire_form() -> None:
    price = Money.of("12.50", "EUR")
    assert Money.model_validate(price.model_dump(mode="json")) == price


@given(a=cents, b=cents)
def test_addition_matches_integer_cents(a: int, b: int) -> None:
    total = Money.of(Decimal(a) / 100) + Money.of(Decimal(b) / 100)
    assert total.amount * 100 == a + b
    assert total.model_dump(mode="json")["amount"] == f"{Decimal(a + b) / 100:.2f}"


@given(a=cents, quantity=st.integers(min_value=0, max_value=999))
def test_times_matches_integer_cents(a: int, quantity: int) -> None:
    assert Money.of(Decimal(a) / 100).times(quantity).amount * 100 == a * quantity
