"""Step Functions: one Standard execution per order, named after the order id."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb.table import error_code
from chalicelib.domain.execution_names import order_of_execution

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

# Tokens that are no longer waiting: the wait timed out, or the execution ended.
_STALE_TOKEN_ERRORS = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class StepFunctionsWorkflow:
    """``Workflow`` on the order state machine."""

    def __init__(self, client: SFNClient, state_machine_arn: str, region: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn
        self._region = region

    def start(self, order_id: str, payload: dict[str, Any]) -> str:
        """Start the execution named after the order; a second start with the same input
        returns the same execution."""
        return self.start_named(order_id, payload)

    def start_named(self, name: str, payload: dict[str, Any]) -> str:
        """Start an execution with its own name (an ops retry, ``<order id>-r<n>``); a
        second start of the same name returns the same execution."""
        try:
            response = self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=name,
                input=json.dumps(payload, sort_keys=True),
            )
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            return self.execution_arn(name)
        return response["executionArn"]

    def execution_arn(self, order_id: str) -> str:
        """The ARN an order's execution has (or the execution named ``order_id``)."""
        prefix, _, name = self._state_machine_arn.partition(":stateMachine:")
        return f"{prefix}:execution:{name}:{order_id}"

    def _execution(self, execution_arn: str) -> DescribeExecutionOutputTypeDef | None:
        """DescribeExecution's answer; None if there is no such execution."""
        try:
            return self._client.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None if there is no such
        execution."""
        execution = self._execution(execution_arn)
        return None if execution is None else str(execution["status"])

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Complete a wait; False if the token is no longer waiting."""
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            if error_code(exc) in _STALE_TOKEN_ERRORS:
                return False
            raise
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        """End a wait with ``error``, which the ASL catches by name; False if the token is
        no longer waiting."""
        try:
            self._client.send_task_failure(taskToken=task_token, error=error, cause=cause[:32768])
        except ClientError as exc:
            if error_code(exc) in _STALE_TOKEN_ERRORS:
                return False
            raise
        return True

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        """End a running execution at once (ABORTED); False if it is not running."""
        if self.status(execution_arn) != "RUNNING":
            return False
        try:
            self._client.stop_execution(
                executionArn=execution_arn, error=error, cause=cause[:32768]
            )
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return False
            raise
        return True

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """Status, the states entered with entry and exit times, and the console link;
        None if there is no such execution."""
        execution = self._execution(execution_arn)
        if execution is None:
            return None
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self._client.get_execution_history(**kwargs)
            events.extend(page["events"])  # type: ignore[arg-type]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return {
            "execution_arn": execution_arn,
            "status": execution["status"],
            "started_at": _iso(execution["startDate"]),
            "stopped_at": _iso(execution.get("stopDate")),
            "history": states_of(events),
            "console_url": (
                f"https://{self._region}.console.aws.amazon.com/states/home?region="
                f"{self._region}#/v2/executions/details/{execution_arn}"
            ),
        }

    def list_executions(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` executions, of one status or all; one row each with the
        order id (the execution's name) and its start and stop times."""
        rows: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"stateMachineArn": self._state_machine_arn}
        if status:
            kwargs["statusFilter"] = status
        while len(rows) < limit:
            page = self._client.list_executions(**kwargs, maxResults=min(1000, limit - len(rows)))
            rows.extend(
                {
                    "order_id": order_of_execution(execution["name"]),
                    "execution_arn": execution["executionArn"],
                    "status": execution["status"],
                    "started_at": _iso(execution["startDate"]),
                    "stopped_at": _iso(execution.get("stopDate")),
                }
                for execution in page["executions"]
            )
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return rows[:limit]

    def definition(self) -> dict[str, Any]:
        """The state machine's ASL definition, parsed."""
        described = self._client.describe_state_machine(stateMachineArn=self._state_machine_arn)
        parsed: dict[str, Any] = json.loads(described["definition"])
        return parsed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def states_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per state visited, its entry paired with its exit by ``previousEventId``
    (a Map's iterations run the same states side by side, so a name alone pairs them
    wrongly: a re-probe); by name only for an event that names no earlier one. A state left
    by an error its catch handled has no ``…Exited``: it exits when its task failed.
    Whatever is still open when the execution ends (stopped, failed) exits then."""
    rows: list[dict[str, Any]] = []
    entered_by_id: dict[int, dict[str, Any]] = {}
    previous: dict[int, int] = {}
    for event in events:
        kind = str(event["type"])
        event_id = event.get("id")
        at = _iso(event["timestamp"])
        if isinstance(event_id, int) and isinstance(event.get("previousEventId"), int):
            previous[event_id] = event["previousEventId"]
        if kind.endswith("StateEntered"):
            row = {
                "state": event["stateEnteredEventDetails"]["name"],
                "type": kind.removesuffix("StateEntered"),
                "entered": at,
                "exited": None,
            }
            rows.append(row)
            if isinstance(event_id, int):
                entered_by_id[event_id] = row
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            left = _entered_before(event_id, previous, entered_by_id, name)
            if left is None and not _chained(event_id, previous):
                left = next(
                    (r for r in reversed(rows) if r["state"] == name and r["exited"] is None),
                    None,
                )
            if left is not None:
                left["exited"] = at
        elif kind.endswith(_LEFT_BY_ERROR):
            failed = _entered_before(event_id, previous, entered_by_id)
            if failed is not None and failed["type"] == "Task" and failed["exited"] is None:
                failed["exited"] = at
        elif kind in _EXECUTION_ENDS:
            for row in rows:
                if row["exited"] is None:
                    row["exited"] = at
    return rows


# A task's own ending events, which end its state when a catch handles the error.
_LEFT_BY_ERROR = ("TaskFailed", "TaskTimedOut", "TaskSubmitFailed", "LambdaFunctionFailed")
_EXECUTION_ENDS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)


def _chained(event_id: object, previous: dict[int, int]) -> bool:
    """Whether the event names the one before it (every event but the first does)."""
    return isinstance(event_id, int) and event_id in previous


def _entered_before(
    event_id: object,
    previous: dict[int, int],
    entered_by_id: dict[int, dict[str, Any]],
    name: str | None = None,
) -> dict[str, Any] | None:
    """The state an event happened in (named ``name``, when given): the nearest entry on
    its chain of earlier events. Open or not: a timed-out task's ``TaskTimedOut`` ends its
    state, then its ``TaskStateExited`` follows on the same chain; looking past a closed
    entry for an open one gave that exit to the same state in the Map's other iteration,
    and the other iteration's timeout then to the Map itself (a probe)."""
    if not isinstance(event_id, int):
        return None
    seen: set[int] = set()
    current: int | None = event_id
    while current is not None and current not in seen:
        seen.add(current)
        row = entered_by_id.get(current)
        if row is not None and name in (None, row["state"]):
            return row
        current = previous.get(current)
    return None
