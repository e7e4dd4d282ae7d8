"""Reading the merge template ``make package`` gives ``chalice package``: the repository's
root, the stage the packaging tests build, and lookups into the template (its IAM
statements, resources of one type, checkov skips, a role's grants) shared by the
tests/integration/test_packaging_*.py modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"


def statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every IAM policy statement in the template's roles."""
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def as_list(value: Any) -> list[Any]:
    """A statement's Action or Resource as a list."""
    return value if isinstance(value, list) else [value]


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
