"""The app's DynamoDB attribute values (chalicelib/adapters/dynamodb/attribute_values.py)
are boto3's: any value serialises as boto3's ``TypeSerializer`` does, any attribute value
reads back as its ``TypeDeserializer`` reads it (binary as plain bytes), and values boto3
refuses are refused with the same error."""

from __future__ import annotations

from decimal import Decimal, Inexact, Rounded
from typing import Any

import pytest
from boto3.dynamodb.types import Binary
from boto3.dynamodb.types import TypeDeserializer as Boto3Deserializer
from boto3.dynamodb.types import TypeSerializer as Boto3Serializer
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.dynamodb.attribute_values import TypeDeserializer, TypeSerializer

ours, theirs = TypeSerializer(), Boto3Serializer()
our_reader, their_reader = TypeDeserializer(), Boto3Deserializer()

numbers = st.integers(min_value=-(10**37), max_value=10**37) | st.decimals(
    allow_nan=False, allow_infinity=False, places=4, min_value=-(10**20), max_value=10**20
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=8) | st.binary(max_size=8)
sets = (
    st.frozensets(numbers, min_size=1, max_size=4)
    | st.frozensets(st.text(max_size=4), min_size=1, max_size=4)
    | st.frozensets(st.binary(max_size=4), min_size=1, max_size=4)
)
values = st.recursive(
    scalars | sets,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


def _same_error(value: Any) -> None:
    with pytest.raises(TypeError) as theirs_raised:
        theirs.serialize(value)
    with pytest.raises(TypeError) as ours_raised:
        ours.serialize(value)
    assert str(ours_raised.value) == str(theirs_raised.value)


@pytest.mark.parametrize(
    "refused",
    [1.5, {"a": [0.1]}, Decimal("NaN"), Decimal("Infinity"), object(), {1.0, 2.0}],
    ids=["float", "nested float", "nan", "infinity", "object", "set of floats"],
)
def test_values_boto3_refuses_are_refused_alike(refused: Any) -> None:
    _same_error(refused)


def test_numbers_dynamodb_would_round_are_refused_as_boto3_refuses_them() -> None:
    for value in (Decimal("1." + "1" * 40), 10**40 + 1):
        with pytest.raises((Inexact, Rounded)):
            theirs.serialize(value)
        with pytest.raises((Inexact, Rounded)):
            ours.serialize(value)


def test_attribute_values_boto3_cannot_read_are_refused_alike() -> None:
    for bad in ({}, {"X": "1"}):
        with pytest.raises(TypeError):
            their_reader.deserialize(bad)
        with pytest.raises(TypeError):
            our_reader.deserialize(bad)


def _as_boto3_reads(value: Any) -> Any:
    """What boto3 reads back, with its Binary wrapper as the bytes it wraps."""
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, dict):
        return {key: _as_boto3_reads(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_as_boto3_reads(inner) for inner in value]
    if isinstance(value, set):
        return {_as_boto3_reads(inner) for inner in value}
    return value


def _same_members(attribute: Any) -> Any:
    """Sets serialise in iteration order: compare their members, not their order."""
    if isinstance(attribute, dict):
        return {
            key: sorted(inner, key=repr) if key in ("NS", "SS", "BS") else _same_members(inner)
            for key, inner in attribute.items()
        }
    if isinstance(attribute, list):
        return [_same_members(inner) for inner in attribute]
    return attribute


@given(values)
def test_every_value_serialises_and_reads_back_as_boto3_does(value: Any) -> None:
    attribute = ours.serialize(value)
    assert _same_members(attribute) == _same_members(theirs.serialize(value))
    assert our_reader.deserialize(attribute) == _as_boto3_reads(their_reader.deserialize(attribute))
