"""Speed-up 2 of ``speedups``: an index for GSI queries. Like every speed-up it names the gap
it closes and ``tests/integration/test_local_gsi_index.py`` tests it."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

from infra.local.patching import apply_once, argument_reader


class _GsiIndex:
    """One global secondary index's partitions: its hash key's value -> the primary keys
    of the items that have it (a dict used as an ordered set)."""

    def __init__(self, gsi: Any, hash_attr: str) -> None:
        self.gsi = gsi
        self.hash_attr = hash_attr
        self.partitions: dict[Any, dict[tuple[Any, Any], None]] = {}
        self.where: dict[tuple[Any, Any], Any] = {}

    def put(self, key: tuple[Any, Any], item: Any) -> None:
        value = item.attrs.get(self.hash_attr) if item is not None else None
        old = self.where.get(key)
        if old is not None and value is not None and old == value:
            return
        if old is not None:
            partition = self.partitions.get(old)
            if partition is not None:
                partition.pop(key, None)
                if not partition:
                    del self.partitions[old]
            del self.where[key]
        if value is not None:
            self.partitions.setdefault(value, {})[key] = None
            self.where[key] = value


class _TableIndexes:
    """The GSI indexes of one moto table, built on the first query on one of them."""

    def __init__(self) -> None:
        self.by_name: dict[str, _GsiIndex] = {}

    def index_for(self, table: Any, name: str) -> _GsiIndex | None:
        gsi = next((g for g in table.global_indexes if g.name == name), None)
        if gsi is None:
            return None
        hashes = [k["AttributeName"] for k in gsi.schema if k["KeyType"] == "HASH"]
        if len(hashes) != 1:
            return None  # multi-attribute keys: moto's own walk
        index = self.by_name.get(name)
        if index is None or index.gsi is not gsi or index.hash_attr != hashes[0]:
            index = _GsiIndex(gsi, hashes[0])
            for item in _walk(table):
                index.put((item.hash_key, item.range_key), item)
            self.by_name[name] = index
        return index

    def update(self, table: Any, hash_key: Any, range_key: Any) -> None:
        if not self.by_name:
            return
        item = _current(table, hash_key, range_key)
        for index in self.by_name.values():
            index.put((hash_key, range_key), item)


def _walk(table: Any) -> Iterator[Any]:
    for partition in list(table.items.values()):
        if table.range_key_attr:
            yield from list(partition.values())
        else:
            yield partition


def _current(table: Any, hash_key: Any, range_key: Any) -> Any:
    partition = dict.get(table.items, hash_key)  # not items[...]: it is a defaultdict
    if partition is None:
        return None
    if table.range_key_attr:
        return partition.get(range_key)
    return partition


def _indexes(table: Any) -> _TableIndexes:
    indexes: _TableIndexes | None = table.__dict__.get("_orquesta_gsi")
    if indexes is None:
        indexes = table.__dict__["_orquesta_gsi"] = _TableIndexes()
    return indexes


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    indexes = table.__dict__.get("_orquesta_gsi")
    if indexes is not None:
        indexes.update(table, hash_key, range_key)


_gsi_query = threading.local()


@contextlib.contextmanager
def without_gsi_index() -> Iterator[None]:
    """Queries in this thread walk the whole table, as moto does (tests compare the two)."""
    _gsi_query.off = True
    try:
        yield
    finally:
        _gsi_query.off = False


def index_gsi_queries() -> None:
    """Gap: moto answers a query on a global secondary index by listing every item of the
    table and comparing each one's attributes with the key asked for, so under load every
    index query (the SLA check, the carrier scorecard, segment reviews) costs in proportion
    to the whole table and the stack slows with every order stored; AWS reads one
    partition of the index. Here each GSI with a one-attribute hash key has an index (its
    key's value -> the items' primary keys), built on its first query and kept on every
    write: ``Table.put_item`` and ``Table.delete_item`` (which puts, deletes, batches,
    transactions and PartiQL go through), ``update_item`` (moto changes the item in place)
    and ``transact_write_items`` (whose rollback puts items back directly). A query on such
    an index lists that partition's items only; everything after that (the key and range
    conditions, sorting, filters, paging, projections) is moto's own code. Items without
    the key are in no partition (sparse indexes); a changed key moves the item."""
    if not apply_once("gsi-index"):
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = DynamoDBBackend.update_item
    original_transact = DynamoDBBackend.transact_write_items
    original_query = Table.query
    original_all_items = Table.all_items
    index_name_of = argument_reader(original_query, "index_name")
    conditions_of = argument_reader(original_query, "hash_key_conditions")

    @functools.wraps(original_put)
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        _reindex(self, item.hash_key, item.range_key)
        return item

    @functools.wraps(original_delete)
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            _reindex(self, hash_key, range_key)

    def _keys(table: Any, key: dict[str, Any]) -> tuple[Any, Any] | None:
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, TypeError):
            return None
        return hash_key, range_key

    @functools.wraps(original_update)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kw: Any) -> Any:
        try:
            return original_update(self, table_name, key, *args, **kw)
        finally:
            table = self.tables.get(table_name)
            keys = _keys(table, key) if table is not None and isinstance(key, dict) else None
            if keys is not None:
                _reindex(table, *keys)

    @functools.wraps(original_transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        try:
            return original_transact(self, transact_items)
        finally:
            for entry in transact_items:
                for op in entry.values() if isinstance(entry, dict) else ():
                    if not isinstance(op, dict):
                        continue
                    table = self.tables.get(op.get("TableName"))
                    if table is None:
                        continue
                    keys = _keys(table, op.get("Key") or op.get("Item") or {})
                    if keys is not None:
                        _reindex(table, *keys)

    @functools.wraps(original_query)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = index_name_of((self, *args), kwargs)
        conditions = conditions_of((self, *args), kwargs) or []
        if not index_name or getattr(_gsi_query, "off", False):
            return original_query(self, *args, **kwargs)
        index = _indexes(self).index_for(self, index_name)
        value = next((v for name, v in conditions if index and name == index.hash_attr), None)
        if index is None or value is None:
            return original_query(self, *args, **kwargs)
        keys = list(index.partitions.get(value, {}))
        items = [item for key in keys if (item := _current(self, *key)) is not None]
        _gsi_query.items = (self, items)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _gsi_query.items = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> Any:
        chosen = getattr(_gsi_query, "items", None)
        if chosen is None or chosen[0] is not self:
            return original_all_items(self)
        return sorted(
            chosen[1], key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key
        )

    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
