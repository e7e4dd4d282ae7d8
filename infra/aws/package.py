"""``make package``: the CloudFormation for AWS, built from the definitions the local stack uses.

``infra/aws/template.json`` (table, topics, state machine) and ``statemachines/order.asl.json``
become a merge template that also gives every function its settings, least-privilege
permissions, log group, alarms and (when invoked asynchronously) dead-letter queue;
``chalice package`` merges it into the app's own template; the one dependency cycle that
leaves is broken; cfn-lint must then report no error and no warning.

    .venv/bin/python -m infra.aws.package [--stage dev|prod]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import ScheduledEventConfig, SNSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.config import Settings

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

# What the adapters and Powertools' idempotency layer call. TransactWriteItems has no IAM
# action of its own: each Put, Update and ConditionCheck inside is authorised on its own.
DYNAMODB_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
# These have no resource-level permissions (the task token, not an ARN, says which
# execution), so IAM grants them only on "*". Nothing else may have "*" as its resource.
UNSCOPABLE_ACTIONS = ("states:SendTaskFailure", "states:SendTaskSuccess")
# What the X-Ray SDK calls (AWSXRayDaemonWriteAccess); AWS documents no resource to scope
# these to but "*".
TRACING_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)

# cfn-lint checks skipped, each with the reason why; empty means every check runs. Errors
# and warnings both fail the package.
IGNORED_CHECKS: dict[str, str] = {}

# checkov checks that do not apply to the functions, skipped in each function's Metadata
# with the reason (checkov reads ``Metadata.checkov.skip``).
FUNCTION_CHECKOV_SKIPS = {
    "CKV_AWS_117": "No VPC: the functions call only AWS APIs (DynamoDB, SNS, SES, Step "
    "Functions, SSM) over TLS with IAM; there is no private resource to reach, and a VPC "
    "would add NAT gateways or endpoints to pay for.",
    "CKV_AWS_115": "No reserved concurrency: a reservation carves capacity out of the "
    "account's pool (deploys fail below 10 unreserved) and would throttle order steps "
    "mid-workflow; the schedules are idempotent when they overlap.",
    "CKV_AWS_173": "The environment holds names and ARNs only, encrypted at rest by "
    "Lambda's AWS managed key; the secrets are SSM SecureString parameters read at run time.",
}
API_CHECKOV_SKIPS = {
    "CKV_AWS_120": "No API cache: answers depend on the caller's key and must show an "
    "order's current status; cached responses would be stale or served to the wrong client.",
}
SYNCHRONOUS_DLQ_SKIP = (
    "CKV_AWS_116",
    "Invoked synchronously (by API Gateway, or by Step Functions, which retries and catches "
    "each step's errors and alarms on failed executions): a DLQ only receives failed "
    "asynchronous invocations, so it would stay empty.",
)


class PackagingError(Exception):
    """The package cannot be built or is not fit to deploy."""


@dataclass(frozen=True)
class Function:
    """A Lambda function ``chalice package`` generates for the app, as it names things."""

    logical_id: str
    role_id: str
    name: str
    # (event logical id, topic name) for each SNS subscription chalice gives the function.
    sns_events: tuple[tuple[str, str], ...] = ()
    # Event logical id of each schedule chalice gives the function.
    schedule_events: tuple[str, ...] = ()

    @property
    def asynchronous(self) -> bool:
        """SNS or EventBridge invokes it: what fails for good ends in its dead-letter queue."""
        return bool(self.sns_events or self.schedule_events)

    @property
    def workflow_step(self) -> bool:
        """Step Functions invokes it and catches the business errors it raises by name, so
        its Lambda errors are not alarms (its failed executions are)."""
        return self.logical_id != API_HANDLER and not self.asynchronous


def chalice_config() -> Json:
    """``.chalice/config.json``."""
    return dict(json.loads(CHALICE_CONFIG.read_text()))


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables ``.chalice/config.json`` gives the stage's functions."""
    config = chalice_config()
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def app_functions(stage: str) -> list[Function]:
    """The functions chalice packages for ``app.py``, with the logical ids it gives them.
    The app reads its settings at import (the SNS topic's name, the secrets' parameters,
    without which it refuses to start), so it is imported with the stage's variables."""
    os.environ.update(stage_environment(stage))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module("app").app
    prefix = f"{chalice_config()['app_name']}-{stage}"
    functions = []
    if app.routes:
        functions.append(Function(API_HANDLER, API_HANDLER_ROLE, prefix))
    unhandled = [
        source.name
        for source in app.event_sources
        if not isinstance(source, (SNSEventConfig, ScheduledEventConfig))
    ]
    if unhandled:
        # Each kind of event source needs its own dead-letter wiring (SQS sources redrive
        # from their queue, streams have on-failure destinations): add it here first.
        raise PackagingError(f"no dead-letter handling for the event sources of {unhandled}")
    names = [function.name for function in app.pure_lambda_functions]
    names += [source.name for source in app.event_sources]
    for name in names:
        sns_events = tuple(
            (to_cfn_resource_name(f"{source.name}-sns-subscription"), str(source.topic))
            for source in app.event_sources
            if isinstance(source, SNSEventConfig) and source.name == name
        )
        schedule_events = tuple(
            to_cfn_resource_name(f"{source.name}-event")
            for source in app.event_sources
            if isinstance(source, ScheduledEventConfig) and source.name == name
        )
        functions.append(
            Function(
                logical_id=to_cfn_resource_name(name),
                role_id=to_cfn_resource_name(f"{name}_role"),
                name=f"{prefix}-{name}",
                sns_events=sns_events,
                schedule_events=schedule_events,
            )
        )
    return functions


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


def _parameter_arns(stage: str) -> list[Json]:
    """The SSM parameters the stage's settings name (``ORQUESTA_*_PARAMETER``)."""
    variables = stage_environment(stage)
    names = sorted(value for key, value in variables.items() if key.endswith("_PARAMETER"))
    return [_arn("ssm", "parameter" + (n if n.startswith("/") else "/" + n)) for n in names]


def function_policy(function: Function, machine_name: str, stage: str) -> Json:
    """The one inline policy of a function's role: its own logs, the table, the order
    executions, the two topics, SES as the sender, the stage's secrets."""
    log_group = f"log-group:/aws/lambda/{function.name}"
    statements: list[Json] = [
        {
            "Sid": "OwnLogs",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [_arn("logs", log_group), _arn("logs", f"{log_group}:*")],
        },
        {
            "Sid": "OrdersTable",
            "Action": list(DYNAMODB_ACTIONS),
            "Resource": [
                {"Fn::GetAtt": [TABLE, "Arn"]},
                {"Fn::Sub": _var(f"{TABLE}.Arn") + "/index/*"},
            ],
        },
        {
            "Sid": "OrderStateMachine",
            "Action": [
                "states:StartExecution",
                "states:ListExecutions",
                "states:DescribeStateMachine",
            ],
            "Resource": [_arn("states", f"stateMachine:{machine_name}")],
        },
        {
            "Sid": "InspectOrderExecutions",
            "Action": ["states:DescribeExecution", "states:GetExecutionHistory"],
            "Resource": [_arn("states", f"execution:{machine_name}:*")],
        },
        {"Sid": "CompleteOrderWaits", "Action": list(UNSCOPABLE_ACTIONS), "Resource": "*"},
        {"Sid": "SendTraces", "Action": list(TRACING_ACTIONS), "Resource": "*"},
        {
            "Sid": "PublishOrderEvents",
            "Action": ["sns:Publish"],
            "Resource": [{"Ref": ORDER_EVENTS_TOPIC}, {"Ref": OPS_ALERTS_TOPIC}],
        },
        {
            # The topics (and the dead-letter queues) are encrypted with the stack's key:
            # publishing needs a data key from it.
            "Sid": "EncryptMessages",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [{"Fn::GetAtt": [KEY, "Arn"]}],
        },
        {
            # identity/* because in the SES sandbox recipients are identities checked too;
            # the condition keeps the sender to the one address the stack is given.
            "Sid": "EmailCustomers",
            "Action": ["ses:SendRawEmail"],
            "Resource": [_arn("ses", "identity/*")],
            "Condition": {"StringEquals": {"ses:FromAddress": {"Ref": SENDER_PARAMETER}}},
        },
        {
            # One-time codes by SMS: a publish to a phone number has no ARN; NotResource
            # keeps this statement from reaching any topic.
            "Sid": "TextCustomers",
            "Action": ["sns:Publish"],
            "NotResource": "arn:aws:sns:*:*:*",
        },
    ]
    if function.asynchronous:
        # Lambda sends an event that failed all its attempts here, as the function's role.
        statements.append(
            {
                "Sid": "DeadLetters",
                "Action": ["sqs:SendMessage"],
                "Resource": [{"Fn::GetAtt": [dead_letter_queue_id(function), "Arn"]}],
            }
        )
    parameters = _parameter_arns(stage)
    if parameters:
        # SecureStrings under the AWS managed key aws/ssm need no kms:Decrypt here: that
        # key's policy already lets the account's principals decrypt through SSM.
        statements.append(
            {"Sid": "ReadStageSecrets", "Action": ["ssm:GetParameter"], "Resource": parameters}
        )
    return {
        "PolicyName": f"{function.name}-least-privilege",
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", **statement} for statement in statements],
        },
    }


def log_group_id(function: Function) -> str:
    """The logical id of a function's log group."""
    return f"{function.logical_id}Logs"


def dead_letter_queue_id(function: Function) -> str:
    """The logical id of an asynchronous function's dead-letter queue."""
    return f"{function.logical_id}DeadLetters"


def _alarm(name: str, description: str, metric: Json, statistic: str) -> Json:
    """An alarm on one metric reaching 1 within a period, notifying the ops topic."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            **metric,
            "Statistic": statistic,
            "Period": ALARM_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": OPS_ALERTS_TOPIC}],
            "OKActions": [{"Ref": OPS_ALERTS_TOPIC}],
        },
    }


def failure_resources(function: Function, topic_ids: list[str]) -> Json:
    """What makes a function's failures loud: its log group (kept LogRetentionDays,
    encrypted), and unless it is a workflow step an alarm on its errors; if it is
    asynchronous, a dead-letter queue (encrypted, kept 14 days) that Lambda, the SNS
    subscription and the schedule all send to, and an alarm when anything lands there."""
    resources: Json = {
        log_group_id(function): {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{function.name}",
                "RetentionInDays": {"Ref": LOG_RETENTION_PARAMETER},
                "KmsKeyId": {"Fn::GetAtt": [KEY, "Arn"]},
            },
        }
    }
    if not function.workflow_step:
        resources[f"{function.logical_id}ErrorsAlarm"] = _alarm(
            f"{function.name}-errors",
            f"{function.name} failed (an unhandled error, a timeout, or a start refused for "
            "missing secrets): read its log group.",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}],
            },
            "Sum",
        )
    if not function.asynchronous:
        return resources
    queue_id = dead_letter_queue_id(function)
    queue_arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    resources[queue_id] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"{function.name}-dlq",
            "KmsMasterKeyId": {"Ref": KEY},
            "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
        },
    }
    senders: list[Json] = []
    if function.sns_events:
        senders.append(
            {
                "Sid": "TopicsRedriveUndeliverableMessages",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": [{"Ref": topic} for topic in topic_ids]}
                },
            }
        )
    if function.schedule_events:
        senders.append(
            {
                "Sid": "SchedulesRedriveUndeliverableEvents",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                    "ArnLike": {"aws:SourceArn": _arn("events", "rule/*")},
                },
            }
        )
    resources[f"{queue_id}Policy"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": senders},
        },
    }
    resources[f"{queue_id}Alarm"] = _alarm(
        f"{function.name}-dead-letters",
        f"Events {function.name} could not handle are in {function.name}-dlq (kept 14 days): "
        "read the function's log group, fix, then replay them.",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
        },
        "Maximum",
    )
    return resources


def api_error_resources(stage: str) -> Json:
    """An alarm on the API's answers of 500: the app answers them itself (a problem
    document), so Lambda counts no error; it logs each at level ERROR, which a metric filter
    on the handler's log group counts (in a namespace per stage: a log group is per stage)."""
    namespace, metric = f"Orquesta/{stage}", "ApiUnhandledErrors"
    handler_logs = log_group_id(Function(API_HANDLER, API_HANDLER_ROLE, ""))
    return {
        f"{API_HANDLER}ErrorLogsFilter": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": handler_logs},
                "FilterPattern": '{ $.level = "ERROR" }',
                "MetricTransformations": [
                    {"MetricNamespace": namespace, "MetricName": metric, "MetricValue": "1"}
                ],
            },
        },
        f"{API_HANDLER}ErrorLogsAlarm": _alarm(
            f"orquesta-{stage}-api-unhandled-errors",
            "The API answered 500 (an unhandled error, logged at level ERROR with its "
            "correlation_id): search the API handler's log group for it.",
            {"Namespace": namespace, "MetricName": metric},
            "Sum",
        ),
    }


def merge_template(stage: str, functions: list[Function]) -> Json:
    """The template chalice merges into its own: template.json with the state machine's
    definition inlined, and every function's name, settings, role policy, log group,
    alarms, dead letters and checkov skips."""
    template: Json = copy.deepcopy(json.loads(TEMPLATE.read_text()))
    resources: Json = template["Resources"]
    for logical_id, kind in (
        (TABLE, "AWS::DynamoDB::Table"),
        (ORDER_EVENTS_TOPIC, "AWS::SNS::Topic"),
        (OPS_ALERTS_TOPIC, "AWS::SNS::Topic"),
        (KEY, "AWS::KMS::Key"),
        (API_ACCESS_LOGS, "AWS::Logs::LogGroup"),
        (API_GATEWAY_ACCOUNT, "AWS::ApiGateway::Account"),
    ):
        _resource(resources, logical_id, kind)
    machine = _resource(resources, STATE_MACHINE, "AWS::StepFunctions::StateMachine")
    machine["Properties"]["Definition"] = json.loads(ORDER_ASL.read_text())
    known = {function.logical_id for function in functions}
    for placeholder, value in machine["Properties"]["DefinitionSubstitutions"].items():
        target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
        if target is not None and target not in known:
            raise PackagingError(
                f"${{{placeholder}}} points at {target}, which chalice does not generate "
                f"(it generates {sorted(known)})"
            )

    template["Parameters"]["Stage"].update(Default=stage, AllowedValues=[stage])
    template["Parameters"][SENDER_PARAMETER] = {
        "Type": "String",
        "Default": Settings.model_fields["sender_email"].default,
        "AllowedPattern": r"^[^@\s]+@[^@\s]+$",
        "Description": "From address of customer emails; its domain must be verified in SES.",
    }

    topics = {
        _sub_text(resource["Properties"]["TopicName"]).replace("${Stage}", stage): logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::SNS::Topic"
    }
    # Names, not Refs, for the state machine: it refers to the step functions, so their
    # settings and roles cannot refer back to it.
    machine_name = _sub_text(machine["Properties"]["StateMachineName"])
    api_stage = chalice_config()["stages"][stage].get("api_gateway_stage", "api")
    variables: Json = {
        "ORQUESTA_TABLE": {"Ref": TABLE},
        "ORQUESTA_ORDER_EVENTS_TOPIC": {"Ref": ORDER_EVENTS_TOPIC},
        "ORQUESTA_OPS_ALERTS_TOPIC": {"Ref": OPS_ALERTS_TOPIC},
        "ORQUESTA_STATE_MACHINE": _arn("states", f"stateMachine:{machine_name}"),
        "ORQUESTA_SENDER_EMAIL": {"Ref": SENDER_PARAMETER},
        # The SSM parameters the secrets come from (chalice sets them too, from the stage's
        # config): a function without them refuses to start rather than use demo secrets.
        **{
            name: value
            for name, value in stage_environment(stage).items()
            if name.endswith("_PARAMETER")
        },
    }
    if any(function.logical_id == API_HANDLER for function in functions):
        variables["ORQUESTA_PUBLIC_URL"] = {
            "Fn::Sub": f"https://{_var(REST_API)}.execute-api.${{AWS::Region}}"
            f".${{AWS::URLSuffix}}/{api_stage}"
        }

    for function in functions:
        properties: Json = {
            "FunctionName": function.name,
            "Environment": {"Variables": copy.deepcopy(variables)},
        }
        events: Json = {}
        dead_letters = {"Fn::GetAtt": [dead_letter_queue_id(function), "Arn"]}
        for event_id, topic in function.sns_events:
            if topic not in topics:
                raise PackagingError(
                    f"{function.logical_id} subscribes to {topic!r} but the template creates "
                    f"{sorted(topics)}: was ORQUESTA_STAGE={stage} set when app.py was imported?"
                )
            # The topic's own ARN rather than chalice's, built from its name, so that
            # CloudFormation creates the topic before subscribing to it. A Fn::Sub and not a
            # Ref: chalice merges dicts key by key, and its value is a Fn::Sub too.
            events[event_id] = {
                "Properties": {
                    "Topic": {"Fn::Sub": _var(topics[topic])},
                    # What SNS cannot deliver (function missing, throttled for hours).
                    "RedrivePolicy": {"deadLetterTargetArn": dead_letters},
                }
            }
        for event_id in function.schedule_events:
            # What EventBridge cannot deliver to the function.
            events[event_id] = {"Properties": {"DeadLetterConfig": {"Arn": dead_letters}}}
        if events:
            properties["Events"] = events
        skips = dict(FUNCTION_CHECKOV_SKIPS)
        if function.asynchronous:
            # What the function itself failed to handle, after Lambda's two retries.
            properties["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": dead_letters}
        else:
            skips[SYNCHRONOUS_DLQ_SKIP[0]] = SYNCHRONOUS_DLQ_SKIP[1]
        resources[function.logical_id] = {
            "Properties": properties,
            # The log group exists (with its retention) before the function can write.
            "DependsOn": [log_group_id(function)],
            "Metadata": {"checkov": {"skip": [{"id": i, "comment": c} for i, c in skips.items()]}},
        }
        resources[function.role_id] = {
            "Properties": {"Policies": [function_policy(function, machine_name, stage)]}
        }
        subscribed = sorted({topics[topic] for _, topic in function.sns_events})
        for logical_id, resource in failure_resources(function, subscribed).items():
            if logical_id in resources:
                raise PackagingError(f"{logical_id} for {function.logical_id} is taken")
            resources[logical_id] = resource
    if any(function.logical_id == API_HANDLER for function in functions):
        resources.update(api_error_resources(stage))
        resources[REST_API] = {
            "Properties": {
                # chalice's "xray" traces the functions but leaves the API stage untraced.
                "TracingEnabled": True,
                "AccessLogSetting": {
                    "DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOGS, "Arn"]},
                    "Format": API_ACCESS_LOG_FORMAT,
                },
            },
            # API Gateway refuses access logs until the account has its logging role.
            "DependsOn": [API_GATEWAY_ACCOUNT],
            "Metadata": {
                "checkov": {"skip": [{"id": i, "comment": c} for i, c in API_CHECKOV_SKIPS.items()]}
            },
        }
    return template


def _rewrite_subs(node: Any, old: str, new: str) -> int:
    if isinstance(node, list):
        return sum(_rewrite_subs(item, old, new) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for key, value in node.items():
        if key == "Fn::Sub" and isinstance(value, str) and old in value:
            node[key] = value.replace(old, new)
            count += 1
        else:
            count += _rewrite_subs(value, old, new)
    return count


def detach_api_from_handler(template: Json, handler_name: str) -> int:
    """Make the REST API invoke the API handler by its function name instead of a reference
    to it; returns the number of integrations rewritten."""
    # The handler's ORQUESTA_PUBLIC_URL refers to the API, and chalice's API definition
    # refers to the handler's ARN: CloudFormation rejects that circular dependency. The
    # handler's name is fixed by the merge template, so the API can name it instead.
    api = template["Resources"].get(REST_API)
    if api is None:
        return 0
    function_arn = _arn_text("lambda", f"function:{handler_name}")
    count = _rewrite_subs(api, _var(f"{API_HANDLER}.Arn"), function_arn)
    if count == 0 or re.search(rf"\b{API_HANDLER}\b", json.dumps(api)):
        raise PackagingError(f"could not make {REST_API} name {API_HANDLER} instead of ref it")
    return count


def _mixed_intrinsics(node: Any, path: str = "") -> list[str]:
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _mixed_intrinsics(item, f"{path}/{i}")]
    if not isinstance(node, dict):
        return []
    intrinsics = [key for key in node if key == "Ref" or key.startswith("Fn::")]
    found = [path] if len(intrinsics) > 1 or (intrinsics and len(node) > 1) else []
    for key, value in node.items():
        found += _mixed_intrinsics(value, f"{path}/{key}")
    return found


def _references(node: Any) -> set[str]:
    """Logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(node, list):
        return {ref for item in node for ref in _references(item)}
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt" and isinstance(value, list) and value:
            found.add(str(value[0]).split(".")[0])
        elif key == "Fn::GetAtt" and isinstance(value, str):
            found.add(value.split(".")[0])
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
            for name in re.findall(r"\$\{([^}!][^}]*)\}", str(text)):
                if name.split(".")[0] not in variables:
                    found.add(name.split(".")[0])
            found |= _references(variables)
        else:
            found |= _references(value)
    return found


def dependency_cycle(template: Json) -> list[str]:
    """A cycle among the resources (through Ref, Fn::GetAtt, Fn::Sub and DependsOn, swagger
    bodies included, which cfn-lint's E3004 does not follow), or an empty list."""
    resources: Json = template["Resources"]
    edges: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        targets = _references(resource) | set([depends] if isinstance(depends, str) else depends)
        edges[logical_id] = {target for target in targets if target in resources}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def check_packaged(template: Json, functions: list[Function]) -> None:
    """Fail unless the merge template touched only what chalice generated, and every
    function chalice generated got its settings and role."""
    resources: Json = template["Resources"]
    mixed = _mixed_intrinsics(template)
    if mixed:
        raise PackagingError(f"merging left two intrinsic functions in one value at {mixed}")
    untyped = sorted(logical_id for logical_id, r in resources.items() if "Type" not in r)
    if untyped:
        raise PackagingError(f"the merge template names resources chalice did not: {untyped}")
    cycle = dependency_cycle(template)
    if cycle:
        raise PackagingError(f"circular dependency: {' -> '.join(cycle)}")
    packaged = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    expected = {function.logical_id for function in functions}
    if packaged != expected:
        raise PackagingError(f"chalice packaged {sorted(packaged)}, expected {sorted(expected)}")
    for function in functions:
        packaged_function = resources[function.logical_id]
        role = packaged_function["Properties"].get("Role")
        if role != {"Fn::GetAtt": [function.role_id, "Arn"]}:
            raise PackagingError(f"{function.logical_id} runs as {role}, not {function.role_id}")
        if log_group_id(function) not in packaged_function.get("DependsOn", []):
            raise PackagingError(f"{function.logical_id} may run before its log group exists")
        if function.asynchronous and "DeadLetterQueue" not in packaged_function["Properties"]:
            raise PackagingError(f"{function.logical_id} is invoked asynchronously without a DLQ")


def _tool(name: str) -> str:
    """A console script of this virtualenv, else one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise PackagingError(f"{name} is not installed (make installs it into .venv)")
    return found


def run_chalice(stage: str, merge_path: Path, out_dir: Path, region: str) -> Path:
    """``chalice package`` with the merge template; returns the template it wrote."""
    shutil.rmtree(out_dir, ignore_errors=True)
    env = {**os.environ, **stage_environment(stage), "AWS_DEFAULT_REGION": region}
    command = [_tool("chalice"), "--project-dir", str(ROOT), "package", "--stage", stage]
    command += ["--merge-template", str(merge_path), str(out_dir)]
    subprocess.run(command, env=env, check=True)
    return out_dir / "sam.json"


def lint(path: Path) -> Counter[str]:
    """Run cfn-lint on a template, print what it finds; returns counts by level."""
    command = [_tool("cfn-lint"), "--format", "json"]
    if IGNORED_CHECKS:
        command += ["--ignore-checks", *IGNORED_CHECKS]
    result = subprocess.run([*command, "--", str(path)], capture_output=True, text=True)
    try:
        matches = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise PackagingError(f"cfn-lint failed to run:\n{result.stdout}{result.stderr}") from exc
    levels: Counter[str] = Counter()
    for match in matches:
        levels[match["Level"]] += 1
        where = "/".join(str(part) for part in match["Location"]["Path"])
        print(f"  {match['Rule']['Id']} {match['Message']} ({where})")
    return levels


def write_json(path: Path, data: Json) -> None:
    """Write JSON as chalice does (two-space indent, final newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def package(stage: str, region: str, dist: Path = DIST) -> Path:
    """Build and lint the deployable package of one stage; returns its template."""
    # app.py names its SNS topic after the stage at import, here and in chalice's process.
    os.environ["ORQUESTA_STAGE"] = stage
    functions = app_functions(stage)
    merge_path = dist / f"merge-template-{stage}.json"
    write_json(merge_path, merge_template(stage, functions))

    sam_path = run_chalice(stage, merge_path, dist / stage, region)
    sam: Json = json.loads(sam_path.read_text())
    api = next((f for f in functions if f.logical_id == API_HANDLER), None)
    if api is not None:
        detach_api_from_handler(sam, api.name)
    check_packaged(sam, functions)
    write_json(sam_path, sam)

    print(f"cfn-lint {sam_path.relative_to(ROOT)}")
    levels = lint(sam_path)
    kinds = Counter(resource["Type"] for resource in sam["Resources"].values())
    print(
        f"\nstage {stage}: {sum(kinds.values())} resources "
        f"({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))})"
    )
    print(f"  template: {sam_path.relative_to(ROOT)}")
    print(f"  code:     {(sam_path.parent / 'deployment.zip').relative_to(ROOT)}")
    print(f"  merged:   {merge_path.relative_to(ROOT)}")
    print(
        f"  cfn-lint: {levels['Error']} errors, {levels['Warning']} warnings, "
        f"{levels['Informational']} informational"
        + (f" (skipped: {', '.join(IGNORED_CHECKS)})" if IGNORED_CHECKS else "")
    )
    if levels["Error"] or levels["Warning"]:
        raise PackagingError(
            f"cfn-lint found {levels['Error']} errors and {levels['Warning']} warnings in "
            f"{sam_path}: fix them, or skip a warning in IGNORED_CHECKS with the reason"
        )
    return sam_path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m infra.aws.package [--stage dev|prod]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", choices=STAGES, default=DEFAULT_STAGE)
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        help="only for chalice, which needs one; the template itself is region-neutral",
    )
    args = parser.parse_args(argv)
    try:
        package(args.stage, args.region)
    except PackagingError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
