"""Create the local resources from the same definitions as the AWS deployment:
``infra/aws/template.json`` (table, topics) and ``statemachines/order.asl.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "aws" / "template.json"
ORDER_ASL = ROOT / "statemachines" / "order.asl.json"

# Chalice's logical ids (CamelCase of the function name) to their handler names.
_LOGICAL_TO_HANDLER = re.compile(r"(?<!^)(?=[A-Z])")


def _sub(value: Any, stage: str) -> Any:
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${Stage}", stage)
    return value


def template() -> dict[str, Any]:
    """The CloudFormation template the AWS deployment merges."""
    return dict(json.loads(TEMPLATE.read_text()))


def handler_name(logical_id: str) -> str:
    """``DispatchFulfillment`` → ``dispatch_fulfillment``."""
    return _LOGICAL_TO_HANDLER.sub("_", logical_id).lower()


def definition_with_substitutions(substitutions: dict[str, str], asl_path: Path = ORDER_ASL) -> str:
    """The ASL with its ``${...}`` placeholders replaced, as Step Functions does with
    ``DefinitionSubstitutions``."""
    text = asl_path.read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    missing = re.findall(r"\$\{(\w+)\}", text)
    if missing:
        raise ValueError(f"no substitution for {missing}")
    return text


def provision(stage: str, region: str, account_id: str, function_prefix: str) -> dict[str, str]:
    """Create the table, topics and state machine; returns the ``ORQUESTA_*`` settings."""
    resources = template()["Resources"]
    dynamodb = boto3.client("dynamodb", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sfn = boto3.client("stepfunctions", region_name=region)
    settings: dict[str, str] = {"ORQUESTA_STAGE": stage}
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = _sub(props["TableName"], stage)
            dynamodb.create_table(
                TableName=name,
                BillingMode=props["BillingMode"],
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                **(
                    {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                    if "GlobalSecondaryIndexes" in props
                    else {}
                ),
            )
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            settings["ORQUESTA_TABLE"] = name
        elif resource["Type"] == "AWS::SNS::Topic":
            name = _sub(props["TopicName"], stage)
            arn = sns.create_topic(Name=name)["TopicArn"]
            key = (
                "ORQUESTA_ORDER_EVENTS_TOPIC"
                if "order-events" in name
                else "ORQUESTA_OPS_ALERTS_TOPIC"
            )
            settings[key] = arn
        elif resource["Type"] == "AWS::StepFunctions::StateMachine":
            # Functions by their deployed names; topics ({"Ref": ...}) by the ARN created
            # above (topics come before the state machine in the template).
            topic_arns = {
                logical_id: settings[
                    "ORQUESTA_ORDER_EVENTS_TOPIC"
                    if "order-events" in _sub(r["Properties"]["TopicName"], stage)
                    else "ORQUESTA_OPS_ALERTS_TOPIC"
                ]
                for logical_id, r in resources.items()
                if r["Type"] == "AWS::SNS::Topic"
            }
            substitutions = {
                placeholder: (
                    topic_arns[ref["Ref"]]
                    if "Ref" in ref
                    else f"arn:aws:lambda:{region}:{account_id}:function:"
                    f"{function_prefix}{handler_name(ref['Fn::GetAtt'][0])}"
                )
                for placeholder, ref in props["DefinitionSubstitutions"].items()
            }
            arn = sfn.create_state_machine(
                name=_sub(props["StateMachineName"], stage),
                definition=definition_with_substitutions(substitutions),
                roleArn=f"arn:aws:iam::{account_id}:role/orquesta-{stage}-states",
                type=props.get("StateMachineType", "STANDARD"),
            )["stateMachineArn"]
            settings["ORQUESTA_STATE_MACHINE"] = arn
    return settings


def subscribe_handlers(
    topic_arn: str,
    handlers: list[str],
    region: str,
    account_id: str,
    function_prefix: str,
    filter_policy: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Subscribe the app's SNS handlers, as the packaged template does: with the
    subscription's filter (scope, policy) when there is one."""
    sns = boto3.client("sns", region_name=region)
    attributes = {}
    if filter_policy is not None:
        scope, policy = filter_policy
        attributes = {"FilterPolicyScope": scope, "FilterPolicy": json.dumps(policy)}
    for handler in handlers:
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="lambda",
            Endpoint=f"arn:aws:lambda:{region}:{account_id}:function:{function_prefix}{handler}",
            Attributes=attributes,
        )


def verify_sender(domain: str, region: str) -> None:
    """SES sends only from verified identities."""
    boto3.client("ses", region_name=region).verify_domain_identity(Domain=domain)
