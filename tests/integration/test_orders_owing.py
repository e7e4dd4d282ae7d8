"""Orders owing money on moto: listed by the keys of a sparse index on the order's state
item, written with the operations they list, and the listing items stored before the
index still swept and removed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import OperationStatus
from chalicelib.domain.settlement import record_failure, record_owed
from chalicelib.domain.status_reasons import StatusReason
from tests.integration.test_order_items import raw_items, recording
from tests.support.builders import NOW, paid


def _owing(deps: Any) -> Order:
    """A paid order, cancelled, its void recorded as owed: as stored."""
    placed = paid()
    deps.store.create_order(placed)
    current: Order = deps.store.get_order(placed.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")
    record_owed(current, NOW)
    deps.store.save_order(current, entry)
    return current


def _settled(order: Order) -> None:
    for operation in order.payment.owed():
        operation.status, operation.done_at = OperationStatus.DONE, datetime.now(UTC)


def test_an_order_is_listed_by_its_state_while_it_owes_and_settles_in_one_update(
    deps: Any,
) -> None:
    order = _owing(deps)
    state = from_item(raw_items(deps, order.order_id)["ORDER#STATE"])
    assert state[keys.OWED_SHARD] == keys.owed_shard(order.order_id)
    (void,) = order.payment.model_dump(mode="json")["operations"]
    assert state[keys.OWED_SINCE] == void["recorded_at"]
    # No listing item of its own: the index is the listing.
    assert deps.store.table.get(keys.owed(order.order_id)) is None
    assert order.order_id in deps.store.orders_owing(1000)

    store, calls = recording(deps)
    current = store.get_order(order.order_id)
    assert current.payment.listed_as_owed
    _settled(current)
    store.save_order(current)

    # The settlement is one plain conditional update of the state: unlisted with it.
    assert [name for name, _ in calls] == ["Query", "UpdateItem"]
    state = from_item(raw_items(deps, order.order_id)["ORDER#STATE"])
    assert keys.OWED_SHARD not in state and keys.OWED_SINCE not in state
    assert "listed_as_owed" not in state["payment"]
    assert order.order_id not in deps.store.orders_owing(1000)
    assert not deps.store.get_order(order.order_id).payment.listed_as_owed


def test_an_order_listed_as_an_item_before_the_index_is_swept_and_unlisted(
    deps: Any,
) -> None:
    order = _owing(deps)
    # As stored before the index: the payment marked listed, a listing item, no index keys.
    client = boto3.client("dynamodb", region_name=deps.settings.region)
    state_item = raw_items(deps, order.order_id)["ORDER#STATE"]
    state = from_item(state_item)
    for name in (keys.OWED_SHARD, keys.OWED_SINCE):
        state.pop(name)
    state["payment"]["listed_as_owed"] = True
    client.put_item(TableName=deps.settings.table_name, Item=to_item(state))
    listing = keys.owed(order.order_id) | {"order_id": order.order_id}
    client.put_item(TableName=deps.settings.table_name, Item=to_item(listing))
    assert order.order_id in deps.store.orders_owing(1000)

    # Still owing: the mark and the listing item stay (and the index lists it too).
    current = deps.store.get_order(order.order_id)
    assert current.payment.listed_as_owed
    current.contact.name = "Changed"
    deps.store.save_order(current)
    assert from_item(raw_items(deps, order.order_id)["ORDER#STATE"])["payment"]["listed_as_owed"]
    assert deps.store.table.get(keys.owed(order.order_id)) is not None
    assert deps.store.orders_owing(1000).count(order.order_id) == 1

    # Settled: the listing item goes with the write that settles it.
    current = deps.store.get_order(order.order_id)
    _settled(current)
    deps.store.save_order(current)
    assert deps.store.table.get(keys.owed(order.order_id)) is None
    assert (
        "listed_as_owed" not in from_item(raw_items(deps, order.order_id)["ORDER#STATE"])["payment"]
    )
    assert order.order_id not in deps.store.orders_owing(1000)


def test_orders_owing_are_spread_over_every_shard_of_the_index() -> None:
    shards = {keys.owed_shard(f"ord_{number:020x}") for number in range(400)}
    assert shards == {keys.owed_shard_name(shard) for shard in range(keys.OWED_SHARDS)}


def test_a_failed_try_moves_the_order_behind_those_waiting_longer(deps: Any) -> None:
    """The index's sort key is when the order became due for a try: a refused one goes
    behind the others (``Payment.due_since``), so the sweeper's page cannot fill with
    orders the gateway refuses for good."""
    refused, waiting = _owing(deps), _owing(deps)
    current = deps.store.get_order(refused.order_id)
    (void,) = current.payment.owed()
    failed_at = datetime(2030, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    record_failure(current, void.key, "PaymentRefused: authorisation expired", failed_at)
    deps.store.save_order(current)

    state = from_item(raw_items(deps, refused.order_id)["ORDER#STATE"])
    assert state[keys.OWED_SINCE] == "2030-01-01T12:00:00.250000Z"
    listed = deps.store.orders_owing(1000)
    assert listed.index(waiting.order_id) < listed.index(refused.order_id)
