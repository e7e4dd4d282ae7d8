"""Idempotency-Key handling (Powertools on the orders table) under concurrency."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.adapters.idempotency import IdempotentRequests


def test_concurrent_first_requests_of_a_fresh_process_all_succeed(deps: Any) -> None:
    fresh = IdempotentRequests(deps.store.table.client, deps.settings.table_name, 3600)
    keys = [uuid.uuid4().hex for _ in range(20)]

    def call(index: int) -> dict[str, Any]:
        return fresh.run(f"scope-{index % 3}", keys[index], {"n": index}, lambda: {"n": index})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, range(20)))
    assert results == [{"n": index} for index in range(20)]


def test_one_key_concurrently_runs_the_work_once_and_replays_it(deps: Any) -> None:
    requests = IdempotentRequests(deps.store.table.client, deps.settings.table_name, 3600)
    key = uuid.uuid4().hex
    runs: list[int] = []

    def work() -> dict[str, Any]:
        runs.append(1)
        return {"order": key}

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: requests.run("orders", key, {"b": 1}, work), range(10)))
    assert results == [{"order": key}] * 10
    assert len(runs) == 1
