"""The order state machine, read statically: documented, bounded, compensating, runnable on
moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachines" / "order.asl.json"

TRANSIENT_ERRORS = {
    "ConcurrentModification",
    "PaymentGatewayUnavailable",
    "States.Timeout",
    # A Lambda function that ran out of time: reported as Lambda.Unknown (or, by newer
    # runtimes, Sandbox.Timedout). Steps are idempotent, so it is run again.
    "Sandbox.Timedout",
}
# A task must outlast its Lambda (.chalice/config.json), so that Step Functions never
# starts a retry while the first invocation still runs.
LAMBDA_TIMEOUT = json.loads(
    (Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text()
)["lambda_timeout"]
# Tasks after the authorisation whose unexpected failure must compensate; the Map's
# processor has no catch-all of its own: its failures fail the Map, whose catch-all does.
COMPENSATED = ["AuthorizePayment", "ReserveStock", "RejectOrder", "FulfilEach", "AwaitReturns"]
BUSINESS_ERRORS = {
    "PaymentDeclined",
    "PaymentGatewayUnavailable",
    "OutOfStock",
    "OrderCancelled",
    "States.Timeout",
}
HAPPY_DELIVERED_PATH = [
    "AuthorizePayment",
    "ReserveStock",
    "FulfilEach",
    "AwaitHandover",
    "AwaitCompletion",
    "AwaitReturns",
    "OrderClosed",
]

Machine = dict[str, Any]


@pytest.fixture(scope="module")
def machine() -> Machine:
    """The ASL document, parsed."""
    document = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def scopes(definition: Machine) -> Iterator[Machine]:
    """The machine and every nested state machine (Map processors, Parallel branches)."""
    yield definition
    for state in definition["States"].values():
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from scopes(state[key])
        for branch in state.get("Branches", []):
            yield from scopes(branch)


def all_states(definition: Machine) -> Iterator[tuple[str, Machine]]:
    """Every state, in every scope, with its name."""
    for scope in scopes(definition):
        yield from scope["States"].items()


def all_keys(node: Any) -> Iterator[str]:
    """Every object key anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from all_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_keys(item)


def test_asl_is_valid_json_with_a_start_state(machine: Machine) -> None:
    assert machine["StartAt"] in machine["States"]
    for scope in scopes(machine):
        assert scope["StartAt"] in scope["States"]


def test_every_state_has_a_comment_including_inside_the_map(machine: Machine) -> None:
    names = [name for name, _ in all_states(machine)]
    assert "AwaitHandover" in names  # the Map's processor is walked too
    missing = [name for name, state in all_states(machine) if not state.get("Comment")]
    assert missing == []
    assert machine.get("Comment")


def test_every_task_has_a_timeout(machine: Machine) -> None:
    unbounded = [
        name
        for name, state in all_states(machine)
        if state["Type"] == "Task"
        and "TimeoutSeconds" not in state
        and "TimeoutSecondsPath" not in state
    ]
    assert unbounded == []


def test_the_machine_has_an_overall_timeout(machine: Machine) -> None:
    assert isinstance(machine.get("TimeoutSeconds"), int)
    assert machine["TimeoutSeconds"] > 0


def test_retries_only_transient_errors(machine: Machine) -> None:
    retried = [
        (name, error)
        for name, state in all_states(machine)
        for retrier in state.get("Retry", [])
        for error in retrier["ErrorEquals"]
    ]
    assert retried
    not_transient = [
        (name, error)
        for name, error in retried
        if not error.startswith("Lambda.")
        and error not in TRANSIENT_ERRORS
        # The last-resort alert is retried whatever failed: it is the only voice left.
        and (name, error) != ("AlertOps", "States.TaskFailed")
    ]
    assert not_transient == []


def _lambda_tasks(machine: Machine) -> list[tuple[str, Machine]]:
    return [
        (name, state)
        for name, state in all_states(machine)
        if state.get("Type") == "Task" and state["Resource"].startswith("${")
    ]


def test_a_timed_out_step_is_retried_but_a_timed_out_wait_is_not(machine: Machine) -> None:
    # Steps are idempotent, so a Lambda step that ran out of time is run again rather than
    # failing the execution with money taken; a wait that ran out is a business outcome.
    for name, state in _lambda_tasks(machine):
        retried = {error for r in state.get("Retry", []) for error in r["ErrorEquals"]}
        assert {"States.Timeout", "Lambda.Unknown", "Sandbox.Timedout"} <= retried, name
    for name, state in all_states(machine):
        if "waitForTaskToken" in state.get("Resource", ""):
            retried = {error for r in state.get("Retry", []) for error in r["ErrorEquals"]}
            assert "States.Timeout" not in retried, name


def test_every_lambda_invocation_retries_lambdas_transient_service_errors(
    machine: Machine,
) -> None:
    # The Step Functions guide's "Handle Lambda service exceptions" names these four as
    # transient 500s of the Lambda service; throttling is the fifth.
    service_errors = {
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    }
    invoking = [
        (name, state)
        for name, state in all_states(machine)
        if state.get("Type") == "Task"
        and (state["Resource"].startswith("${") or ":lambda:invoke" in state["Resource"])
    ]
    assert len(invoking) == 8
    for name, state in invoking:
        retried = {error for r in state.get("Retry", []) for error in r["ErrorEquals"]}
        assert service_errors <= retried, (name, service_errors - retried)


def test_every_lambda_task_outlasts_the_lambda_timeout(machine: Machine) -> None:
    tasks = _lambda_tasks(machine)
    assert len(tasks) == 6
    short = [
        (name, state.get("TimeoutSeconds"))
        for name, state in tasks
        if state.get("TimeoutSeconds", 0) <= LAMBDA_TIMEOUT
    ]
    assert short == []


def test_named_business_errors_are_caught_before_the_catch_all(machine: Machine) -> None:
    named = {
        error
        for _, state in all_states(machine)
        for catcher in state.get("Catch", [])
        for error in catcher["ErrorEquals"]
        if error != "States.ALL"
    }
    assert named == BUSINESS_ERRORS
    for name, state in all_states(machine):
        catchers = state.get("Catch", [])
        for index, catcher in enumerate(catchers):
            if "States.ALL" in catcher["ErrorEquals"]:
                # Alone in its catcher, and last: named outcomes keep their own branches.
                assert catcher["ErrorEquals"] == ["States.ALL"], name
                assert index == len(catchers) - 1, name


def test_every_step_after_authorisation_compensates_anything_unexpected(
    machine: Machine,
) -> None:
    states = machine["States"]
    for name in COMPENSATED:
        last = states[name]["Catch"][-1]
        assert last == {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.failure",
            "Next": "Compensate",
        }
    inside = states["FulfilEach"]["ItemProcessor"]["States"]
    swallowed = [
        name
        for name, state in inside.items()
        if any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", []))
    ]
    assert swallowed == []  # nothing inside the Map hides a failure from its catch-all


def test_a_failed_compensation_alerts_ops_marks_the_order_and_fails_loudly(
    machine: Machine,
) -> None:
    states = machine["States"]
    compensate = states["Compensate"]
    assert compensate["Next"] == "OrderCompensated"
    assert states["OrderCompensated"]["Type"] == "Fail"
    retried = {error for r in compensate["Retry"] for error in r["ErrorEquals"]}
    assert "PaymentGatewayUnavailable" in retried
    assert compensate["Catch"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.compensation_failure",
            "Next": "DescribeFailure",
        }
    ]
    assert states["DescribeFailure"]["Next"] == "AlertOps"
    alert = states["AlertOps"]
    assert alert["Resource"] == "arn:aws:states:::sns:publish"
    assert alert["Parameters"]["TopicArn"] == "${OpsAlertsTopicArn}"
    # Alerted or not, the order is marked; marked or not, the execution fails.
    assert alert["Next"] == alert["Catch"][0]["Next"] == "MarkAttention"
    mark = states["MarkAttention"]
    assert mark["Next"] == mark["Catch"][0]["Next"] == "CompensationFailed"
    assert states["CompensationFailed"]["Type"] == "Fail"


def test_payment_decline_and_out_of_stock_compensate_by_rejecting(machine: Machine) -> None:
    states = machine["States"]

    def target(state: str, error: str) -> str:
        return next(c["Next"] for c in states[state]["Catch"] if error in c["ErrorEquals"])

    assert target("AuthorizePayment", "PaymentDeclined") == "RejectOrder"
    assert target("AuthorizePayment", "PaymentGatewayUnavailable") == "RejectOrder"
    assert target("ReserveStock", "OutOfStock") == "RejectOrder"
    assert target("ReserveStock", "OrderCancelled") == "OrderCancelled"
    assert target("FulfilEach", "OrderCancelled") == "OrderCancelled"


def test_every_transition_target_exists_in_its_scope(machine: Machine) -> None:
    dangling = []
    for scope in scopes(machine):
        states = scope["States"]
        for name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Catch", [])]
            targets += [c.get("Next") for c in state.get("Choices", [])]
            dangling += [(name, t) for t in targets if t is not None and t not in states]
    assert dangling == []


def test_every_state_ends_or_moves_on(machine: Machine) -> None:
    stuck = [
        name
        for name, state in all_states(machine)
        if state["Type"] not in ("Succeed", "Fail", "Choice")
        and not state.get("End")
        and "Next" not in state
    ]
    assert stuck == []


def test_happy_delivered_path_takes_at_most_seven_state_entries(machine: Machine) -> None:
    entered: list[str] = []

    def walk(scope: Machine) -> None:
        name: str | None = scope["StartAt"]
        while name is not None:
            assert name not in entered, f"the happy path loops through {name}"
            entered.append(name)
            state = scope["States"][name]
            if state["Type"] == "Map":
                walk(state["ItemProcessor"])
            name = state.get("Next")

    walk(machine)
    assert entered == HAPPY_DELIVERED_PATH
    assert len(entered) <= 7


def test_asl_uses_only_what_moto_can_run(machine: Machine) -> None:
    keys = set(all_keys(machine))
    assert "QueryLanguage" not in keys
    assert "Assign" not in keys
    text = json.dumps(machine)
    assert "JSONata" not in text
    assert "{%" not in text
    resources = [state.get("Resource", "") for _, state in all_states(machine)]
    assert not [r for r in resources if "states:startExecution" in r]
    assert not [r for r in resources if r.endswith(".sync") or ".sync:" in r]


def test_waits_for_callbacks_are_bounded_by_a_timeout_path(machine: Machine) -> None:
    waiting = [
        (name, state)
        for name, state in all_states(machine)
        if state.get("Resource", "").endswith(".waitForTaskToken")
    ]
    assert waiting
    for _, state in waiting:
        assert "TimeoutSecondsPath" in state or "TimeoutSeconds" in state
        assert any("States.Timeout" in c["ErrorEquals"] for c in state.get("Catch", []))
