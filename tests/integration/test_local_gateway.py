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
