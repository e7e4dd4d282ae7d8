"""A keyed request whose Lambda died after its work and before Powertools stored its answer
(stopped by its timeout): the key's record stays in progress, and once that time has passed
the client's retry runs the request again."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest


class Killed(BaseException):
    """A Lambda stopped by its timeout: no ``except Exception`` sees it."""


@contextlib.contextmanager
def answer_never_kept(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within the block, a keyed request dies as Powertools goes to store its answer."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    def dying(self: Any, data_record: Any) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(DynamoDBPersistenceLayer, "_update_record", dying)
        yield


def key_records(deps: Any) -> list[dict[str, Any]]:
    """Every Idempotency-Key record in the table, as DynamoDB items."""
    import boto3

    from chalicelib.adapters.dynamodb import keys

    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)
    found: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("query").paginate(
        TableName=deps.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.IDEMPOTENCY_PK}},
    ):
        found.extend(page["Items"])
    return found


def in_progress_time_passes(deps: Any) -> None:
    """What the 29 s after a request that died do to its key's record: its in-progress
    time runs out, and the key may be run again."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)
    for item in key_records(deps):
        if item.get("status", {}).get("S") == "INPROGRESS":
            dynamodb.update_item(
                TableName=deps.settings.table_name,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET in_progress_expiration = :gone",
                ExpressionAttributeValues={":gone": {"N": "1"}},
            )


def key_records_run_out(deps: Any) -> None:
    """What the 48 h after a keyed request do to its key's record: DynamoDB's TTL takes it
    away (every record in the table: the tests that replay a key do it within the test)."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)
    for item in key_records(deps):
        dynamodb.delete_item(
            TableName=deps.settings.table_name, Key={"pk": item["pk"], "sk": item["sk"]}
        )
