"""Speed-up 8 of ``speedups``: a bound on the Lambda invocations that run at once in this
process. Like every speed-up it names the gap it closes and is tested, in
``tests/integration/test_local_invocations.py``."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
from collections.abc import Iterator

# What the local stack allows unless ORQUESTA_LOCAL_INVOCATION_SLOTS says otherwise.
DEFAULT_SLOTS = 2


class InvocationSlots:
    """Gap: on AWS every Lambda invocation (a workflow step, an SNS delivery, a schedule)
    runs on a machine of its own, so however many run at once none slows the API. Here
    they run as threads of the one process that also serves the API, under one GIL: with
    twenty of them runnable, an API request got a twentieth of the CPU, and the p99 of
    ``POST /orders`` was twenty times the one-put baseline's. Here at most ``size``
    invocations run at once and the others wait their turn, so the API's threads keep
    most of the CPU; the work done per second stays what one core can do either way. A
    waiting step (an ``Invoke`` the workflow waits for) goes before waiting deliveries
    and schedules, whose callers do not wait, so the workflows keep their pace. An
    invocation made from inside another (a handler invoking a function, which runs in
    the caller's thread) uses its caller's slot, so nesting never waits for itself."""

    def __init__(self, size: int = DEFAULT_SLOTS) -> None:
        self.size = size
        self._mutex = threading.Lock()
        self._waiting: list[tuple[int, int, threading.Event]] = []
        self._arrivals = itertools.count()
        self._running = 0
        self._depth = threading.local()
        self.peak = 0  # the most that ran at once (tests read it)

    def resize(self, size: int) -> None:
        """Allow ``size`` at once from now on (at least one)."""
        with self._mutex:
            self.size = max(1, size)
            self._let_in()

    @property
    def running(self) -> int:
        """How many invocations hold a slot now."""
        return self._running

    def _enter(self) -> None:
        self._running += 1
        self.peak = max(self.peak, self._running)

    def _let_in(self) -> None:
        while self._waiting and self._running < self.size:
            _, _, turn = heapq.heappop(self._waiting)
            self._enter()
            turn.set()

    @contextlib.contextmanager
    def held(self, urgent: bool = False) -> Iterator[None]:
        """Run the block in a slot, waiting for one if all are taken; ``urgent`` ones
        (a caller waits for them) are let in before the others."""
        depth = getattr(self._depth, "value", 0)
        if depth:
            self._depth.value = depth + 1
            try:
                yield
            finally:
                self._depth.value = depth
            return
        priority = 0 if urgent else 1
        with self._mutex:
            if self._running < self.size and not self._waiting:
                self._enter()
                turn = None
            else:
                turn = threading.Event()
                heapq.heappush(self._waiting, (priority, next(self._arrivals), turn))
        if turn is not None:
            turn.wait()  # _let_in counted this one in before setting it
        self._depth.value = 1
        try:
            yield
        finally:
            self._depth.value = 0
            with self._mutex:
                self._running -= 1
                self._let_in()


slots = InvocationSlots()


def bound_invocations() -> None:
    """Size the process's invocation slots from ``ORQUESTA_LOCAL_INVOCATION_SLOTS``."""
    configured = os.environ.get("ORQUESTA_LOCAL_INVOCATION_SLOTS")
    slots.resize(int(configured) if configured else DEFAULT_SLOTS)
