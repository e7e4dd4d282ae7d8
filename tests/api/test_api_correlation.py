"""The real app answers every request, error or not, with its correlation id, and runs
every function it registers through Powertools' Lambda context."""

from __future__ import annotations

from typing import Any

from chalicelib.api.log_context import CORRELATION_HEADER
from tests.support import STOREFRONT


def test_every_answer_names_the_callers_correlation_id(client: Any) -> None:
    for path, headers, status in (
        ("/health", {}, 200),
        ("/orders/no-such-order", STOREFRONT, 404),
        ("/orders/no-such-order", {}, 401),
    ):
        response = client.http.get(path, headers={**headers, CORRELATION_HEADER: "corr-1"})
        assert response.status_code == status
        assert response.headers[CORRELATION_HEADER] == "corr-1"


def test_a_hostile_correlation_id_is_replaced(client: Any) -> None:
    response = client.http.get("/health", headers={CORRELATION_HEADER: "ünï\r\nX-Evil: 1"})
    assert response.status_code == 200
    assert response.headers[CORRELATION_HEADER].isascii()
    assert "Evil" not in response.headers[CORRELATION_HEADER]


def test_the_lambda_context_middleware_covers_every_function(stack: Any) -> None:
    app = stack.app_module.app
    registered = [(type(func).__name__, kind) for func, kind in app.middleware_handlers]
    assert ("ConvertToMiddleware", "all") in registered
    assert ("function", "http") in registered
