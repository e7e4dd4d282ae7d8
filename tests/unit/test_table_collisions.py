"""Writes that meet another transaction on their items, as DynamoDB answers them (moto
never does: its writes do not overlap, so these answers are played with botocore's
Stubber). Nothing was applied, so the same request is sent again; a condition that failed
is never retried, and a collision is never mistaken for one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.dynamodb import table as table_module
from chalicelib.adapters.dynamodb.stock import StockRepository
from chalicelib.adapters.dynamodb.table import (
    COLLISION_ATTEMPTS,
    ConditionFailed,
    Table,
    TransactionCancelled,
    WriteCollided,
)
from chalicelib.domain.errors import ConcurrentModification, MovementRejected

KEY = {"pk": "ORDER#o1", "sk": "STATE"}
OTHER = {"pk": "STOCK#s1", "sk": "LOC#WH"}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Table, Stubber]]:
    monkeypatch.setattr(table_module.time, "sleep", lambda seconds: None)
    client = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield Table(client, "orders"), stubber
        stubber.assert_no_pending_responses()


def _conflict(stubber: Stubber, method: str, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(
            method,
            service_error_code="TransactionConflictException",
            service_message="Transaction is ongoing for the item",
            http_status_code=400,
        )


def _cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        http_status_code=400,
        response_meta={},
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def _two_writes(table: Table) -> list[dict[str, Any]]:
    return [
        table.update(KEY, "SET #v = :v", "#v = :old", {":v": 2, ":old": 1}, {"#v": "version"}),
        table.update(OTHER, "ADD reserved :one", None, {":one": 1}),
    ]


def test_an_update_that_met_a_transaction_is_sent_again(stubbed: Any) -> None:
    table, stubber = stubbed
    _conflict(stubber, "update_item", times=2)
    stubber.add_response("update_item", {"Attributes": {"pk": {"S": "ORDER#o1"}}})

    written = table.write(table.update(KEY, "SET #v = :v", None, {":v": 2}, {"#v": "version"}))

    assert written == {"pk": "ORDER#o1"}


def test_a_write_that_keeps_colliding_is_a_lost_race_not_a_failed_condition(
    stubbed: Any,
) -> None:
    table, stubber = stubbed
    put = table.put(KEY | {"version": 1}, "attribute_not_exists(pk)")
    _conflict(stubber, "put_item", times=2 * COLLISION_ATTEMPTS)

    with pytest.raises(WriteCollided) as collided:
        table.write(put)
    # The one write of a transaction: cancelled, on no condition.
    with pytest.raises(TransactionCancelled) as cancelled:
        table.transact([put])

    assert isinstance(collided.value, ConcurrentModification)
    assert not isinstance(collided.value, ConditionFailed)
    assert cancelled.value.failed == []


def test_a_failed_condition_is_not_retried(stubbed: Any) -> None:
    table, stubber = stubbed
    stubber.add_client_error("delete_item", service_error_code="ConditionalCheckFailedException")

    with pytest.raises(ConditionFailed):
        table.write(table.delete(KEY, "attribute_exists(pk)"))


def test_a_transaction_cancelled_by_a_collision_is_sent_again(stubbed: Any) -> None:
    table, stubber = stubbed
    _cancelled(stubber, "None", "TransactionConflict")
    _cancelled(stubber, "ThrottlingError", "None")
    stubber.add_response("transact_write_items", {})

    assert table.transact_if(_two_writes(table)) is True


def test_a_transaction_cancelled_by_its_condition_is_not_sent_again(stubbed: Any) -> None:
    table, stubber = stubbed
    # A condition failed, whatever else happened: the write is refused as it stands.
    _cancelled(stubber, "ConditionalCheckFailed", "TransactionConflict")

    with pytest.raises(TransactionCancelled) as cancelled:
        table.transact(_two_writes(table))

    assert cancelled.value.failed == [(KEY["pk"], KEY["sk"])]


def test_a_transaction_that_keeps_colliding_gives_up_naming_no_condition(
    stubbed: Any,
) -> None:
    table, stubber = stubbed
    for _ in range(COLLISION_ATTEMPTS):
        _cancelled(stubber, "TransactionConflict", "None")

    with pytest.raises(TransactionCancelled) as cancelled:
        table.transact(_two_writes(table))

    assert cancelled.value.failed == []


def test_backing_off_leaves_the_process_wide_random_state_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hypothesis, drawing in a test process where the local stack's writes collide, warned
    # that the module-level random state moved under its strategies.
    monkeypatch.setattr(table_module.time, "sleep", lambda seconds: None)
    before = random.getstate()
    for attempt in range(1, COLLISION_ATTEMPTS):
        table_module._back_off(attempt)
    assert random.getstate() == before


def test_a_stock_movement_that_keeps_colliding_is_a_lost_race_not_a_refusal(
    stubbed: Any,
) -> None:
    """Probe 224, reading: a receipt whose transaction met other writers every time was
    refused as a movement taking more than the shelf holds ("cannot give -5")."""
    table, stubber = stubbed
    for _ in range(COLLISION_ATTEMPTS):
        _cancelled(stubber, "TransactionConflict", "None")
    stubber.add_response("get_item", {})  # the ledger holds no entry of it

    movement = {"movement_id": "mv1", "sku": "s1", "location_id": "WH", "at": "2026-12-07"}
    with pytest.raises(ConcurrentModification) as lost:
        StockRepository(table).record_movement("s1", "WH", 5, 0, movement)

    assert not isinstance(lost.value, MovementRejected)
