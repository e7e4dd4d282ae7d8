"""What every log line says about where it comes from: Powertools' Lambda context (function,
request id, cold start) on every entry point, and on API requests a correlation id, taken
from the caller's ``X-Correlation-Id`` when it is a sane one, else API Gateway's request
id, and echoed back in the response."""

from __future__ import annotations

import functools
import re
import uuid
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from chalice.app import ConvertToMiddleware

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalice.app import Chalice, Request, Response

logger = Logger(service="orquesta")

CORRELATION_HEADER = "X-Correlation-Id"
# What a caller may pass as its own id: it goes into logs and back into a header, so it
# is short, printable ASCII, with nothing that could split a line or a header.
_CALLER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


def correlation_id(request: Request) -> str:
    """The caller's id when it is a sane one, else API Gateway's request id, else the
    Lambda request id (``chalice local`` has no API Gateway id)."""
    given = request.headers.get(CORRELATION_HEADER.lower())
    if given and _CALLER_ID.fullmatch(given):
        return str(given)
    request_id = (request.context or {}).get("requestId")
    if request_id:
        return str(request_id)
    lambda_request_id = getattr(request.lambda_context, "aws_request_id", None)
    return str(lambda_request_id or uuid.uuid4())


def correlate(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: every log line of the request carries its correlation id, and the
    response names it."""
    value = correlation_id(request)
    # Thread-local, unlike set_correlation_id: the local stack serves requests on threads.
    logger.thread_safe_append_keys(correlation_id=value)
    try:
        response = get_response(request)
    finally:
        logger.thread_safe_remove_keys(["correlation_id"])
    response.headers[CORRELATION_HEADER] = value
    return response


_cold = [True]


def inject_lambda_context(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Powertools' ``inject_lambda_context`` keys (function name, memory, ARN, request id,
    cold start), kept per thread: Powertools' own decorator appends them process-wide,
    which is one invocation on Lambda but lets concurrent invocations served on threads
    (the local stack, ``chalice local``) log each other's function names."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any) -> Any:
        keys = dict(build_lambda_context_model(context).__dict__)
        keys["cold_start"], _cold[0] = _cold[0], False
        logger.thread_safe_append_keys(**keys)
        try:
            return handler(event, context)
        finally:
            logger.thread_safe_remove_keys(list(keys))

    return wrapped


def install(app: Chalice) -> None:
    """Register on ``app``: the Lambda context on every function (routes, workflow steps,
    subscribers, schedules, and any added later), the correlation id on routes."""
    app.register_middleware(ConvertToMiddleware(inject_lambda_context), "all")
    app.register_middleware(correlate, "http")
