"""mutate: the decision's result comes from the attempt that was written, races are
retried after a jittered pause, and what the decision raises is never retried."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentModification, OutOfStock
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.services import retries
from chalicelib.services.order_writes import MAX_ATTEMPTS, Change, Unchanged, mutate
from tests.support.builders import NOW, order


class RacingStore:
    """Holds one order; each of the first ``losses`` saves loses to another writer, who
    adds a history entry first (so the next read sees their write)."""

    def __init__(self, held: Order, losses: int = 0, lost_with: Exception | None = None):
        self.held = held
        self.losses = losses
        self.lost_with = lost_with or ConcurrentModification("changed meanwhile")
        self.saves = 0

    def get_order(self, order_id: str) -> Order:
        return self.held.model_copy(deep=True)

    def save_order(self, order: Order, *_: Any) -> None:
        self.saves += 1
        if self.losses:
            self.losses -= 1
            self.held.history.append(HistoryEntry(status=self.held.status, at=NOW, detail="other"))
            raise self.lost_with
        self.held = order.model_copy(deep=True)


def _deps(store: RacingStore) -> tuple[SimpleNamespace, list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []
    events = SimpleNamespace(publish=published.append)
    return SimpleNamespace(store=store, clock=lambda: NOW, events=events), published


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    taken: list[float] = []
    monkeypatch.setattr(retries.time, "sleep", taken.append)
    return taken


def test_result_is_the_written_attempts_not_the_lost_ones(pauses: list[float]) -> None:
    placed = order()
    store = RacingStore(placed, losses=2)
    deps, published = _deps(store)

    def decide(current: Order) -> Change[int]:
        # What each attempt saw: the writes that won before it.
        return Change(entry=current.record_payment("pay_1", NOW), result=len(current.history))

    written = mutate(deps, placed.order_id, decide)

    assert written.result == 3  # placed with no history, then the two winning writes
    assert written.order.status is OrderStatus.PAID
    assert store.held.status is OrderStatus.PAID
    assert [e["status"] for e in published] == ["PAID"]  # announced once, by the winner
    assert len(pauses) == 2
    assert all(0 <= pause <= retries.PAUSE_CEILING_SECONDS for pause in pauses)


def test_unchanged_writes_nothing_and_hands_back_its_result(pauses: list[float]) -> None:
    placed = order()
    store = RacingStore(placed)
    deps, published = _deps(store)

    written = mutate(deps, placed.order_id, lambda current: Unchanged(current.status))

    assert written.change is None
    assert written.result is OrderStatus.ACCEPTED
    assert store.saves == 0 and published == [] and pauses == []


def test_losing_every_race_raises_what_the_store_raised(pauses: list[float]) -> None:
    placed = order()
    store = RacingStore(placed, losses=MAX_ATTEMPTS)
    deps, published = _deps(store)

    with pytest.raises(ConcurrentModification):
        mutate(deps, placed.order_id, lambda current: Change())

    assert store.saves == MAX_ATTEMPTS
    assert len(pauses) == MAX_ATTEMPTS - 1
    assert published == []


def test_a_write_refused_for_stock_is_retried_only_when_asked(pauses: list[float]) -> None:
    placed = order()
    store = RacingStore(placed, losses=1, lost_with=OutOfStock("taken meanwhile"))
    deps, _ = _deps(store)

    with pytest.raises(OutOfStock):
        mutate(deps, placed.order_id, lambda current: Change())
    assert store.saves == 1

    store.losses = 1
    mutate(deps, placed.order_id, lambda current: Change(), lost_race=(OutOfStock,))
    assert store.saves == 3


def test_what_the_decision_raises_is_never_retried(pauses: list[float]) -> None:
    placed = order()
    store = RacingStore(placed)
    deps, _ = _deps(store)
    decisions = 0

    def decide(current: Order) -> Change:
        nonlocal decisions
        decisions += 1
        raise OutOfStock("not enough")

    with pytest.raises(OutOfStock):
        mutate(deps, placed.order_id, decide, lost_race=(OutOfStock,))
    assert decisions == 1 and store.saves == 0 and pauses == []


def test_retried_gives_up_after_its_attempts(pauses: list[float]) -> None:
    calls = 0

    def lose() -> None:
        nonlocal calls
        calls += 1
        raise ConcurrentModification("again")

    with pytest.raises(ConcurrentModification):
        retries.retried(lose, 3)
    assert calls == 3 and len(pauses) == 2
