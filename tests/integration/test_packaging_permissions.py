"""The IAM roles and policies of the merge template ``make package`` gives ``chalice
package``, built offline: no wildcard action, ``*`` resources only for the actions IAM
cannot scope, and a grant for every AWS call the adapters make."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.aws import package
from tests.support.packaged_template import ROOT, as_list, statements

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")

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
    "batch_get_item": "dynamodb:BatchGetItem",
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
    "stop_execution": "states:StopExecution",
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
