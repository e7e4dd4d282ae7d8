"""The attempt counters on DynamoDB (moto): at most ``limit`` codes checked between two
lockouts, whatever the concurrency; the lock lasts its time and then counting starts
again."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import TooManyAttempts

LIMIT, LOCK = 5, 900
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _wrong(access: Any, scope: str, now: datetime) -> None:
    failures = access.begin_attempt(scope, now, LIMIT, LOCK)
    access.attempt_failed(scope, failures, now, LIMIT, LOCK)


def test_five_wrong_attempts_lock_for_the_lock_time_then_counting_starts_again(
    deps: Any,
) -> None:
    access, scope = deps.access, f"test#{uuid.uuid4().hex}"
    for _ in range(LIMIT):
        _wrong(access, scope, NOW)

    with pytest.raises(TooManyAttempts) as locked:
        access.begin_attempt(scope, NOW + timedelta(seconds=60), LIMIT, LOCK)
    assert locked.value.retry_after == LOCK - 60
    with pytest.raises(TooManyAttempts):
        access.begin_attempt(scope, NOW + timedelta(seconds=LOCK - 1), LIMIT, LOCK)

    later = NOW + timedelta(seconds=LOCK)
    assert access.begin_attempt(scope, later, LIMIT, LOCK) == 1
    access.attempt_failed(scope, 1, later, LIMIT, LOCK)
    for _ in range(LIMIT - 1):
        _wrong(access, scope, later)
    with pytest.raises(TooManyAttempts):
        access.begin_attempt(scope, later, LIMIT, LOCK)


def test_a_right_code_gives_its_attempt_back(deps: Any) -> None:
    access, scope = deps.access, f"test#{uuid.uuid4().hex}"
    for _ in range(LIMIT - 1):
        _wrong(access, scope, NOW)

    for _ in range(3):
        assert access.begin_attempt(scope, NOW, LIMIT, LOCK) == LIMIT
        access.attempt_succeeded(scope)


def test_forty_concurrent_attempts_reserve_exactly_the_limit(deps: Any) -> None:
    access, scope = deps.access, f"test#{uuid.uuid4().hex}"

    def attempt(_: int) -> str:
        try:
            _wrong(access, scope, NOW)
        except TooManyAttempts:
            return "locked"
        return "checked"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(40)))

    assert outcomes.count("checked") == LIMIT, outcomes


def test_a_code_is_used_once(deps: Any) -> None:
    identifier = f"email#{uuid.uuid4().hex}@example.com"
    deps.access.put_code(identifier, "h" * 32, "k0", int(NOW.timestamp()) + 600)

    with ThreadPoolExecutor(max_workers=8) as pool:
        used = list(pool.map(lambda _: deps.access.use_code(identifier, "h" * 32), range(8)))

    assert used.count(True) == 1
