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
- http.server hands chalice the socket as it is: chalice reads ``Content-Length`` with
  ``int()`` (``abc`` raised ``ValueError``: the connection closed with no answer and a
  traceback in the log; ``99999999999`` was read into memory: ``MemoryError``) and never
  reads a ``Transfer-Encoding: chunked`` body (the app saw none, and the chunks were read as
  the next request on the connection: a request inside the body was answered).
  API Gateway decodes a chunked body, refuses a malformed length with ``400`` and one above
  its 10 MB payload limit with ``413``. ``ProblemRequestHandler`` does the same, in problem
  details naming the header, and closes the connection after a body it did not read.
  Two re-probes then smuggled requests past it, each closed here too: a header line that
  is no field (``X-Foo : bar``) ended http.client's headers there, dropping the length
  after it (400 now, RFC 9112, 5.1); chunk sizes and codings read with Python's
  ``strip()`` (any whitespace: HTTP's is space and tab) or lines without their end; an
  HTTP/1.0 message with a coding (the connection now closes, RFC 9112, 6.1).
- http.server's own refusals (a request line it cannot read, an unknown version, a line or
  header block too long) were text/html pages, one without even a status line; they are
  problem details now (``send_error``). And it served a request whose header block the
  client never ended (it closed first), or an HTTP/0.9 line: both 400 now
  (``parse_request``).
- API Gateway percent-decodes path parameters before the Lambda sees them
  (``event.pathParameters``: ``/inventory/SOCKS%2D3P`` gives ``sku`` ``SOCKS-3P``);
  chalice's ``LocalGateway`` hands them over raw. ``ProblemGateway`` decodes each captured
  segment after the route is matched, so ``%2F`` stays inside its parameter (as ``/``)
  instead of splitting the path.
"""

from __future__ import annotations

import email.errors
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import unquote

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalGateway, RouteMatcher

from chalicelib.api.http import problem

# CORS pre-flights are answered by chalice for any route (API Gateway generates them too).
PREFLIGHT = "OPTIONS"
# API Gateway's payload limit: a larger body is refused before the app sees it.
GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024
# A chunk's size line (hex, an optional extension) and a trailer line are short.
_LINE_LIMIT = 1024
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = rb'"([^"\\\r\n]|\\.)*"'
# A chunk's size line (RFC 9112, 7.1): hex digits, then extensions, nothing else.
_SIZE_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,8})(?:[ \t]*;[ \t]*"
    + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN
    + rb"|"
    + _QUOTED
    + rb"))?)*\r?\n"
)
_TRAILER_LINE = re.compile(_TOKEN + rb":[^\r\n]*\r?\n")
# HTTP's optional whitespace: space and tab only (RFC 9110, 5.6.3), not Python's strip().
_OWS = " \t"


class _LastLine:
    """A request's stream, remembering the last line read from it (the header block's end,
    or what came before the client closed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last = b""

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self.inner.readline(size)
        self.last = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class UnreadableBody(Exception):
    """A body the gateway refuses before any route sees it; ``response`` says why."""

    def __init__(self, status: int, title: str, header: str, message: str) -> None:
        super().__init__(message)
        self.response: dict[str, Any] = problem(
            status, title, message, [(header, message)]
        ).to_dict()


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

    # The connection closes after this request's answer (its framing was ambiguous).
    close_after = False

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

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        """The request's headers and body as API Gateway hands them on: a chunked body
        decoded (its length then in ``Content-Length``), a length that is not one, or too
        large, refused (``UnreadableBody``)."""
        if _header_defects(self.headers) or _text_after_headers(self.headers):
            # A line that is no field ("X-Foo : bar", no colon) ended http.client's
            # headers there: those after it (a length, a key) were dropped and the body
            # served as a next request (a re-probe). RFC 9112, 5.1: 400.
            raise UnreadableBody(400, "Bad request", "headers", "a header line is malformed")
        headers = dict(self.headers)
        codings = [
            coding.strip(_OWS).lower()
            for given in self.headers.get_all("transfer-encoding") or []
            for coding in given.split(",")
        ]
        if codings:
            # A length beside a coding is how a request is smuggled past a proxy, and an
            # HTTP/1.0 message cannot be chunked: answered, then the connection closed
            # (RFC 9112, 6.1 and 6.3).
            self.close_after = bool(
                self.headers.get_all("content-length") or self.request_version == "HTTP/1.0"
            )
            if codings != ["chunked"]:
                last_is_chunked = codings[-1] == "chunked"
                raise UnreadableBody(
                    501 if last_is_chunked else 400,
                    "Not implemented" if last_is_chunked else "Bad request",
                    "Transfer-Encoding",
                    "send chunked alone",
                )
            body = self._chunked_body()
            headers = {
                name: value
                for name, value in headers.items()
                if name.lower() not in ("transfer-encoding", "content-length")
            }
            headers["Content-Length"] = str(len(body))
            return headers, body or None
        lengths = [length.strip(_OWS) for length in self.headers.get_all("content-length") or []]
        if len(set(lengths)) > 1 or not all(re.fullmatch(r"[0-9]{1,12}", v) for v in lengths):
            raise UnreadableBody(
                400, "Bad request", "Content-Length", "must be one number of bytes"
            )
        length = int(lengths[0]) if lengths else 0
        if length > GATEWAY_PAYLOAD_LIMIT:
            raise UnreadableBody(
                413, "Payload too large", "Content-Length", "the body is larger than 10 MB"
            )
        return headers, (self.rfile.read(length) if length else None)

    def _line(self) -> bytes:
        """One line of a chunked body: its size, the end of a chunk, a trailer. One longer
        than the limit is refused: read in parts, its rest would be taken for chunk data
        (a re-probe smuggled a request so)."""
        line = self.rfile.readline(_LINE_LIMIT)
        if not line.endswith(b"\n"):
            raise UnreadableBody(
                400, "Bad request", "Transfer-Encoding", "a chunk's line is too long or cut"
            )
        return line

    def _chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            sized = _SIZE_LINE.fullmatch(self._line())
            if sized is None:
                raise UnreadableBody(
                    400, "Bad request", "Transfer-Encoding", "a chunk's size is not hex"
                )
            size = int(sized.group(1), 16)
            if size == 0:
                break
            if len(body) + size > GATEWAY_PAYLOAD_LIMIT:
                raise UnreadableBody(
                    413, "Payload too large", "Transfer-Encoding", "the body is larger than 10 MB"
                )
            body += self.rfile.read(size)
            if self._line() not in (b"\r\n", b"\n"):
                raise UnreadableBody(
                    400, "Bad request", "Transfer-Encoding", "a chunk is longer than its size"
                )
        # Trailers, not passed on, until the empty line; a line that is no field (the
        # final empty line missing, a next request) is refused, not swallowed.
        while (line := self._line()) not in (b"\r\n", b"\n"):
            if not _TRAILER_LINE.fullmatch(line):
                raise UnreadableBody(
                    400, "Bad request", "Transfer-Encoding", "the chunked body does not end"
                )
        return bytes(body)

    def _handle(self) -> None:
        """chalice's handling, answering a body it cannot read with problem details and
        closing the connection (what is left of that body is not a next request)."""
        self.close_after = False
        try:
            self._generic_handle()
            if self.close_after:
                self.close_connection = True
        except UnreadableBody as refused:
            self._refuse(refused.response)

    def _refuse(self, response: dict[str, Any]) -> None:
        """Answer a problem (a Lambda proxy response) and close the connection: what the
        client sends next on it is not to be read as a request."""
        self.close_connection = True
        headers = {**response["headers"], "Connection": "close"}
        self._send_http_response(response["statusCode"], headers, response["body"])

    def parse_request(self) -> bool:
        """http.server's parsing, refusing what it would serve incomplete: a header block
        the client never ended (it closed first: the request was still carried out, a
        re-probe's cancel among them) and an HTTP/0.9 request line (nothing this API
        speaks). RFC 9112, 8: an incomplete message is not processed."""
        recorder = _LastLine(self.rfile)
        self.rfile = recorder  # type: ignore[assignment]
        try:
            parsed: bool = super().parse_request()
        finally:
            self.rfile = recorder.inner
        if not parsed:
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(400, "send an HTTP/1.1 request line")
            return False
        if recorder.last not in (b"\r\n", b"\n"):
            self.send_error(400, "the request's headers do not end")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line it cannot read, a version it does
        not speak, a line or header block too long) as problem details with a status line,
        where it wrote a text/html page (none at all, for a line it took for HTTP/0.9)."""
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"
        try:
            title = HTTPStatus(code).phrase
        except ValueError:
            title = "Error"
        field = {414: "path", 431: "headers", 505: "version"}.get(code, "request")
        self._refuse(problem(code, title, message or title, [(field, message or title)]).to_dict())

    # http.server names its handlers after the methods.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        """Any ``do_<METHOD>`` chalice does not define serves the request as the others do:
        without it http.server answers ``501`` text/html itself."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


# What email's parser says of a multipart Content-Type with no body to split: about the
# body, which the app reads (415 naming Content-Type), not about the header lines (probe
# 221: every multipart request read "a header line is malformed").
_BODY_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
)


def _header_defects(headers: Any) -> list[Any]:
    """The defects http.client's header parsing found in the header lines themselves."""
    return [d for d in headers.defects if not isinstance(d, _BODY_DEFECTS)]


def _text_after_headers(headers: Any) -> bool:
    """Whether lines were left after what http.client read as the headers (a malformed
    line ended them early). A multipart or ``message/*`` Content-Type makes email's parser
    hand back parts, not text: no line was left (probe 223: ``message/rfc822`` read as a
    malformed header, a signed carrier event among them)."""
    payload = headers.get_payload()
    return isinstance(payload, str) and bool(payload)
