"""infra/local/dynamodb_adaptations.cheap_transaction_rollback: a cancelled transaction is
undone from the items it named, copying only what moto changes in place."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamodb.table import from_item, to_item
from infra.local.stack import REGION


def test_cheap_transaction_rollback_copies_only_what_an_update_changes_in_place(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    copies: list[str] = []
    me = threading.get_ident()
    item_deepcopy = Item.__deepcopy__

    def counting(self: Any, memo: Any) -> Any:
        if threading.get_ident() == me:
            copies.append(str(self.hash_key.value))
        return item_deepcopy(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = deps.settings.table_name
    replaced, removed, updated, blocked = (f"IT#{uuid.uuid4().hex}" for _ in range(4))
    for pk, value in ((replaced, "old"), (removed, "here"), (updated, 1), (blocked, 0)):
        dynamodb.put_item(TableName=table, Item=to_item({"pk": pk, "sk": "X", "v": value}))
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": to_item({"pk": replaced, "sk": "X"})}},
                {"Delete": {"TableName": table, "Key": to_item({"pk": removed, "sk": "X"})}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": to_item({"pk": updated, "sk": "X"}),
                        "UpdateExpression": "SET v = v + :one",
                        "ExpressionAttributeValues": to_item({":one": 1}),
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": to_item({"pk": blocked, "sk": "X"}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def value(pk: str) -> Any:
        found = dynamodb.get_item(TableName=table, Key=to_item({"pk": pk, "sk": "X"}))
        return from_item(found["Item"]).get("v")

    assert [value(pk) for pk in (replaced, removed, updated, blocked)] == ["old", "here", 1, 0]
    assert updated in copies and not {replaced, removed, blocked} & set(copies)
