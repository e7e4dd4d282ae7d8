"""Plain values to and from DynamoDB attribute values, as boto3's ``TypeSerializer`` and
``TypeDeserializer`` convert them (tests/unit/test_attribute_values.py compares the two).

Here rather than imported from ``boto3.dynamodb.types``: importing any part of boto3 runs
``boto3/__init__``, which imports s3transfer (and multiprocessing, concurrent.futures),
about 15 ms of every function's cold start for S3 transfers the app never makes. The
clients come from botocore (chalicelib/composition.py).

One difference: a binary value reads back as ``bytes``, not boto3's ``Binary`` wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 digits, exponents -128 to 126; anything it would round is refused.
DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray)


def _is_set_of(value: Any, is_member: Callable[[Any], bool]) -> bool:
    return isinstance(value, Set) and all(is_member(member) for member in value)


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


class TypeSerializer:
    """Python values to DynamoDB attribute values."""

    def serialize(self, value: Any) -> dict[str, Any]:
        """``None``, bools, ints and Decimals, strings, bytes, sets of numbers, strings or
        bytes, mappings, lists and tuples; floats and anything else are a ``TypeError``."""
        if value is None:
            return {"NULL": True}
        if isinstance(value, bool):
            return {"BOOL": value}
        if _is_number(value):
            return {"N": _number(value)}
        if isinstance(value, str):
            return {"S": value}
        if _is_binary(value):
            return {"B": value}
        if _is_set_of(value, _is_number):
            return {"NS": [_number(member) for member in value]}
        if _is_set_of(value, _is_string):
            return {"SS": list(value)}
        if _is_set_of(value, _is_binary):
            return {"BS": list(value)}
        if isinstance(value, Mapping):
            return {"M": {key: self.serialize(inner) for key, inner in value.items()}}
        if isinstance(value, list | tuple):
            return {"L": [self.serialize(inner) for inner in value]}
        raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


class TypeDeserializer:
    """DynamoDB attribute values to Python values (numbers as ``Decimal``)."""

    def deserialize(self, value: Mapping[str, Any]) -> Any:
        """The value one attribute value holds."""
        if not value:
            raise TypeError(
                "Value must be a nonempty dictionary whose key is a valid dynamodb type."
            )
        kind, held = next(iter(value.items()))
        if kind == "NULL":
            return None
        if kind in ("S", "BOOL"):
            return held
        if kind == "N":
            return DYNAMODB_CONTEXT.create_decimal(held)
        if kind == "B":
            return bytes(held)
        if kind == "SS":
            return set(held)
        if kind == "NS":
            return {DYNAMODB_CONTEXT.create_decimal(member) for member in held}
        if kind == "BS":
            return {bytes(member) for member in held}
        if kind == "L":
            return [self.deserialize(inner) for inner in held]
        if kind == "M":
            return {key: self.deserialize(inner) for key, inner in held.items()}
        raise TypeError(f"Dynamodb type {kind} is not supported")
