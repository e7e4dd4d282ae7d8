"""What checkov checks on the packaged template, asserted on the merge template ``make
package`` gives ``chalice package`` (built offline): dead-letter queues and their alarms,
checkov skips and their reasons, encrypted log groups with retention, the alarms and the
ops topic they notify, the topics' key, and the API's access logs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.aws import package
from tests.support.packaged_template import (
    KEY_ARN,
    OPS_TOPIC,
    ROOT,
    STAGE,
    checkov_skips,
    granted,
    of_type,
)

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")


def test_every_asynchronous_function_dead_letters_to_an_encrypted_queue_that_alarms(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    resources = template["Resources"]
    asynchronous = [f for f in functions if f.asynchronous]
    assert {f.logical_id for f in asynchronous} >= {
        "OnOrderEvent",
        "CheckSla",
        "ReviewSegments",
    }
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    for function in asynchronous:
        queue_id = package.dead_letter_queue_id(function)
        queue_arn = {"Fn::GetAtt": [queue_id, "Arn"]}
        queue = resources[queue_id]
        assert queue["Type"] == "AWS::SQS::Queue"
        assert queue["Properties"]["KmsMasterKeyId"] == {"Ref": "OrquestaKey"}
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        properties = resources[function.logical_id]["Properties"]
        # Lambda's own retries exhausted, SNS unable to deliver, EventBridge unable to deliver.
        assert properties["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue_arn}
        for event_id, _ in function.sns_events:
            redrive = properties["Events"][event_id]["Properties"]["RedrivePolicy"]
            assert redrive == {"deadLetterTargetArn": queue_arn}
        for event_id in function.schedule_events:
            assert properties["Events"][event_id]["Properties"]["DeadLetterConfig"] == {
                "Arn": queue_arn
            }
        senders = resources[f"{queue_id}Policy"]["Properties"]["PolicyDocument"]["Statement"]
        services = {st["Principal"]["Service"] for st in senders}
        assert services == ({"sns.amazonaws.com"} if function.sns_events else set()) | (
            {"events.amazonaws.com"} if function.schedule_events else set()
        )
        assert all(st["Condition"] for st in senders)
        assert any(
            st["Action"] == ["sqs:SendMessage"] and st["Resource"] == [queue_arn]
            for st in granted(template, function.role_id)
        )
        watching = [
            a["Properties"]
            for a in alarms
            if a["Properties"].get("Dimensions")
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
        ]
        assert len(watching) == 1, function.logical_id
        assert watching[0]["AlarmActions"] == [OPS_TOPIC]
        assert watching[0]["Threshold"] == 1
        assert "CKV_AWS_116" not in checkov_skips(resources[function.logical_id])


def test_only_synchronous_functions_skip_the_dead_letter_check_and_say_why(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    synchronous = [f for f in functions if not f.asynchronous]
    assert {f.logical_id for f in synchronous} >= {"APIHandler", "ReserveStock", "RejectOrder"}
    for function in synchronous:
        assert "DeadLetterQueue" not in template["Resources"][function.logical_id]["Properties"]
        assert (
            "synchronously"
            in checkov_skips(template["Resources"][function.logical_id])["CKV_AWS_116"]
        )


def test_every_checkov_skip_names_its_reason(template: dict[str, Any]) -> None:
    skipped = [
        (logical_id, check, reason)
        for logical_id, resource in template["Resources"].items()
        for check, reason in checkov_skips(resource).items()
    ]
    assert skipped
    for logical_id, check, reason in skipped:
        assert re.fullmatch(r"CKV_AWS_\d+", check), (logical_id, check)
        assert len(reason) > 40, (logical_id, check, reason)
    # Only checks that do not apply are skipped; the rest are fixed.
    assert {check for _, check, _ in skipped} <= {
        "CKV_AWS_115",  # reserved concurrency
        "CKV_AWS_116",  # DLQ, on synchronously invoked functions only
        "CKV_AWS_117",  # VPC
        "CKV_AWS_119",  # DynamoDB customer managed key
        "CKV_AWS_120",  # API cache
        "CKV_AWS_173",  # environment variables hold no secret
    }


def test_every_function_logs_to_an_encrypted_group_with_retention_made_before_it(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    resources = template["Resources"]
    for function in functions:
        group_id = package.log_group_id(function)
        group = resources[group_id]["Properties"]
        assert group["LogGroupName"] == f"/aws/lambda/{function.name}"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["KmsKeyId"] == KEY_ARN
        assert group_id in resources[function.logical_id]["DependsOn"]
    groups = of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == len(functions) + 2  # and the API's access log, the state machine's
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["Properties"]["KmsKeyId"] == KEY_ARN
    assert (
        template["Parameters"]["LogRetentionDays"]["Default"]
        in template["Parameters"]["LogRetentionDays"]["AllowedValues"]
    )


def test_errors_of_the_api_and_of_asynchronous_functions_alarm_but_not_a_steps(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    # A step raises PaymentDeclined or OutOfStock by design (the ASL catches them): its
    # Lambda errors are business as usual; a failed execution is the alarm.
    errors = {
        a["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Errors"
    }
    assert errors == {f.logical_id for f in functions if not f.workflow_step}
    assert "APIHandler" in errors and "ReserveStock" not in errors


def test_the_apis_own_500s_alarm_through_its_error_logs(template: dict[str, Any]) -> None:
    # The app turns an unhandled error into a 500 problem and logs it at level ERROR:
    # Lambda sees a success, so its Errors metric never counts these.
    source = (ROOT / "chalicelib" / "api" / "http.py").read_text()
    assert 'logger.exception("unhandled error")' in source
    resources = template["Resources"]
    log_filter = resources["APIHandlerErrorLogsFilter"]["Properties"]
    assert log_filter["LogGroupName"] == {"Ref": "APIHandlerLogs"}
    assert log_filter["FilterPattern"] == '{ $.level = "ERROR" }'
    transformation = log_filter["MetricTransformations"][0]
    alarm = resources["APIHandlerErrorLogsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert transformation["MetricNamespace"] == f"Orquesta/{STAGE}"
    assert alarm["AlarmActions"] == [OPS_TOPIC]


def test_failed_timed_out_and_aborted_executions_and_ops_alerts_alarm_the_ops_topic(
    template: dict[str, Any],
) -> None:
    alarms = [a["Properties"] for a in of_type(template, "AWS::CloudWatch::Alarm").values()]
    on_machine = {
        a["MetricName"]
        for a in alarms
        if a.get("Namespace") == "AWS/States"
        and a["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "OrderStateMachine"}}]
    }
    assert on_machine == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    queries = [q["Expression"] for a in alarms for q in a.get("Metrics", [])]
    assert queries == ["SELECT SUM(OpsAlert) FROM Orquesta"]
    for alarm in alarms:
        assert alarm["AlarmActions"] == [OPS_TOPIC], alarm
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_topic_is_encrypted_with_a_rotating_key_the_alarms_may_use(
    template: dict[str, Any],
) -> None:
    topics = of_type(template, "AWS::SNS::Topic")
    assert set(topics) == {"OrderEventsTopic", "OpsAlertsTopic"}
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "OrquestaKey"}
    key = template["Resources"]["OrquestaKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = {
        json.dumps(st["Principal"].get("Service"))
        for st in key["KeyPolicy"]["Statement"]
        if "Service" in st["Principal"]
    }
    # CloudWatch alarms cannot publish to a topic under the AWS managed key aws/sns.
    assert {
        '"cloudwatch.amazonaws.com"',
        '"sns.amazonaws.com"',
        '"events.amazonaws.com"',
    } <= services
    for statement in key["KeyPolicy"]["Statement"]:
        assert statement["Principal"] != "*" and statement["Principal"].get("AWS") != "*"


def test_the_api_writes_access_logs_once_the_account_may(template: dict[str, Any]) -> None:
    api = template["Resources"]["RestAPI"]
    setting = api["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert json.loads(setting["Format"])["requestId"] == "$context.requestId"
    assert api["DependsOn"] == ["ApiGatewayAccount"]
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]
    }
    # Another stage's stack may rely on the account setting: deleting this one keeps it.
    assert (
        account["DeletionPolicy"]
        == template["Resources"]["ApiGatewayLogsRole"]["DeletionPolicy"]
        == "Retain"
    )
