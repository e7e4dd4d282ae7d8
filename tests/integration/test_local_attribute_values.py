"""infra/local/attribute_values.py: botocore checks and writes DynamoDB attribute values in one
step, reporting and writing what its own walk of the model reports and writes."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_plain_scalars = st.one_of(
    st.text(max_size=4).map(lambda text: {"S": text}),
    st.integers(-999, 999).map(lambda number: {"N": str(number)}),
    st.binary(max_size=4).map(lambda blob: {"B": blob}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.booleans().map(lambda flag: {"NULL": flag}),
    st.lists(st.text(max_size=3), max_size=2).map(lambda texts: {"SS": texts}),
    st.lists(st.binary(max_size=3), max_size=2).map(lambda blobs: {"BS": blobs}),
)
# Anything a caller could pass where an attribute value goes: wrong types, str blobs,
# tuples, None, unknown or several members...
_strange = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.binary(max_size=2)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2),
        st.lists(inner, max_size=2).map(tuple),
        st.dictionaries(
            st.sampled_from(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL", "X"]),
            inner,
            max_size=2,
        ),
    ),
    max_leaves=5,
)
# ... and near misses: one known member with a value of another type.
_NEAR_MISSES: list[Any] = [
    *({tag: wrong} for tag in ("S", "N") for wrong in (1, b"x", None, True, ["x"])),
    *({"B": wrong} for wrong in (1, "AQ==", None, bytearray(b"x"), [b"x"])),
    *({tag: wrong} for tag in ("BOOL", "NULL") for wrong in (0, 1, "true", None)),
    *({tag: wrong} for tag in ("SS", "NS") for wrong in (("x",), [1], ["x", b"y"], "x", None)),
    *({"BS": wrong} for wrong in ((b"x",), ["x"], [1], b"x", None)),
    *({"M": wrong} for wrong in ({1: {"S": "x"}}, [{"S": "x"}], {"a": "x"}, None)),
    *({"L": wrong} for wrong in (({"S": "x"},), {"a": {"S": "x"}}, ["x"], None)),
    {},
    {"S": "x", "N": "1"},
    {"X": "x"},
]
_near_misses = st.sampled_from(_NEAR_MISSES)
_values = st.recursive(
    _plain_scalars | _near_misses | _strange,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(st.sampled_from("ab"), inner, max_size=2).map(lambda m: {"M": m}),
    ),
    max_leaves=8,
)


def _model() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name="eu-west-1").meta.service_model


def _botocores_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put botocore's own walks back for the rest of a ``monkeypatch.context()``."""
    from botocore.serialize import JSONSerializer
    from botocore.validate import ParamValidator

    for owner, name in (
        (ParamValidator, "_validate_structure"),
        (ParamValidator, "_validate_map"),
        (JSONSerializer, "_serialize_type_structure"),
        (JSONSerializer, "_serialize_type_map"),
    ):
        monkeypatch.setattr(owner, name, getattr(owner, name).__wrapped__)


def _checked_and_written(operation: Any, params: dict[str, Any]) -> tuple[str, bytes | None]:
    from botocore.serialize import JSONSerializer
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, operation.input_shape).generate_report()
    if report:
        return report, None
    return report, JSONSerializer().serialize_to_request(params, operation)["body"]


def _same_as_botocores_walk(values: dict[str, Any]) -> None:
    model = _model()
    item = {"pk": {"S": "p"}, **values}
    put = {"TableName": "t", "Item": item, "ExpressionAttributeValues": values}
    update = {"TableName": "t", "Key": {"pk": {"S": "p"}}, "ExpressionAttributeValues": values}
    transaction = {"TransactItems": [{"Put": put}, {"Update": update}]}
    for name, params in (("PutItem", put), ("TransactWriteItems", transaction)):
        operation = model.operation_model(name)
        at_once = _checked_and_written(operation, params)
        with pytest.MonkeyPatch.context() as own:
            _botocores_own(own)
            walked = _checked_and_written(operation, params)
        assert at_once == walked, values


@pytest.mark.parametrize("near_miss", _NEAR_MISSES, ids=repr)
def test_attribute_values_at_once_report_a_near_miss_as_botocores_walk_does(
    stack: Any, near_miss: Any
) -> None:
    _same_as_botocores_walk({"a": near_miss})
    _same_as_botocores_walk({"a": {"M": {"b": near_miss}}, "c": {"L": [near_miss]}})


@settings(max_examples=400, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["a", "b"]), _values, max_size=3))
def test_attribute_values_at_once_report_and_write_what_botocores_walk_does(
    stack: Any, values: dict[str, Any]
) -> None:
    _same_as_botocores_walk(values)


def test_attribute_values_at_once_walk_no_member_of_the_union(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.serialize import JSONSerializer
    from botocore.validate import ParamValidator

    union = _model().shape_for("AttributeValue")
    member_shapes = {member.name for member in union.members.values()} | {union.name}
    walked: list[str] = []
    me = threading.get_ident()
    validate, serialize = ParamValidator._validate, JSONSerializer._serialize

    def validating(self: Any, params: Any, shape: Any, errors: Any, name: str) -> Any:
        if threading.get_ident() == me and shape.name in member_shapes - {union.name}:
            walked.append(f"checked {shape.name}")
        return validate(self, params, shape, errors, name)

    def serializing(self: Any, serialized: Any, value: Any, shape: Any, key: Any = None) -> Any:
        if threading.get_ident() == me and shape.name in member_shapes:
            walked.append(f"written {shape.name}")
        return serialize(self, serialized, value, shape, key)

    monkeypatch.setattr(ParamValidator, "_validate", validating)
    monkeypatch.setattr(JSONSerializer, "_serialize", serializing)
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-AV#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    nested = {"M": {"b": {"B": b"\x00"}, "l": {"L": [{"N": "1"}, {"SS": ["x"]}, {"NULL": True}]}}}
    client.put_item(TableName=table, Item={**key, "m": nested})
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"BS": [b"\x01"]}},
    )
    item = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["m"] == nested and item["n"] == {"BS": [b"\x01"]}
    assert walked == []
    with pytest.raises(Exception, match=r"Invalid type for parameter Item\.m\.M\.b\.B"):
        client.put_item(TableName=table, Item={**key, "m": {"M": {"b": {"B": 1}}}})
