"""What the merge template ``make package`` gives ``chalice package`` declares for the order
state machine, built offline: its definition is the ASL file, every placeholder is
substituted with a packaged function or topic, and it logs errors without personal data
and may alert ops."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.aws import package
from tests.support.packaged_template import KEY_ARN, OPS_TOPIC, ROOT, granted

# Packaging shares chalice's deployment cache (.chalice/deployments): two packagings at
# once on two workers read each other's half-written zip, so they run on one worker.
pytestmark = pytest.mark.xdist_group("packaging")


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
