"""Writes that lose their races to other writers, and requests that land in the middle of
another, on the fakes or the local stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentModification


def lose_races(
    monkeypatch: pytest.MonkeyPatch, owner: Any, method: str, lost: int, first_won: int = 0
) -> None:
    """``owner.method`` (a conditional write) goes through for its first ``first_won``
    calls, then loses the next ``lost`` races to other writers (``ConcurrentModification``,
    as a write over a newer version does), then writes again."""
    write = getattr(owner, method)
    calls = [0]

    def contended(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if first_won < calls[0] <= first_won + lost:
            raise ConcurrentModification("the item changed while we worked on it")
        return write(*args, **kwargs)

    monkeypatch.setattr(owner, method, contended)


def meanwhile_before(
    monkeypatch: pytest.MonkeyPatch, target: object, method: str, act: Callable[[], Any]
) -> list[Any]:
    """Run ``act`` once, just before the first call of ``target.method`` (another
    request landing there); the list it returns gets what ``act`` returned. Calls ``act``
    makes of the method itself run as they would."""
    real = getattr(target, method)
    started: list[bool] = []
    results: list[Any] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not started:
            started.append(True)
            results.append(act())
        return real(*args, **kwargs)

    monkeypatch.setattr(target, method, wrapped)
    return results
