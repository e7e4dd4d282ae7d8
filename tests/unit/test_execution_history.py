"""An execution's history as ops read it (``GET /ops/orders/{id}/execution``): each state
visited with its entry and exit, paired by ``previousEventId`` as Step Functions chains
its events, not by name: a Map runs the same states side by side for each fulfilment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.stepfunctions import states_of

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class History:
    """Events as the service lists them: ids in order, each naming the one before it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, after: int | None, second: int, name: str | None = None) -> int:
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "id": event_id,
            "type": kind,
            "timestamp": START + timedelta(seconds=second),
        }
        if after is not None:
            event["previousEventId"] = after
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"name": name}
        if kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"name": name}
        self.events.append(event)
        return event_id


def _iso(second: int) -> str:
    return (START + timedelta(seconds=second)).isoformat()


def test_two_fulfilments_waiting_side_by_side_each_exit_when_their_own_wait_ends() -> None:
    # Found by a re-probe: the pick-up collected at 8 s gave its exit to the parcel's wait,
    # and the parcel's real exit (20 s) was lost, leaving a wait that ended "still open".
    h = History()
    started = h.add("ExecutionStarted", None, 0)
    fulfil = h.add("MapStateEntered", started, 1, "FulfilEach")
    pickup = h.add("TaskStateEntered", fulfil, 2, "AwaitCompletion")
    parcel = h.add("TaskStateEntered", fulfil, 3, "AwaitCompletion")
    collected = h.add("TaskSucceeded", pickup, 8)
    h.add("TaskStateExited", collected, 8, "AwaitCompletion")
    delivered = h.add("TaskSucceeded", parcel, 20)
    left = h.add("TaskStateExited", delivered, 20, "AwaitCompletion")
    h.add("MapStateExited", left, 21, "FulfilEach")
    h.add("TaskStateEntered", left, 21, "AwaitReturns")

    rows = states_of(h.events)

    assert [(r["state"], r["entered"], r["exited"]) for r in rows] == [
        ("FulfilEach", _iso(1), _iso(21)),
        ("AwaitCompletion", _iso(2), _iso(8)),
        ("AwaitCompletion", _iso(3), _iso(20)),
        ("AwaitReturns", _iso(21), None),  # where the execution is now
    ]


def test_a_state_a_caught_error_left_exits_when_its_task_failed() -> None:
    h = History()
    started = h.add("ExecutionStarted", None, 0)
    waiting = h.add("TaskStateEntered", started, 1, "AwaitCompletion")
    failed = h.add("TaskFailed", waiting, 5)
    cancelled = h.add("SucceedStateEntered", failed, 5, "OrderCancelled")
    h.add("SucceedStateExited", cancelled, 5, "OrderCancelled")
    h.add("ExecutionSucceeded", cancelled, 5)

    rows = states_of(h.events)

    assert [(r["state"], r["exited"]) for r in rows] == [
        ("AwaitCompletion", _iso(5)),
        ("OrderCancelled", _iso(5)),
    ]


def test_a_stopped_execution_leaves_no_state_open() -> None:
    # Found by a re-probe: an ABORTED execution showed the Map it was in as never left.
    h = History()
    started = h.add("ExecutionStarted", None, 0)
    fulfil = h.add("MapStateEntered", started, 1, "FulfilEach")
    h.add("TaskStateEntered", fulfil, 2, "AwaitCompletion")
    h.add("ExecutionAborted", fulfil, 30)

    rows = states_of(h.events)

    assert [r["exited"] for r in rows] == [_iso(30), _iso(30)]
