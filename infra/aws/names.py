"""Where things are and what they are called when packaging: paths, stages, the logical ids of
``infra/aws/template.json`` and of what ``chalice package`` generates, and the ``Fn::Sub``
and ARN helpers the packaging modules write them with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = ROOT / "infra" / "aws" / "template.json"

ORDER_ASL = ROOT / "statemachines" / "order.asl.json"

CHALICE_CONFIG = ROOT / ".chalice" / "config.json"

DIST = ROOT / "dist"

STAGES = ("dev", "prod")

DEFAULT_STAGE = "prod"

DEFAULT_REGION = "eu-west-1"

# Logical ids in template.json that the functions' settings and permissions point at.
TABLE = "OrdersTable"

ORDER_EVENTS_TOPIC = "OrderEventsTopic"

OPS_ALERTS_TOPIC = "OpsAlertsTopic"

STATE_MACHINE = "OrderStateMachine"

SENDER_PARAMETER = "SenderEmail"

# What keeps failures from being silent: the stack's key (topics, queues, log groups), how
# long logs are kept, the API's access log group and the account's API Gateway logging role.
KEY = "OrquestaKey"

LOG_RETENTION_PARAMETER = "LogRetentionDays"

API_ACCESS_LOGS = "ApiAccessLogs"

API_GATEWAY_ACCOUNT = "ApiGatewayAccount"

# SQS keeps a message at most 14 days: as long as ops can take to replay it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600

ALARM_PERIOD_SECONDS = 300

# One line of JSON per API request; requestId is the correlation id the app logs when the
# caller sends none.
API_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "sourceIp": "$context.identity.sourceIp",
    },
    separators=(",", ":"),
)

# chalice names the API's function, its role and the API itself apart from the rest.
API_HANDLER = "APIHandler"

API_HANDLER_ROLE = "ApiHandlerRole"

REST_API = "RestAPI"


class PackagingError(Exception):
    """The package cannot be built or is not fit to deploy."""


def _sub_text(value: Any) -> str:
    """The text of a ``Fn::Sub`` without variables map, or of a plain string."""
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    if isinstance(value, str):
        return value
    raise PackagingError(f"expected a string or a plain Fn::Sub, got {value!r}")


def _var(name: str) -> str:
    return "${" + name + "}"


def _arn_text(service: str, resource: str) -> str:
    return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"


def _arn(service: str, resource: str) -> Json:
    return {"Fn::Sub": _arn_text(service, resource)}


def _resource(resources: Json, logical_id: str, kind: str) -> Json:
    resource = resources.get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != kind:
        raise PackagingError(f"{TEMPLATE.name} has no {kind} named {logical_id}")
    return resource
