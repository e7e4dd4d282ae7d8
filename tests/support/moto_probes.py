"""What moto did for this test's thread: how many items each query walked, which
requests went through its HTTP stubber (the local stack's threads are left out), and the
DynamoDB calls a client of the test's own made."""

from __future__ import annotations

import threading
from typing import Any

import pytest


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


def requests_through_stubber(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL of each request this thread sends through moto's HTTP stubber from now on,
    appended as they go."""
    from moto.core.botocore_stubber import BotocoreStubber

    stubbed: list[str] = []
    me = threading.get_ident()
    process_request = BotocoreStubber.process_request

    def counting(self: Any, request: Any) -> Any:
        if threading.get_ident() == me:  # not the stack's own threads
            stubbed.append(request.url)
        return process_request(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", counting)
    return stubbed


def recording_client(region: str) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """A DynamoDB client of the test's own and the calls it makes, in order (operation
    name, request parameters), for a store built on it."""
    import boto3

    client = boto3.client("dynamodb", region_name=region)
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    return client, calls
