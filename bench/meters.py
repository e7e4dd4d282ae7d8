"""What AWS would bill, counted in this process on moto's backends.

Every meter is a class-level wrapper around a moto backend method, so it sees every call
whichever client made it (the app's, the ASL interpreter's, the bench's own). Counts go
into one flat counter; the bench takes snapshots around each phase and divides the
differences by the number of orders in that phase.

What DynamoDB bills for each write is ``bench/billing.py``'s: the rules, with AWS's
sources, are told there.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.billing import attrs_of as _attrs
from bench.billing import index_write_units, item_size, kind_of, snapshot_attrs
from bench.billing import units as _units

_lock = threading.Lock()
_local = threading.local()
_installed = False

counts: Counter[str] = Counter()
# status -> order id -> time.monotonic() when the status event was published
status_seen: dict[str, dict[str, float]] = {}
# handler (step name or API route) -> the seconds of each of its runs, in order
runs: dict[str, list[float]] = {}


def add(key: str, amount: float = 1.0) -> None:
    """Add to one counter."""
    with _lock:
        counts[key] += amount


def snapshot() -> dict[str, float]:
    """A copy of every counter."""
    with _lock:
        return dict(counts)


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """``after - before``, key by key, without zeros."""
    keys = set(after) | set(before)
    out = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in keys}
    return {key: value for key, value in out.items() if value}


@contextmanager
def unmetered() -> Iterator[None]:
    """The bench's own DynamoDB calls in this thread (watching for a state) are not the
    application's: left out of the counters."""
    _local.unmetered = True
    try:
        yield
    finally:
        _local.unmetered = False


def _is_unmetered() -> bool:
    return bool(getattr(_local, "unmetered", False))


def seen(status: str, order_id: str) -> float | None:
    """When this order's status event was published (monotonic), or None."""
    with _lock:
        return status_seen.get(status, {}).get(order_id)


def _record_index_writes(
    backend: Any, table_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    try:
        indexes = backend.get_table(table_name).global_indexes
    except Exception:  # noqa: BLE001 - an unknown table fails in moto itself
        return
    kind = kind_of(after if after is not None else before)
    for index in indexes:
        units = index_write_units(index, before, after)
        if units:
            _record_write(f"GSI {index.name}", kind, units, False)


# DynamoDB writes ---------------------------------------------------------------------------
def _existing(backend: Any, table_name: str, key: dict[str, Any]) -> Any:
    try:
        table = backend.get_table(table_name)
        hash_value, range_value = backend.get_keys_value(table, key)
        return table.get_item(hash_value, range_value)
    except Exception:  # noqa: BLE001 - an invalid key fails in moto itself, not here
        return None


def _key_of_put(backend: Any, table_name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    table = backend.get_table(table_name)
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _record_write(op: str, kind: str, units: float, failed: bool) -> None:
    if _is_unmetered():
        return
    with _lock:
        counts[f"ddb.write.requests.{op}.{kind}"] += 1
        counts[f"ddb.write.units.{op}.{kind}"] += units
        if failed:
            counts[f"ddb.write.failed.{op}.{kind}"] += 1


def _in_transaction() -> bool:
    return bool(getattr(_local, "transaction", False))


def _install_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    put_item = DynamoDBBackend.put_item
    update_item = DynamoDBBackend.update_item
    delete_item = DynamoDBBackend.delete_item
    transact = DynamoDBBackend.transact_write_items
    get_item = DynamoDBBackend.get_item
    query = DynamoDBBackend.query
    handler_get_item = DynamoHandler.get_item
    handler_batch_get_item = DynamoHandler.batch_get_item

    @functools.wraps(put_item)
    def metered_put(
        self: Any, table_name: str, item_attrs: dict[str, Any], *a: Any, **k: Any
    ) -> Any:
        if _in_transaction():
            return put_item(self, table_name, item_attrs, *a, **k)
        before = snapshot_attrs(
            _existing(self, table_name, _key_of_put(self, table_name, item_attrs))
        )
        size = max(item_size(before), item_size(item_attrs))
        failed = True
        try:
            result = put_item(self, table_name, item_attrs, *a, **k)
            failed = False
            return result
        finally:
            _record_write("PutItem", kind_of(item_attrs), _units(size, 1024), failed)
            if not failed:
                _record_index_writes(self, table_name, before, snapshot_attrs(item_attrs))

    @functools.wraps(update_item)
    def metered_update(self: Any, table_name: str, key: dict[str, Any], *a: Any, **k: Any) -> Any:
        if _in_transaction():
            return update_item(self, table_name, key, *a, **k)
        old = snapshot_attrs(_existing(self, table_name, key))
        failed = True
        new = None
        try:
            result = update_item(self, table_name, key, *a, **k)
            failed = False
            new = snapshot_attrs(result)
            return result
        finally:
            size = max(item_size(old), item_size(new))
            _record_write("UpdateItem", kind_of(key), _units(size, 1024), failed)
            if not failed:
                _record_index_writes(self, table_name, old, new)

    @functools.wraps(delete_item)
    def metered_delete(self: Any, table_name: str, key: dict[str, Any], *a: Any, **k: Any) -> Any:
        if _in_transaction():
            return delete_item(self, table_name, key, *a, **k)
        old = snapshot_attrs(_existing(self, table_name, key))
        failed = True
        try:
            result = delete_item(self, table_name, key, *a, **k)
            failed = False
            return result
        finally:
            _record_write("DeleteItem", kind_of(key), _units(item_size(old), 1024), failed)
            if not failed:
                _record_index_writes(self, table_name, old, None)

    @functools.wraps(transact)
    def metered_transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        plans: list[tuple[str, str, dict[str, Any], dict[str, Any] | None, Any]] = []
        for entry in transact_items:
            op, body = next(iter(entry.items()))
            table_name = body.get("TableName", "")
            try:
                key = _key_of_put(self, table_name, body["Item"]) if op == "Put" else body["Key"]
            except Exception:  # noqa: BLE001 - moto rejects it below
                continue
            before = snapshot_attrs(_existing(self, table_name, key))
            plans.append((op, table_name, key, before, body.get("Item")))
        _local.transaction = True
        failed = True
        try:
            result = transact(self, transact_items)
            failed = False
            return result
        finally:
            _local.transaction = False
            for op, table_name, key, before, new_item in plans:
                after = before  # a ConditionCheck, or a cancelled transaction
                if not failed and op in ("Put", "Update"):
                    after = snapshot_attrs(_existing(self, table_name, key))
                elif not failed and op == "Delete":
                    after = None
                size = max(item_size(before), item_size(after))
                if op == "Put":
                    size = max(size, item_size(new_item))
                kind = kind_of(new_item if new_item is not None else key)
                _record_write(f"Transact{op}", kind, 2 * _units(size, 1024), failed)
                if not failed:
                    _record_index_writes(self, table_name, before, after)

    @functools.wraps(handler_get_item)
    def handler_metered_get(self: Any) -> Any:
        _local.read_consistent = bool(self.body.get("ConsistentRead", False))
        _local.reading = True
        try:
            return handler_get_item(self)
        finally:
            _local.reading = False

    @functools.wraps(handler_batch_get_item)
    def handler_metered_batch_get(self: Any) -> Any:
        # One request however many keys; each key billed as a GetItem of its own would be.
        batches = self.body.get("RequestItems", {})
        for batch in batches.values():
            _local.read_consistent = bool(batch.get("ConsistentRead", False))
            if batch.get("Keys"):
                add(f"ddb.read.requests.BatchGetItem.{kind_of(batch['Keys'][0])}")
        _local.reading = "BatchGetItem"
        try:
            return handler_batch_get_item(self)
        finally:
            _local.reading = False

    @functools.wraps(get_item)
    def metered_get(self: Any, table_name: str, keys: dict[str, Any], *a: Any, **k: Any) -> Any:
        result = get_item(self, table_name, keys, *a, **k)
        reading = getattr(_local, "reading", False)
        if reading and not _in_transaction() and not _is_unmetered():
            op = reading if isinstance(reading, str) else "GetItem"
            units = _units(item_size(_attrs(result)), 4096)
            consistent = getattr(_local, "read_consistent", False)
            add(f"ddb.read.units.{op}.{kind_of(keys)}", units if consistent else units / 2)
            if op == "GetItem":
                add(f"ddb.read.requests.GetItem.{kind_of(keys)}")
            add(f"ddb.read.items.{op}.{kind_of(keys)}", 1 if result is not None else 0)
        return result

    @functools.wraps(query)
    def metered_query(self: Any, table_name: str, hash_key_dict: Any, *a: Any, **k: Any) -> Any:
        result = query(self, table_name, hash_key_dict, *a, **k)
        if _is_unmetered():
            return result
        items = result[0]
        units = _units(sum(item_size(_attrs(item)) for item in items), 4096)
        kind = kind_of({"pk": hash_key_dict}) if hash_key_dict else "?"
        add(f"ddb.read.units.Query.{kind}", units if k.get("consistent_read") else units / 2)
        add(f"ddb.read.requests.Query.{kind}")
        add(f"ddb.read.items.Query.{kind}", len(items))
        return result

    DynamoDBBackend.put_item = metered_put
    DynamoDBBackend.update_item = metered_update
    DynamoDBBackend.delete_item = metered_delete
    DynamoDBBackend.transact_write_items = metered_transact
    DynamoDBBackend.get_item = metered_get
    DynamoDBBackend.query = metered_query
    DynamoHandler.get_item = handler_metered_get
    DynamoHandler.batch_get_item = handler_metered_batch_get


# SNS and SES -------------------------------------------------------------------------------
def _install_sns() -> None:
    from moto.sns.models import SNSBackend

    publish = SNSBackend.publish

    @functools.wraps(publish)
    def metered_publish(self: Any, message: str, arn: str | None, *a: Any, **k: Any) -> Any:
        topic = (arn or "sms").rsplit(":", 1)[-1]
        add(f"sns.publish.{topic}")
        if topic.endswith("order-events"):
            try:
                event = json.loads(message)
            except ValueError:
                event = {}
            if event.get("type") == "order.status_changed":
                with _lock:
                    status_seen.setdefault(str(event["status"]), {})[str(event["order_id"])] = (
                        time.monotonic()
                    )
        return publish(self, message, arn, *a, **k)

    SNSBackend.publish = metered_publish


def _install_ses() -> None:
    from moto.ses.models import SESBackend

    send_raw = SESBackend.send_raw_email

    @functools.wraps(send_raw)
    def metered_send_raw(self: Any, source: str, destinations: list[str], *a: Any) -> Any:
        result = send_raw(self, source, destinations, *a)
        # One per call: moto appends the To: header to ``destinations``, counting the
        # customer twice; SES bills one message per recipient.
        add("ses.messages")
        return result

    SESBackend.send_raw_email = metered_send_raw


def install() -> None:
    """Wrap moto's backends (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    _install_dynamodb()
    _install_sns()
    _install_ses()
    time_api_handlers()


def record_run(name: str, seconds: float, counter: str = "lambda.seconds.") -> None:
    """Count one handler run's seconds, and keep it for the runs' median (bench/solo.py)."""
    with _lock:
        counts[counter + name] += seconds
        runs.setdefault(name, []).append(seconds)


def runs_since(marks: dict[str, int]) -> dict[str, list[float]]:
    """Each handler's runs after ``marks`` (how many it had then, from ``run_marks``)."""
    with _lock:
        return {name: list(done[marks.get(name, 0) :]) for name, done in runs.items()}


def run_marks() -> dict[str, int]:
    """How many runs each handler has had so far."""
    with _lock:
        return {name: len(done) for name, done in runs.items()}


def timed_handlers(handlers: dict[str, Callable[..., Any]]) -> None:
    """Count the seconds each in-process Lambda handler runs (for a GB-s estimate), and the
    CPU seconds its thread used: in one process the run also holds waits for the GIL and
    the table locks behind other requests, which a Lambda with its own CPU does not pay."""

    def timed(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return handler(event, context)
            finally:
                record_run(name, time.perf_counter() - start)
                add(f"lambda.cpu_seconds.{name}", time.thread_time() - cpu)

        return run

    for name, handler in list(handlers.items()):
        handlers[name] = timed(name, handler)


def time_api_handlers() -> None:
    """Count the seconds the app's API handler runs per route, in-process, as Lambda bills
    an API request (the client-side latency also holds the local gateway's queue)."""
    from chalice.app import Chalice

    if getattr(Chalice.__call__, "_bench_timed", False):
        return
    handler = Chalice.__call__

    @functools.wraps(handler)
    def timed(self: Any, event: Any, context: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return handler(self, event, context)
        finally:
            request = event.get("requestContext", {}) if isinstance(event, dict) else {}
            route = f"{request.get('httpMethod', '?')} {request.get('resourcePath', '?')}"
            record_run(route, time.perf_counter() - start, counter="lambda.api_seconds.")
            add(f"lambda.api_cpu_seconds.{route}", time.thread_time() - cpu)

    timed._bench_timed = True  # type: ignore[attr-defined]
    Chalice.__call__ = timed  # type: ignore[method-assign]
