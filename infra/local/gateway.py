"""The local stack's API Gateway: chalice's local one, answering what matches no route as
the deployed API does (``infra/aws/package.py``'s gateway responses), in problem details.

chalice's ``LocalGateway`` answers a path no route matches with API Gateway's own 403
(``Missing Authentication Token``, or a SigV4 complaint when an ``Authorization`` header
is sent) and lets the app answer a method the route lacks with its ``MethodNotAllowedError``
JSON. API.md wants every error as RFC 9457 problem details: an unknown path is ``404``, a
method the path does not take is ``405`` with ``Allow``, both ``application/problem+json``
naming the ``path`` or the ``method``.

Two more gaps between chalice's dev server and API Gateway close here:

- http.server answers a method its handler has no ``do_<METHOD>`` for (``TRACE``, ``QUERY``,
  ``FOO``...) with its own ``501`` text/html page before chalice sees the request.
  ``ProblemRequestHandler`` hands every method to ``ProblemGateway``, which answers it as
  any other method the path does not take (``405`` with ``Allow``, or ``404``).
- API Gateway percent-decodes path parameters before the Lambda sees them
  (``event.pathParameters``: ``/inventory/SOCKS%2D3P`` gives ``sku`` ``SOCKS-3P``);
  chalice's ``LocalGateway`` hands them over raw. ``ProblemGateway`` decodes each captured
  segment after the route is matched, so ``%2F`` stays inside its parameter (as ``/``)
  instead of splitting the path.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalGateway, RouteMatcher

from chalicelib.api.http import problem

# CORS pre-flights are answered by chalice for any route (API Gateway generates them too).
PREFLIGHT = "OPTIONS"


def unrouted(method: str, path: str, routes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The problem response for a request no route takes, as a Lambda proxy response; None
    when a route takes it."""
    try:
        matched = RouteMatcher(list(routes)).match_route(path)
    except ValueError:
        response = problem(
            404, "Not found", f"no resource at {path.split('?', 1)[0]}", [("path", "no such path")]
        )
        return response.to_dict()
    methods = routes[matched.route]
    if method in methods or method == PREFLIGHT:
        return None
    allowed = ", ".join(sorted(methods))
    response = problem(
        405,
        "Method not allowed",
        f"{matched.route} takes {allowed}, not {method}",
        [("method", f"use one of {allowed}")],
        headers={"Allow": allowed},
    )
    return response.to_dict()


class ProblemGateway(LocalGateway):
    """chalice's local API Gateway, with problem details where no route takes a request."""

    def handle_request(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        """Refuse what no route takes (404/405), else hand over to chalice."""
        refused = unrouted(method, path, self._app_object.routes)
        if refused is not None:
            return refused
        answered: dict[str, Any] = super().handle_request(method, path, headers, body)
        return answered

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        """chalice's event, with path parameters percent-decoded as API Gateway's are."""
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        # Matched on the raw path, decoded per segment: an encoded "/" stays in its parameter.
        event["pathParameters"] = {
            name: unquote(value) for name, value in event["pathParameters"].items()
        }
        return event


class ProblemRequestHandler(ChaliceRequestHandler):
    """chalice's request handler on ``ProblemGateway``, for every method a client sends."""

    def __init__(
        self,
        request: bytes,
        client_address: tuple[str, int],
        server: HTTPServer,
        app_object: Any,
        config: Config,
    ) -> None:
        self.local_gateway = ProblemGateway(app_object, config)
        # chalice's own __init__ would build its gateway; the base handler serves the request.
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # type: ignore[arg-type]

    def _send_http_response_with_body(
        self, code: int, headers: dict[str, Any], body: str | bytes
    ) -> None:
        """chalice writes the body whatever the method; a ``HEAD`` answer carries none
        (RFC 9110, 9.3.2): a body there is read as the start of the next response on the
        same keep-alive connection. The headers, ``Content-Length`` included, stay."""
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        self.send_response(code)
        encoded = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)

    def __getattr__(self, name: str) -> Any:
        """Any ``do_<METHOD>`` chalice does not define serves the request as the others do:
        without it http.server answers ``501`` text/html itself."""
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)
