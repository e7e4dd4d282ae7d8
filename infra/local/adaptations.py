"""Where moto (5.2.5) falls short of AWS, and what the local stack does about it.

Each adaptation names the gap it closes; ``tests/integration/test_local_adaptations.py``
has a test for each that fails without it. Nothing here is imported by ``chalicelib``: the
app runs the same code on AWS and here.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.local.speedups import apply_once

log = logging.getLogger("orquesta.local")


def serialise_dynamodb() -> None:
    """Gap: moto's DynamoDB takes no lock, so two conditional writes racing for the same
    item both succeed (a race of 200 orders on 50 units oversold 4 times in 5), and a
    query can iterate a table while another thread changes it. AWS applies each request
    atomically; here each action runs under the locks of the tables it touches
    (``speedups.lock_tables_per_action``, which says how)."""
    from infra.local import speedups

    speedups.lock_tables_per_action()


_transaction = threading.local()


def cheap_transaction_rollback() -> None:
    """Gap: moto's ``TransactWriteItems`` deep-copies the whole table, once per item of the
    transaction, so that it can roll back; under the DynamoDB lock above, every
    transaction then costs time in proportion to the table (0.1 s a copy at 300 items),
    and thirty concurrent orders on a table a test session has filled made workflow steps
    run past their 30 s timeout. AWS has no such cost. Here the copy of the table is
    skipped and only the items the transaction names are saved, and put back if it is
    cancelled; the lock of ``serialise_dynamodb`` keeps anyone from seeing in between."""
    if not apply_once("transactions"):
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_transaction, "active", False):
            return self  # transact_write_items below restores what the transaction touched
        cls: Any = type(self)
        result = cls.__new__(cls)
        memo[id(self)] = result
        for name, value in self.__dict__.items():
            setattr(result, name, copy.deepcopy(value, memo))
        return result

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            for op in entry.values():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                if table is None:
                    continue
                attrs = op.get("Key") or op.get("Item") or {}
                try:
                    hash_key = DynamoType(attrs[table.hash_key_attr])
                    range_key = (
                        DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                    )
                except KeyError:
                    continue  # moto reports the malformed key itself
                current = table.get_item(hash_key, range_key)
                saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        _transaction.active = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = item
                else:
                    table.items[hash_key] = item
            raise
        finally:
            _transaction.active = False

    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_partition = threading.local()


def query_one_partition() -> None:
    """Gap: moto's ``Query`` lists every item of the table and compares each one's hash
    key with the one asked for, so under the DynamoDB lock every query (stock levels, the
    catalogue, an order's history) costs in proportion to the whole table; AWS reads one
    partition. Here a query on the table itself (not on an index) looks at the items of
    the partition asked for only; everything after that (range conditions, filters,
    paging, projections) is moto's own code."""
    if not apply_once("query"):
        return
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    @functools.wraps(original_query)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name positionally: bind the call to find it either way.
        bound = signature.bind(self, hash_key, *args, **kwargs)
        if bound.arguments.get("index_name") or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        _partition.key = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _partition.key = None

    @functools.wraps(original_all_items)
    def all_items(self: Any) -> Any:
        key = getattr(_partition, "key", None)
        if key is None or key[0] is not self:
            return original_all_items(self)
        items = dict.get(self.items, key[1])  # not self.items[...]: it is a defaultdict
        if items is None:
            return []
        return list(items.values()) if self.range_key_attr else [items]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


_DATA_PLANE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "TransactGetItems",
    "BatchGetItem",
    "BatchWriteItem",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain_dynamodb_responses() -> None:
    """Gap: moto 5.2 writes every DynamoDB answer through its generic, model-driven
    serialiser, which walks the AttributeValue shape of every attribute of every item (an
    order item with its document: milliseconds each, under the DynamoDB lock). DynamoDB's
    wire format is plain JSON of those attribute values, which moto already holds as plain
    dicts; here successful data-plane answers are written with ``json.dumps``, as moto did
    up to 5.1. Errors and control-plane answers still go through moto's serialiser."""
    if not apply_once("dynamodb-json"):
        return
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized

    @functools.wraps(original)
    def serialized(self: Any, action_result: Any) -> Any:
        if (
            type(action_result) is DynamoResult
            and not isinstance(action_result.result, Exception)
            and self._get_action() in _DATA_PLANE
        ):
            body = json.dumps(action_result.result, default=_json_default, separators=(",", ":"))
            headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
            return 200, headers, body
        return original(self, action_result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


class LambdaContext:
    """The part of the Lambda context the handlers read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_name
        self.memory_limit_in_mb = 512
        self.aws_request_id = f"local-{time.monotonic_ns()}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's default of 30 s."""
        return 30_000


class _InjectedFault(Exception):
    """A failure a test injected, reported under its own error type."""

    def __init__(self, error_type: str) -> None:
        super().__init__(f"{error_type} (injected)")
        self.error_type = error_type


class InProcessLambdas:
    """Gap: without Docker, moto's Lambda returns the request body instead of running the
    function, and delivers SNS messages only to functions it created. Here ``Invoke`` and
    SNS deliveries run the Chalice app's own handlers in this process, by deployed name
    (``<app>-<stage>-<name>``). A handler's exception becomes a Lambda function error whose
    ``errorType`` is the exception's class name, as the Python runtime reports it, so the
    state machine's Retry and Catch see ``OutOfStock`` and not a success. SNS invokes
    subscribers asynchronously with two retries, as AWS does; so does this."""

    def __init__(self, handlers: dict[str, Callable[..., Any]], prefix: str) -> None:
        self.handlers = handlers
        self.prefix = prefix
        self.invocations: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sns-lambda")
        self._pending: set[Future[None]] = set()
        self._pending_lock = threading.Lock()
        # Test hook: failures to inject into the next invocations of a function, as
        # Lambda would report them (see ``inject_fault``).
        self._faults: dict[str, list[tuple[str, bool]]] = {}
        self._faults_lock = threading.Lock()

    def inject_fault(
        self, short_name: str, error_type: str, times: int = 1, after_running: bool = True
    ) -> None:
        """Make the next ``times`` invocations of ``short_name`` fail with ``error_type``
        (``Sandbox.Timedout`` is how Lambda reports a function that ran out of time).
        ``after_running``: the handler runs first and its reply is replaced by the error,
        as when a function is killed after doing its work; otherwise it does not run."""
        with self._faults_lock:
            self._faults.setdefault(short_name, []).extend([(error_type, after_running)] * times)

    def clear_faults(self) -> None:
        """Forget every fault not yet injected."""
        with self._faults_lock:
            self._faults.clear()

    def _next_fault(self, short_name: str) -> tuple[str, bool] | None:
        with self._faults_lock:
            queued = self._faults.get(short_name)
            return queued.pop(0) if queued else None

    def handler_for(self, function_name: str) -> tuple[str, Callable[..., Any]]:
        """The handler a function name or ARN (with or without qualifier) names."""
        parts = function_name.split(":")
        name = parts[6] if len(parts) >= 7 else parts[-1]
        short = name.removeprefix(self.prefix)
        if short not in self.handlers:
            raise KeyError(f"no local handler for {function_name}")
        with self._count_lock:
            self.invocations[short] = self.invocations.get(short, 0) + 1
        return short, self.handlers[short]

    def invoke(
        self, function_name: str, body: str | bytes | None, response_headers: dict[str, Any]
    ) -> bytes:
        """Run a handler synchronously and answer as Lambda's Invoke would."""
        short, handler = self.handler_for(function_name)
        event = json.loads(body or "{}")
        fault = self._next_fault(short)
        try:
            if fault is not None and not fault[1]:
                raise _InjectedFault(fault[0])
            result = handler(event, LambdaContext(short))
            if fault is not None:
                raise _InjectedFault(fault[0])
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            kind = exc.error_type if isinstance(exc, _InjectedFault) else type(exc).__name__
            error = {"errorType": kind, "errorMessage": str(exc)}
            return json.dumps(error).encode()
        return json.dumps(result).encode()

    def deliver_sns(self, function_name: str, message: str, subject: str | None) -> None:
        """Queue an SNS delivery to a subscribed function."""
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": f"local-{time.monotonic_ns()}",
                        "Message": message,
                        "Subject": subject,
                        "MessageAttributes": {},
                        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    },
                }
            ]
        }
        future = self._pool.submit(self._deliver_with_retries, function_name, event)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    def _deliver_with_retries(self, function_name: str, event: dict[str, Any]) -> None:
        short, handler = self.handler_for(function_name)
        for attempt in range(3):
            try:
                handler(event, LambdaContext(short))
                return
            except Exception:
                log.exception("SNS delivery to %s failed (attempt %d)", short, attempt + 1)
                time.sleep(0.2 * (attempt + 1))

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for queued SNS deliveries (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._pending_lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result(timeout=max(0.0, deadline - time.monotonic()))

    def shutdown(self) -> None:
        """Stop the delivery pool."""
        self._pool.shutdown(wait=True, cancel_futures=False)


_lambdas: InProcessLambdas | None = None


def dispatch_lambdas_in_process(lambdas: InProcessLambdas) -> None:
    """Install ``lambdas`` as moto's Lambda implementation (see ``InProcessLambdas``)."""
    global _lambdas
    _lambdas = lambdas
    if not apply_once("lambda"):
        return
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        assert _lambdas is not None, "the local stack is not running"
        return _lambdas.invoke(function_name, body, response_headers)

    def send_sns_message(
        self: Any,
        function_name: str,
        message: str,
        subject: str | None = None,
        qualifier: str | None = None,
    ) -> None:
        assert _lambdas is not None, "the local stack is not running"
        _lambdas.deliver_sns(function_name, message, subject)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    LambdaSimpleBackend.send_sns_message = send_sns_message  # type: ignore[method-assign]


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
    lines on a terminal. Here each document the app's ``EmfMetrics`` emits becomes a
    ``PutMetricData`` on moto's CloudWatch, so they can be queried as on AWS
    (``get-metric-statistics --namespace Orquesta``)."""
    if not apply_once("emf"):
        return
    from datetime import UTC, datetime

    import boto3

    from chalicelib.adapters.metrics import EmfMetrics

    clients: list[Any] = []

    def put_metric_data(self: Any, document: Any) -> None:
        if not clients:
            clients.append(boto3.client("cloudwatch"))
        aws = document["_aws"]
        at = datetime.fromtimestamp(aws["Timestamp"] / 1000, UTC)
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
            clients[0].put_metric_data(Namespace=directive["Namespace"], MetricData=data)

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


def stop_running_executions(timeout: float = 35.0) -> int:
    """Gap: moto's executions are threads that outlive ``mock_aws`` and keep writing into
    whatever tables exist next. Stop them all (tests' teardown and shutdown), and wait up
    to ``timeout`` seconds for them to have stopped."""
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
    cache_interpreter_clients()
    raise_dev_server_backlog()
    from infra.local import speedups

    speedups.apply_all()
    speedups.tracer_off()
