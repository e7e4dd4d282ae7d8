"""The deployed API's own answers (no route for the path or method, throttling, a body too
large...) are problem details, as the app's are: SAM ``GatewayResponses`` on the REST API
of the merge template ``make package`` gives ``chalice package``."""

from __future__ import annotations

import json
from typing import Any

import pytest

# Packaging shares chalice's deployment cache (.chalice/deployments): see
# test_packaging_alarms_and_logs.py.
pytestmark = pytest.mark.xdist_group("packaging")

# What API Gateway's $context.error.messageString stands for: its message, JSON-quoted.
QUOTED_MESSAGE = '"Missing Authentication Token"'


def _responses(template: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    return responses


def test_no_route_for_a_path_or_method_is_a_404_problem(template: dict[str, Any]) -> None:
    unrouted = _responses(template)["MISSING_AUTHENTICATION_TOKEN"]

    assert unrouted["StatusCode"] == "404"
    assert unrouted["ResponseParameters"]["Headers"] == {
        "Content-Type": "'application/problem+json'",
        # The detail repeats API Gateway's message: no browser may read it as HTML.
        "X-Content-Type-Options": "'nosniff'",
        "Cache-Control": "'no-store'",
    }
    body = json.loads(
        unrouted["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", QUOTED_MESSAGE
        )
    )
    assert body == {
        "type": "https://orquesta.example/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Missing Authentication Token",
        "errors": [{"field": "path", "message": "Missing Authentication Token"}],
    }


def test_every_gateway_answer_and_both_defaults_are_problems_with_their_status(
    template: dict[str, Any],
) -> None:
    responses = _responses(template)

    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "REQUEST_TOO_LARGE"} <= set(responses)
    for response_type, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'", response_type
        for text in response["ResponseTemplates"].values():
            body = json.loads(text.replace("$context.error.messageString", QUOTED_MESSAGE))
            assert body["status"] == int(response["StatusCode"]), response_type
            assert {"type", "title", "detail", "errors"} <= set(body), response_type
            # Nothing of the request is copied into the body: only API Gateway's message.
            assert "$input" not in text and "$context.path" not in text, response_type
    assert responses["DEFAULT_4XX"]["StatusCode"] == "400"
    assert responses["DEFAULT_5XX"]["StatusCode"] == "500"
