"""Writes that lose their races to other writers, on the fakes or the local stack."""

from __future__ import annotations

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
