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

from infra.aws import package

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
built = {"functions": [asdict(f) for f in functions],
         "template": package.merge_template(sys.argv[1], functions)}
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
        package.Function(**{**f, "sns_events": tuple(tuple(event) for event in f["sns_events"])})
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
        if "*" in as_list(statement["Resource"]):
            assert actions <= UNSCOPABLE, statement


def test_every_function_and_the_state_machine_send_traces(
    template: dict[str, Any], functions: list[package.Function]
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
    assert len(handlers) == len(functions) - 1  # all but the API handler
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
    assert package.dependency_cycle(sam) == ["APIHandler", "RestAPI", "APIHandler"]

    assert package.detach_api_from_handler(sam, "orquesta-dev") == 2
    assert "function:orquesta-dev/invocations" in json.dumps(api)
    assert package.dependency_cycle(sam) == []
