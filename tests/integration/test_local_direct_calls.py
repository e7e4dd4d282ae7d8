"""infra/local/direct_calls.py: DynamoDB, SNS and SES requests run by moto's handler without an
HTTP request around them. The short way is taken (no request reaches moto's HTTP stubber) and
answers what the HTTP way answers, errors included."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local import direct_answers, direct_calls
from tests.support.moto_probes import requests_through_stubber


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    # Request ids and the CRC header differ between any two requests.
    return {name: value for name, value in answer.items() if name != "ResponseMetadata"}


def _outcome(call: Any, **params: Any) -> tuple[str, dict[str, Any]]:
    """What a client call answered, or the error class and its parsed response."""
    try:
        return "ok", _without_metadata(call(**params))
    except ClientError as exc:
        return type(exc).__name__, _without_metadata(exc.response)


def test_call_services_directly_builds_no_http_request(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubbed = requests_through_stubber(monkeypatch)
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-DIRECT#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    before = direct_calls.calls.direct

    client.put_item(TableName=table, Item={**key, "n": {"N": "1"}})
    assert client.get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "1"}
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=table, Item=key, ConditionExpression="attribute_not_exists(pk)")

    assert stubbed == [], "a DynamoDB request went through moto's HTTP stubber"
    assert direct_calls.calls.direct - before >= 3


def test_call_services_directly_leaves_other_services_and_listeners_alone(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    stubbed = requests_through_stubber(monkeypatch)
    boto3.client("stepfunctions", region_name="eu-west-1").list_state_machines()
    assert len(stubbed) == 1  # Step Functions still goes the HTTP way

    seen: list[str] = []
    client = deps.store.table.client
    key = f"T-NONE#{uuid.uuid4().hex}"

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        # Only this test's call: the stack's background deliveries share the client.
        if key in str(params.get("body")):
            seen.append(model.name)

    client.meta.events.register("before-call.dynamodb.GetItem", record)
    try:
        client.get_item(
            TableName=deps.settings.table_name, Key={"pk": {"S": key}, "sk": {"S": "ITEM"}}
        )
    finally:
        client.meta.events.unregister("before-call.dynamodb.GetItem", record)
    assert seen == ["GetItem"]


_scalars = st.one_of(
    st.text(min_size=1, max_size=8).map(lambda text: {"S": text}),
    st.integers(-(10**12), 10**12).map(lambda number: {"N": str(number)}),
    st.binary(min_size=1, max_size=8).map(lambda blob: {"B": blob}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.sets(st.text(min_size=1, max_size=4), min_size=1, max_size=3).map(
        lambda texts: {"SS": sorted(texts)}
    ),
    st.sets(st.integers(-999, 999), min_size=1, max_size=3).map(
        lambda numbers: {"NS": [str(n) for n in sorted(numbers)]}
    ),
    st.sets(st.binary(min_size=1, max_size=4), min_size=1, max_size=3).map(
        lambda blobs: {"BS": sorted(blobs)}
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(st.sampled_from("abc"), inner, max_size=3).map(lambda m: {"M": m}),
    ),
    max_leaves=6,
)
_attributes = st.dictionaries(st.sampled_from(["x", "y", "z"]), _values, min_size=1)


def _conversation(client: Any, table: str, pk: str, item: dict[str, Any]) -> list[Any]:
    """Every kind of request the app makes, on one fresh item, and what each answered."""
    key = {"pk": {"S": pk}, "sk": {"S": "ITEM"}}
    full = {**key, **item, "n": {"N": "1"}}
    absent = "attribute_not_exists(pk)"
    cancelled_put = {"Put": {"TableName": table, "Item": full, "ConditionExpression": absent}}
    return [
        _outcome(client.put_item, TableName=table, Item=full, ReturnValues="ALL_OLD"),
        _outcome(client.get_item, TableName=table, Key=key, ConsistentRead=True),
        _outcome(
            client.update_item,
            TableName=table,
            Key=key,
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        _outcome(
            client.query,
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        ),
        _outcome(
            client.put_item,
            TableName=table,
            Item=full,
            ConditionExpression=absent,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        _outcome(
            client.transact_write_items,
            TransactItems=[cancelled_put],
            ReturnConsumedCapacity="TOTAL",
        ),
        _outcome(client.batch_get_item, RequestItems={table: {"Keys": [key]}}),
        _outcome(
            client.query,
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="pk, sk, x, y",
            Limit=1,
            ReturnConsumedCapacity="INDEXES",
        ),
        _outcome(
            client.transact_get_items, TransactItems=[{"Get": {"TableName": table, "Key": key}}]
        ),
        _outcome(client.update_item, TableName=table, Key=key, UpdateExpression="SET ="),
        _outcome(client.delete_item, TableName=table, Key=key, ReturnValues="ALL_OLD"),
        _outcome(client.get_item, TableName=table, Key=key),
    ]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(item=_attributes)
def test_call_services_directly_answers_what_the_http_way_answers(
    deps: Any, item: dict[str, Any]
) -> None:
    client, table = deps.store.table.client, deps.settings.table_name
    before = direct_calls.calls.direct
    direct = _conversation(client, table, f"T-SHORT#{uuid.uuid4().hex}", item)
    assert direct_calls.calls.direct - before >= len(direct)
    direct_calls.calls.enabled = False
    try:
        usual = _conversation(client, table, f"T-SHORT#{uuid.uuid4().hex}", item)
    finally:
        direct_calls.calls.enabled = True

    def same_keys(answers: list[Any], pk: str) -> str:
        return repr(answers).replace(pk, "PK")

    assert [kind for kind, _ in direct] == [kind for kind, _ in usual]
    assert direct[5][1]["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"
    pk_direct = direct[1][1]["Item"]["pk"]["S"]
    pk_usual = usual[1][1]["Item"]["pk"]["S"]
    assert same_keys(direct, pk_direct) == same_keys(usual, pk_usual)


def _without_ids(outcome: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    kind, answer = outcome
    return kind, {name: value for name, value in answer.items() if name != "MessageId"}


def _notifications(sns: Any, ses: Any, topic: str) -> list[Any]:
    """Publishing, reading a topic, sending an email; each also as a refused request."""
    raw = b"From: pedidos@orquesta.example\r\nTo: a@example.com\r\nSubject: x\r\n\r\nbody"
    return [
        _without_ids(_outcome(sns.publish, TopicArn=topic, Message="m", Subject="s")),
        _without_ids(
            _outcome(
                sns.publish,
                TopicArn=topic,
                Message="{}",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "a b&c=d"}},
            )
        ),
        _outcome(sns.publish, TopicArn=topic + "-missing", Message="m"),
        _outcome(sns.get_topic_attributes, TopicArn=topic),
        _without_ids(_outcome(ses.send_raw_email, RawMessage={"Data": raw})),
        _outcome(ses.send_raw_email, Source="nobody@unverified.example", RawMessage={"Data": raw}),
    ]


def test_call_notifications_directly_answers_what_the_http_way_answers() -> None:
    import boto3

    sns = boto3.client("sns", region_name="eu-west-1")
    ses = boto3.client("ses", region_name="eu-west-1")
    topic = sns.create_topic(Name=f"direct-{uuid.uuid4().hex[:8]}")["TopicArn"]
    before = direct_calls.calls.in_this_thread()
    direct = _notifications(sns, ses, topic)
    assert direct_calls.calls.in_this_thread() - before == len(direct)
    direct_calls.calls.enabled = False
    try:
        usual = _notifications(sns, ses, topic)
    finally:
        direct_calls.calls.enabled = True
    assert direct == usual
    assert [kind for kind, _ in direct] == [
        "ok",
        "ok",
        "NotFoundException",
        "ok",
        "ok",
        "MessageRejected",
    ]


def test_call_services_directly_reads_items_without_walking_the_union_model(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.parsers import BaseJSONParser

    walked: list[str] = []
    me = threading.get_ident()
    union_check = BaseJSONParser._has_unknown_tagged_union_member

    def counting(self: Any, shape: Any, value: Any) -> Any:
        if threading.get_ident() == me and shape.name == "AttributeValue":
            walked.append(shape.name)
        return union_check(self, shape, value)

    monkeypatch.setattr(BaseJSONParser, "_has_unknown_tagged_union_member", counting)
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-READ#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    item = {**key, "m": {"M": {"b": {"B": b"\x00"}, "l": {"L": [{"N": "1"}]}}}}
    client.put_item(TableName=table, Item=item)
    assert client.get_item(TableName=table, Key=key)["Item"] == item
    assert walked == []


def test_call_services_directly_hands_dynamodb_answers_over_without_json_text(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.parsers import BaseJSONParser

    read: list[Any] = []
    me = threading.get_ident()
    parse_body = BaseJSONParser._parse_body_as_json

    def counting(self: Any, body: Any) -> Any:
        if threading.get_ident() == me:
            read.append(body)
        return parse_body(self, body)

    monkeypatch.setattr(BaseJSONParser, "_parse_body_as_json", counting)
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-HANDED#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    item = {**key, "m": {"M": {"b": {"B": b"\x00"}, "l": {"L": [{"N": "1"}, {"NULL": True}]}}}}
    client.put_item(TableName=table, Item=item)
    assert client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == item
    updated = client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"NS": ["1", "2"]}},
        ReturnValues="UPDATED_NEW",
        ReturnConsumedCapacity="TOTAL",
    )
    assert updated["Attributes"] == {"n": {"NS": ["1", "2"]}}
    assert updated["ConsumedCapacity"]["TableName"] == table
    assert type(updated["ConsumedCapacity"]["CapacityUnits"]) is float
    found = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": key["pk"]},
    )
    assert found["Count"] == 1 and found["Items"][0]["m"] == item["m"]
    assert read == [], f"{len(read)} DynamoDB answers were read back from JSON text"


def test_call_services_directly_writes_as_json_what_json_would_change() -> None:
    from decimal import Decimal

    import boto3

    from infra.local.stack import REGION

    model = boto3.client("dynamodb", region_name=REGION).meta.service_model
    handler = type("Handler", (), {})()
    url = f"https://dynamodb.{REGION}.amazonaws.com/"
    operation = model.operation_model("GetItem")
    handler.kept_answer = {"Item": {"a": {"S": "x"}, "b": {"B": b"\x01"}}}
    _, parsed = direct_answers.handed_over(handler, url, 200, {}, operation)
    assert parsed["Item"] == {"a": {"S": "x"}, "b": {"B": b"\x01"}}
    for strange in ({"N": Decimal("1")}, {"B": "AQ=="}, {"X": "?"}, {"S": "a", "N": "1"}):
        handler.kept_answer = {"Item": {"a": strange}}
        assert direct_answers.handed_over(handler, url, 200, {}, operation) is None
    handler.kept_answer = {"Item": {}, "ConsumedCapacity": {"CapacityUnits": Decimal("1")}}
    assert direct_answers.handed_over(handler, url, 200, {}, operation) is None
