"""infra/local/gateway: the local stack answers what no route takes as the contract's
problem details (404 for an unknown path, 405 with ``Allow`` for a method the path does
not take), not chalice's 403 ``Missing Authentication Token`` or its
``MethodNotAllowedError`` JSON; routed requests are served as before."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

PROBLEM_JSON = "application/problem+json"


def _problem(response: requests.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
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
