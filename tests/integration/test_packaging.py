"""The merge template ``make package`` gives ``chalice package``, built offline: everything
but running chalice (which downloads wheels) and cfn-lint."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.aws import checks, package

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
# IAM has no resource-level permissions for these (the task token says which execution),
# so they are the only actions allowed on Resource "*".
UNSCOPABLE = {
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    # Step Functions' log delivery to CloudWatch Logs (AWS documents Resource "*").
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# What each AWS call the adapters make needs from IAM. A call missing here fails the test:
# add it, and the permission to package.function_policy.
CALL_PERMISSIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "transact_write_items": None,  # authorised per item: see TRANSACT_PERMISSIONS
    "publish": "sns:Publish",
    "send_raw_email": "ses:SendRawEmail",
    "start_execution": "states:StartExecution",
    "list_executions": "states:ListExecutions",
    "describe_state_machine": "states:DescribeStateMachine",
    "describe_execution": "states:DescribeExecution",
    "get_execution_history": "states:GetExecutionHistory",
    "send_task_success": "states:SendTaskSuccess",
    "send_task_failure": "states:SendTaskFailure",
    "get_parameter": "ssm:GetParameter",
}
TRANSACT_PERMISSIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Powertools' idempotency layer writes the orders table itself.
LIBRARY_PERMISSIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
}


_BUILD = """
import json, os, sys
from dataclasses import asdict
from infra.aws import package
functions = package.app_functions(sys.argv[1])
import app as app_module
app = app_module.app
handlers = [
    [name, handler.handler_string,
     getattr(app_module, handler.handler_string.split(".")[1], None) is app.handler_map[name]]
    for name, handler in [(f.name, f) for f in app.pure_lambda_functions]
    + [(e.name, e) for e in app.event_sources]
]
built = {"functions": [asdict(f) for f in functions],
         "template": package.merge_template(sys.argv[1], functions),
         "steps": sorted(app_module.STEPS), "handlers": handlers}
print(json.dumps(built))
"""


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """Functions and merge template, built in a fresh interpreter: app.py names its SNS
    topic after the stage when imported, and in this process the local stack's tests may
    already have imported it for stage "local"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    env["ORQUESTA_STAGE"] = STAGE
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, STAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def functions(built: dict[str, Any]) -> list[package.Function]:
    """The functions chalice packages for app.py."""
    return [
        package.Function(
            **{
                **f,
                "sns_events": tuple(tuple(event) for event in f["sns_events"]),
                "schedule_events": tuple(f["schedule_events"]),
            }
        )
        for f in built["functions"]
    ]


@pytest.fixture(scope="module")
def template(built: dict[str, Any]) -> dict[str, Any]:
    """The merge template for the dev stage."""
    return dict(built["template"])


def statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every IAM policy statement in the template's roles."""
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def as_list(value: Any) -> list[Any]:
    """A statement's Action or Resource as a list."""
    return value if isinstance(value, list) else [value]


def test_the_state_machine_runs_the_asl_file_as_it_is(template: dict[str, Any]) -> None:
    machine = template["Resources"]["OrderStateMachine"]["Properties"]
    asl = json.loads((ROOT / "statemachines" / "order.asl.json").read_text())
    assert machine["Definition"] == asl
    assert "DefinitionString" not in machine


def test_every_placeholder_is_substituted_with_a_packaged_function(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    machine = template["Resources"]["OrderStateMachine"]["Properties"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(machine["Definition"])))
    substitutions = machine["DefinitionSubstitutions"]
    assert placeholders, "the ASL has no ${...} placeholders"
    assert placeholders <= set(substitutions)
    step_ids = {value["Fn::GetAtt"][0] for value in substitutions.values() if "Fn::GetAtt" in value}
    assert step_ids <= {function.logical_id for function in functions}
    assert {"CompensateOrder", "MarkCompensationFailed"} <= step_ids
    # The ops alerts topic, published to straight from the ASL when compensation fails.
    topics = {value["Ref"] for value in substitutions.values() if "Ref" in value}
    assert topics == {"OpsAlertsTopic"}


def test_no_permission_is_a_wildcard(template: dict[str, Any]) -> None:
    for statement in statements(template):
        actions = set(as_list(statement["Action"]))
        assert not any(action == "*" or action.endswith(":*") for action in actions), statement
        if "NotResource" in statement:
            # Text messages to phone numbers, which have no ARN; never a topic.
            assert actions == {"sns:Publish"}, statement
            assert statement["NotResource"] == "arn:aws:sns:*:*:*", statement
            continue
        if "*" in as_list(statement["Resource"]):
            assert actions <= UNSCOPABLE, statement


def test_every_function_s_handler_is_the_app_module_attribute_lambda_will_call(
    built: dict[str, Any], functions: list[package.Function]
) -> None:
    handlers = {name: (handler, resolves) for name, handler, resolves in built["handlers"]}
    assert {f"orquesta-{STAGE}-{name}" for name in handlers} == {
        f.name for f in functions if f.logical_id != "APIHandler"
    }
    assert set(built["steps"]) <= set(handlers)
    for name, (handler, resolves) in handlers.items():
        assert handler == f"app.{name}", name
        assert resolves, f"app.{name} is not the handler chalice registered"


def test_every_function_and_the_state_machine_send_traces(
    built: dict[str, Any], template: dict[str, Any], functions: list[package.Function]
) -> None:
    # Tracing is on in .chalice/config.json (functions and API) and on the state machine;
    # each role may write traces, and the functions carry Powertools' Tracer.
    assert json.loads((ROOT / ".chalice" / "config.json").read_text())["xray"] is True
    resources = template["Resources"]
    machine = resources["OrderStateMachine"]["Properties"]
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert resources["RestAPI"]["Properties"]["TracingEnabled"] is True
    tracing = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    roles = [resources[function.role_id] for function in functions]
    roles.append(resources["OrderStateMachineRole"])
    for role in roles:
        granted = {
            action
            for policy in role["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            for action in as_list(statement["Action"])
        }
        assert tracing <= granted
    app_source = (ROOT / "app.py").read_text()
    decorated = r"@app\.(lambda_function|on_sns_message|schedule)\(.*\)\n(.*)\n"
    handlers = re.findall(decorated, app_source)
    # The workflow steps of app.STEPS are registered in one loop, through the tracer too.
    loop = r"app\.lambda_function\(name=_name\)\(\s*tracer\.capture_lambda_handler\("
    assert re.search(loop, app_source)
    assert len(handlers) + len(built["steps"]) == len(functions) - 1  # all but the API's
    for kind, next_line in handlers:
        expected = "capture_lambda_handler" if kind == "lambda_function" else "capture_method"
        assert next_line == f"@tracer.{expected}", (kind, next_line)


def test_every_function_gets_its_name_settings_and_one_policy(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    resources = template["Resources"]
    assert {f.logical_id for f in functions} >= {"APIHandler", "OnOrderEvent", "ReserveStock"}
    for function in functions:
        properties = resources[function.logical_id]["Properties"]
        assert properties["FunctionName"].startswith(f"orquesta-{STAGE}")
        assert set(properties["Environment"]["Variables"]) >= {
            "ORQUESTA_STATE_MACHINE",
            "ORQUESTA_ORDER_EVENTS_TOPIC",
            "ORQUESTA_OPS_ALERTS_TOPIC",
            "ORQUESTA_TABLE",
            "ORQUESTA_PUBLIC_URL",
        }
        assert len(resources[function.role_id]["Properties"]["Policies"]) == 1
    assert template["Parameters"]["Stage"]["Default"] == STAGE


def test_the_policy_covers_every_call_the_adapters_make(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "chalicelib").rglob("*.py"))
    calls = set(re.findall(r"(?:_client|parameters)\.(\w+)\(", source))
    unknown = calls - set(CALL_PERMISSIONS)
    assert not unknown, f"add the IAM action for {unknown} to this test and the policy"
    needed = ({CALL_PERMISSIONS[call] for call in calls} - {None}) | LIBRARY_PERMISSIONS
    if "transact_write_items" in calls:
        kinds = set(re.findall(r"\"(Put|Update|Delete|ConditionCheck)\":", source))
        needed |= {TRANSACT_PERMISSIONS[kind] for kind in kinds}
    policy = template["Resources"][functions[0].role_id]["Properties"]["Policies"][0]
    granted = {
        action
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
    }
    assert needed <= granted, needed - granted


def test_the_api_names_its_handler_instead_of_referring_to_it() -> None:
    uri = {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31"
        "/functions/${APIHandler.Arn}/invocations"
    }
    paths = {
        path: {"get": {"x-amazon-apigateway-integration": {"uri": copy.deepcopy(uri)}}}
        for path in ("/orders", "/health")
    }
    api = {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"paths": paths}}}
    url = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    handler = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"Environment": {"Variables": {"ORQUESTA_PUBLIC_URL": url}}},
    }
    sam: dict[str, Any] = {"Resources": {"RestAPI": api, "APIHandler": handler}}
    assert checks.dependency_cycle(sam) == ["APIHandler", "RestAPI", "APIHandler"]

    assert package.detach_api_from_handler(sam, "orquesta-dev") == 2
    assert "function:orquesta-dev/invocations" in json.dumps(api)
    assert checks.dependency_cycle(sam) == []


def test_every_function_names_the_ssm_parameters_of_its_secrets(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    # Without them the app refuses to start (chalicelib.config.MissingSecrets); with them
    # it never falls back to the local stack's demo secrets.
    from chalicelib.config import LOCAL_DEMO_VARIABLE, SECRET_SOURCES

    for function in functions:
        variables = template["Resources"][function.logical_id]["Properties"]["Environment"][
            "Variables"
        ]
        assert LOCAL_DEMO_VARIABLE not in variables
        for _, parameter, direct in SECRET_SOURCES:
            assert variables[parameter].startswith(f"/orquesta/{STAGE}/"), function.logical_id
            assert not set(direct) & set(variables), function.logical_id


# What checkov checks on the packaged template, asserted on the merge template: checkov
# itself pins boto3 1.35 against this project's 1.44, so it cannot run in the test suite
# (../shared/tools/outside-checks runs it in a venv of its own).
KEY_ARN = {"Fn::GetAtt": ["OrquestaKey", "Arn"]}
OPS_TOPIC = {"Ref": "OpsAlertsTopic"}


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one type, by logical id."""
    return {k: r for k, r in template["Resources"].items() if r.get("Type") == kind}


def checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    """The checkov checks a resource skips, with their reasons."""
    return {
        s["id"]: s["comment"]
        for s in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def granted(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """The statements of a role's inline policies."""
    role = template["Resources"][role_id]["Properties"]
    return [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]


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


def test_the_state_machine_logs_errors_without_personal_data_and_may_alert_ops(
    template: dict[str, Any],
) -> None:
    machine = template["Resources"]["OrderStateMachine"]["Properties"]
    logging_config = machine["LoggingConfiguration"]
    assert logging_config["Level"] in {"ERROR", "ALL"}
    assert logging_config["IncludeExecutionData"] is False  # inputs carry addresses, emails
    destination = logging_config["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert destination == {"Fn::GetAtt": ["OrderStateMachineLogs", "Arn"]}
    statements = granted(template, "OrderStateMachineRole")
    assert any(st["Action"] == "sns:Publish" and st["Resource"] == OPS_TOPIC for st in statements)
    assert any(
        st["Resource"] == KEY_ARN and "kms:GenerateDataKey" in st["Action"] for st in statements
    )


def test_a_function_added_later_gets_logs_and_checks_without_editing_the_template(
    functions: list[package.Function],
) -> None:
    step = package.Function(
        "ReconcileOrder", "ReconcileOrderRole", f"orquesta-{STAGE}-reconcile_order"
    )
    subscriber = package.Function(
        "OnOpsAlert",
        "OnOpsAlertRole",
        f"orquesta-{STAGE}-on_ops_alert",
        sns_events=(("OnOpsAlertSnsSubscription", f"orquesta-{STAGE}-ops-alerts"),),
    )
    template = package.merge_template(STAGE, [*functions, step, subscriber])
    resources = template["Resources"]
    assert (
        resources["ReconcileOrderLogs"]["Properties"]["LogGroupName"]
        == "/aws/lambda/orquesta-dev-reconcile_order"
    )
    assert "CKV_AWS_116" in checkov_skips(resources["ReconcileOrder"])
    assert "ReconcileOrderErrorsAlarm" not in resources
    assert resources["OnOpsAlert"]["Properties"]["DeadLetterQueue"]["TargetArn"] == {
        "Fn::GetAtt": ["OnOpsAlertDeadLetters", "Arn"]
    }
    assert {
        "OnOpsAlertDeadLettersAlarm",
        "OnOpsAlertErrorsAlarm",
        "OnOpsAlertDeadLettersPolicy",
    } <= set(resources)


def test_the_order_event_subscription_filters_out_what_no_handler_acts_on(
    template: dict[str, Any], functions: list[package.Function]
) -> None:
    subscriber = next(f for f in functions if f.logical_id == "OnOrderEvent")
    (event_id, _), *others = subscriber.sns_events
    assert others == []
    properties = template["Resources"]["OnOrderEvent"]["Properties"]["Events"][event_id]
    subscription = properties["Properties"]
    assert subscription["FilterPolicyScope"] == "MessageBody"
    assert subscription["FilterPolicy"] == {
        "type": [{"anything-but": ["payment.capture", "payment.void"]}]
    }
    # The subscription keeps its topic and dead-letter queue alongside the filter.
    assert "Topic" in subscription and "RedrivePolicy" in subscription
