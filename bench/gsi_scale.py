"""What one query on each of the app's GSIs costs on moto once many orders are stored,
with the local stack's GSI index and with moto's own walk of the table
(docs/performance.md).

``python -m bench.gsi_scale [ORDERS]`` (default 20,000) makes the app's table from
infra/aws/template.json in an in-process moto with the DynamoDB speed-ups, stores ORDERS
orders with a shipment pointer each (a tenth still open, so in the sparse due index) by
batch writes, then runs each query 5 times both ways on one thread and prints JSON:
milliseconds per query and the items moto looked at.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

CARRIERS = ["rapido#express", "rapido#standard", "lenta#standard", "pickup#store"]


def main(argv: list[str]) -> None:
    """Fill a table, time the queries both ways, print JSON."""
    orders = int(argv[0]) if argv else 20_000
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "local")
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    from infra.local import dynamodb_adaptations, gsi_index
    from infra.local.provision import template
    from infra.local.stack import REGION

    with mock_aws():
        dynamodb_adaptations.serialise_dynamodb()
        dynamodb_adaptations.cheap_transaction_rollback()
        dynamodb_adaptations.query_one_partition()
        dynamodb_adaptations.plain_dynamodb_responses()
        gsi_index.index_gsi_queries()
        props = next(
            resource["Properties"]
            for resource in template()["Resources"].values()
            if resource["Type"] == "AWS::DynamoDB::Table"
        )
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="orders",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        )
        now = datetime.now(UTC)
        batch: list[Any] = []
        for index in range(orders):
            order_id = uuid.uuid4().hex
            shipped = now - timedelta(minutes=index)
            pointer = {
                "pk": {"S": f"SHIPMENT#{order_id}"},
                "sk": {"S": "POINTER"},
                "carrier_key": {"S": CARRIERS[index % len(CARRIERS)]},
                "shipped_at": {"S": shipped.isoformat()},
            }
            if index % 10 == 0:
                due = shipped + timedelta(days=1)
                pointer["open_due_day"] = {"S": due.date().isoformat()}
                pointer["open_due_at"] = {"S": due.isoformat()}
            order = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}
            batch += [{"PutRequest": {"Item": order}}, {"PutRequest": {"Item": pointer}}]
            if len(batch) >= 24:
                client.batch_write_item(RequestItems={"orders": batch})
                batch = []
        if batch:
            client.batch_write_item(RequestItems={"orders": batch})

        seen: list[int] = []
        walk = Table.all_items

        def counting(self: Any) -> Any:
            items = walk(self)
            seen.append(len(items))
            return items

        Table.all_items = counting  # type: ignore[method-assign]
        queries: dict[str, Any] = {
            "open-shipments-by-due, one day": {
                "IndexName": "open-shipments-by-due",
                "KeyConditionExpression": "open_due_day = :d AND open_due_at <= :n",
                "ExpressionAttributeValues": {
                    ":d": {"S": (now + timedelta(days=1)).date().isoformat()},
                    ":n": {"S": (now + timedelta(days=2)).isoformat()},
                },
            },
            "shipments-by-carrier, one carrier, last hour": {
                "IndexName": "shipments-by-carrier",
                "KeyConditionExpression": "carrier_key = :c AND shipped_at >= :a",
                "ExpressionAttributeValues": {
                    ":c": {"S": CARRIERS[0]},
                    ":a": {"S": (now - timedelta(hours=1)).isoformat()},
                },
            },
        }
        figures: dict[str, Any] = {"orders": orders, "table_items": 2 * orders}
        for name, query in queries.items():
            for mode in ("moto's walk", "index"):
                context = (
                    gsi_index.without_gsi_index()
                    if mode == "moto's walk"
                    else contextlib.nullcontext()
                )
                with context:
                    seen.clear()
                    started = time.perf_counter()
                    for _ in range(5):
                        found = client.query(TableName="orders", **query)["Count"]
                    ms = (time.perf_counter() - started) * 1000 / 5
                figures[f"{name} / {mode}"] = {
                    "ms_per_query": round(ms, 1),
                    "items_examined": max(seen),
                    "found": found,
                }
        Table.all_items = walk  # type: ignore[method-assign]
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
