"""Speed-up 7 of ``speedups``: DynamoDB, SNS and SES requests handed to moto's handler in
this process, without the HTTP request both sides build around it. Like every speed-up it
names the gap it closes; ``tests/integration/test_local_direct_calls.py`` tests it."""

from __future__ import annotations

import binascii
import json
import math
import re
import threading
from typing import Any

from infra.local.direct_answers import DynamoDBAnswers, handed_over, json_default, keep_answers
from infra.local.patching import apply_once

# The services taken the short way: botocore's name, the host botocore sends them to when
# no endpoint_url is given (moto answers it in this process), and moto's handler class.
# Each parses its parameters with moto's model-driven parser (JSON or query protocol).
# Anything else (moto's own server, a real endpoint, other services) goes the usual way.
_SERVICES: dict[str, tuple[re.Pattern[str], str, str]] = {
    "dynamodb": (
        re.compile(r"^https://dynamodb\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/?$"),
        "moto.dynamodb.responses",
        "DynamoHandler",
    ),
    "sns": (
        re.compile(r"^https://sns\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/?$"),
        "moto.sns.responses",
        "SNSResponse",
    ),
    "ses": (
        re.compile(r"^https://email\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/?$"),
        "moto.ses.responses",
        "EmailResponse",
    ),
}


class DirectCalls:
    """Whether requests take the short way (tests compare both ways), and how many did: in
    all, and in the calling thread (other threads of the process, a stack's deliveries
    say, take the short way at the same time)."""

    def __init__(self) -> None:
        self.enabled = True
        self.direct = 0
        self._thread = threading.local()

    def count(self) -> None:
        """One more request took the short way, in this thread."""
        self.direct += 1
        self._thread.direct = self.in_this_thread() + 1

    def in_this_thread(self) -> int:
        """How many requests this thread sent the short way."""
        return int(getattr(self._thread, "direct", 0))


calls = DirectCalls()


def _account_of(request_signer: Any, headers: Any) -> tuple[str, str]:
    """The account and access key moto's ``setup_class`` would find for this request."""
    import os

    from moto.iam.models import get_account_id_from

    credentials = request_signer._credentials
    access_key = credentials.get_frozen_credentials().access_key if credentials else "AKIAEXAMPLE"
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"], access_key
    if "x-moto-account-id" in headers:
        return str(headers["x-moto-account-id"]), access_key
    return get_account_id_from(access_key), access_key


# What every request of one operation shares, found once per process: moto's handler
# class, moto's model of the operation and the parser to read its parameters, keyed by
# (service, protocol, operation); and each region's partition.
_operation_kinds: dict[tuple[str, str, str], tuple[type, Any, type]] = {}
_partitions: dict[str, str] = {}


def _kind_of(service: str, protocol: str, operation: str) -> tuple[type, Any, type]:
    """moto's handler class, its model of ``operation`` and the parser of its parameters."""
    kind = _operation_kinds.get((service, protocol, operation))
    if kind is None:
        import importlib

        from moto.core.parse import PROTOCOL_PARSERS
        from moto.core.utils import get_service_model

        from infra.local.direct_requests import DynamoDBRequests

        _, module, name = _SERVICES[service]
        handler_class = getattr(importlib.import_module(module), name)
        # moto's own model of the operation (it adds what its parsers read to botocore's).
        model = get_service_model(handler_class().boto3_service_name).operation_model(operation)
        parser_class = DynamoDBRequests if service == "dynamodb" else PROTOCOL_PARSERS[protocol]
        kind = _operation_kinds[(service, protocol, operation)] = (
            handler_class,
            model,
            parser_class,
        )
    return kind


def _partition_of(region: str) -> str:
    partition = _partitions.get(region)
    if partition is None:
        from moto.utilities.utils import get_partition

        partition = _partitions[region] = get_partition(region)
    return partition


def _handler_for(service: str, match: re.Match[str], params: dict[str, Any], signer: Any) -> Any:
    """moto's handler for this request, with what ``setup_class`` would have set on it
    from the HTTP request, and its parameters as moto's parser gives them."""
    from werkzeug.datastructures import MultiDict

    body = params["body"]
    protocol = "query" if isinstance(body, dict) else "json"
    handler_class, model, parser_class = _kind_of(service, protocol, params["model"].name)
    handler = handler_class()
    headers = params["headers"]
    region = match.group("region")
    handler.current_account, handler.access_key = _account_of(signer, headers)
    handler.is_werkzeug_request = False
    handler.region = region
    handler.partition = _partition_of(region)
    handler.headers = headers
    handler.uri_match = {}
    handler.method = "POST"
    handler.uri = params["url"]
    handler.path = "/"
    handler.response_headers = {"server": "amazon.com"}
    handler.answers_in_process = service == "dynamodb"
    if isinstance(body, dict):  # query protocol: the form's fields, not yet encoded
        values = MultiDict({key: str(value) for key, value in body.items()})
        handler.querystring = {key: [value] for key, value in values.items()}
        text = ""
    else:
        values = MultiDict()
        handler.querystring = {}
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    handler.data = handler.querystring
    handler.raw_body = handler.body = text
    parser = parser_class(model, map_type=handler.PROTOCOL_PARSER_MAP_TYPE)
    handler.params = parser.parse(
        {
            "method": "POST",
            "values": values,
            "headers": headers,
            "body": text,
            "url_path": "/",
            "url_params": {},
        }
    )
    return handler


def _answer(model: Any, params: dict[str, Any], request_signer: Any) -> Any:
    """Run the request through moto's handler of its service and parse its answer as
    botocore does; None when this request is not one to take the short way."""
    from moto import settings
    from moto.core.models import botocore_stubber
    from moto.iam.models import mark_account_as_visited
    from werkzeug.exceptions import HTTPException

    if not botocore_stubber.enabled or not math.isinf(settings.INITIAL_NO_AUTH_ACTION_COUNT):
        return None  # moto not running, or checking IAM: the usual way does both
    service = model.service_model.service_name
    url = str(params.get("url", ""))
    match = _SERVICES[service][0].match(url)
    if match is None or params.get("method") != "POST":
        return None
    handler = _handler_for(service, match, params | {"model": model}, request_signer)
    account, access_key, region = handler.current_account, handler.access_key, handler.region
    mark_account_as_visited(
        account_id=account, access_key=access_key, service=handler.service_name, region=region
    )
    try:
        status, response_headers, response_body = handler.call_action()
    except HTTPException as exc:
        status, response_headers, response_body = exc.code, exc.get_headers(), exc.get_body()
    parsed = handed_over(handler, url, status, response_headers, model)
    if parsed is not None:
        http, parsed = parsed
    else:
        # Only here (an answer not handed over): most answers need none of these.
        from botocore.awsrequest import AWSResponse
        from botocore.endpoint import convert_to_response_dict
        from botocore.parsers import create_parser
        from moto.core.botocore_stubber import MockRawResponse

        kept = getattr(handler, "kept_answer", None)
        if kept is not None:  # not one to hand over after all: written as JSON
            response_body = json.dumps(kept, default=json_default, separators=(",", ":"))
            response_headers["x-amz-crc32"] = str(binascii.crc32(response_body.encode()))
        http = AWSResponse(url, status, response_headers, MockRawResponse(response_body))
        response = convert_to_response_dict(http, model)
        answer_parser = (
            DynamoDBAnswers()
            if handler.service_name == "dynamodb"
            else create_parser(model.metadata["protocol"])
        )
        parsed = answer_parser.parse(response, model.output_shape)
        if http.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            error_shape = model.service_model.shape_for_error_code(code) if code else None
            if error_shape is not None:
                parsed.update(answer_parser.parse(response, error_shape))
    if "ResponseMetadata" in parsed:
        parsed["ResponseMetadata"]["RetryAttempts"] = 0
    calls.count()
    return http, parsed


def _before_call(model: Any, params: dict[str, Any], request_signer: Any, **_: Any) -> Any:
    if not calls.enabled or model.service_model.service_name not in _SERVICES:
        return None
    return _answer(model, params, request_signer)


def call_services_directly() -> None:
    """Gap: every DynamoDB request the app makes (about 130 per order), and every SNS
    publish and SES email, crosses an HTTP boundary that moto builds out of nothing in
    this process: botocore signs it, sets its user agent, retry context and headers (and
    encodes a query-protocol form character by character), then moto's stubber matches
    its URL against every service's patterns, builds a werkzeug request from it and reads
    it back, and botocore checks the answer's CRC. On AWS that boundary is a network, and
    its cost is spent on other machines; here it was the largest share of the stack's CPU
    (botocore's request path, moto's core and werkzeug: over 40 %; 95 % of an SNS
    publish's time). Here such a request, once botocore has validated and serialised it,
    is parsed by moto's own parser and run by moto's own handler (the same methods, under
    the same table locks; a form's fields handed over as botocore made them; a DynamoDB
    request's attribute values read in one step: ``direct_requests``), and the
    answer is parsed by botocore's own parser, as it would be off the wire (a DynamoDB
    data-plane answer from the dict moto made, without its JSON text: ``direct_answers``).
    Errors come back as the same ``ClientError``s with the same modeled fields. What is skipped:
    signing (moto checks no signature unless IAM checks are on, and then requests go the
    usual way) and the retry loop (these moto services answer none of the throttling or
    server errors the client retries). It applies to clients made after it (botocore
    copies its handlers into each session when the session is made); the local stack
    applies it before it makes any."""
    if not apply_once("direct-dynamodb"):
        return
    from botocore.handlers import BUILTIN_HANDLERS, REGISTER_LAST

    keep_answers()
    # Last, and on the least specific name: every other listener of ``before-call`` (a
    # test's, an SDK's) still sees the request first, as it would on AWS.
    BUILTIN_HANDLERS.append(("before-call", _before_call, REGISTER_LAST))
