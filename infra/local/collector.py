"""Speed-up 13 of ``speedups``: Python's cyclic garbage collector run at a pace for a process
that holds a whole cloud. Like every speed-up it names the gap it closes and is tested, in
``tests/integration/test_local_collector.py``."""

from __future__ import annotations

import gc
import threading

# Collect the youngest objects every 5,000 net allocations (Python's default: 700), the
# middle generation every 20 of those (10), and consider a full collection every 100 of
# those (10): full collections become about a hundred times rarer.
LOCAL_THRESHOLDS = (5000, 20, 100)


class CollectorPace:
    """Gap: on AWS each Lambda invocation runs in a small process of its own and DynamoDB,
    Step Functions and SNS keep their state on other machines. Here all of it (the
    tables' items, the executions and their histories, botocore's models, every
    function's modules) lives in one process, and CPython's full collection walks every
    object of it, holding the GIL, each time enough young objects have survived (by
    default after 7,000 collections of the youngest): twice per 40 bench orders, 40-90 ms
    each, 3-4 % of the stack's CPU and a pause every request in flight waits out. The
    young generations find the cycles requests leave behind; the long-lived state a full
    collection walks is nearly all alive. Here, while a local stack runs, the collector
    runs at ``LOCAL_THRESHOLDS``: young objects are still collected (in fewer, larger
    batches, the same work), full collections a hundred times more rarely; the
    thresholds the process had come back when the last stack stops. No object outlives
    its use because of this: every cycle is still found, later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stacks = 0
        self._before: tuple[int, int, int] | None = None

    def slow_down(self) -> None:
        """A local stack starts: collect at the local pace."""
        with self._lock:
            if self._stacks == 0:
                self._before = gc.get_threshold()
                gc.set_threshold(*LOCAL_THRESHOLDS)
            self._stacks += 1

    def restore(self) -> None:
        """A local stack stops: the last one gives the process its own pace back."""
        with self._lock:
            if self._stacks == 0:
                return
            self._stacks -= 1
            if self._stacks == 0 and self._before is not None:
                gc.set_threshold(*self._before)
                self._before = None


pace = CollectorPace()
