"""Least privilege: the one inline policy of each function's role."""

from __future__ import annotations

from infra.aws.functions import Function, stage_environment
from infra.aws.monitoring import dead_letter_queue_id
from infra.aws.names import (
    KEY,
    OPS_ALERTS_TOPIC,
    ORDER_EVENTS_TOPIC,
    SENDER_PARAMETER,
    TABLE,
    Json,
    _arn,
    _var,
)

# What the adapters and Powertools' idempotency layer call. TransactWriteItems has no IAM
# action of its own: each Put, Update and ConditionCheck inside is authorised on its own.
DYNAMODB_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
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
            # StopExecution: a cancel during handling ends its execution at once.
            "Sid": "InspectOrderExecutions",
            "Action": [
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
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
