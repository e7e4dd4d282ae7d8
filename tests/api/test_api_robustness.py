"""Whatever a client sends to whichever write route, the answer is never a 500: bad input is
a problem document."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support import JSON, OPS, STORE, STOREFRONT, idempotency_key

GARBAGE = {
    "malformed JSON": '{"a": [',
    "empty": "",
    "null": "null",
    "a list": "[1, 2]",
    "a string": '"hello"',
    "unknown fields": json.dumps({"zzz": 1, "lines": "many", "quantity": -5}),
    "wrong types": json.dumps(
        {
            "email": 5,
            "lines": [{"sku": None, "quantity": "x"}],
            "location_id": [],
            "type": {},
            "status": 3,
        }
    ),
    "deep nesting": "[" * 3000 + "]" * 3000,
}


def _write_routes(stack: Any) -> list[tuple[str, str]]:
    return sorted(
        (path, method)
        for path, methods in stack.app_module.app.routes.items()
        for method in methods
        if method in ("POST", "PUT", "PATCH", "DELETE")
    )


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: f"{m.group(1)}-does-not-exist", path)


@pytest.mark.parametrize("auth", [STOREFRONT, STORE, OPS], ids=["storefront", "store", "ops"])
def test_garbage_to_any_write_route_is_a_problem_never_a_500(
    client: Any, stack: Any, auth: dict[str, str]
) -> None:
    routes = _write_routes(stack)
    assert routes
    for path, method in routes:
        for name, body in GARBAGE.items():
            response = client.http.request(
                method,
                _concrete(path),
                headers=auth | JSON | idempotency_key() | {"X-Orquesta-Signature": "t=1,v1=0"},
                body=body.encode(),
            )
            where = f"{method} {path} with {name}: {response.status_code} {response.body[:200]!r}"
            assert 400 <= response.status_code < 500, where
            assert response.headers.get("Content-Type") == "application/problem+json", where


GARBAGE_QUERIES = {
    "negative and non-numeric": "?limit=-1&days=ten&cursor=%25%25%25",
    "huge numbers": "?limit=99999999999999999999999&days=1e400",
    "impossible dates": "?from=9999-99-99&to=0000-00-00",
    "empty values": "?email=&phone=&loyalty_id=&status=&limit=",
    "repeated and odd names": "?status=RUNNING&status=FAILED&a%5B%5D=1&%00=x",
    "control characters": "?email=%00%0A%0D&phone=%E2%80%AE",
}


def _read_routes(stack: Any) -> list[str]:
    return sorted(path for path, methods in stack.app_module.app.routes.items() if "GET" in methods)


def test_garbage_query_strings_to_any_read_route_never_get_a_500(client: Any, stack: Any) -> None:
    routes = _read_routes(stack)
    assert "/ops/sla" in routes and "/customers" in routes
    for path in routes:
        for name, query in GARBAGE_QUERIES.items():
            response = client.http.get(_concrete(path) + query, headers=OPS)
            where = f"GET {path} with {name}: {response.status_code} {response.body[:200]!r}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                assert response.headers.get("Content-Type") == "application/problem+json", where


@pytest.mark.parametrize("token", ["cus_x.\u00e9\u00e9", "cus_\u00e9.abc", "\u00ff"])
@pytest.mark.parametrize("path", ["/customers/cus_x", "/customers/cus_x/export"])
def test_a_non_ascii_customer_token_is_refused_never_a_500(
    client: Any, path: str, token: str
) -> None:
    response = client.http.get(path, headers=STOREFRONT | {"X-Customer-Token": token})

    assert response.status_code == 403, response.body


@pytest.mark.parametrize(
    ("method", "path", "auth", "status"),
    [
        ("GET", "/catalog", STOREFRONT, 200),
        ("GET", "/health", {}, 200),
        # A problem's detail repeats what was sent: a browser must not read it as HTML.
        ("GET", "/orders/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", STOREFRONT, 404),
        ("POST", "/carriers/%3Cscript%3Ealert(1)%3C%2Fscript%3E/events", {}, 404),
    ],
)
def test_every_answer_forbids_guessing_its_type(
    client: Any, method: str, path: str, auth: dict[str, str], status: int
) -> None:
    response = client.http.request(method, path, headers=auth | JSON, body=b"{}")
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
