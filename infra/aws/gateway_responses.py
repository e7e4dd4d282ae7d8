"""API Gateway's own answers (no route for the path or the method, throttling, a body too
large, a timeout) as RFC 9457 problem details, like every answer the app gives itself.

They go on the REST API as SAM's ``GatewayResponses``: SAM writes one
``AWS::ApiGateway::GatewayResponse`` per type and redeploys the stage when they change.
API Gateway answers a path no route matches, and a method a path does not take, alike
(``MISSING_AUTHENTICATION_TOKEN``, a 403): both become a ``404`` here, since it cannot tell
them apart (the local stack, which can, answers ``405`` with ``Allow`` for the second).
The templates take no request text, only API Gateway's message, JSON-quoted
(``$context.error.messageString``), so no client can break the JSON.
"""

from __future__ import annotations

import json

from chalicelib.api.http import ANSWER_HEADERS, PROBLEM_JSON, problem_document
from infra.aws.names import Json

# Response type: (status, title, the field named). The defaults catch any type not listed,
# with a status of their own (API Gateway's status cannot be read in a template).
RESPONSES: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "Not found", "path"),
    "RESOURCE_NOT_FOUND": (404, "Not found", "path"),
    "BAD_REQUEST_BODY": (400, "Bad request", "body"),
    "BAD_REQUEST_PARAMETERS": (400, "Bad request", "parameters"),
    "UNAUTHORIZED": (401, "Unauthorized", "Authorization"),
    "ACCESS_DENIED": (403, "Forbidden", "Authorization"),
    "EXPIRED_TOKEN": (403, "Forbidden", "Authorization"),
    "INVALID_API_KEY": (403, "Forbidden", "Authorization"),
    "INVALID_SIGNATURE": (403, "Forbidden", "Authorization"),
    "WAF_FILTERED": (403, "Forbidden", "request"),
    "REQUEST_TOO_LARGE": (413, "Payload too large", "body"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported media type", "Content-Type"),
    "THROTTLED": (429, "Too many requests", "request"),
    "QUOTA_EXCEEDED": (429, "Too many requests", "request"),
    "INTEGRATION_FAILURE": (502, "Bad gateway", "request"),
    "INTEGRATION_TIMEOUT": (504, "Gateway timeout", "request"),
    "DEFAULT_4XX": (400, "Bad request", "request"),
    "DEFAULT_5XX": (500, "Internal server error", "request"),
}


def problem_template(status: int, title: str, field: str) -> str:
    """The body of one gateway response: the app's problem document, API Gateway's own
    message as its detail."""
    # The placeholder stands where a quoted JSON string goes: messageString is one.
    body = json.dumps(problem_document(status, title, "@DETAIL@", [(field, "@DETAIL@")]))
    return body.replace('"@DETAIL@"', "$context.error.messageString")


def gateway_responses() -> Json:
    """SAM ``GatewayResponses`` of the REST API: every type in ``RESPONSES`` as problem
    details with its status."""
    return {
        response_type: {
            "StatusCode": str(status),
            "ResponseParameters": {
                "Headers": {"Content-Type": f"'{PROBLEM_JSON}'"}
                | {name: f"'{value}'" for name, value in ANSWER_HEADERS.items()}
            },
            "ResponseTemplates": {
                "application/json": problem_template(status, title, field),
                PROBLEM_JSON: problem_template(status, title, field),
            },
        }
        for response_type, (status, title, field) in RESPONSES.items()
    }
