"""infra/local/table_locks.py (``lock_tables_per_action``): DynamoDB locks per table, held for
the action only. Writes to other tables do not wait, reads share a table and writes wait for
them, a read leaves the table as it was, and ``TableLock`` serves in order so no writer waits
behind new readers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.support.gsi_tables import _gsi_table


def test_lock_tables_per_action_writes_to_other_tables_do_not_wait(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    from infra.local.stack import ACCOUNT_ID, REGION
    from infra.local.table_locks import _lock_for
    from tests.support import eventually

    client = deps.store.table.client
    slow, other = _gsi_table(client), _gsi_table(client)
    inside, release = threading.Event(), threading.Event()
    put_item = Table.put_item

    def blocking(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == slow and threading.current_thread().name == "slow-writer":
            inside.set()
            release.wait()
        return put_item(self, *args, **kwargs)

    monkeypatch.setattr(Table, "put_item", blocking)

    def put(table: str, pk: str) -> None:
        client.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "X"}})

    writers = [
        threading.Thread(target=put, args=(slow, "held"), name="slow-writer", daemon=True),
        threading.Thread(target=put, args=(other, "free"), name="other-table", daemon=True),
        threading.Thread(target=put, args=(slow, "queued"), name="same-table", daemon=True),
        threading.Thread(
            target=client.get_item,
            kwargs={"TableName": slow, "Key": {"pk": {"S": "held"}, "sk": {"S": "X"}}},
            name="same-table-read",
            daemon=True,
        ),
    ]
    try:
        writers[0].start()
        assert inside.wait(timeout=60)
        for writer in writers[1:]:
            writer.start()
        # A hang guard, not a time limit: without per-table locks this write waits until
        # the first is released, which happens only after this line.
        writers[1].join(timeout=60)
        assert not writers[1].is_alive(), "a write to another table waited for the held one"
        lock = _lock_for(ACCOUNT_ID, REGION, slow)
        eventually(lambda: (lock._writers_waiting, lock._readers_waiting) == (1, 1), timeout=60)
        assert writers[2].is_alive(), "a write to the same table did not wait"
        assert writers[3].is_alive(), "a read of the table did not wait for its write"
    finally:
        release.set()
        for writer in writers:
            writer.join(timeout=60)
    key = {"pk": {"S": "queued"}, "sk": {"S": "X"}}
    assert client.get_item(TableName=slow, Key=key)["Item"] == key


def test_lock_tables_per_action_reads_share_a_table_and_writes_wait_for_them(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.table import Table

    from infra.local.stack import ACCOUNT_ID, REGION
    from infra.local.table_locks import _lock_for
    from tests.support import eventually

    client = deps.store.table.client
    table = _gsi_table(client)
    key = {"pk": {"S": "k"}, "sk": {"S": "X"}}
    client.put_item(TableName=table, Item=key)
    inside, release = threading.Event(), threading.Event()
    query = Table.query

    def blocking(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == table and threading.current_thread().name == "slow-reader":
            inside.set()
            release.wait()
        return query(self, *args, **kwargs)

    monkeypatch.setattr(Table, "query", blocking)
    read = {"TableName": table, "Key": key}
    threads = [
        threading.Thread(
            target=client.query,
            kwargs={
                "TableName": table,
                "KeyConditionExpression": "pk = :k",
                "ExpressionAttributeValues": {":k": {"S": "k"}},
            },
            name="slow-reader",
            daemon=True,
        ),
        threading.Thread(target=client.get_item, kwargs=read, name="reader", daemon=True),
        threading.Thread(
            target=client.put_item,
            kwargs={"TableName": table, "Item": key | {"v": {"S": "new"}}},
            name="writer",
            daemon=True,
        ),
    ]
    try:
        threads[0].start()
        assert inside.wait(timeout=60)
        threads[1].start()
        threads[1].join(timeout=60)  # a hang guard: with one lock it waits for the release
        assert not threads[1].is_alive(), "a read waited for another read of the table"
        threads[2].start()
        lock = _lock_for(ACCOUNT_ID, REGION, table)
        eventually(lambda: lock._writers_waiting == 1, timeout=60)
        assert threads[2].is_alive(), "a write did not wait for a read in progress"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert client.get_item(**read)["Item"]["v"] == {"S": "new"}


def test_lock_tables_per_action_a_read_leaves_the_table_as_it_was(deps: Any) -> None:
    # Reads share the table's lock, so none may change it: moto's get_item of a missing
    # partition would add an empty one, under the feet of a concurrent scan.
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.stack import ACCOUNT_ID, REGION

    client = deps.store.table.client
    table = _gsi_table(client)
    moto_table = dynamodb_backends[ACCOUNT_ID][REGION].tables[table]
    before = len(moto_table.items)
    missing = {"pk": {"S": f"nobody-{uuid.uuid4().hex}"}, "sk": {"S": "X"}}
    assert "Item" not in client.get_item(TableName=table, Key=missing)
    assert len(moto_table.items) == before


def test_table_lock_serves_in_order_so_no_writer_waits_behind_new_readers() -> None:
    from infra.local.table_locks import TableLock
    from tests.support import eventually

    lock = TableLock()
    order: list[str] = []
    lock.acquire(write=False)  # a read in progress

    def take(name: str, write: bool) -> None:
        lock.acquire(write)
        order.append(name)
        if write:
            writing.wait()
        lock.release(write)

    writing = threading.Event()
    writer = threading.Thread(target=take, args=("writer", True), daemon=True)
    writer.start()
    eventually(lambda: lock._writers_waiting == 1, timeout=60)
    reader = threading.Thread(target=take, args=("late reader", False), daemon=True)
    reader.start()
    eventually(lambda: lock._readers_waiting == 1, timeout=60)  # queued behind the writer
    lock.release(write=False)
    eventually(lambda: order == ["writer"], timeout=60)
    assert lock._readers_waiting == 1, "a reader went in while the writer wrote"
    writing.set()
    writer.join(timeout=60)
    reader.join(timeout=60)
    assert order == ["writer", "late reader"]
    assert (lock._readers, lock._writing, lock._writers_waiting) == (0, False, 0)
