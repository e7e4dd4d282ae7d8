"""infra/local/collector.py: the garbage collector at the local stack's pace while a stack runs,
the process's own pace back when the last one stops."""

from __future__ import annotations

import gc
from typing import Any

from infra.local.collector import LOCAL_THRESHOLDS, CollectorPace


def test_the_collector_runs_at_the_local_pace_while_a_stack_runs(stack: Any) -> None:
    assert gc.get_threshold() == LOCAL_THRESHOLDS
    assert gc.isenabled(), "young cycles are still collected"


def test_collector_pace_gives_the_process_its_own_pace_back_after_the_last_stack() -> None:
    before = gc.get_threshold()
    own = (700, 10, 10) if before != (700, 10, 10) else (701, 11, 11)
    pace = CollectorPace()
    gc.set_threshold(*own)
    try:
        pace.slow_down()
        pace.slow_down()  # a second stack in the same process
        assert gc.get_threshold() == LOCAL_THRESHOLDS
        pace.restore()
        assert gc.get_threshold() == LOCAL_THRESHOLDS, "one stack still runs"
        pace.restore()
        assert gc.get_threshold() == own
        pace.restore()  # one stop too many changes nothing
        assert gc.get_threshold() == own
    finally:
        gc.set_threshold(*before)
