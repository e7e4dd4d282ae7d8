"""A fresh table with a GSI in the local stack's moto, for the tests of the GSI index
(``tests/integration/test_local_gsi_index.py``) and of the per-table locks
(``tests/integration/test_local_table_locks.py``); and a count of the items moto walks for
a query, for the tests that a query looks at its partition only."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

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


def items_walked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many items each of this thread's queries from now on walks in moto (its
    ``Table.all_items``), appended as they run."""
    from moto.dynamodb.models.table import Table

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
    return seen
