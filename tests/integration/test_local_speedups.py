"""The speed adaptations of infra/local/adaptations.py and infra/local/speedups.py: each
test fails without its adaptation, and checks that answers stay what moto gave."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RICH_ITEM: dict[str, Any] = {
    "s": {"S": "ñandú — 3 €"},
    "n": {"N": "-12.50"},
    "big": {"N": "123456789012345678901234567890"},
    "b": {"B": b"\x00\xffbytes"},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "z": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": False}]}}}]},
    "m": {"M": {"k": {"S": "v"}, "empty": {"M": {}}, "list": {"L": []}}},
}


def _sorted_sets(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {kind: sorted(value) if kind in ("SS", "NS", "BS") else value}
        for name, attr in item.items()
        for kind, value in attr.items()
    }


def test_query_one_partition_looks_at_the_partition_asked_for_only(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    client, table = deps.store.table.client, deps.settings.table_name
    small, large = f"T-SMALL#{uuid.uuid4().hex}", f"T-LARGE#{uuid.uuid4().hex}"
    for index in range(3):
        client.put_item(
            TableName=table, Item={"pk": {"S": small}, "sk": {"S": f"A#{index}"}, "i": {"N": "1"}}
        )
    for index in range(60):
        client.put_item(TableName=table, Item={"pk": {"S": large}, "sk": {"S": f"B#{index:02d}"}})
    seen: list[int] = []
    all_items = Table.all_items

    me = threading.get_ident()

    def counting(self: Any) -> Any:
        items = all_items(self)
        # Only this test's queries: the stack's schedules query in their own threads.
        if threading.get_ident() == me:
            seen.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting)

    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
        ExpressionAttributeValues={":pk": {"S": small}, ":a": {"S": "A#"}},
        Limit=2,
    )
    rest = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
        ExpressionAttributeValues={":pk": {"S": small}, ":a": {"S": "A#"}},
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    keys = [item["sk"]["S"] for item in page["Items"] + rest["Items"]]
    assert keys == ["A#0", "A#1", "A#2"]
    assert seen and max(seen) == 3, f"a query listed {max(seen)} items, not its 3"

    large_items = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": large}},
        ScanIndexForward=False,
    )["Items"]
    assert [item["sk"]["S"] for item in large_items] == [f"B#{i:02d}" for i in range(59, -1, -1)]
    nothing = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T-NONE#{uuid.uuid4().hex}"}},
    )
    assert nothing["Items"] == [] and nothing["Count"] == 0


def test_plain_dynamodb_responses_skip_the_generic_serialiser_and_keep_every_type(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.responses import DynamoResult

    def generic(self: Any, context: Any) -> Any:
        raise AssertionError("a data-plane answer went through the generic serialiser")

    monkeypatch.setattr(DynamoResult, "execute_result", generic)
    client, table = deps.store.table.client, deps.settings.table_name
    pk = f"T-RICH#{uuid.uuid4().hex}"
    item = {"pk": {"S": pk}, "sk": {"S": "ITEM"}, **RICH_ITEM}
    client.put_item(TableName=table, Item=item)

    got = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "ITEM"}})["Item"]
    assert _sorted_sets(got) == _sorted_sets(item)
    queried = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    assert queried["Count"] == 1 and _sorted_sets(queried["Items"][0]) == _sorted_sets(item)
    updated = client.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": "ITEM"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    assert Decimal(updated["Attributes"]["n"]["N"]) == Decimal("-11.5")
    assert got["b"]["B"] == b"\x00\xffbytes"
    assert base64.b64encode(got["b"]["B"])  # bytes, decoded by botocore as AWS sends them


def test_plain_dynamodb_responses_leave_errors_to_moto(deps: Any) -> None:
    from botocore.exceptions import ClientError

    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-ERR#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    client.put_item(TableName=table, Item=key)
    with pytest.raises(ClientError) as refused:
        client.put_item(TableName=table, Item=key, ConditionExpression="attribute_not_exists(pk)")
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": key,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = cancelled.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["ConditionalCheckFailed"]


def test_index_queries_still_see_every_partition(deps: Any) -> None:
    # moto passes index_name positionally; the one-partition shortcut must not apply.
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    start = now - timedelta(days=3650)
    end = now + timedelta(days=3650)
    pk = f"SHIPMENT#rapido#IDX{uuid.uuid4().hex[:8]}"
    before = deps.store.shipments_between("rapido", "express", start, end)
    deps.store.table.client.put_item(
        TableName=deps.settings.table_name,
        Item={
            "pk": {"S": pk},
            "sk": {"S": "POINTER"},
            "carrier_key": {"S": "rapido#express"},
            "shipped_at": {"S": now.isoformat()},
            "promised_by": {"S": now.isoformat()},
        },
    )
    after = deps.store.shipments_between("rapido", "express", start, end)
    # Only this test's pointer is asserted on: other tests ship in the same window.
    assert pk not in [item["pk"] for item in before]
    assert [item["pk"] for item in after].count(pk) == 1


# -- infra/local/speedups.py ---------------------------------------------------------------

GSI = "by-g"


def _gsi_table(client: Any) -> str:
    """A fresh table of the stack's moto with a GSI (hash ``g``, range ``r``)."""
    name = f"speedups-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "r", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": GSI,
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "r", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def _query_gsi(client: Any, table: str, g: str, **extra: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": GSI,
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": {"S": g}},
        **extra,
    }
    while True:
        page = client.query(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_index_gsi_queries_look_at_the_partition_asked_for_only(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    client = deps.store.table.client
    table = _gsi_table(client)
    for index in range(3):
        item = {"pk": {"S": f"P#{index}"}, "sk": {"S": "X"}, "g": {"S": "HOT"}}
        client.put_item(TableName=table, Item=item | {"r": {"S": f"{index}"}})
    # Many other partitions, and items with no index key at all (a sparse index).
    for batch in range(8):
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": f"O#{batch}#{i}"}, "sk": {"S": "X"}}}}
            if i % 2
            else {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"O#{batch}#{i}"},
                        "sk": {"S": "X"},
                        "g": {"S": f"COLD#{i}"},
                        "r": {"S": "0"},
                    }
                }
            }
            for i in range(25)
        ]
        client.batch_write_item(RequestItems={table: requests})
    seen: list[int] = []
    all_items = Table.all_items
    me = threading.get_ident()

    def counting(self: Any) -> Any:
        items = all_items(self)
        # Only this test's queries: the stack's schedules query in their own threads.
        if threading.get_ident() == me:
            seen.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting)

    hot = _query_gsi(client, table, "HOT", Limit=2)
    assert [item["pk"]["S"] for item in hot] == ["P#0", "P#1", "P#2"]
    assert seen and max(seen) == 3, f"a GSI query looked at {max(seen)} items, not its 3"
    # A key change moves the item; removing the key takes it out of the index.
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "P#1"}, "sk": {"S": "X"}},
        UpdateExpression="SET g = :g",
        ExpressionAttributeValues={":g": {"S": "COLD#0"}},
    )
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "P#2"}, "sk": {"S": "X"}},
        UpdateExpression="REMOVE g",
    )
    assert [item["pk"]["S"] for item in _query_gsi(client, table, "HOT")] == ["P#0"]
    cold = [item["pk"]["S"] for item in _query_gsi(client, table, "COLD#0")]
    assert sorted(cold) == sorted(["P#1"] + [f"O#{batch}#0" for batch in range(8)])


_KEYS = st.sampled_from(["a", "b", "c", "d"])
_G = st.one_of(st.none(), st.sampled_from(["G1", "G2"]))
_R = st.one_of(st.none(), st.sampled_from(["1", "2", "3"]))
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("update"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("delete"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("transact"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("cancelled"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("batch"), _KEYS, _KEYS, _G, _R),
    ),
    max_size=25,
)


def _attrs(g: str | None, r: str | None) -> dict[str, Any]:
    return ({"g": {"S": g}} if g else {}) | ({"r": {"S": r}} if r else {})


def _apply(client: Any, table: str, op: tuple[str, str, str, str | None, str | None]) -> None:
    from botocore.exceptions import ClientError

    kind, pk, sk, g, r = op
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    if kind == "put":
        client.put_item(TableName=table, Item=key | _attrs(g, r))
    elif kind == "update":
        sets = {name: value for name, value in (("g", g), ("r", r)) if value}
        removes = [name for name, value in (("g", g), ("r", r)) if not value]
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(f"{n} = :{n}" for n in sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        values = {f":{n}": {"S": v} for n, v in sets.items()}
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression=expression,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    elif kind == "delete":
        client.delete_item(TableName=table, Key=key)
    elif kind in ("transact", "cancelled"):
        other = {"pk": {"S": pk + "-t"}, "sk": {"S": sk}}
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": table, "Item": key | _attrs(g, r)}},
            {"Put": {"TableName": table, "Item": other | _attrs(r and "G1", "9")}},
        ]
        if kind == "cancelled":  # a failing check: both puts are rolled back
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "never"}, "sk": {"S": "x"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException"
    else:
        client.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": pk + "-b"}, "sk": {"S": sk}} | _attrs(g, r)
                        }
                    },
                    {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}},
                ]
            }
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_OPS)
def test_index_gsi_queries_answer_what_moto_answers_after_any_writes(
    deps: Any, ops: list[tuple[str, str, str, str | None, str | None]]
) -> None:
    from infra.local.gsi_index import without_gsi_index

    client = deps.store.table.client
    table = _gsi_table(client)
    try:
        for op in ops:
            _apply(client, table, op)
        for g in ("G1", "G2", "G3"):
            for extra in ({}, {"ScanIndexForward": False, "Limit": 2}):
                indexed = _query_gsi(client, table, g, **extra)
                with without_gsi_index():
                    walked = _query_gsi(client, table, g, **extra)
                assert indexed == walked, (g, extra)
    finally:
        client.delete_table(TableName=table)


def test_lock_tables_per_action_writes_to_other_tables_do_not_wait(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    from infra.local.stack import ACCOUNT_ID, REGION
    from infra.local.table_locks import _lock_for
    from tests.support import eventually

    client = deps.store.table.client
    slow, other = _gsi_table(client), _gsi_table(client)
    inside, release = threading.Event(), threading.Event()
    put_item = Table.put_item

    def blocking(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == slow and threading.current_thread().name == "slow-writer":
            inside.set()
            release.wait()
        return put_item(self, *args, **kwargs)

    monkeypatch.setattr(Table, "put_item", blocking)

    def put(table: str, pk: str) -> None:
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "X"}})

    writers = [
        threading.Thread(target=put, args=(slow, "held"), name="slow-writer", daemon=True),
        threading.Thread(target=put, args=(other, "free"), name="other-table", daemon=True),
        threading.Thread(target=put, args=(slow, "queued"), name="same-table", daemon=True),
        threading.Thread(
            target=client.get_item,
            kwargs={"TableName": slow, "Key": {"pk": {"S": "held"}, "sk": {"S": "X"}}},
            name="same-table-read",
            daemon=True,
        ),
    ]
    try:
        writers[0].start()
        assert inside.wait(timeout=60)
        for writer in writers[1:]:
            writer.start()
        # A hang guard, not a time limit: without per-table locks this write waits until
        # the first is released, which happens only after this line.
        writers[1].join(timeout=60)
        assert not writers[1].is_alive(), "a write to another table waited for the held one"
        lock = _lock_for(ACCOUNT_ID, REGION, slow)
        eventually(lambda: (lock._writers_waiting, lock._readers_waiting) == (1, 1), timeout=60)
        assert writers[2].is_alive(), "a write to the same table did not wait"
        assert writers[3].is_alive(), "a read of the table did not wait for its write"
    finally:
        release.set()
        for writer in writers:
            writer.join(timeout=60)
    key = {"pk": {"S": "queued"}, "sk": {"S": "X"}}
    assert client.get_item(TableName=slow, Key=key)["Item"] == key


def test_cache_jsonpath_parsing_builds_no_parser_once_a_definition_has_run(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from jsonpath_ng.parser import JsonPathParser

    from infra.local.stack import ACCOUNT_ID, REGION
    from tests.support import eventually

    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.order",
                "Parameters": {"id.$": "$.id", "lines.$": "$.lines"},
                "ResultPath": "$.shaped",
                "Next": "Pick",
            },
            "Pick": {"Type": "Pass", "OutputPath": "$.shaped", "End": True},
        },
    }
    arn = sfn.create_state_machine(
        name=f"speedups-{uuid.uuid4().hex[:12]}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/speedups",
    )["stateMachineArn"]

    def run() -> Any:
        execution = sfn.start_execution(
            stateMachineArn=arn,
            name=uuid.uuid4().hex,
            input=json.dumps({"order": {"id": "o-1", "lines": [1, 2]}}),
        )["executionArn"]

        def ended() -> Any:
            described = sfn.describe_execution(executionArn=execution)
            return described if described["status"] != "RUNNING" else None

        return eventually(ended, timeout=60)

    first = run()
    assert first["status"] == "SUCCEEDED", first
    built: list[str] = []
    init = JsonPathParser.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(JsonPathParser, "__init__", counting)
    second = run()
    assert second["status"] == "SUCCEEDED", second
    assert json.loads(second["output"]) == {"id": "o-1", "lines": [1, 2]}
    assert built == [], f"{len(built)} JSONPath parsers built for a definition already run"


def test_tracer_off_makes_no_xray_entity_for_a_step(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from aws_xray_sdk.core.models.entity import Entity
    from pydantic import ValidationError

    from infra.local.lambda_adaptations import LambdaContext

    made: list[str] = []
    init = Entity.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(Entity, "__init__", counting)
    handler = stack.lambdas.handlers["authorize_payment"]
    # A step that fails: the tracer's subsegment and its error path.
    with pytest.raises(ValidationError):
        handler({}, LambdaContext("authorize_payment"))
    assert made == [], f"X-Ray entities made locally: {made}"
    assert os.environ["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_lock_tables_per_action_reads_share_a_table_and_writes_wait_for_them(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    from infra.local.stack import ACCOUNT_ID, REGION
    from infra.local.table_locks import _lock_for
    from tests.support import eventually

    client = deps.store.table.client
    table = _gsi_table(client)
    key = {"pk": {"S": "k"}, "sk": {"S": "X"}}
    client.put_item(TableName=table, Item=key)
    inside, release = threading.Event(), threading.Event()
    query = Table.query

    def blocking(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == table and threading.current_thread().name == "slow-reader":
            inside.set()
            release.wait()
        return query(self, *args, **kwargs)

    monkeypatch.setattr(Table, "query", blocking)
    read = {"TableName": table, "Key": key}
    threads = [
        threading.Thread(
            target=client.query,
            kwargs={
                "TableName": table,
                "KeyConditionExpression": "pk = :k",
                "ExpressionAttributeValues": {":k": {"S": "k"}},
            },
            name="slow-reader",
            daemon=True,
        ),
        threading.Thread(target=client.get_item, kwargs=read, name="reader", daemon=True),
        threading.Thread(
            target=client.put_item,
            kwargs={"TableName": table, "Item": key | {"v": {"S": "new"}}},
            name="writer",
            daemon=True,
        ),
    ]
    try:
        threads[0].start()
        assert inside.wait(timeout=60)
        threads[1].start()
        threads[1].join(timeout=60)  # a hang guard: with one lock it waits for the release
        assert not threads[1].is_alive(), "a read waited for another read of the table"
        threads[2].start()
        lock = _lock_for(ACCOUNT_ID, REGION, table)
        eventually(lambda: lock._writers_waiting == 1, timeout=60)
        assert threads[2].is_alive(), "a write did not wait for a read in progress"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert client.get_item(**read)["Item"]["v"] == {"S": "new"}


def test_lock_tables_per_action_a_read_leaves_the_table_as_it_was(deps: Any) -> None:
    # Reads share the table's lock, so none may change it: moto's get_item of a missing
    # partition would add an empty one, under the feet of a concurrent scan.
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.stack import ACCOUNT_ID, REGION

    client = deps.store.table.client
    table = _gsi_table(client)
    moto_table = dynamodb_backends[ACCOUNT_ID][REGION].tables[table]
    before = len(moto_table.items)
    missing = {"pk": {"S": f"nobody-{uuid.uuid4().hex}"}, "sk": {"S": "X"}}
    assert "Item" not in client.get_item(TableName=table, Key=missing)
    assert len(moto_table.items) == before


def test_cache_handler_method_names_lists_a_handlers_methods_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect

    client = deps.store.table.client
    key = {"pk": {"S": f"T-NAMES#{uuid.uuid4().hex}"}, "sk": {"S": "X"}}
    client.get_item(TableName=deps.settings.table_name, Key=key)  # the class is listed once
    listed: list[Any] = []
    getmembers = inspect.getmembers
    me = threading.get_ident()

    def counting(thing: Any, predicate: Any = None) -> Any:
        if threading.get_ident() == me:  # the stack's schedules run in their own threads
            listed.append(thing)
        return getmembers(thing, predicate)

    monkeypatch.setattr(inspect, "getmembers", counting)
    for _ in range(3):
        assert "Item" not in client.get_item(TableName=deps.settings.table_name, Key=key)
    assert listed == [], f"moto listed a handler's methods {len(listed)} times"


def test_table_lock_serves_in_order_so_no_writer_waits_behind_new_readers() -> None:
    from infra.local.table_locks import TableLock
    from tests.support import eventually

    lock = TableLock()
    order: list[str] = []
    lock.acquire(write=False)  # a read in progress

    def take(name: str, write: bool) -> None:
        lock.acquire(write)
        order.append(name)
        if write:
            writing.wait()
        lock.release(write)

    writing = threading.Event()
    writer = threading.Thread(target=take, args=("writer", True), daemon=True)
    writer.start()
    eventually(lambda: lock._writers_waiting == 1, timeout=60)
    reader = threading.Thread(target=take, args=("late reader", False), daemon=True)
    reader.start()
    eventually(lambda: lock._readers_waiting == 1, timeout=60)  # queued behind the writer
    lock.release(write=False)
    eventually(lambda: order == ["writer"], timeout=60)
    assert lock._readers_waiting == 1, "a reader went in while the writer wrote"
    writing.set()
    writer.join(timeout=60)
    reader.join(timeout=60)
    assert order == ["writer", "late reader"]
    assert (lock._readers, lock._writing, lock._writers_waiting) == (0, False, 0)


def test_cache_parsed_definitions_parses_a_definition_once(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from tests.support import order_body
    from tests.support.flow import fresh_sku, place, stop_if_running
    from tests.support.orders import wait_for_status

    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    first = place(client, body)  # the order machine has run in this process at least once
    wait_for_status(deps, first, "SHIPPED")
    parsed: list[str] = []
    parse = AmazonStateLanguageParser.parse

    def counting(definition: str) -> Any:
        parsed.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting))
    orders = [place(client, body) for _ in range(2)]
    try:
        for order_id in orders:
            wait_for_status(deps, order_id, "SHIPPED")
    finally:
        for order_id in [first, *orders]:
            stop_if_running(deps, order_id)
    assert parsed == [], f"the definition was parsed {len(parsed)} more times"
