"""The speed adaptations of infra/local/dynamodb_adaptations.py: ``query_one_partition`` (a
query looks at its own partition only, index queries still at every one) and
``plain_dynamodb_responses`` (data-plane answers skip moto's generic serialiser, errors are
left to moto). Each test fails without its adaptation, and checks that answers stay what
moto gave."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.support.moto_probes import items_walked

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
    client, table = deps.store.table.client, deps.settings.table_name
    small, large = f"T-SMALL#{uuid.uuid4().hex}", f"T-LARGE#{uuid.uuid4().hex}"
    for index in range(3):
        client.put_item(
            TableName=table, Item={"pk": {"S": small}, "sk": {"S": f"A#{index}"}, "i": {"N": "1"}}
        )
    for index in range(60):
        client.put_item(TableName=table, Item={"pk": {"S": large}, "sk": {"S": f"B#{index:02d}"}})
    seen = items_walked(monkeypatch)

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
