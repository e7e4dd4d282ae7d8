"""One test per adaptation in infra/local/adaptations.py, each of which fails without it:
they pin down where moto (5.2.5) falls short of AWS and that the local stack makes up
for it."""

from __future__ import annotations

import email
import json
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import requests

from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.errors import OutOfStock
from chalicelib.ports import StockChange
from infra.local import adaptations
from infra.local.stack import REGION
from tests.support import JSON, OPS, STOREFRONT, eventually, idempotency_key, order_body
from tests.support.api import expected_order_id, post_order
from tests.support.flow import (
    fresh_sku,
    place,
    place_then_sell_out,
    raw_history,
    states_entered,
    stock_of,
    stop_if_running,
    wait_for_execution,
)
from tests.support.orders import wait_for_status

RACERS = 30
UNITS = 10


def _post_order(url: str, sku: str) -> str | None:
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    # A customer known by phone only: no emails, which would only slow the race down.
    body["customer"] = {"phone": f"+346{uuid.uuid4().int % 10**8:08d}", "name": "Racer"}
    response = requests.post(
        f"{url}/orders",
        headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
        data=json.dumps(body),
        timeout=60,
    )
    if response.status_code == 409:
        # Refused up front: the others had already taken every unit when it arrived.
        assert response.json()["type"].endswith("/out-of-stock"), response.text
        return None
    assert response.status_code == 202, response.text
    return str(response.json()["order_id"])


def test_serialise_dynamodb_thirty_orders_race_for_ten_units_and_none_is_oversold(
    stack: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": UNITS})
    start = threading.Barrier(RACERS)

    def racer(_: int) -> str | None:
        start.wait()
        return _post_order(stack.url, sku)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(racer, range(RACERS)))
    order_ids = [order_id for order_id in answers if order_id is not None]
    refused = len(answers) - len(order_ids)
    assert len(set(order_ids)) == len(order_ids) >= UNITS
    try:

        def settled() -> list[Any] | None:
            on_hand, reserved = stock_of(deps, sku)["WH-GETAFE"]
            assert on_hand >= 0 and reserved >= 0 and on_hand - reserved >= 0, (on_hand, reserved)
            orders = [deps.store.get_order(order_id) for order_id in order_ids]
            done = all(o.status.value in ("SHIPPED", "REJECTED") for o in orders)
            voided = all(
                o.payment.status.value == "VOIDED" for o in orders if o.status.value == "REJECTED"
            )
            return orders if done and voided else None

        orders = eventually(settled, timeout=120, every=0.2)
        shipped = [o for o in orders if o.status.value == "SHIPPED"]
        rejected = [o for o in orders if o.status.value == "REJECTED"]
        assert len(shipped) == UNITS
        # Every loser lost either up front (409) or after acceptance (REJECTED).
        assert len(rejected) + refused == RACERS - UNITS
        assert all(o.status_reason and o.status_reason.value == "out_of_stock" for o in rejected)
        assert all(o.status_reason is not None for o in rejected)
        assert stock_of(deps, sku) == {"WH-GETAFE": (0, 0)}
    finally:
        for order_id in order_ids:
            stop_if_running(deps, order_id)


def test_serialise_dynamodb_conditional_reservations_racing_never_oversell(deps: Any) -> None:
    # Several rounds: without the lock, moto lets racing conditional writes through in
    # most rounds; with it, every round sells exactly what there is.
    for _ in range(5):
        sku = fresh_sku(deps, {"WH-GETAFE": UNITS})
        start = threading.Barrier(RACERS)

        def reserve(_: int, sku: str = sku, start: threading.Barrier = start) -> bool:
            start.wait()
            try:
                deps.store.apply_stock([StockChange(sku=sku, location_id="WH-GETAFE", reserved=1)])
            except OutOfStock:
                return False
            return True

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            results = list(pool.map(reserve, range(RACERS)))
        assert results.count(True) == UNITS
        assert stock_of(deps, sku) == {"WH-GETAFE": (UNITS, UNITS)}


def test_cheap_transaction_rollback_copies_no_table_and_still_rolls_back(
    deps: Any, monkeypatch: Any
) -> None:
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.table import Table

    copied: list[str] = []
    real_copy = dynamodb_models.copy

    def spying_deepcopy(value: Any, memo: Any = None) -> Any:
        result = real_copy.deepcopy(value, memo)
        if isinstance(value, Table) and result is not value:
            copied.append(value.name)
        return result

    monkeypatch.setattr(
        dynamodb_models, "copy", SimpleNamespace(deepcopy=spying_deepcopy, copy=real_copy.copy)
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = deps.settings.table_name
    kept, added, blocked = (f"IT#{uuid.uuid4().hex}" for _ in range(3))
    dynamodb.put_item(TableName=table, Item=to_item({"pk": kept, "sk": "X", "n": 1}))

    def transact(block_value: int) -> None:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": to_item({"pk": kept, "sk": "X"}),
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": to_item({":one": 1}),
                    }
                },
                {"Put": {"TableName": table, "Item": to_item({"pk": added, "sk": "X"})}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": to_item({"pk": blocked, "sk": "X", "v": block_value}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def item(pk: str) -> dict[str, Any] | None:
        found = dynamodb.get_item(TableName=table, Key=to_item({"pk": pk, "sk": "X"}))
        return from_item(found["Item"]) if "Item" in found else None

    dynamodb.put_item(TableName=table, Item=to_item({"pk": blocked, "sk": "X", "v": 0}))
    try:
        transact(1)
    except dynamodb.exceptions.TransactionCanceledException:
        pass
    else:  # pragma: no cover - the condition on the third item must fail
        raise AssertionError("the transaction should have been cancelled")
    # Cancelled: the update and the new item are undone, the blocking item untouched.
    assert item(kept) == {"pk": kept, "sk": "X", "n": 1}
    assert item(added) is None
    assert item(blocked) == {"pk": blocked, "sk": "X", "v": 0}

    dynamodb.delete_item(TableName=table, Key=to_item({"pk": blocked, "sk": "X"}))
    transact(2)
    assert item(kept) == {"pk": kept, "sk": "X", "n": 2}
    assert item(added) == {"pk": added, "sk": "X"}
    assert item(blocked) == {"pk": blocked, "sk": "X", "v": 2}
    # Neither transaction copied the table (moto copies it once per item otherwise).
    assert copied == []


def test_in_process_lambdas_report_a_steps_exception_by_its_class_name(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    order_id = place_then_sell_out(deps, body, sku)
    order = wait_for_status(deps, order_id, "REJECTED")
    described = wait_for_execution(deps, order)

    # ReserveStock raised OutOfStock; the ASL saw that name and took its Catch.
    events = raw_history(described["execution_arn"])
    errors = [
        e["lambdaFunctionFailedEventDetails"]["error"] for e in events if "Failed" in e["type"]
    ]
    assert errors == ["OutOfStock"]
    assert states_entered(described) == [
        "AuthorizePayment",
        "ReserveStock",
        "RejectOrder",
        "OrderRejected",
    ]
    reject_input = next(
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in events
        if e["type"] == "TaskStateEntered"
        and e["stateEnteredEventDetails"]["name"] == "RejectOrder"
    )
    assert reject_input["rejection"]["Error"] == "OutOfStock"
    assert deps.store.get_order(order_id).status_reason.value == "out_of_stock"

    # The same through Lambda's own API: a function error named after the exception.
    answer = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="orquesta-local-reserve_stock",
        Payload=json.dumps({"order_id": f"ord_missing_{uuid.uuid4().hex[:8]}"}),
    )
    assert answer["FunctionError"] == "Unhandled"
    payload = json.loads(answer["Payload"].read())
    assert payload["errorType"] == "NotFound"

    # And SNS deliveries reach the app's subscriber in this process, once each. Other
    # tests' executions publish on the same stack meanwhile: count only this event.
    subscriber = stack.lambdas.handlers["on_order_event"]
    delivered: list[str] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        delivered.append(json.loads(event["Records"][0]["Sns"]["Message"])["event_id"])
        return subscriber(event, context)

    monkeypatch.setitem(stack.lambdas.handlers, "on_order_event", recording)
    event_id = uuid.uuid4().hex
    deps.events.publish({"type": "test.ignored", "event_id": event_id})
    stack.lambdas.drain()
    assert delivered.count(event_id) == 1


def test_write_outbox_keeps_every_email_sent_as_an_eml_file(deps: Any, stack: Any) -> None:
    address = f"outbox-{uuid.uuid4().hex[:8]}@example.com"
    message_id = deps.mailer.send(
        address,
        "Pedido de prueba: enviado",
        "<p>Tu pedido ha salido.</p>",
        "Tu pedido ha salido.\n",
    )

    path = stack.outbox / f"{message_id}.eml"
    assert path.is_file()
    message = email.message_from_string(path.read_text(encoding="utf-8"), policy=default_policy)
    assert message["To"] == address
    assert str(message["Subject"]) == "Pedido de prueba: enviado"
    parts = {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert parts["text/plain"].strip() == "Tu pedido ha salido."
    assert "<p>Tu pedido ha salido.</p>" in parts["text/html"]


def test_write_sms_outbox_keeps_every_text_message_as_a_file(deps: Any, stack: Any) -> None:
    phone = f"+3460{uuid.uuid4().int % 10_000_000:07d}"

    message_id = deps.texter.send(phone, "Tu código es 123456.")

    path = stack.outbox / f"{message_id}.sms.txt"
    assert path.is_file()
    assert path.read_text(encoding="utf-8") == f"To: {phone}\n\nTu código es 123456.\n"


def _rejections_out_of_stock() -> float:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace="Orquesta",
        MetricName="OrderRejected",
        Dimensions=[
            {"Name": "reason", "Value": "out_of_stock"},
            {"Name": "service", "Value": "orquesta"},
        ],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in answer["Datapoints"])


def test_emf_to_cloudwatch_makes_the_business_metrics_queryable(client: Any, deps: Any) -> None:
    before = _rejections_out_of_stock()
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    order_id = place_then_sell_out(deps, body, sku)
    wait_for_status(deps, order_id, "REJECTED")

    # The rejection's event was counted where ops would chart it, by reason.
    eventually(lambda: _rejections_out_of_stock() >= before + 1)
    listed = boto3.client("cloudwatch", region_name=REGION).list_metrics(Namespace="Orquesta")
    names = {metric["MetricName"] for metric in listed["Metrics"]}
    assert {"OrderStatusChanged", "OrderRejected"} <= names


def test_stop_aborts_at_once_an_execution_parked_on_its_delivery(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {"WH-GETAFE": 2})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    wait_for_status(deps, order_id, "SHIPPED")
    eventually(lambda: all(f.task_token for f in deps.store.get_order(order_id).fulfillments))
    arn = deps.store.get_order(order_id).execution_arn

    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn)

    # As on AWS: ABORTED, not FAILED by the interrupted wait's error, and nothing of the
    # delivery-timeout branch ran.
    status = eventually(lambda: (s := deps.workflow.status(arn)) != "RUNNING" and s)
    assert status == "ABORTED"
    assert "HandleTimeout" not in states_entered(deps.workflow.describe(arn))
    shipment = deps.store.get_order(order_id).fulfillments[0].shipment
    assert shipment is not None and shipment.breached_at is None


def test_cache_interpreter_clients_gives_the_interpreter_one_client_per_service(
    stack: Any,
) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils import boto_client

    # What Lambda task states call, and the source every other integration imports from.
    for module in (lambda_eval_utils, boto_client):
        first = module.boto_client_for(REGION, "lambda")
        assert module.boto_client_for(REGION, "lambda") is first
        assert module.boto_client_for(REGION, "dynamodb") is not first
    assert lambda_eval_utils.boto_client_for(REGION, "sns") is boto_client.boto_client_for(
        REGION, "sns"
    )


def test_jitter_apart_leaves_the_process_wide_random_state_alone(stack: Any) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl import (
        JitterStrategy,
        JitterStrategyDecl,
    )

    full = JitterStrategyDecl(JitterStrategy.FULL)
    env = SimpleNamespace(stack=[4.0])
    before = random.getstate()
    full._eval_body(env)  # what a Retry with "JitterStrategy": "FULL" evaluates
    assert random.getstate() == before
    assert 0 <= env.stack[-1] <= 4.0


def test_raise_dev_server_backlog_serves_fifty_concurrent_clients(stack: Any) -> None:
    from chalice.local import ThreadedHTTPServer

    assert ThreadedHTTPServer.request_queue_size > 5
    assert stack._http.server.request_queue_size > 5
    clients = 50
    start = threading.Barrier(clients)

    def get_health(_: int) -> int:
        start.wait()
        return requests.get(f"{stack.url}/health", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(get_health, range(clients)))
    assert statuses == [200] * clients


def test_stop_running_executions_leaves_none_running(client: Any, deps: Any, settings: Any) -> None:
    handling = 3  # seconds the execution waits at AwaitHandover
    settings.handling_seconds = int(handling * settings.time_scale)
    sku = fresh_sku(deps, {"WH-GETAFE": 2})
    order_id = place(client, order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}]))
    reserved = wait_for_status(deps, order_id, "RESERVED")
    assert deps.workflow.describe(reserved.execution_arn)["status"] == "RUNNING"

    assert adaptations.stop_running_executions() >= 1

    sfn = boto3.client("stepfunctions", region_name=REGION)
    running = sfn.list_executions(
        stateMachineArn=deps.settings.state_machine_arn, statusFilter="RUNNING"
    )["executions"]
    assert running == []
    # moto reports an execution stopped inside the Map as FAILED (MapIterationAborted).
    assert deps.workflow.describe(reserved.execution_arn)["status"] in ("ABORTED", "FAILED")
    # A stopped execution writes nothing more: the order does not ship after the wait. A
    # twin placed after the stop, with the same wait, ships: by then the stopped execution's
    # wait, which began earlier, has run out too.
    twin_sku = fresh_sku(deps, {"WH-GETAFE": 2})
    twin = place(
        client, order_body(lines=[{"sku": twin_sku, "quantity": 1, "fulfillment": "ship"}])
    )
    try:
        wait_for_status(deps, twin, "SHIPPED")
    finally:
        stop_if_running(deps, twin)
    after = deps.store.get_order(order_id)
    assert after.status.value == "RESERVED"
    assert after.version == reserved.version
    assert stock_of(deps, sku) == {"WH-GETAFE": (2, 1)}


def test_stopped_task_history_readable_when_the_stop_lands_as_a_task_is_scheduled(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 156: an execution stopped as a task was scheduled answered ops 500 for good.
    # The stop is put at that instant: the parcel's dispatch task (a service task, its
    # timeout read from the input) evaluates its timeout once for the state, then again
    # as it schedules the task; the stop lands between the two.
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
        Timeout,
        TimeoutSecondsPath,
    )

    key = idempotency_key()
    order_id = expected_order_id(STOREFRONT, key)
    evaluated: list[str] = []
    stopped: list[str] = []
    original_eval = Timeout.eval

    def stop_as_scheduled(self: Any, env: Any) -> None:
        arn = env.states.context_object.context_object_data["Execution"]["Id"]
        if isinstance(self, TimeoutSecondsPath) and order_id in arn:
            evaluated.append(arn)
            if len(evaluated) == 2:
                stopped.append(arn)
                sfn = boto3.client("stepfunctions", region_name=REGION)
                sfn.stop_execution(executionArn=arn)
        original_eval(self, env)

    monkeypatch.setattr(Timeout, "eval", stop_as_scheduled)
    sku = fresh_sku(deps, {"WH-GETAFE": 1})
    body = order_body(lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}])
    placed, _key = post_order(client, body, key=key)
    assert placed.status_code == 202, placed.body
    arn = eventually(lambda: stopped and stopped[0])
    eventually(lambda: deps.workflow.status(arn) == "ABORTED")

    events = raw_history(arn)

    assert events[-1]["type"] == "ExecutionAborted"
    answered = client.http.get(f"/ops/orders/{order_id}/execution", headers=OPS)
    assert answered.status_code == 200, answered.body
    assert answered.json_body["status"] == "ABORTED"


def test_unstarted_executions_read_running_while_their_start_is_under_way(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Probe 26A: one request described the execution another was starting, inside moto's
    # window between listing it and starting it, and answered 500.
    from moto.stepfunctions.parser.backend.execution import Execution

    key = idempotency_key()
    order_id = expected_order_id(STOREFRONT, key)
    seen: list[str] = []
    original_start = Execution.start

    def described_as_it_starts(self: Any) -> None:
        if self.exec_arn.endswith(f":{order_id}"):
            sfn = boto3.client("stepfunctions", region_name=REGION)
            seen.append(sfn.describe_execution(executionArn=self.exec_arn)["status"])
        original_start(self)

    monkeypatch.setattr(Execution, "start", described_as_it_starts)
    placed, _key = post_order(client, order_body(), key=key)

    assert placed.status_code == 202, placed.body
    assert seen == ["RUNNING"]
