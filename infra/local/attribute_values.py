"""Speed-up 14 of ``speedups``: botocore's client side checking and writing a DynamoDB
request's attribute values in one step. Like every speed-up it names the gap it closes and
is tested, in ``tests/integration/test_local_attribute_values.py``."""

from __future__ import annotations

import base64
import functools
from typing import Any

from infra.local.patching import apply_once

# DynamoDB's AttributeValue union: each member and its type in the service model.
_UNION = {
    "S": "string",
    "N": "string",
    "B": "blob",
    "SS": "list",
    "NS": "list",
    "BS": "list",
    "M": "map",
    "L": "list",
    "NULL": "boolean",
    "BOOL": "boolean",
}
# What botocore's validator checks beyond a value's type (``ParamValidator``).
_CONSTRAINTS = frozenset(("required", "min", "document", "union"))


class _Unplain(Exception):
    """A value left to botocore's own walk."""


def _unconstrained(*shapes: Any) -> bool:
    return all(not (_CONSTRAINTS & set(shape.metadata)) for shape in shapes)


def is_attribute_value_union(shape: Any) -> bool:
    """Whether ``shape`` is DynamoDB's AttributeValue as this module knows it: these members
    of these types, none renamed on the wire, nothing checked but types, maps and lists of
    itself. A model that differs is walked by botocore as before."""
    if shape.type_name != "structure" or shape.is_document_type:
        return False
    members = shape.members
    if {name: member.type_name for name, member in members.items()} != _UNION:
        return False
    if any("name" in member.serialization for member in members.values()):
        return False
    return (
        members["M"].value.name == shape.name
        and members["L"].member.name == shape.name
        and _unconstrained(shape, *members.values())
        and _unconstrained(members["M"].key, members["SS"].member, members["NS"].member)
        and _unconstrained(members["BS"].member)
    )


def plain_value(value: Any) -> bool:
    """Whether ``value`` is an attribute value botocore's validator finds nothing wrong
    with, judged by exact types (anything else is for botocore's walk to judge): one or
    more known members, texts as ``str``, flags as ``bool``, blobs as ``bytes``, sets as
    lists of those, maps with text keys and lists of attribute values."""
    if type(value) is not dict or not value:
        return False
    for tag, inner in value.items():
        kind = _UNION.get(tag)
        if kind == "string":
            ok = type(inner) is str
        elif kind == "boolean":
            ok = type(inner) is bool
        elif tag == "B":
            ok = type(inner) is bytes
        elif tag in ("SS", "NS"):
            ok = type(inner) is list and all(type(each) is str for each in inner)
        elif tag == "BS":
            ok = type(inner) is list and all(type(each) is bytes for each in inner)
        elif tag == "M":
            ok = type(inner) is dict and all(
                type(name) is str and plain_value(each) for name, each in inner.items()
            )
        elif tag == "L":
            ok = type(inner) is list and all(plain_value(each) for each in inner)
        else:
            ok = False
        if not ok:
            return False
    return True


def _blob(value: bytes) -> str:
    return base64.b64encode(value).strip().decode("utf-8")


def written_value(value: Any) -> Any:
    """An attribute value as botocore's JSON serialiser writes it (members in the order
    given, blobs in base64), for a value ``plain_value`` accepts; else ``_Unplain``."""
    if type(value) is not dict:
        raise _Unplain
    written: dict[str, Any] = {}
    for tag, inner in value.items():
        if (tag in ("S", "N") and type(inner) is str) or (
            tag in ("NULL", "BOOL") and type(inner) is bool
        ):
            written[tag] = inner
        elif tag == "M" and type(inner) is dict:
            written[tag] = {name: written_value(each) for name, each in inner.items()}
        elif tag == "L" and type(inner) is list:
            written[tag] = [written_value(each) for each in inner]
        elif tag == "B" and type(inner) is bytes:
            written[tag] = _blob(inner)
        elif tag in ("SS", "NS") and type(inner) is list:
            if any(type(each) is not str for each in inner):
                raise _Unplain
            written[tag] = list(inner)
        elif tag == "BS" and type(inner) is list:
            if any(type(each) is not bytes for each in inner):
                raise _Unplain
            written[tag] = [_blob(each) for each in inner]
        else:
            raise _Unplain
    return written


def attribute_values_at_once() -> None:
    """Gap: for every DynamoDB request (about 60 per order), botocore checks each attribute
    value against the AttributeValue union's model (a type check per member through a
    decorator, a range check, a dispatch by type name) and then writes it by walking the
    same model again (a dispatch per member, a wrapper dict per list item): about 6 ms of
    CPU per bench order, the largest part of the client's work on a request after the
    request's own parameters. AWS's SDK does the same on the caller's machine, but here
    the caller is the one process that also runs the service. Here a value that is
    plainly valid (``plain_value``: exact types, known members) is passed by the
    validator at once and written by ``written_value`` to what botocore's walk writes;
    anything else (a wrong type, an unknown member, a str blob, a tuple) goes through
    botocore's own walk, which reports the same errors as before."""
    if not apply_once("attribute-values"):
        return
    from botocore.serialize import JSONSerializer
    from botocore.validate import ParamValidator

    union_shapes: dict[int, tuple[Any, bool]] = {}

    def is_union(shape: Any) -> bool:
        known = union_shapes.get(id(shape))
        if known is None or known[0] is not shape:
            known = union_shapes[id(shape)] = (shape, is_attribute_value_union(shape))
        return known[1]

    validate_structure = ParamValidator._validate_structure  # type: ignore[attr-defined]
    validate_map = ParamValidator._validate_map  # type: ignore[attr-defined]
    serialize_structure = JSONSerializer._serialize_type_structure  # type: ignore[attr-defined]
    serialize_map = JSONSerializer._serialize_type_map  # type: ignore[attr-defined]

    @functools.wraps(validate_structure)
    def checked_structure(self: Any, params: Any, shape: Any, errors: Any, name: str) -> None:
        if not (shape.name == "AttributeValue" and is_union(shape) and plain_value(params)):
            validate_structure(self, params, shape, errors, name)

    @functools.wraps(validate_map)
    def checked_map(self: Any, params: Any, shape: Any, errors: Any, name: str) -> None:
        if not (
            shape.value.name == "AttributeValue"
            and type(params) is dict
            and is_union(shape.value)
            and _unconstrained(shape, shape.key)
            and all(type(key) is str and plain_value(each) for key, each in params.items())
        ):
            validate_map(self, params, shape, errors, name)

    @functools.wraps(serialize_structure)
    def written_structure(self: Any, serialized: Any, value: Any, shape: Any, key: Any) -> None:
        if key is not None and shape.name == "AttributeValue" and is_union(shape):
            try:
                serialized[key] = written_value(value)
                return
            except _Unplain:
                pass
        serialize_structure(self, serialized, value, shape, key)

    @functools.wraps(serialize_map)
    def written_map(self: Any, serialized: Any, value: Any, shape: Any, key: Any) -> None:
        if shape.value.name == "AttributeValue" and type(value) is dict and is_union(shape.value):
            try:
                serialized[key] = {name: written_value(each) for name, each in value.items()}
                return
            except _Unplain:
                pass
        serialize_map(self, serialized, value, shape, key)

    ParamValidator._validate_structure = checked_structure  # type: ignore[attr-defined]
    ParamValidator._validate_map = checked_map  # type: ignore[attr-defined]
    JSONSerializer._serialize_type_structure = written_structure  # type: ignore[attr-defined]
    JSONSerializer._serialize_type_map = written_map  # type: ignore[attr-defined]
