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


def test_attempts_in_flight_at_the_limit_refuse_the_next_for_now_without_a_lock(
    deps: Any,
) -> None:
    # Probe 201: 20 copies of the right code sent at once were counted as failures while
    # in flight, and the fifth locked the address for 15 minutes; a new right code was 429.
    access, scope = deps.access, f"test#{uuid.uuid4().hex}"
    for _ in range(LIMIT):
        access.begin_attempt(scope, NOW, LIMIT, LOCK)

    with pytest.raises(TooManyAttempts) as not_now:
        access.begin_attempt(scope, NOW, LIMIT, LOCK)

    assert not_now.value.retry_after < 60
    for _ in range(LIMIT):
        access.attempt_succeeded(scope)  # they were right, and give theirs back
    assert access.lock_ends(scope, NOW) is None
    assert access.begin_attempt(scope, NOW + timedelta(seconds=1), LIMIT, LOCK) == 1


def test_attempts_counted_long_ago_and_never_settled_lock_as_failures(deps: Any) -> None:
    # Requests that died after counting their attempt: the limit still locks, once they
    # can no longer be in flight.
    access, scope = deps.access, f"test#{uuid.uuid4().hex}"
    for _ in range(LIMIT):
        access.begin_attempt(scope, NOW, LIMIT, LOCK)
    later = NOW + timedelta(seconds=60)

    with pytest.raises(TooManyAttempts) as locked:
        access.begin_attempt(scope, later, LIMIT, LOCK)

    assert locked.value.retry_after == LOCK
    assert access.begin_attempt(scope, later + timedelta(seconds=LOCK), LIMIT, LOCK) == 1


def test_a_code_is_used_once(deps: Any) -> None:
    identifier = f"email#{uuid.uuid4().hex}@example.com"
    deps.access.put_code(identifier, "h" * 32, "k0", int(NOW.timestamp()) + 600)

    with ThreadPoolExecutor(max_workers=8) as pool:
        used = list(pool.map(lambda _: deps.access.use_code(identifier, "h" * 32), range(8)))

    assert used.count(True) == 1
