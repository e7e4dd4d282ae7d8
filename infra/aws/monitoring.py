"""Failures are loud: each function's log group, alarms and (when invoked asynchronously)
dead-letter queue, and the API's error alarms.
"""

from __future__ import annotations

from infra.aws.functions import Function
from infra.aws.names import (
    ALARM_PERIOD_SECONDS,
    API_HANDLER,
    API_HANDLER_ROLE,
    DEAD_LETTER_RETENTION_SECONDS,
    KEY,
    LOG_RETENTION_PARAMETER,
    OPS_ALERTS_TOPIC,
    Json,
    _arn,
)


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
