"""Two ops retries of one order racing under one Idempotency-Key (probe 161): both read the
order before either wrote, so the check of an earlier retry under the key found none, and
the one that lost the write was answered 202 "replayed" even when its reason differed.
The same key with another body is 422 naming the key (API.md's Conventions)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import IdempotencyKeyReused
from chalicelib.domain.orders import Order
from chalicelib.services import recovery
from chalicelib.services.recovery import RetryOutcome
from tests.service import flows


def _aborted(deps: Deps) -> Order:
    order = flows.shipped(deps)
    workflow: Any = deps.workflow
    arn = workflow.execution_arn(order.order_id)
    workflow.end(arn, "ABORTED")
    recovery.execution_ended(arn, order.order_id, "ABORTED", deps)
    return deps.store.get_order(order.order_id)


def _read_before_the_first_wrote(deps: Deps, monkeypatch: pytest.MonkeyPatch, stale: Order) -> None:
    """The next read of the order answers ``stale`` (read before the racing retry wrote);
    reads after it are current."""
    read = deps.store.get_order
    answers = [stale]

    def racing(order_id: str) -> Order:
        return answers.pop() if answers else read(order_id)

    monkeypatch.setattr(deps.store, "get_order", racing)


def _raced(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> tuple[Order, RetryOutcome]:
    """A stopped order retried under "k-retry" ("carrier back"), and the next read of it
    as a racing retry made it, before that retry wrote: the order then, and the retry."""
    stale = _aborted(deps)
    first = recovery.retry_execution(stale.order_id, "ops:a", deps, "k-retry", "carrier back")
    _read_before_the_first_wrote(deps, monkeypatch, stale.model_copy(deep=True))
    return stale, first


def test_a_racing_retry_with_the_same_key_and_another_reason_is_refused(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale, first = _raced(deps, monkeypatch)

    with pytest.raises(IdempotencyKeyReused) as refused:
        recovery.retry_execution(stale.order_id, "ops:b", deps, "k-retry", "something else")

    assert refused.value.field == "Idempotency-Key"
    assert [r.reason for r in deps.store.get_order(stale.order_id).retries] == ["carrier back"]
    assert not first.replayed


def test_a_racing_retry_with_the_same_key_and_reason_answers_the_first(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale, first = _raced(deps, monkeypatch)

    again = recovery.retry_execution(stale.order_id, "ops:a", deps, "k-retry", "carrier back")

    assert again.replayed and again.retry == first.retry
    assert len(deps.store.get_order(stale.order_id).retries) == 1
