"""Where moto's DynamoDB (5.2.5) falls short of AWS: races, the cost of a transaction's rollback
and of a query, and its answers' serialiser. Part of ``adaptations``; each function names the
gap it closes and ``tests/integration/test_local_adaptations.py`` tests it.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import threading
from typing import Any

from infra.local.patching import apply_once, argument_reader
from infra.local.table_locks import lock_tables_per_action


def serialise_dynamodb() -> None:
    """Gap: moto's DynamoDB takes no lock, so two conditional writes racing for the same
    item both succeed (a race of 200 orders on 50 units oversold 4 times in 5), and a
    query can iterate a table while another thread changes it. AWS applies each request
    atomically; here each action runs under the locks of the tables it touches
    (``table_locks.lock_tables_per_action``, which says how)."""
    lock_tables_per_action()


_transaction = threading.local()


def cheap_transaction_rollback() -> None:
    """Gap: moto's ``TransactWriteItems`` deep-copies the whole table, once per item of the
    transaction, so that it can roll back; under the DynamoDB lock above, every
    transaction then costs time in proportion to the table (0.1 s a copy at 300 items),
    and thirty concurrent orders on a table a test session has filled made workflow steps
    run past their 30 s timeout. AWS has no such cost. Here the copy of the table is
    skipped and only the items the transaction names are saved, and put back if it is
    cancelled (copied only for an Update, the one write moto makes to its item in place);
    the lock of ``serialise_dynamodb`` keeps anyone from seeing in between."""
    if not apply_once("transactions"):
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_transaction, "active", False):
            return self  # transact_write_items below restores what the transaction touched
        cls: Any = type(self)
        result = cls.__new__(cls)
        memo[id(self)] = result
        for name, value in self.__dict__.items():
            setattr(result, name, copy.deepcopy(value, memo))
        return result

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            for kind, op in entry.items():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                if table is None:
                    continue
                attrs = op.get("Key") or op.get("Item") or {}
                try:
                    hash_key = DynamoType(attrs[table.hash_key_attr])
                    range_key = (
                        DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                    )
                except KeyError:
                    continue  # moto reports the malformed key itself
                current = table.get_item(hash_key, range_key)
                # Only an Update changes moto's item in place; a Put or a Delete replaces
                # or removes it, leaving the saved item as it was.
                if kind == "Update":
                    current = copy.deepcopy(current)
                saved.append((table, hash_key, range_key, current))
        _transaction.active = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = item
                else:
                    table.items[hash_key] = item
            raise
        finally:
            _transaction.active = False

    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_partition = threading.local()


def query_one_partition() -> None:
    """Gap: moto's ``Query`` lists every item of the table and compares each one's hash
    key with the one asked for, so under the DynamoDB lock every query (stock levels, the
    catalogue, an order's history) costs in proportion to the whole table; AWS reads one
    partition. Here a query on the table itself (not on an index) looks at the items of
    the partition asked for only; everything after that (range conditions, filters,
    paging, projections) is moto's own code."""
    if not apply_once("query"):
        return
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    index_name_of = argument_reader(original_query, "index_name")

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name positionally: read it either way.
        if index_name_of((self, hash_key, *args), kwargs) or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        _partition.key = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.key = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> Any:
        key = getattr(_partition, "key", None)
        if key is None or key[0] is not self:
            return original_all_items(self)
        items = dict.get(self.items, key[1])  # not self.items[...]: it is a defaultdict
        if items is None:
            return []
        return list(items.values()) if self.range_key_attr else [items]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


# The actions whose successful answers hold only JSON types (no timestamps): plain to write.
DATA_PLANE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "TransactGetItems",
    "BatchGetItem",
    "BatchWriteItem",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain_dynamodb_responses() -> None:
    """Gap: moto 5.2 writes every DynamoDB answer through its generic, model-driven
    serialiser, which walks the AttributeValue shape of every attribute of every item (an
    order item with its document: milliseconds each, under the DynamoDB lock). DynamoDB's
    wire format is plain JSON of those attribute values, which moto already holds as plain
    dicts; here successful data-plane answers are written with ``json.dumps``, as moto did
    up to 5.1. Errors and control-plane answers still go through moto's serialiser."""
    if not apply_once("dynamodb-json"):
        return
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized

    @functools.wraps(original)
    def serialized(self: Any, action_result: Any) -> Any:
        if (
            type(action_result) is DynamoResult
            and not isinstance(action_result.result, Exception)
            and self._get_action() in DATA_PLANE
        ):
            body = json.dumps(action_result.result, default=_json_default, separators=(",", ":"))
            headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
            return 200, headers, body
        return original(self, action_result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]
