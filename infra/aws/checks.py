"""What is done to the template ``chalice package`` wrote, and checked in it: the API detached
from its handler's ARN (the one dependency cycle), no cycle left, no mixed intrinsics,
every function packaged as expected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra.aws.functions import Function
from infra.aws.monitoring import log_group_id
from infra.aws.names import API_HANDLER, REST_API, Json, PackagingError, _arn_text, _var


def _rewrite_subs(node: Any, old: str, new: str) -> int:
    if isinstance(node, list):
        return sum(_rewrite_subs(item, old, new) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for key, value in node.items():
        if key == "Fn::Sub" and isinstance(value, str) and old in value:
            node[key] = value.replace(old, new)
            count += 1
        else:
            count += _rewrite_subs(value, old, new)
    return count


def detach_api_from_handler(template: Json, handler_name: str) -> int:
    """Make the REST API invoke the API handler by its function name instead of a reference
    to it; returns the number of integrations rewritten."""
    # The handler's ORQUESTA_PUBLIC_URL refers to the API, and chalice's API definition
    # refers to the handler's ARN: CloudFormation rejects that circular dependency. The
    # handler's name is fixed by the merge template, so the API can name it instead.
    api = template["Resources"].get(REST_API)
    if api is None:
        return 0
    function_arn = _arn_text("lambda", f"function:{handler_name}")
    count = _rewrite_subs(api, _var(f"{API_HANDLER}.Arn"), function_arn)
    if count == 0 or re.search(rf"\b{API_HANDLER}\b", json.dumps(api)):
        raise PackagingError(f"could not make {REST_API} name {API_HANDLER} instead of ref it")
    return count


def _mixed_intrinsics(node: Any, path: str = "") -> list[str]:
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _mixed_intrinsics(item, f"{path}/{i}")]
    if not isinstance(node, dict):
        return []
    intrinsics = [key for key in node if key == "Ref" or key.startswith("Fn::")]
    found = [path] if len(intrinsics) > 1 or (intrinsics and len(node) > 1) else []
    for key, value in node.items():
        found += _mixed_intrinsics(value, f"{path}/{key}")
    return found


def _references(node: Any) -> set[str]:
    """Logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(node, list):
        return {ref for item in node for ref in _references(item)}
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt" and isinstance(value, list) and value:
            found.add(str(value[0]).split(".")[0])
        elif key == "Fn::GetAtt" and isinstance(value, str):
            found.add(value.split(".")[0])
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
            for name in re.findall(r"\$\{([^}!][^}]*)\}", str(text)):
                if name.split(".")[0] not in variables:
                    found.add(name.split(".")[0])
            found |= _references(variables)
        else:
            found |= _references(value)
    return found


def dependency_cycle(template: Json) -> list[str]:
    """A cycle among the resources (through Ref, Fn::GetAtt, Fn::Sub and DependsOn, swagger
    bodies included, which cfn-lint's E3004 does not follow), or an empty list."""
    resources: Json = template["Resources"]
    edges: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends = resource.get("DependsOn", [])
        targets = _references(resource) | set([depends] if isinstance(depends, str) else depends)
        edges[logical_id] = {target for target in targets if target in resources}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def check_packaged(template: Json, functions: list[Function]) -> None:
    """Fail unless the merge template touched only what chalice generated, and every
    function chalice generated got its settings and role."""
    resources: Json = template["Resources"]
    mixed = _mixed_intrinsics(template)
    if mixed:
        raise PackagingError(f"merging left two intrinsic functions in one value at {mixed}")
    untyped = sorted(logical_id for logical_id, r in resources.items() if "Type" not in r)
    if untyped:
        raise PackagingError(f"the merge template names resources chalice did not: {untyped}")
    cycle = dependency_cycle(template)
    if cycle:
        raise PackagingError(f"circular dependency: {' -> '.join(cycle)}")
    packaged = {
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    expected = {function.logical_id for function in functions}
    if packaged != expected:
        raise PackagingError(f"chalice packaged {sorted(packaged)}, expected {sorted(expected)}")
    for function in functions:
        packaged_function = resources[function.logical_id]
        role = packaged_function["Properties"].get("Role")
        if role != {"Fn::GetAtt": [function.role_id, "Arn"]}:
            raise PackagingError(f"{function.logical_id} runs as {role}, not {function.role_id}")
        if log_group_id(function) not in packaged_function.get("DependsOn", []):
            raise PackagingError(f"{function.logical_id} may run before its log group exists")
        if function.asynchronous and "DeadLetterQueue" not in packaged_function["Properties"]:
            raise PackagingError(f"{function.logical_id} is invoked asynchronously without a DLQ")
