"""infra/local/gateway: the local stack answers what no route takes as the contract's
problem details (404 for an unknown path, 405 with ``Allow`` for a method the path does
not take), not chalice's 403 ``Missing Authentication Token`` or its
``MethodNotAllowedError`` JSON, nor http.server's 501 page for a method it has no handler
for; path parameters reach the app percent-decoded, as API Gateway hands them over; routed
requests are served as before."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support import PROBLEM_JSON


class Raw:
    """A reply to a request sent as written: http.client neither checks the method nor
    re-quotes the path."""

    def __init__(self, url: str, method: str, path: str, headers: dict[str, str]) -> None:
        connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=10)
        try:
            connection.request(method, path, headers=headers)
            reply = connection.getresponse()
            self.status_code = reply.status
            self.headers = reply.headers
            self.text = reply.read().decode("utf-8")
        finally:
            connection.close()

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.text)


def _problem(response: requests.Response | Raw, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    # The detail repeats the path or the method sent: no browser may read it as HTML.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "errors"} <= set(body)
    assert [error["field"] for error in body["errors"]] == [field]
    return body


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer demo-ops"}], ids=["anonymous", "with-a-key"]
)
@pytest.mark.parametrize("path", ["/nope", "/orders/ord_1/nothing-here", "/ñ%C3%B1?x=1"])
def test_an_unknown_path_is_a_404_problem(stack: Any, path: str, headers: dict[str, str]) -> None:
    response = requests.get(f"{stack.url}{path}", headers=headers, timeout=10)

    _problem(response, 404, "path")


def test_a_method_the_path_does_not_take_is_a_405_problem_naming_the_allowed_ones(
    stack: Any,
) -> None:
    response = requests.put(
        f"{stack.url}/orders",
        headers={"Authorization": "Bearer demo-storefront", "Content-Type": "application/json"},
        data=json.dumps({}),
        timeout=10,
    )

    body = _problem(response, 405, "method")
    assert response.headers["Allow"] == "POST"
    assert "PUT" in body["detail"]


def test_a_path_with_a_parameter_lists_every_method_it_takes(stack: Any) -> None:
    response = requests.delete(
        f"{stack.url}/tickets/tkt_x", headers={"Authorization": "Bearer demo-ops"}, timeout=10
    )

    _problem(response, 405, "method")
    assert response.headers["Allow"] == "GET, PATCH"


def test_routed_requests_and_preflights_are_served_as_before(stack: Any) -> None:
    assert requests.get(f"{stack.url}/health", timeout=10).status_code == 200
    unknown_order = requests.get(
        f"{stack.url}/orders/ord_nobody", headers={"Authorization": "Bearer demo-ops"}, timeout=10
    )
    _problem(unknown_order, 404, "order_id")
    preflight = requests.options(f"{stack.url}/orders", timeout=10)
    assert preflight.status_code != 405


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "FROBNICATE"])
def test_a_method_http_server_has_no_handler_for_is_a_405_problem_not_a_501_page(
    stack: Any, method: str
) -> None:
    response = Raw(stack.url, method, "/catalog", {"Authorization": "Bearer demo-storefront"})

    body = _problem(response, 405, "method")
    assert response.headers["Allow"] == "GET"
    assert method in body["detail"]


def test_a_method_http_server_has_no_handler_for_on_an_unknown_path_is_a_404_problem(
    stack: Any,
) -> None:
    response = Raw(stack.url, "TRACE", "/nope", {"Authorization": "Bearer demo-storefront"})

    _problem(response, 404, "path")


@pytest.mark.parametrize(
    "path", ["/inventory/SOCKS%2D3P", "/inventory/%53OCKS-3P", "/inventory/SOCKS%2d3P"]
)
def test_a_percent_encoded_path_parameter_reaches_the_app_decoded(stack: Any, path: str) -> None:
    response = Raw(stack.url, "GET", path, {"Authorization": "Bearer demo-storefront"})

    assert response.status_code == 200, response.text
    assert response.json()["sku"] == "SOCKS-3P"


def test_a_percent_encoded_path_parameter_is_decoded_on_every_route(stack: Any) -> None:
    response = Raw(
        stack.url,
        "GET",
        "/availability/SOCKS%2D3P?postal_code=28001&quantity=1",
        {"Authorization": "Bearer demo-storefront"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["sku"] == "SOCKS-3P"


@pytest.mark.parametrize(
    ("path", "sku"),
    [
        ("/inventory/SOCKS-%C3%B1", "SOCKS-ñ"),
        ("/availability/SOCKS-%C3%B1?postal_code=28001&quantity=1", "SOCKS-ñ"),
        # API Gateway keeps an encoded "/" inside its parameter: still /inventory/{sku}.
        ("/inventory/SOCKS%2F3P", "SOCKS/3P"),
        ("/inventory/100%25", "100%"),
    ],
)
def test_an_unknown_encoded_id_is_the_404_problem_naming_it_decoded(
    stack: Any, path: str, sku: str
) -> None:
    response = Raw(stack.url, "GET", path, {"Authorization": "Bearer demo-storefront"})

    body = _problem(response, 404, "sku")
    assert body["detail"] == f"unknown SKU {sku}"


def test_a_head_answer_carries_no_body(stack: Any) -> None:
    # A body after a HEAD answer is read as the start of the next response on the same
    # keep-alive connection (RFC 9110, 9.3.2): read the raw bytes, as a client's socket does.
    address = urlsplit(stack.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"HEAD /health HTTP/1.1\r\nHost: orquesta\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405")
    assert b"application/problem+json" in head
    assert rest == b""


def _exchange(url: str, request: bytes) -> bytes:
    """What the server writes back to ``request`` sent as written, until it closes."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def _answers(received: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Each response in what the server wrote: status, headers (lower-cased), body."""
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines)
        length = int(headers.get("content-length", "0"))
        answers.append((int(status_line.split()[1]), headers, rest[:length]))
        received = rest[length:]
    return answers


CATALOGUE_REQUEST = (
    b"GET /catalog HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-storefront\r\n"
    b"Connection: close\r\n\r\n"
)


def _lookup(headers: bytes, body: bytes) -> bytes:
    return (
        b"POST /customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-ops\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n" + headers + b"\r\n" + body
    )


def test_a_chunked_body_is_read_as_the_body(stack: Any) -> None:
    # Found by a probe: chalice never read a chunked body; the app saw none (422 "body"),
    # and a request written inside it was answered as the next one on the connection.
    body = json.dumps({"email": "chunked@example.com"}).encode()
    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)

    (answer,) = _answers(_exchange(stack.url, _lookup(b"Transfer-Encoding: chunked\r\n", chunks)))

    assert answer[0] == 200, answer
    assert json.loads(answer[2])["customer_id"].startswith("cus_")


def test_a_request_inside_a_chunked_body_is_not_served(stack: Any) -> None:
    answers = _answers(
        _exchange(stack.url, _lookup(b"Transfer-Encoding: chunked\r\n", CATALOGUE_REQUEST))
    )

    assert [answer[0] for answer in answers] == [400]
    _, headers, body = answers[0]
    assert headers["content-type"] == PROBLEM_JSON and headers["connection"] == "close"
    assert [e["field"] for e in json.loads(body)["errors"]] == ["Transfer-Encoding"]


@pytest.mark.parametrize(
    ("length", "status"),
    [(b"abc", 400), (b"-1", 400), (b"5, 6", 400), (b"99999999999", 413)],
)
def test_a_content_length_that_is_not_one_or_too_large_is_refused_naming_it(
    stack: Any, length: bytes, status: int
) -> None:
    # Found by a probe: "abc" closed the connection with no answer (a ValueError in
    # chalice), and a huge one was read into memory (MemoryError).
    answers = _answers(_exchange(stack.url, _lookup(b"Content-Length: " + length + b"\r\n", b"{}")))

    assert [answer[0] for answer in answers] == [status]
    _, headers, body = answers[0]
    assert headers["content-type"] == PROBLEM_JSON
    assert [e["field"] for e in json.loads(body)["errors"]] == ["Content-Length"]


def test_a_chunk_line_longer_than_the_limit_is_refused_not_read_as_data(stack: Any) -> None:
    # A re-probe: a size line over 1024 bytes was read in two parts, its rest taken for
    # the chunk's data, and a request hidden after it was served.
    hidden = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n"
    size = b"%x;" % len(hidden)
    line = size + b"x" * (1024 - len(size)) + b"y" * len(hidden) + b"\r\n"
    chunks = line + hidden + b"\r\n0\r\n\r\n"

    answers = _answers(_exchange(stack.url, _lookup(b"Transfer-Encoding: chunked\r\n", chunks)))

    assert [answer[0] for answer in answers] == [400]
    assert [e["field"] for e in json.loads(answers[0][2])["errors"]] == ["Transfer-Encoding"]


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    ],
    ids=["length-and-chunked", "chunked-then-identity"],
)
def test_an_ambiguous_framing_is_answered_once_and_the_connection_closed(
    stack: Any, framing: bytes
) -> None:
    # A re-probe: with both a length and chunked, the rest of the connection was served
    # as further requests (RFC 9112, 6.3: the server must close it).
    body = b"0\r\n\r\n" + CATALOGUE_REQUEST.replace(b"Connection: close\r\n", b"")
    keep_alive = _lookup(framing, body).replace(b"Connection: close\r\n", b"")

    answers = _answers(_exchange(stack.url, keep_alive))

    assert len(answers) == 1, [answer[0] for answer in answers]
    assert answers[0][0] in (400, 422)


HIDDEN_OPS_REQUEST = (
    b"GET /ops/alerts?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-ops\r\n\r\n"
)


@pytest.mark.parametrize(
    "request_bytes",
    [
        # A field name with a blank before its colon, or a line with no colon: http.client
        # ended the headers there, the length after them was dropped.
        b"POST /customers HTTP/1.1\r\nHost: x\r\nX-Foo : bar\r\nContent-Length: %d\r\n\r\n"
        % len(HIDDEN_OPS_REQUEST)
        + HIDDEN_OPS_REQUEST,
        b"POST /customers HTTP/1.1\r\nHost: x\r\nnot-a-field\r\nContent-Length: %d\r\n\r\n"
        % len(HIDDEN_OPS_REQUEST)
        + HIDDEN_OPS_REQUEST,
        # An HTTP/1.0 message cannot be chunked: its connection closes after the answer.
        b"POST /customers HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + HIDDEN_OPS_REQUEST,
        # A coding or a size padded with what Python strips and HTTP does not.
        b"POST /customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n"
        + HIDDEN_OPS_REQUEST,
        b"POST /customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"\x0b0\x0b\r\n\r\n"
        + HIDDEN_OPS_REQUEST,
        # A chunked body that never ends: the next request is not a trailer.
        b"POST /customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        + HIDDEN_OPS_REQUEST,
    ],
    ids=[
        "blank-before-colon",
        "no-colon",
        "http-1.0-chunked",
        "padded-coding",
        "padded-size",
        "no-end",
    ],
)
def test_no_request_hidden_in_a_malformed_one_is_served(stack: Any, request_bytes: bytes) -> None:
    # Two re-probes: each of these served the hidden ops request as a second one.
    answers = _answers(_exchange(stack.url, request_bytes))

    assert len(answers) == 1, [answer[0] for answer in answers]
    status, headers, _ = answers[0]
    assert status != 200 and headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("multipart/form-data; boundary=x", b""),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--\r\n",
        ),
        # Probe 223: email's parser reads a message/* body as a message of its own.
        ("message/rfc822", b"Subject: x\r\n\r\nbody"),
        ("message/http", b""),
    ],
)
def test_a_multipart_body_is_refused_for_its_type_not_its_headers(
    stack: Any, media_type: str, body: bytes
) -> None:
    # Probe 221: `curl -F a=b` on any route read 400 "a header line is malformed" naming
    # `headers`: email's parser found the multipart body defective, not a header line.
    request_bytes = (
        b"POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer demo-storefront\r\n"
        b"Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (media_type.encode(), len(body)) + body
    )

    (answer,) = _answers(_exchange(stack.url, request_bytes))

    assert answer[0] in (415, 422), answer  # as the app refuses a body not JSON
    assert "Content-Type" in {e["field"] for e in json.loads(answer[2])["errors"]}, answer


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [(b"GARBAGE\r\n\r\n", 400), (b"GET /health HTTP/9.9\r\n\r\n", 505)],
)
def test_a_request_http_server_refuses_is_answered_in_problem_details(
    stack: Any, request_bytes: bytes, status: int
) -> None:
    # A re-probe: http.server's own pages were text/html, one without a status line.
    (answer,) = _answers(_exchange(stack.url, request_bytes))

    assert answer[0] == status
    assert answer[1]["content-type"] == PROBLEM_JSON
    assert json.loads(answer[2])["status"] == status


def _half_closed(url: str, request: bytes) -> bytes:
    """What the server answers to ``request`` sent, then the sending side closed."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /ops/alerts?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-ops\r\n",
        b"GET /health\r\n",
    ],
    ids=["headers-never-ended", "http-0.9"],
)
def test_an_incomplete_request_is_refused_not_served(stack: Any, request_bytes: bytes) -> None:
    # A third re-probe: a request whose headers the client never ended was carried out
    # once it closed (a cancel among them), as was an HTTP/0.9 line.
    (answer,) = _answers(_half_closed(stack.url, request_bytes))

    assert answer[0] == 400
    assert answer[1]["content-type"] == PROBLEM_JSON
