"""A fresh table with a GSI in the local stack's moto, for the tests of the GSI index
(``tests/integration/test_local_gsi_index.py``) and of the per-table locks
(``tests/integration/test_local_table_locks.py``)."""

from __future__ import annotations

import uuid
from typing import Any

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
