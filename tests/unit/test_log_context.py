"""Every entry point logs its Lambda context (Powertools' inject_lambda_context), and every
API request logs and answers with one correlation id, whatever the caller sends."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice import Chalice, Rate  # type: ignore[attr-defined]
from chalice.app import CloudWatchEvent, SNSEvent
from chalice.test import Client

from chalicelib.api import log_context
from chalicelib.api.log_context import CORRELATION_HEADER, logger

LAMBDA_CONTEXT_KEYS = {"function_name", "function_request_id", "function_arn", "cold_start"}


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the app's Powertools logger writes while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    underlying = logging.getLogger(logger.name)
    underlying.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        underlying.removeHandler(handler)


@pytest.fixture
def app() -> Chalice:
    """An app with one entry point of each kind Orquesta has, each logging one line."""
    app = Chalice(app_name="log-context")
    log_context.install(app)

    @app.route("/ping")
    def ping() -> dict[str, str]:
        logger.info("route")
        return {"pong": "yes"}

    @app.route("/boom")
    def boom() -> dict[str, str]:
        logger.info("route about to fail")
        raise RuntimeError("boom")

    @app.lambda_function(name="step")
    def step(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("workflow step")
        return {"seen": event}

    @app.on_sns_message(topic="order-events")
    def subscriber(event: SNSEvent) -> None:
        logger.info("subscriber")

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def schedule(event: CloudWatchEvent) -> None:
        logger.info("schedule")

    return app


def only(lines: list[dict[str, Any]], message: str) -> dict[str, Any]:
    found = [line for line in lines if line.get("message") == message]
    assert len(found) == 1, lines
    return found[0]


def test_every_kind_of_entry_point_logs_its_lambda_context(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with Client(app) as client:
        assert client.http.get("/ping").status_code == 200
        client.lambda_.invoke("step", {"order_id": "o-1"})
        client.lambda_.invoke("subscriber", client.events.generate_sns_event(message="{}"))
        client.lambda_.invoke(
            "schedule", client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        )
    lines = log_lines()
    for message, function in (
        ("route", "api_handler"),
        ("workflow step", "step"),
        ("subscriber", "subscriber"),
        ("schedule", "schedule"),
    ):
        line = only(lines, message)
        assert set(line) >= LAMBDA_CONTEXT_KEYS, line
        assert line["function_request_id"], line
        if function != "api_handler":
            assert line["function_name"] == function


def test_a_request_without_an_id_gets_one_in_its_logs_and_its_response(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with Client(app) as client:
        first = client.http.get("/ping")
        second = client.http.get("/ping")
    ids = [first.headers[CORRELATION_HEADER], second.headers[CORRELATION_HEADER]]
    assert all(ids) and ids[0] != ids[1]
    logged = [line["correlation_id"] for line in log_lines() if line["message"] == "route"]
    assert logged == ids


def test_the_callers_correlation_id_is_logged_and_echoed(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with Client(app) as client:
        response = client.http.get("/ping", headers={CORRELATION_HEADER: "shop-42:req.7"})
    assert response.headers[CORRELATION_HEADER] == "shop-42:req.7"
    assert only(log_lines(), "route")["correlation_id"] == "shop-42:req.7"


@pytest.mark.parametrize(
    "given",
    [
        "abc\r\nSet-Cookie: stolen=1",
        "ñandú-1",
        "x" * 129,
        "",
        " leading-space",
        "<script>",
        '{"json": 1}',
    ],
)
def test_an_unfit_correlation_id_is_replaced_not_echoed(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]], given: str
) -> None:
    with Client(app) as client:
        response = client.http.get("/ping", headers={CORRELATION_HEADER: given})
    assert response.status_code == 200
    echoed = response.headers[CORRELATION_HEADER]
    assert echoed and echoed != given
    assert only(log_lines(), "route")["correlation_id"] == echoed


def test_a_failing_route_still_names_its_correlation_id(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with Client(app) as client:
        response = client.http.get("/boom", headers={CORRELATION_HEADER: "req-9"})
    assert response.status_code == 500
    assert response.headers[CORRELATION_HEADER] == "req-9"
    assert only(log_lines(), "route about to fail")["correlation_id"] == "req-9"


def test_a_requests_correlation_id_does_not_leak_into_the_next_invocation(
    app: Chalice, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    with Client(app) as client:
        client.http.get("/ping", headers={CORRELATION_HEADER: "req-1"})
        client.lambda_.invoke("step", {})
    assert "correlation_id" not in only(log_lines(), "workflow step")


def test_invocations_served_at_once_on_threads_each_log_their_own_function(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # The local stack serves concurrent invocations on threads of one process: keys
    # appended process-wide (Powertools' own inject_lambda_context) let the second
    # invocation's function name into the first one's lines.
    app = Chalice(app_name="threads")
    log_context.install(app)
    both_inside = threading.Barrier(2, timeout=60)  # a deadlock guard, not a time limit

    @app.lambda_function(name="first")
    def first(event: dict[str, Any], context: Any) -> dict[str, Any]:
        both_inside.wait()
        logger.info("first logs")
        return {}

    @app.lambda_function(name="second")
    def second(event: dict[str, Any], context: Any) -> dict[str, Any]:
        both_inside.wait()
        logger.info("second logs")
        return {}

    with Client(app) as client:
        threads = [
            threading.Thread(target=client.lambda_.invoke, args=(name, {}))
            for name in ("first", "second")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    lines = log_lines()
    assert only(lines, "first logs")["function_name"] == "first"
    assert only(lines, "second logs")["function_name"] == "second"
