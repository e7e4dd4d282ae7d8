"""Powertools' ``Tracer``, built on the first traced call rather than when ``app`` is
imported. Building it creates the X-Ray SDK's recorder, whose sampler loads botocore's
X-Ray service model for two clients (100-250 ms, the largest single cost of importing
``app``), and patches boto3. Every function imports ``app``, so every cold start paid it
before the import finished; now a function pays it when it first traces, and a function
that never traces (the API's, whose requests only patch boto3 through ``patch_aws_calls``,
and any process that only imports ``app``, as packaging and the tests do) not at import.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyTracer:
    """The ``capture_lambda_handler`` and ``capture_method`` decorators of one Powertools
    ``Tracer``, which is made once, by the first decorated call of the process."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    def tracer(self) -> Tracer:
        """The process's Tracer (made now if no call has made it yet)."""
        with self._lock:
            if self._tracer is None:
                from aws_lambda_powertools import Tracer

                self._tracer = Tracer(service=self._service)
            return self._tracer

    @property
    def built(self) -> Tracer | None:
        """The Tracer if a call has made it, else None (nothing is traced yet)."""
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """Powertools' ``capture_lambda_handler``, applied at the first call."""
        return self._deferred(handler, lambda tracer: tracer.capture_lambda_handler(handler))

    def capture_method(self, method: Handler) -> Handler:
        """Powertools' ``capture_method``, applied at the first call."""
        return self._deferred(method, lambda tracer: tracer.capture_method(method))

    def _deferred(self, function: Handler, decorate: Callable[[Tracer], Any]) -> Handler:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not traced:
                traced.append(decorate(self.tracer()))
            return traced[0](*args, **kwargs)

        return call  # type: ignore[return-value]

    def patch_aws_calls(self, request: Any, get_response: Callable[[Any], Any]) -> Any:
        """HTTP middleware: make the Tracer before the first request's handler runs, so the
        API's AWS calls are traced (it patches boto3) as they were when it was made at
        import."""
        self.tracer()
        return get_response(request)
