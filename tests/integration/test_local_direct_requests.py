"""infra/local/direct_requests.py: the short way reads a DynamoDB request's attribute values in
one step, not through moto's walk of the AttributeValue union. Each test fails without it and
checks that moto is handed what its own parser makes of the request."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4), st.just("AQ==")
)
# What JSON a request could hold where an attribute value goes: anything at all...
_strange_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL", "X"]),
            inner,
            max_size=2,
        ),
    ),
    max_leaves=6,
)
# ... and mostly what botocore writes: one member with a value of its JSON type.
_written_values = st.recursive(
    st.one_of(
        st.tuples(st.sampled_from(["S", "N"]), st.text(max_size=3)),
        st.tuples(st.sampled_from(["BOOL", "NULL"]), st.booleans()),
        st.tuples(st.just("B"), st.sampled_from(["AQ==", "", "AAE=", "A"])),
        st.tuples(st.sampled_from(["SS", "NS"]), st.lists(st.text(max_size=2), max_size=2)),
        st.tuples(st.just("BS"), st.lists(st.sampled_from(["AQ==", "AAE="]), max_size=2)),
    ).map(lambda pair: {pair[0]: pair[1]})
    | _strange_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(st.sampled_from("ab"), inner, max_size=2).map(lambda m: {"M": m}),
    ),
    max_leaves=8,
)


def _parsed(parser_class: Any, operation: str, body: dict[str, Any]) -> tuple[str, str]:
    """What a moto request parser makes of a JSON body: the parameters (their repr, so
    that types count), or the error it raised."""
    import json

    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb").operation_model(operation)
    request = {
        "method": "POST",
        "values": {},
        "headers": {},
        "body": json.dumps(body),
        "url_path": "/",
        "url_params": {},
    }
    try:
        return "ok", repr(parser_class(model, map_type=dict).parse(request))
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return type(exc).__name__, ""


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["a", "b"]), _written_values, max_size=3))
def test_dynamodb_requests_read_what_motos_parser_reads(values: dict[str, Any]) -> None:
    from moto.core.parse import JSONParser

    from infra.local.direct_requests import DynamoDBRequests

    item = {"pk": {"S": "p"}, **values}
    put = {"TableName": "t", "Item": item, "ExpressionAttributeValues": values}
    update = {"TableName": "t", "Key": {"pk": {"S": "p"}}, "ExpressionAttributeValues": values}
    transaction = {"TransactItems": [{"Put": put}, {"Update": update}]}
    for operation, body in (("PutItem", put), ("TransactWriteItems", transaction)):
        assert _parsed(DynamoDBRequests, operation, body) == _parsed(JSONParser, operation, body)


def test_dynamodb_requests_read_attribute_values_without_walking_the_union_model(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.parse import BaseJSONParser

    walked: list[str] = []
    me = threading.get_ident()
    walk = BaseJSONParser._parse_structure

    def counting(self: Any, shape: Any, value: Any) -> Any:
        if threading.get_ident() == me:
            walked.append(shape.name)
        return walk(self, shape, value)

    monkeypatch.setattr(BaseJSONParser, "_parse_structure", counting)
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-ASKED#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    nested = {"M": {"b": {"B": b"\x00"}, "l": {"L": [{"N": "1"}, {"SS": ["x"]}]}}}
    client.put_item(
        TableName=table,
        Item={**key, "m": nested},
        ConditionExpression="attribute_not_exists(pk) OR m <> :m",
        ExpressionAttributeValues={":m": nested},
    )
    assert client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["m"] == nested
    assert "PutItemInput" in walked and "GetItemInput" in walked
    assert "AttributeValue" not in walked
