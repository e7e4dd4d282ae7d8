"""The speed-ups of infra/local/speedups.py itself: ``cache_jsonpath_parsing``, ``tracer_off``,
``cache_handler_method_names``, ``cache_parsed_definitions`` and
``find_backends_without_registering``. Each test fails without its
speed-up. The others have their own modules: test_local_table_locks.py,
test_local_gsi_index.py, test_local_direct_calls.py, test_local_request_ids.py,
test_local_user_agent.py; those of dynamodb_adaptations.py are in
test_local_dynamodb_speedups.py."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest


def test_cache_jsonpath_parsing_builds_no_parser_once_a_definition_has_run(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from jsonpath_ng.parser import JsonPathParser

    from infra.local.stack import ACCOUNT_ID, REGION
    from tests.support import eventually

    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "InputPath": "$.order",
                "Parameters": {"id.$": "$.id", "lines.$": "$.lines"},
                "ResultPath": "$.shaped",
                "Next": "Pick",
            },
            "Pick": {"Type": "Pass", "OutputPath": "$.shaped", "End": True},
        },
    }
    arn = sfn.create_state_machine(
        name=f"speedups-{uuid.uuid4().hex[:12]}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/speedups",
    )["stateMachineArn"]

    def run() -> Any:
        execution = sfn.start_execution(
            stateMachineArn=arn,
            name=uuid.uuid4().hex,
            input=json.dumps({"order": {"id": "o-1", "lines": [1, 2]}}),
        )["executionArn"]

        def ended() -> Any:
            described = sfn.describe_execution(executionArn=execution)
            return described if described["status"] != "RUNNING" else None

        return eventually(ended, timeout=60)

    first = run()
    assert first["status"] == "SUCCEEDED", first
    built: list[str] = []
    init = JsonPathParser.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(JsonPathParser, "__init__", counting)
    second = run()
    assert second["status"] == "SUCCEEDED", second
    assert json.loads(second["output"]) == {"id": "o-1", "lines": [1, 2]}
    assert built == [], f"{len(built)} JSONPath parsers built for a definition already run"


def test_tracer_off_makes_no_xray_entity_for_a_step(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from aws_xray_sdk.core.models.entity import Entity
    from pydantic import ValidationError

    from infra.local.lambda_adaptations import LambdaContext

    made: list[str] = []
    init = Entity.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        init(self, *args, **kwargs)

    monkeypatch.setattr(Entity, "__init__", counting)
    handler = stack.lambdas.handlers["authorize_payment"]
    # A step that fails: the tracer's subsegment and its error path.
    with pytest.raises(ValidationError):
        handler({}, LambdaContext("authorize_payment"))
    assert made == [], f"X-Ray entities made locally: {made}"
    assert os.environ["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_cache_handler_method_names_lists_a_handlers_methods_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect

    client = deps.store.table.client
    key = {"pk": {"S": f"T-NAMES#{uuid.uuid4().hex}"}, "sk": {"S": "X"}}
    client.get_item(TableName=deps.settings.table_name, Key=key)  # the class is listed once
    listed: list[Any] = []
    getmembers = inspect.getmembers
    me = threading.get_ident()

    def counting(thing: Any, predicate: Any = None) -> Any:
        if threading.get_ident() == me:  # the stack's schedules run in their own threads
            listed.append(thing)
        return getmembers(thing, predicate)

    monkeypatch.setattr(inspect, "getmembers", counting)
    for _ in range(3):
        assert "Item" not in client.get_item(TableName=deps.settings.table_name, Key=key)
    assert listed == [], f"moto listed a handler's methods {len(listed)} times"


def test_cache_parsed_definitions_parses_a_definition_once(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from tests.support import order_body
    from tests.support.flow import fresh_sku, place, stop_if_running
    from tests.support.orders import wait_for_status

    sku = fresh_sku(deps, {"WH-GETAFE": 5})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    first = place(client, body)  # the order machine has run in this process at least once
    wait_for_status(deps, first, "SHIPPED")
    parsed: list[str] = []
    parse = AmazonStateLanguageParser.parse

    def counting(definition: str) -> Any:
        parsed.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting))
    orders = [place(client, body) for _ in range(2)]
    try:
        for order_id in orders:
            wait_for_status(deps, order_id, "SHIPPED")
    finally:
        for order_id in [first, *orders]:
            stop_if_running(deps, order_id)
    assert parsed == [], f"the definition was parsed {len(parsed)} more times"


def test_find_backends_without_registering_finds_what_moto_registers(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core import base_backend
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

    from infra.local.stack import ACCOUNT_ID

    find = base_backend.BackendDict.__getitem__
    assert hasattr(find, "__wrapped__"), "moto's own lookup is in place"
    assert dynamodb_backends[ACCOUNT_ID] is find.__wrapped__(dynamodb_backends, ACCOUNT_ID)

    locked: list[str] = []
    moto_lock = base_backend.backend_lock

    class CountingLock:
        def __enter__(self) -> Any:
            locked.append(threading.current_thread().name)
            return moto_lock.__enter__()

        def __exit__(self, *exc: Any) -> Any:
            return moto_lock.__exit__(*exc)

    monkeypatch.setattr(base_backend, "backend_lock", CountingLock())
    assert dynamodb_backends[ACCOUNT_ID]["eu-west-1"] is not None
    assert locked == [], "a registered account's backend is found without moto's lock"

    fresh = base_backend.BackendDict(DynamoDBBackend, "dynamodb")
    try:
        backend = fresh["111122223333"]  # not registered yet: moto registers it
        assert len(locked) == 1 and any(each is fresh for each in fresh._instances)
        assert fresh["111122223333"] is backend and len(locked) == 1
        fresh.clear()  # as moto's reset leaves it: registered again, a new backend
        assert fresh["111122223333"] is not backend and len(locked) == 2
    finally:
        base_backend.BackendDict._instances[:] = [
            each for each in base_backend.BackendDict._instances if each is not fresh
        ]
