"""Speed-up 17 of ``speedups``: where botocore (1.44) spends the stack's CPU finding a
request's endpoint parameters. Like every speed-up it names the gap it closes;
``tests/integration/test_local_endpoint_params.py`` tests it against botocore's own."""

from __future__ import annotations

import functools
from typing import Any

from infra.local.patching import apply_once

# One parameter's sources, in botocore's order: the operation's static value, the request
# member it comes from, the compiled JMESPath of an operation context parameter, the
# client context variable, the built-in's name (each None when it has none).
Source = tuple[str, Any, str | None, Any, str | None, str | None]

_KEPT_PLANS = 4096


def endpoint_plan(resolver: Any, operation_model: Any) -> tuple[Source, ...] | None:
    """Where each endpoint parameter of ``resolver`` comes from for ``operation_model``,
    read from the same model data botocore reads per request; None when a built-in's name
    is unknown (botocore raises its own error for that)."""
    import jmespath
    from botocore.regions import EndpointResolverBuiltins

    known_builtins = set(EndpointResolverBuiltins.__members__.values())
    static = resolver._get_static_context_params(operation_model)
    dynamic = resolver._get_dynamic_context_params(operation_model)
    in_operation = operation_model.operation_context_parameters
    in_client = resolver._get_client_context_params()
    plan: list[Source] = []
    for name, definition in resolver._param_definitions.items():
        builtin = definition.builtin
        if builtin is not None and builtin not in known_builtins:
            return None
        path = in_operation[name]["path"] if name in in_operation else None
        plan.append(
            (
                name,
                static.get(name),
                dynamic.get(name),
                jmespath.compile(path) if path is not None else None,
                in_client.get(name),
                builtin,
            )
        )
    return tuple(plan)


def params_by_plan(
    resolver: Any, plan: tuple[Source, ...], call_args: dict[str, Any], builtins: dict[str, Any]
) -> dict[str, Any]:
    """botocore's ``_get_provider_params`` for one request, following ``plan``: for each
    parameter the first of its static value, request member, operation context path and
    client context variable that is not None, else its built-in (called if callable)."""
    params: dict[str, Any] = {}
    for name, static, member, path, client_variable, builtin in plan:
        value = static
        if value is None and member is not None:
            value = call_args.get(member)
        if value is None and path is not None:
            value = path.search(call_args)
        if value is None and client_variable is not None:
            value = resolver._client_context.get(client_variable)
        if value is None and builtin is not None:
            value = builtins.get(builtin)
            if callable(value):
                value = value()
        if value is not None:
            params[name] = value
            resolver._register_endpoint_feature_ids(name, value)
    return params


def endpoint_params_by_plan() -> None:
    """Gap: for every request, botocore's endpoint resolver finds each of the ruleset's
    parameters (nine for DynamoDB) by asking four sources in turn, each through a cached
    accessor of the operation's model (static and dynamic context parameters, operation
    context parameters parsed as JMESPath, client context parameters), and then checks
    the built-in's name against an enum: 13 us of the 16 a DynamoDB request spends on its
    endpoint (the rules themselves are cached by botocore), about 130 requests per order;
    AWS's SDK pays it on the caller's machine, here the process that also runs the
    services. Where each parameter comes from depends on the resolver and the operation
    only, so here that plan is read once per resolver and operation (the same model data,
    the JMESPath compiled once) and each request takes its values from its own
    arguments, client context and customised built-ins (the ``before-endpoint-
    resolution`` event still runs per request), in botocore's order: the same
    parameters, feature ids and endpoint. A different table, region or client resolves
    from its own values; an unknown built-in goes through botocore."""
    if not apply_once("endpoint-params"):
        return
    from botocore.regions import EndpointRulesetResolver

    botocore_params = EndpointRulesetResolver._get_provider_params
    # (resolver's id, operation model's id) -> (resolver, operation model, plan): one tuple
    # replaced at once, so a thread reads one whole entry.
    plans: dict[tuple[int, int], tuple[Any, Any, tuple[Source, ...] | None]] = {}

    @functools.wraps(botocore_params)
    def provider_params(
        self: Any, operation_model: Any, call_args: Any, request_context: Any
    ) -> dict[str, Any]:
        entry = plans.get((id(self), id(operation_model)))
        if entry is None or entry[0] is not self or entry[1] is not operation_model:
            if len(plans) >= _KEPT_PLANS:  # clients come and go in tests: keep the recent
                plans.clear()
            entry = (self, operation_model, endpoint_plan(self, operation_model))
            plans[(id(self), id(operation_model))] = entry
        plan = entry[2]
        if plan is None:
            return dict(botocore_params(self, operation_model, call_args, request_context))
        builtins = self._get_customized_builtins(operation_model, call_args, request_context)
        return params_by_plan(self, plan, call_args, builtins)

    EndpointRulesetResolver._get_provider_params = provider_params  # type: ignore[method-assign]
