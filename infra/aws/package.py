"""``make package``: the CloudFormation for AWS, built from the definitions the local stack uses.

``infra/aws/template.json`` (table, topics, state machine) and ``statemachines/order.asl.json``
become a merge template that also gives every function its settings, least-privilege
permissions, log group, alarms and (when invoked asynchronously) dead-letter queue;
``chalice package`` merges it into the app's own template; the one dependency cycle that
leaves is broken; cfn-lint must then report no error and no warning.

    .venv/bin/python -m infra.aws.package [--stage dev|prod]

The parts: ``names`` (paths and logical ids), ``functions`` (what chalice generates),
``permissions`` (each role's policy), ``monitoring`` (logs, alarms, dead letters) and
``checks`` (the packaged template's repair and checks); the merge template is built here.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from chalicelib.config import Settings
from chalicelib.presentation.wording import BABEL_LOCALES
from infra.aws.checks import check_packaged, detach_api_from_handler
from infra.aws.functions import Function, app_functions, chalice_config, stage_environment
from infra.aws.gateway_responses import gateway_responses
from infra.aws.monitoring import (
    api_error_resources,
    dead_letter_queue_id,
    failure_resources,
    log_group_id,
)
from infra.aws.names import (
    API_ACCESS_LOG_FORMAT,
    API_ACCESS_LOGS,
    API_GATEWAY_ACCOUNT,
    API_HANDLER,
    DEFAULT_REGION,
    DEFAULT_STAGE,
    DIST,
    KEY,
    OPS_ALERTS_TOPIC,
    ORDER_ASL,
    ORDER_EVENTS_TOPIC,
    REST_API,
    ROOT,
    SENDER_PARAMETER,
    STAGES,
    STATE_MACHINE,
    TABLE,
    TEMPLATE,
    Json,
    PackagingError,
    _arn,
    _resource,
    _sub_text,
    _var,
)
from infra.aws.permissions import function_policy
from infra.aws.slim import cold_start_modules, slim

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
            if function.sns_filter is not None:
                # Events no handler of the function acts on cost no invocation.
                scope, policy = json.loads(function.sns_filter)
                events[event_id]["Properties"] |= {
                    "FilterPolicyScope": scope,
                    "FilterPolicy": policy,
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
                # API Gateway's own answers (no such path or method...) as problem details.
                "GatewayResponses": gateway_responses(),
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
    code_path = sam_path.parent / "deployment.zip"
    function_env = {k: v for k, v in os.environ.items() if not k.startswith(("ORQUESTA_", "MOTO_"))}
    function_env |= {**stage_environment(stage), "AWS_DEFAULT_REGION": region}
    cold_start = cold_start_modules(ROOT, function_env)
    zipped_before, zipped_after = slim(code_path, BABEL_LOCALES.values(), cold_start)
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
    print(
        f"  code:     {code_path.relative_to(ROOT)} ({zipped_after / 1e6:.1f} MB zipped; "
        f"{zipped_before / 1e6:.1f} MB as chalice packaged it: infra/aws/slim.py)"
    )
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
