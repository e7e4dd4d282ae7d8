"""Speed-up 1 of ``speedups``: per-table DynamoDB locks, held for the action only. Like every
speed-up it names the gap it closes and ``tests/integration/test_local_table_locks.py`` tests it."""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from infra.local.patching import apply_once


class TableLock:
    """A table's lock: many readers at once, or one writer, granted in the order asked
    (first come, first served; readers next to each other in the queue go in together),
    so that neither a stream of writes nor one of reads makes the other wait long."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: collections.deque[tuple[bool, threading.Event]] = collections.deque()
        self._readers = 0
        self._writing = False

    @property
    def _writers_waiting(self) -> int:
        return sum(1 for write, _ in list(self._queue) if write)

    @property
    def _readers_waiting(self) -> int:
        return sum(1 for write, _ in list(self._queue) if not write)

    def acquire(self, write: bool) -> None:
        """Wait for the table, to read (shared) or to write (alone)."""
        with self._mutex:
            if not self._queue and not self._writing and not (write and self._readers):
                self._enter(write)
                return
            granted = threading.Event()
            self._queue.append((write, granted))
        granted.wait()  # _grant counted this thread in before setting it

    def release(self, write: bool) -> None:
        """Let the next ones in."""
        with self._mutex:
            if write:
                self._writing = False
            else:
                self._readers -= 1
            self._grant()

    def _enter(self, write: bool) -> None:
        if write:
            self._writing = True
        else:
            self._readers += 1

    def _grant(self) -> None:
        while self._queue and not self._writing:
            write, granted = self._queue[0]
            if write and self._readers:
                return
            self._queue.popleft()
            self._enter(write)
            granted.set()


_registry_lock = threading.Lock()

_table_locks: dict[tuple[str, str, str], TableLock] = {}

_held = threading.local()


def _lock_for(account: str, region: str, table: str) -> TableLock:
    key = (account, region, table)
    lock = _table_locks.get(key)  # no lock to find one: only making one needs it
    if lock is None:
        with _registry_lock:
            lock = _table_locks.setdefault(key, TableLock())
    return lock


def _tables_of(action: str, body: dict[str, Any], every_table: Callable[[], list[str]]) -> set[str]:
    """The tables a DynamoDB request touches; every table for an action not known here."""
    if action in ("batch_write_item", "batch_get_item"):
        return set(body.get("RequestItems") or {})
    if action in ("transact_write_items", "transact_get_items"):
        names: set[str] = set()
        for entry in body.get("TransactItems") or []:
            for op in entry.values() if isinstance(entry, dict) else ():
                if isinstance(op, dict) and isinstance(op.get("TableName"), str):
                    names.add(op["TableName"])
        return names
    name = body.get("TableName")
    if action in _ONE_TABLE and isinstance(name, str):
        return {name}
    # ExecuteStatement, ListTables, backups...: every table, as the old single lock did.
    return set(every_table()) | ({name} if isinstance(name, str) else set())


_READS = {
    "get_item",
    "batch_get_item",
    "query",
    "scan",
    "transact_get_items",
    "describe_table",
    "describe_time_to_live",
    "describe_continuous_backups",
    "list_tables",
}

_ONE_TABLE = {
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "describe_table",
    "create_table",
    "update_table",
    "delete_table",
    "update_time_to_live",
    "describe_time_to_live",
    "describe_continuous_backups",
    "update_continuous_backups",
}

_LOCKED_ACTIONS = _ONE_TABLE | {
    "batch_write_item",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
    "list_tables",
    "create_backup",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
    "import_table",
}


@contextlib.contextmanager
def locked_tables(account: str, region: str, tables: set[str], write: bool) -> Iterator[None]:
    """Hold the locks of ``tables`` (shared to read, alone to write), taken in name order
    so that two requests on the same tables never wait on each other (a transaction over A
    and B, another over B and A). A lock this thread already holds is not taken again."""
    held: set[tuple[str, str, str]] = _held.__dict__.setdefault("keys", set())
    taken: list[tuple[tuple[str, str, str], TableLock]] = []
    try:
        for name in sorted(tables):
            key = (account, region, name)
            if key in held:
                continue
            lock = _lock_for(*key)
            lock.acquire(write)
            held.add(key)
            taken.append((key, lock))
        yield
    finally:
        for key, lock in reversed(taken):
            held.discard(key)
            lock.release(write)


def lock_tables_per_action() -> None:
    """Gap: moto's DynamoDB takes no lock, so two conditional writes racing for the same
    item both succeed, and a query can iterate a table while another thread changes it.
    AWS applies each request atomically. One lock around every DynamoDB request (what this
    replaces) also made every request wait for every other, reads for reads included: a
    quarter of the stack's samples under 12 clients. Here each action holds the locks of
    the tables it names only (a transaction or batch: all of them, in name order), alone
    to write and shared to read, and only while moto runs the action itself: botocore's
    parsing of the request and the serialising of the answer happen outside it (the
    answer is already copied out of moto's items by then). Actions not known here take
    every table's lock, to write. Reads must not change the table for this: moto's
    ``get_item`` of a missing partition adds an empty one (the table is a defaultdict), so
    here it answers None without touching the table."""
    if not apply_once("table-locks"):
        return
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    def wrap(action: str) -> None:
        original = getattr(DynamoHandler, action)
        write = action not in _READS

        @functools.wraps(original)
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            backend = self.dynamodb_backend
            body = self.body if isinstance(self.body, dict) else {}
            tables = _tables_of(action, body, lambda: list(backend.tables))
            with locked_tables(self.current_account, self.region, tables, write):
                return original(self, *args, **kwargs)

        setattr(DynamoHandler, action, locked)

    for action in sorted(_LOCKED_ACTIONS):
        if hasattr(DynamoHandler, action):
            wrap(action)

    original_get = Table.get_item

    @functools.wraps(original_get)
    def get_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kw: Any) -> Any:
        if range_key and self.range_key_attr and not dict.__contains__(self.items, hash_key):
            return None  # what moto answers, without adding the empty partition
        return original_get(self, hash_key, range_key, *args, **kw)

    Table.get_item = get_item  # type: ignore[method-assign]
