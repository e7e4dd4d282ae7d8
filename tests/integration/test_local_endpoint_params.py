"""infra/local/endpoint_params.endpoint_params_by_plan: botocore's endpoint parameters found
by a plan read once per resolver and operation, with the same parameters, feature ids and
endpoints as botocore's own lookups, for every operation of the services the app calls."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.regions import EndpointRulesetResolver

_TABLES = ["orquesta-local", "another-table"]


def _args_for(table: str) -> dict[str, Any]:
    """Request arguments that fill every context parameter DynamoDB's operations read."""
    return {
        "TableName": table,
        "RequestItems": {table: {}, f"{table}-2": {}},
        "TransactItems": [
            {"Update": {"TableName": table}},
            {"Put": {"TableName": f"{table}-2"}},
            {"ConditionCheck": {"TableName": table}},
        ],
        "TableCreationParameters": {"TableName": table},
        "ResourceArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}",
        "StreamArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/stream/1",
        "IndexName": "gsi1",
    }


def _clients() -> list[Any]:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", aws_session_token="t"
    )
    made = [
        session.client(service, region_name=region)
        for service in ("dynamodb", "sns", "ses", "stepfunctions", "lambda", "s3")
        for region in ("eu-west-1", "us-east-1", "cn-north-1")
    ]
    made.append(
        session.client(
            "dynamodb",
            region_name="us-gov-west-1",
            config=Config(use_fips_endpoint=True, account_id_endpoint_mode="required"),
        )
    )
    made.append(session.client("dynamodb", region_name="eu-west-1", use_ssl=False))
    return made


def _resolved(client: Any, operation: str, args: dict[str, Any]) -> Any:
    """The parameters and endpoint botocore resolves, or the error it raises."""
    from botocore.context import get_context, start_as_current_context

    model = client.meta.service_model.operation_model(operation)
    with start_as_current_context():
        try:
            params = client._ruleset_resolver._get_provider_params(model, args, {})
            endpoint = client._resolve_endpoint_ruleset(model, args, {})
        except Exception as exc:  # noqa: BLE001 - the refusal is what is compared
            return type(exc).__name__, str(exc)
        features = sorted(get_context().features)
    return repr(params), repr(endpoint), features


def test_endpoint_params_by_plan_resolve_what_botocore_resolves(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_plan = EndpointRulesetResolver._get_provider_params
    assert hasattr(by_plan, "__wrapped__"), "the plan is in place"
    compared = 0
    for client in _clients():
        for operation in client.meta.service_model.operation_names:
            for table in _TABLES:
                args = _args_for(table)
                planned = _resolved(client, operation, args)
                again = _resolved(client, operation, args)
                with monkeypatch.context() as botocores:
                    botocores.setattr(
                        EndpointRulesetResolver, "_get_provider_params", by_plan.__wrapped__
                    )
                    usual = _resolved(client, operation, args)
                assert planned == again == usual, (client.meta.region_name, operation)
                compared += 1
    assert compared > 1000


def test_endpoint_params_by_plan_take_each_requests_table(stack: Any) -> None:
    client = _clients()[0]
    model = client.meta.service_model.operation_model("TransactWriteItems")
    resolver = client._ruleset_resolver
    for table in _TABLES:
        params = resolver._get_provider_params(model, _args_for(table), {})
        assert params["ResourceArnList"] == [table, f"{table}-2", table]
    get = client.meta.service_model.operation_model("GetItem")
    for table in _TABLES:
        assert resolver._get_provider_params(get, {"TableName": table}, {})["ResourceArn"] == table


def test_endpoint_params_by_plan_read_the_operations_model_once(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _clients()[0]
    model = client.meta.service_model.operation_model("UpdateItem")
    args = {"TableName": _TABLES[0], "Key": {}}
    client._ruleset_resolver.construct_endpoint(model, args, {})  # the plan made
    looked_up: list[str] = []
    lookup = EndpointRulesetResolver._resolve_param_from_context

    def counting(self: Any, param_name: str, **kwargs: Any) -> Any:
        looked_up.append(param_name)
        return lookup(self, param_name=param_name, **kwargs)

    monkeypatch.setattr(EndpointRulesetResolver, "_resolve_param_from_context", counting)
    endpoint = client._ruleset_resolver.construct_endpoint(model, args, {})
    assert endpoint.url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert looked_up == [], "botocore's per-parameter lookups ran"
