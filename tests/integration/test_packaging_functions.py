"""What the merge template ``make package`` gives ``chalice package`` declares for each
function, built offline: its handler, tracing, name, settings and secrets' parameters, the
API calling its handler by name, the order event subscription's filter, and that a
function added later gets its logs and checks without editing the template."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from infra.aws import checks, package
from tests.support.packaged_template import ROOT, STAGE, as_list, checkov_skips

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")


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
    decorated = r"@app\.(lambda_function|on_sns_message|on_cw_event|schedule)\(.*\)\n(.*)\n"
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
    assert subscription["FilterPolicy"] == {"type": [{"anything-but": ["payment.capture"]}]}
    # The subscription keeps its topic and dead-letter queue alongside the filter.
    assert "Topic" in subscription and "RedrivePolicy" in subscription
