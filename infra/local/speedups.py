"""Where moto (5.2.5) is slow in ways AWS is not, and what the local stack does about it.

Like ``adaptations``, each function names the gap it closes, and
``tests/integration/test_local_speedups.py`` has a test for each that fails without it.
Nothing here changes an answer: each one falls back to moto's own code for whatever it does
not cover. ``apply_all`` is called from ``adaptations.apply_all``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

_applied: set[str] = set()


def apply_once(name: str) -> bool:
    """True the first time ``name`` is asked for in this process: each adaptation and
    speed-up patches moto once (infra/local/adaptations.py uses it too)."""
    if name in _applied:
        return False
    _applied.add(name)
    return True


# -- 1. Per-table DynamoDB locks, held for the action only ---------------------------------


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


# -- 2. An index for GSI queries --------------------------------------------------------


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
    signature = inspect.signature(original_query)

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
        bound = signature.bind(self, *args, **kwargs)
        index_name = bound.arguments.get("index_name")
        conditions = bound.arguments.get("hash_key_conditions") or []
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


# -- 3. Parsed JSONPath expressions, once ----------------------------------------------------


def cache_jsonpath_parsing() -> None:
    """Gap: moto's ASL interpreter parses each JSONPath (``InputPath``, ``ResultPath``,
    ``OutputPath``, parameters' ``.$`` paths) with ``jsonpath_ng.parse``, which builds a
    new yacc parser (``JsonPathParser.__init__``) every time: on every state of every
    execution. AWS has no such cost. The parsed expression depends on its text only, and
    ``find``/``update`` do not change it, so here each text is parsed once per process."""
    if not apply_once("jsonpath"):
        return
    from jsonpath_ng.ext.parser import parse as extended_parse
    from jsonpath_ng.parser import parse
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module, parser in ((json_path, extended_parse), (result_path, parse)):
        module.parse = functools.lru_cache(maxsize=4096)(parser)  # type: ignore[attr-defined]


# -- 4. A handler's method names, once ---------------------------------------------------


def cache_handler_method_names() -> None:
    """Gap: on every request to every moto service, ``BaseResponse.call_action`` lists the
    handler class's methods with ``inspect.getmembers`` (hundreds of attributes) to check
    that the action is one of them: about 3 % of the stack's CPU under load. A class's
    methods do not change once the stack runs (every adaptation here replaces methods
    before the first request, under the same names), so the list is kept per class."""
    if not apply_once("method-names"):
        return
    from moto.core import responses

    listed = responses.method_names_from_class  # type: ignore[attr-defined]
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(listed)  # type: ignore[attr-defined]


# -- 5. A state machine's definition parsed once ------------------------------------------


def _eval_components(root: Any) -> Iterator[Any]:
    """Every component reachable from ``root`` (the parsed program's tree), once each."""
    from moto.stepfunctions.parser.asl.component.component import Component

    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Component):
            yield value
            stack.extend(vars(value).values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())


def cache_parsed_definitions() -> None:
    """Gap: moto's interpreter parses the state machine's definition (an ANTLR grammar)
    at the start of every execution: 10-18 % of the stack's CPU under load, the largest
    single cost left in moto. AWS has no such cost. The parsed program is a tree of
    components that keep no state of an execution (that lives in each execution's
    ``Environment``; the one value a component computes lazily, its ``heap_key``, is
    computed here before the tree is shared), and moto itself already runs one component
    tree in several threads at once (a Map's iterations), so each definition is parsed
    once per process and its program reused by every execution of it."""
    if not apply_once("definitions"):
        return
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint
    programs: dict[str, Any] = {}
    programs_lock = threading.Lock()

    @functools.wraps(original)
    def entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        program = programs.get(definition)
        if program is None:
            program = original(self)
            for component in _eval_components(program):
                if isinstance(component, EvalComponent):
                    _ = component.heap_key  # computed now, not by two executions at once
            with programs_lock:
                program = programs.setdefault(definition, program)
        return program

    ExecutionWorker._get_evaluation_entrypoint = entrypoint  # type: ignore[method-assign]


# -- 6. The tracer fully off --------------------------------------------------------------


class _NoSegment:
    """What a subsegment is when nothing is traced."""

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Nothing to record."""

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """Nothing to record."""


class NoTracing:
    """A Powertools tracing provider that does nothing: no X-Ray entity, id or context."""

    _segment = _NoSegment()

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[_NoSegment]:
        """No subsegment."""
        yield self._segment

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> Any:
        """No subsegment."""
        yield self._segment

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Nothing to record."""

    def patch(self, modules: Any) -> None:
        """Nothing to patch."""

    def patch_all(self) -> None:
        """Nothing to patch."""


def tracer_off(app_module: Any = None) -> None:
    """Gap: outside Lambda, Powertools' ``Tracer`` disables the X-Ray SDK, but each
    decorated handler still enters an X-Ray subsegment: the disabled SDK builds a dummy
    segment and subsegment (each entity drawing a random id from ``os.urandom``) and, on
    an exception, extracts its traceback, on every step and subscriber call. There is no
    X-Ray locally. Here ``POWERTOOLS_TRACE_DISABLED`` is set and every ``Tracer`` (those
    made later share the first one's configuration, as Powertools documents; the app's,
    if it was imported before) uses a provider that does nothing."""
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    from aws_lambda_powertools import Tracer

    provider = NoTracing()
    Tracer(disabled=True, auto_patch=False, provider=provider)  # type: ignore[arg-type]
    tracer = getattr(app_module, "tracer", None) if app_module is not None else None
    if isinstance(tracer, Tracer):
        tracer.provider = provider  # type: ignore[assignment]
        tracer.disabled = True


def apply_all() -> None:
    """Every speed-up but the tracer's, which ``LocalStack`` applies around the app."""
    lock_tables_per_action()
    index_gsi_queries()
    cache_jsonpath_parsing()
    cache_handler_method_names()
    cache_parsed_definitions()
