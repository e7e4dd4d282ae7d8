"""One optimistic-retry loop for every write that can lose a race to another writer."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chalicelib.domain.errors import ConcurrentModification

T = TypeVar("T")

# Its own generator: jitter must not move the process-wide random state others rely on.
_JITTER = random.Random()
PAUSE_CEILING_SECONDS = 0.05


def jittered_pause(ceiling: float = PAUSE_CEILING_SECONDS) -> None:
    """Full jitter before trying again after losing a race to another writer."""
    time.sleep(_JITTER.uniform(0, ceiling))


def retried(
    attempt: Callable[[], T],
    attempts: int,
    lost_race: tuple[type[Exception], ...] = (ConcurrentModification,),
) -> T:
    """Call ``attempt`` (read, decide, conditional write) until it returns; when it loses
    a race (raises one of ``lost_race``), pause a full-jitter moment and call it again, at
    most ``attempts`` times in all. The last loss propagates."""
    for remaining in reversed(range(attempts)):
        try:
            return attempt()
        except lost_race:
            if remaining == 0:
                raise
            jittered_pause()
    raise AssertionError("attempts must be at least 1")
