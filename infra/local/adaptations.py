"""Where moto (5.2.5) falls short of AWS, and what the local stack does about it.

Each adaptation names the gap it closes; ``tests/integration/test_local_adaptations.py``
has a test for each that fails without it. Nothing here is imported by ``chalicelib``: the
app runs the same code on AWS and here. DynamoDB's gaps are in ``dynamodb_adaptations``,
Lambda's in ``lambda_adaptations``; ``apply_all`` applies them all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.local.dynamodb_adaptations import (
    cheap_transaction_rollback,
    plain_dynamodb_responses,
    query_one_partition,
    serialise_dynamodb,
)
from infra.local.patching import apply_once

log = logging.getLogger("orquesta.local")


_outbox: Path | None = None


def write_outbox(directory: Path) -> None:
    """Gap: SES sends nothing anywhere locally; moto keeps messages in memory only. Here
    every raw email sent is also written to ``directory`` as ``<message id>.eml``, so a
    person can open what a customer would have received."""
    global _outbox
    directory.mkdir(parents=True, exist_ok=True)
    _outbox = directory
    if not apply_once("ses"):
        return
    from moto.ses.models import SESBackend

    original = SESBackend.send_raw_email

    @functools.wraps(original)
    def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
        message = original(self, source, destinations, raw_data)
        if _outbox is not None:
            (_outbox / f"{message.id}.eml").write_text(raw_data, encoding="utf-8")
        return message

    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]


def write_sms_outbox() -> None:
    """Gap: SNS text messages go nowhere locally (moto keeps them in memory). Every SMS
    published to a phone number is also written to the outbox folder as
    ``<message id>.sms.txt`` (``To:`` line, blank line, text), next to the emails, so the
    one-time codes sent to phones can be read."""
    if not apply_once("sns-sms"):
        return
    from moto.sns.models import SNSBackend

    original = SNSBackend.publish

    @functools.wraps(original)
    def publish(self: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> Any:
        message_id = original(self, message, arn, *args, **kwargs)
        phone_number = kwargs.get("phone_number") or (args[0] if args else None)
        if phone_number and _outbox is not None:
            (_outbox / f"{message_id}.sms.txt").write_text(
                f"To: {phone_number}\n\n{message}\n", encoding="utf-8"
            )
        return message_id

    SNSBackend.publish = publish  # type: ignore[method-assign]


def emf_to_cloudwatch() -> None:
    """Gap: in Lambda, CloudWatch Logs turns the EMF documents the functions print into
    metric data; the local stack has no Lambda log groups, so the business metrics would be
    lines on a terminal. Here each document the app's ``EmfMetrics`` emits becomes metric
    data in moto's CloudWatch, so they can be queried as on AWS (``get-metric-statistics
    --namespace Orquesta``). It is handed to moto's CloudWatch backend in the form
    ``PutMetricData`` gives it, without a request: CloudWatch Logs does this on AWS, out
    of the function, and a request per document (several per order, each encoded as a
    form and parsed back) cost 4 % of the stack's CPU."""
    if not apply_once("emf"):
        return
    import os
    from datetime import UTC, datetime

    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from chalicelib.adapters.metrics import EmfMetrics

    def put_metric_data(self: Any, document: Any) -> None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
        aws = document["_aws"]
        # Naive UTC, as moto's request parser gives it.
        at = datetime.fromtimestamp(aws["Timestamp"] / 1000, UTC).replace(tzinfo=None)
        for directive in aws["CloudWatchMetrics"]:
            names = directive["Dimensions"][0] if directive["Dimensions"] else []
            dimensions = [{"Name": name, "Value": str(document[name])} for name in names]
            data = []
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    data.append(
                        {
                            "MetricName": metric["Name"],
                            "Dimensions": dimensions,
                            "Timestamp": at,
                            "Value": float(value),
                            "Unit": metric.get("Unit", "None"),
                        }
                    )
            backend.put_metric_data(directive["Namespace"], data)

    EmfMetrics.emit = put_metric_data  # type: ignore[method-assign]


def cache_interpreter_clients() -> None:
    """Gap: moto's ASL interpreter builds a new boto3 client for every task state it runs
    (tens of milliseconds each), which held the stack to about 2 executions/s. AWS has no
    such cost. Clients are thread-safe, so one per (region, service) is kept."""
    if not apply_once("clients"):
        return
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool], Any] = {}
    cache_lock = threading.Lock()

    @functools.wraps(original)
    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber

        key = (region, service, botocore_stubber.enabled)
        with cache_lock:
            if key not in cache:
                cache[key] = original(region, service, state_credentials)
            return cache[key]

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if (
            name.startswith("moto.stepfunctions")
            and getattr(module, "boto_client_for", None) is original
        ):
            module.boto_client_for = cached  # type: ignore[attr-defined]


def jitter_apart() -> None:
    """Gap: moto's ASL interpreter draws each Retry's full jitter (``JitterStrategy``)
    from the process-wide ``random`` module. On AWS the interpreter runs elsewhere; in the
    one-process local stack it moved the random state of everything else in the process
    (Hypothesis, drawing examples in the test process beside the stack, warned that its
    strategies' random state moved). Here the jitter has a generator of its own."""
    if not apply_once("jitter"):
        return
    from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl

    jitter_strategy_decl.random = random.Random()  # type: ignore[assignment]


def raise_dev_server_backlog(backlog: int = 512) -> None:
    """Gap: Chalice's dev server listens with a backlog of 5, so more than a handful of
    concurrent clients get connection resets; API Gateway has no such limit."""
    from chalice.local import ThreadedHTTPServer

    ThreadedHTTPServer.request_queue_size = backlog
    ThreadedHTTPServer.daemon_threads = True


def _wake_parked_waits(execution: Any) -> None:
    """End every task-token wait of a (stopped) execution now, as its timeout would."""
    env = getattr(getattr(execution, "exec_worker", None), "env", None)
    pool = getattr(getattr(env, "callback_pool_manager", None), "_pool", {})
    for endpoint in list(pool.values()):
        endpoint.interrupt_all()


def stop_aborts_at_once() -> None:
    """Gap: on AWS, ``StopExecution`` ends an execution at once as ABORTED. moto's stop only
    flags it: an execution parked on a task token sees the flag when the wait times out
    (hours, scaled), and then the interrupted Map's error overwrites the stop, so it ends
    FAILED. Here a stop wakes the execution's parked waits, and an error raised after the
    stop no longer replaces it: the execution ends ABORTED, promptly."""
    if not apply_once("stop"):
        return
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original_stop = StepFunctionBackend.stop_execution

    @functools.wraps(original_stop)
    def stop_execution(self: Any, execution_arn: str) -> Any:
        execution = original_stop(self, execution_arn)
        _wake_parked_waits(execution)
        return execution

    original_set_error = Environment.set_error

    @functools.wraps(original_set_error)
    def set_error(self: Any, error: Any) -> None:
        # Stopped first: the error is the stop's consequence, not the outcome. Only the
        # execution's own state is kept; inner frames (a Map's iterations) take the error
        # as before, since the Map reads it from them.
        if not self.is_frame() and isinstance(self.program_state(), ProgramStopped):
            return
        original_set_error(self, error)

    StepFunctionBackend.stop_execution = stop_execution  # type: ignore[method-assign]
    Environment.set_error = set_error  # type: ignore[method-assign]


def unstarted_executions_read_running() -> None:
    """Gap: on AWS an execution is seen only once ``StartExecution`` made it RUNNING. moto
    lists it before it starts it, with no status yet, and a ``DescribeExecution`` in that
    window fails inside moto (``'NoneType' object has no attribute 'value'``; probe 26A:
    a customer's payment sent twice at once answered 500 as one request described the
    execution the other was starting). Here such an execution reads RUNNING."""
    if not apply_once("unstarted-executions"):
        return
    from moto.stepfunctions.parser.backend.execution import Execution

    original = Execution.status

    def status(self: Any) -> Any:
        return "RUNNING" if self.exec_status is None else original.fget(self)  # type: ignore[attr-defined]

    Execution.status = property(status)  # type: ignore[assignment,method-assign]


# The history fields AWS types as numbers that moto fills from the evaluation stack.
_STACKED_SECONDS = ("timeoutInSeconds", "heartbeatInSeconds")


def stopped_task_history_readable() -> None:
    """Gap: moto evaluates nothing once an execution is stopped, so a task state scheduled
    as the stop lands never pushes its timeout, and the pop that follows takes the
    state's input: the TaskScheduled (or LambdaFunctionScheduled) event records a dict as
    ``timeoutInSeconds``, and every GetExecutionHistory of that execution then fails to
    serialise (probe 156: 1 in 24 executions stopped 0 to 400 ms after placing; ops got
    500 on ``GET /ops/orders/{id}/execution``). On AWS a stopped execution schedules no
    more tasks. Here such an event keeps only the timeouts that are numbers."""
    if not apply_once("stopped-task-history"):
        return
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    original = EventManager.add_event

    @functools.wraps(original)
    def add_event(
        self: Any,
        context: Any,
        event_type: Any,
        event_details: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        for details in (event_details or {}).values():
            if isinstance(details, dict):
                for name in _STACKED_SECONDS:
                    if name in details and not isinstance(details[name], int):
                        del details[name]
        return original(self, context, event_type, event_details, *args, **kwargs)

    EventManager.add_event = add_event  # type: ignore[method-assign]


# Execution endings held back: teardown, and tests that stop executions only to quiesce them.
_endings_held = 0
_endings_lock = threading.Lock()


@contextlib.contextmanager
def execution_endings_held() -> Iterator[None]:
    """No execution ending is told to the app inside this block (see
    ``tell_execution_endings``)."""
    global _endings_held
    with _endings_lock:
        _endings_held += 1
    try:
        yield
    finally:
        with _endings_lock:
            _endings_held -= 1


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching, for the patterns the app uses: each key's values list the
    accepted ones; a nested dict matches the nested object."""
    for key, accepted in pattern.items():
        value = event.get(key)
        if isinstance(accepted, dict):
            if not isinstance(value, dict) or not _matches(accepted, value):
                return False
        elif value not in accepted:
            return False
    return True


def tell_execution_endings(chalice_app: Any, lambdas: Any) -> None:
    """Gap: on AWS, Step Functions sends every execution's status change to EventBridge,
    and the rule the packaged template makes for each ``@app.on_cw_event`` invokes its
    handler asynchronously. moto's executions tell nobody how they ended. Here an
    execution's end is sent, as EventBridge's event, to every such handler whose pattern
    matches it, through the in-process Lambdas (``execution_endings_held`` holds them
    back). Tested in ``tests/workflow/test_ops_retry.py`` (a stop told, a held one not)."""
    from chalice.app import CloudWatchEventConfig

    rules = [
        (source.event_pattern, source.name)
        for source in chalice_app.event_sources
        if isinstance(source, CloudWatchEventConfig)
        and getattr(source, "schedule_expression", None) is None
    ]
    global _tell
    _tell = (rules, lambdas)
    if not apply_once("execution-endings"):
        return
    from moto.stepfunctions.models import StepFunctionBackend
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated
    original_stop = StepFunctionBackend.stop_execution

    @functools.wraps(original_stop)
    def stop_execution(self: Any, execution_arn: str) -> Any:
        if _endings_held:
            _quiet.add(execution_arn)  # it ends later, on its own thread
        return original_stop(self, execution_arn)

    @functools.wraps(original)
    def terminated(self: Any) -> None:
        # Read first: the stopper releases the hold once the status has changed, which
        # happens inside ``original``.
        held = bool(_endings_held) or self.execution.exec_arn in _quiet
        _quiet.discard(self.execution.exec_arn)
        original(self)
        if _tell is None or held:
            return
        execution = self.execution
        event = _ending_event(execution)
        rules, target = _tell
        for pattern, name in rules:
            if _matches(pattern, event):
                target.deliver_event(name, event)

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    StepFunctionBackend.stop_execution = stop_execution  # type: ignore[method-assign]


# Executions stopped while endings were held: their endings stay untold.
_quiet: set[str] = set()
_tell: tuple[list[tuple[dict[str, Any], str]], Any] | None = None


def _ending_event(execution: Any) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event AWS sends for an execution."""

    def millis(moment: Any) -> int | None:
        return int(moment.timestamp() * 1000) if moment is not None else None

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": str(getattr(execution.exec_status, "value", execution.exec_status)),
            "startDate": millis(execution.start_date),
            "stopDate": millis(execution.stop_date),
        },
    }


def stop_running_executions(timeout: float = 35.0) -> int:
    """Gap: moto's executions are threads that outlive ``mock_aws`` and keep writing into
    whatever tables exist next. Stop them all (tests' teardown and shutdown), and wait up
    to ``timeout`` seconds for them to have stopped. Their endings are not told to the app:
    this stop is the stack's, not ops'."""
    with execution_endings_held():
        return _stop_running_executions(timeout)


def _stop_running_executions(timeout: float) -> int:
    import boto3
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    stopped = 0
    waiting: list[Any] = []
    # With ``execute_state_machine`` the executions live in the parser's backends.
    for backends in (stepfunctions_parser_backends, stepfunctions_backends):
        for regions in backends.values():
            for region, backend in regions.items():
                client = boto3.client("stepfunctions", region_name=region)
                for machine in list(backend.state_machines):
                    for execution in list(getattr(machine, "executions", [])):
                        if execution.status == "RUNNING":
                            try:
                                client.stop_execution(executionArn=execution.execution_arn)
                                stopped += 1
                            except Exception:  # noqa: BLE001 - best effort at teardown
                                log.debug("could not stop %s", execution.execution_arn)
                            waiting.append(execution)
    # Parked waits were woken by the stop itself (``stop_aborts_at_once``); make sure of it
    # in case that adaptation was not applied in this process.
    for execution in waiting:
        _wake_parked_waits(execution)
    # A stop takes effect when the execution's thread next looks (after a running task
    # returns): wait for that, so that nothing writes after this returns.
    deadline = time.monotonic() + timeout
    while any(e.status == "RUNNING" for e in waiting) and time.monotonic() < deadline:
        time.sleep(0.05)
    return stopped


def apply_all(outbox: Path) -> None:
    """Every adaptation but the Lambda dispatch, which needs the app."""
    serialise_dynamodb()
    cheap_transaction_rollback()
    query_one_partition()
    plain_dynamodb_responses()
    write_outbox(outbox)
    write_sms_outbox()
    emf_to_cloudwatch()
    stop_aborts_at_once()
    stopped_task_history_readable()
    unstarted_executions_read_running()
    cache_interpreter_clients()
    jitter_apart()
    raise_dev_server_backlog()
    from infra.local import speedups

    speedups.apply_all()
    speedups.tracer_off()
