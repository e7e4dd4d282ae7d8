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


def test_a_timed_out_wait_beside_another_iteration_gives_its_exit_to_neither() -> None:
    # The chain recorded for a mixed order (probe 159): the pick-up's wait timed out at
    # 12 s (TaskTimedOut, then TaskStateExited on the same chain), the parcel's at 20 s. The
    # exit after the timeout went to the parcel's wait, and the parcel's timeout then closed
    # the Map itself at 20 s, while it ran until 40 s.
    h = History()
    started = h.add("ExecutionStarted", None, 0)
    fulfil = h.add("MapStateEntered", started, 1, "FulfilEach")
    map_started = h.add("MapStateStarted", fulfil, 1)
    first = h.add("MapIterationStarted", map_started, 1, "FulfilEach")
    pickup = h.add("TaskStateEntered", first, 1, "AwaitCompletion")
    pickup_submitted = h.add("TaskSubmitted", pickup, 1)
    second = h.add("MapIterationStarted", map_started, 1, "FulfilEach")
    parcel = h.add("TaskStateEntered", second, 1, "AwaitCompletion")
    parcel_submitted = h.add("TaskSubmitted", parcel, 1)
    pickup_timed_out = h.add("TaskTimedOut", pickup_submitted, 12)
    pickup_left = h.add("TaskStateExited", pickup_timed_out, 12, "AwaitCompletion")
    closed = h.add("SucceedStateEntered", pickup_left, 12, "FulfillmentClosed")
    h.add("SucceedStateExited", closed, 12, "FulfillmentClosed")
    parcel_timed_out = h.add("TaskTimedOut", parcel_submitted, 20)
    parcel_left = h.add("TaskStateExited", parcel_timed_out, 20, "AwaitCompletion")
    handled = h.add("TaskStateEntered", parcel_left, 20, "HandleTimeout")
    handled_left = h.add("TaskStateExited", handled, 21, "HandleTimeout")
    waiting = h.add("TaskStateEntered", handled_left, 21, "AwaitCompletion")
    delivered = h.add("TaskSucceeded", waiting, 40)
    left = h.add("TaskStateExited", delivered, 40, "AwaitCompletion")
    h.add("MapStateExited", left, 40, "FulfilEach")

    rows = states_of(h.events)

    assert [(r["state"], r["entered"], r["exited"]) for r in rows] == [
        ("FulfilEach", _iso(1), _iso(40)),
        ("AwaitCompletion", _iso(1), _iso(12)),
        ("AwaitCompletion", _iso(1), _iso(20)),
        ("FulfillmentClosed", _iso(12), _iso(12)),
        ("HandleTimeout", _iso(20), _iso(21)),
        ("AwaitCompletion", _iso(21), _iso(40)),
    ]
