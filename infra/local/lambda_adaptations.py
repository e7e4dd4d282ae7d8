"""Where moto's Lambda falls short of AWS without Docker: the Chalice app's handlers run in this
process instead, for ``Invoke`` and SNS deliveries. Part of ``adaptations``; tested in
``tests/integration/test_local_adaptations.py``.
"""

from __future__ import annotations

import ast
import contextvars
import importlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from infra.local.background import slots
from infra.local.patching import apply_once

log = logging.getLogger("orquesta.local")


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


def run_as_its_own_invocation(
    handler: Callable[..., Any], *args: Any, waited_for: bool = False
) -> Any:
    """Run a handler with none of its caller's context variables, as a function on AWS
    runs in its own process: botocore's client context of the call that invoked it (the
    interpreter's ``Invoke``), which botocore would otherwise deep-copy at every AWS call
    the handler makes, and whatever a previous invocation on the same thread left. It
    runs in one of the process's invocation slots (``background.InvocationSlots``), before
    the queued asynchronous ones when its caller waits for it (``waited_for``)."""
    with slots.held(urgent=waited_for):
        return contextvars.Context().run(handler, *args)


class InProcessLambdas:
    """Gap: without Docker, moto's Lambda returns the request body instead of running the
    function, and delivers SNS messages only to functions it created. Here ``Invoke`` and
    SNS deliveries run the Chalice app's own handlers in this process, by deployed name
    (``<app>-<stage>-<name>``), each in a context of its own
    (``run_as_its_own_invocation``). A handler's exception becomes a Lambda function error
    whose ``errorType`` is the exception's class name, as the Python runtime reports it, so
    the state machine's Retry and Catch see ``OutOfStock`` and not a success. SNS invokes
    subscribers asynchronously with two retries, as AWS does; so does this."""

    def __init__(self, handlers: dict[str, Callable[..., Any]], prefix: str) -> None:
        self.handlers = handlers
        self.prefix = prefix
        self.invocations: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sns-lambda")
        # Each queued delivery by number, with the numbers of the deliveries it descends
        # from (the one that queued it, that one's, and so on; none when a request, a step
        # or the scheduler did): ``drain`` follows lineages. Kept whole at queueing, while
        # the parent still runs: a parent that ended before ``drain`` looked again left no
        # trace, and its child was not waited for (a rare failure under load).
        self._pending: dict[int, tuple[Future[None], frozenset[int]]] = {}
        self._pending_lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._delivering = threading.local()
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
            result = run_as_its_own_invocation(
                handler, event, LambdaContext(short), waited_for=True
            )
            if fault is not None:
                raise _InjectedFault(fault[0])
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            kind = exc.error_type if isinstance(exc, _InjectedFault) else type(exc).__name__
            error = {"errorType": kind, "errorMessage": str(exc)}
            return json.dumps(error).encode()
        return json.dumps(result).encode()

    def deliver_event(self, function_name: str, event: dict[str, Any]) -> None:
        """Queue an EventBridge delivery to a function a rule targets (asynchronous, with
        two retries, as EventBridge invokes Lambda targets)."""
        self._queue(function_name, event)

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
        self._queue(function_name, event)

    def _queue(self, function_name: str, event: dict[str, Any]) -> None:
        # A handler publishes in its own thread (moto runs in process), so the delivery
        # this thread is running, if any, is the new one's parent.
        parent: int | None = getattr(self._delivering, "number", None)
        with self._pending_lock:
            number = next(self._numbers)
            lineage: frozenset[int] = frozenset()
            if parent is not None:
                ancestors = self._pending[parent][1] if parent in self._pending else frozenset()
                lineage = ancestors | {parent}
            future = self._pool.submit(self._deliver_with_retries, number, function_name, event)
            self._pending[number] = (future, lineage)
        future.add_done_callback(lambda _: self._forget(number))

    def _forget(self, number: int) -> None:
        with self._pending_lock:
            self._pending.pop(number, None)

    def _deliver_with_retries(self, number: int, function_name: str, event: dict[str, Any]) -> None:
        short, handler = self.handler_for(function_name)
        self._delivering.number = number
        try:
            for attempt in range(3):
                try:
                    run_as_its_own_invocation(handler, event, LambdaContext(short))
                    return
                except Exception:
                    log.exception("delivery to %s failed (attempt %d)", short, attempt + 1)
                    time.sleep(0.2 * (attempt + 1))
        finally:
            self._delivering.number = None

    def drain(self, timeout: float = 30.0, everything: bool = False) -> None:
        """Wait for the deliveries queued when called, and for those they queue in turn.
        Deliveries queued later by others (the scheduler's sweeps, other tests' orders on
        a shared stack) are not waited for: under a steady stream the queue is never
        empty. ``everything``: wait until nothing at all is queued (shutdown, the bench).
        Raises ``TimeoutError`` if what it waits for is not done after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._pending_lock:
            awaited = set(self._pending)
        while True:
            with self._pending_lock:
                for number, (_, lineage) in self._pending.items():
                    if everything or lineage & awaited:
                        awaited.add(number)
                waiting = [future for n, (future, _) in self._pending.items() if n in awaited]
            if not waiting:
                return
            for future in waiting:
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


def lazily_imported_modules(package: str = "chalicelib") -> list[str]:
    """The modules the app imports inside functions (Babel, Jinja2, email-validator...:
    only some functions need them, so a cold start does not pay for them), found by
    reading its source."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    found: set[str] = set()
    for source in sorted(root.rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
    return sorted(found)


def import_lazy_modules_up_front(package: str = "chalicelib") -> list[str]:
    """Import what the app imports lazily before the stack serves anything.

    The gap: on AWS each invocation runs alone in its function's process, so a lazy
    import runs in one thread. Here invocations are threads of one process, and two of
    them importing a package whose ``__init__`` and submodules import each other (Babel)
    at the same moment get ``_DeadlockError`` or a partially initialised module: a 500 on
    the tracking page, a failed email delivery. Imported once, first, nothing races."""
    imported = []
    for name in lazily_imported_modules(package):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional or AWS-only module: nothing to race on
            continue
        imported.append(name)
    return imported
