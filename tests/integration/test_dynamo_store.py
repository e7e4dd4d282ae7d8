"""DynamoStore on moto, on the running stack's table, with keys of its own (fresh order ids,
SKUs, markers): orders created once and saved against their version, stock reservations all
or nothing with ``available`` kept consistent, one-time markers. The sandbox payment gateway
is in test_sandbox_gateway.py."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.catalog import LocationType
from chalicelib.domain.errors import ConcurrentModification, Conflict, ItemFull, OutOfStock
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import Channel, CustomerContact, OrderLine
from chalicelib.ports import StockChange
from tests.support.builders import stock


def new_order(total: str = "10.00") -> Order:
    """An ACCEPTED order of one line, not stored yet."""
    now = datetime.now(UTC)
    price = Money.of(total)
    order = Order(
        order_id=f"ord_it_{uuid.uuid4().hex[:12]}",
        channel=Channel.WEB,
        contact=CustomerContact(email="store-test@example.com"),
        lines=[
            OrderLine(
                sku="TSHIRT-BLK-M",
                name="Camiseta negra M",
                quantity=1,
                unit_price=price,
                line_total=price,
                fulfillment=FulfillmentType.SHIP,
            )
        ],
        total=price,
        payment_token="tok_visa",
        placed_at=now,
    )
    order.history.append(HistoryEntry(status=OrderStatus.ACCEPTED, at=now, detail="test"))
    return order


def new_sku(deps: Any, levels: dict[str, tuple[int, int]]) -> str:
    """A fresh SKU with ``{location: (on_hand, safety_stock)}``, nothing reserved."""
    sku = f"IT-{uuid.uuid4().hex[:10].upper()}"
    for location_id, (on_hand, safety) in levels.items():
        deps.store.put_stock(
            stock(
                sku,
                location_id,
                on_hand,
                location_type=(
                    LocationType.WAREHOUSE if location_id.startswith("WH") else LocationType.STORE
                ),
                pickup=not location_id.startswith("WH"),
                safety_stock=safety,
            )
        )
    return sku


def raw_stock(deps: Any, sku: str, location_id: str) -> dict[str, Any]:
    """The stock item exactly as stored, ``available`` attribute included."""
    response = boto3.client("dynamodb", region_name=deps.settings.region).get_item(
        TableName=deps.settings.table_name,
        Key=to_item({"pk": f"STOCK#{sku}", "sk": f"LOC#{location_id}"}),
        ConsistentRead=True,
    )
    return from_item(response["Item"])


def counts(deps: Any, sku: str) -> dict[str, tuple[int, int, int]]:
    """``{location: (on_hand, reserved, stored available)}``."""
    return {
        level.location_id: (
            level.on_hand,
            level.reserved,
            raw_stock(deps, sku, level.location_id)["available"],
        )
        for level in deps.store.stock_levels(sku)
    }


def assert_available_consistent(deps: Any, sku: str) -> None:
    for level in deps.store.stock_levels(sku):
        item = raw_stock(deps, sku, level.location_id)
        assert item["available"] == item["on_hand"] - item["reserved"] - item["safety_stock"], item
        assert item["on_hand"] >= 0 and item["reserved"] >= 0, item


# Orders ---------------------------------------------------------------------------------
def test_create_order_twice_is_a_conflict_and_keeps_the_first(deps: Any) -> None:
    order = new_order()
    deps.store.create_order(order)
    assert order.version == 1

    again = new_order(total="99.00").model_copy(update={"order_id": order.order_id})
    with pytest.raises(Conflict):
        deps.store.create_order(again)

    stored = deps.store.get_order(order.order_id)
    assert stored.version == 1
    assert stored.total == Money.of("10.00")
    assert [h.status for h in stored.history] == [OrderStatus.ACCEPTED]


def test_saving_a_stale_order_is_a_concurrent_modification(deps: Any) -> None:
    order = new_order()
    deps.store.create_order(order)
    first = deps.store.get_order(order.order_id)
    second = deps.store.get_order(order.order_id)

    entry = first.record_payment("pay_first", datetime.now(UTC))
    deps.store.save_order(first, entry)
    assert first.version == 2

    second.record_payment("pay_second", datetime.now(UTC))
    with pytest.raises(ConcurrentModification):
        deps.store.save_order(second)

    stored = deps.store.get_order(order.order_id)
    assert stored.version == 2
    assert stored.payment.payment_id == "pay_first"
    assert [h.status for h in stored.history] == [OrderStatus.ACCEPTED, OrderStatus.PAID]


def test_a_reservation_beyond_what_is_available_changes_nothing(deps: Any) -> None:
    plenty = new_sku(deps, {"WH-GETAFE": (5, 0)})
    scarce = new_sku(deps, {"WH-GETAFE": (4, 2)})  # two of the four are safety stock
    order = new_order()
    deps.store.create_order(order)
    deps.store.save_order(order, order.record_payment("pay_x", datetime.now(UTC)))
    paid = deps.store.get_order(order.order_id)
    before = (counts(deps, plenty), counts(deps, scarce))

    entry = paid.move_to(OrderStatus.RESERVED, datetime.now(UTC), "test reservation")
    with pytest.raises(OutOfStock, match=scarce):
        deps.store.save_order(
            paid,
            entry,
            [
                StockChange(sku=plenty, location_id="WH-GETAFE", reserved=3),
                StockChange(sku=scarce, location_id="WH-GETAFE", reserved=3),
            ],
            [(f"SHIPMENT#test#{uuid.uuid4().hex}", order.order_id)],
        )

    # All or nothing: the order, its history and the other line's stock are as before.
    stored = deps.store.get_order(order.order_id)
    assert stored.status is OrderStatus.PAID
    assert stored.version == 2
    assert [h.status for h in stored.history] == [OrderStatus.ACCEPTED, OrderStatus.PAID]
    assert (counts(deps, plenty), counts(deps, scarce)) == before

    # What is available (not counting safety stock) can be reserved.
    retry = deps.store.get_order(order.order_id)
    entry = retry.move_to(OrderStatus.RESERVED, datetime.now(UTC), "test reservation")
    deps.store.save_order(
        retry,
        entry,
        [
            StockChange(sku=plenty, location_id="WH-GETAFE", reserved=3),
            StockChange(sku=scarce, location_id="WH-GETAFE", reserved=2),
        ],
    )
    assert counts(deps, plenty) == {"WH-GETAFE": (5, 3, 2)}
    assert counts(deps, scarce) == {"WH-GETAFE": (4, 2, 0)}
    assert deps.store.get_order(order.order_id).status is OrderStatus.RESERVED


def test_available_stays_on_hand_minus_reserved_minus_safety_stock(deps: Any) -> None:
    sku = new_sku(deps, {"WH-GETAFE": (10, 2), "ST-MADRID": (3, 1)})
    assert_available_consistent(deps, sku)
    steps = [
        [StockChange(sku=sku, location_id="WH-GETAFE", reserved=4)],  # reserve
        [StockChange(sku=sku, location_id="WH-GETAFE", on_hand=-3, reserved=-3)],  # ship
        [StockChange(sku=sku, location_id="WH-GETAFE", reserved=-1)],  # release
        [StockChange(sku=sku, location_id="ST-MADRID", on_hand=2)],  # a return restocked
        [
            StockChange(sku=sku, location_id="ST-MADRID", reserved=4),
            StockChange(sku=sku, location_id="WH-GETAFE", reserved=5),
        ],
    ]
    for changes in steps:
        deps.store.apply_stock(changes)
        assert_available_consistent(deps, sku)
    assert counts(deps, sku) == {"WH-GETAFE": (7, 5, 0), "ST-MADRID": (5, 4, 0)}

    refused = [
        [StockChange(sku=sku, location_id="ST-MADRID", reserved=1)],  # only safety stock left
        [StockChange(sku=sku, location_id="WH-GETAFE", reserved=-6)],  # more than reserved
        [StockChange(sku=sku, location_id="WH-GETAFE", reserved=1)],  # nothing available
        [StockChange(sku=sku, location_id="ST-MADRID", on_hand=-6, reserved=-4)],  # > on hand
        [StockChange(sku=sku, location_id="NOWHERE", on_hand=1)],  # no such stock item
    ]
    for changes in refused:
        with pytest.raises(OutOfStock):
            deps.store.apply_stock(changes)
        assert_available_consistent(deps, sku)
    assert counts(deps, sku) == {"WH-GETAFE": (7, 5, 0), "ST-MADRID": (5, 4, 0)}


def test_remember_once_is_true_the_first_time_only(deps: Any) -> None:
    key = f"it:{uuid.uuid4().hex}"
    assert deps.store.remember_once(key, 60) is True
    assert deps.store.remember_once(key, 60) is False
    assert deps.store.has_marker(key)

    racing = f"it:{uuid.uuid4().hex}"
    results: list[bool] = []
    start = threading.Barrier(8)

    def remember() -> None:
        start.wait()
        results.append(deps.store.remember_once(racing, 60))

    threads = [threading.Thread(target=remember) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_a_save_that_changes_the_order_alone_is_one_plain_conditional_write(deps: Any) -> None:
    # A transaction bills each item twice; one item is as atomic with a conditional PutItem.
    order = new_order()
    deps.store.create_order(order)
    fresh = deps.store.get_order(order.order_id)
    stale = deps.store.get_order(order.order_id)
    operations: list[str] = []
    this_test = threading.current_thread()

    def record(model: Any, **_: Any) -> None:
        # The client is shared with the stack's own threads (projections, schedules).
        if threading.current_thread() is this_test:
            operations.append(model.name)

    events = deps.store.table.client.meta.events
    events.register("before-call.dynamodb", record)
    try:
        fresh.delivery_task_token = "token-1"
        deps.store.save_order(fresh)
        stale.delivery_task_token = "token-2"
        with pytest.raises(ConcurrentModification):
            deps.store.save_order(stale)
    finally:
        events.unregister("before-call.dynamodb", record)

    assert operations == ["UpdateItem", "UpdateItem"]
    stored = deps.store.get_order(order.order_id)
    assert (stored.version, stored.delivery_task_token) == (2, "token-1")


def _over_an_item(order: Order) -> None:
    """Give the order's state more than DynamoDB holds in one item (400 KB), past the
    domain's limits: what only a bug would write."""
    order.payment.payment_id = "p" * 420_000


def test_a_write_past_the_item_size_limit_is_item_full_and_changes_nothing(deps: Any) -> None:
    # Probe 201: DynamoDB's refusal was a 500 at every later write of a full order.
    order = new_order()
    deps.store.create_order(order)
    first = deps.store.get_order(order.order_id)
    first.record_payment("pay_ok", datetime.now(UTC))
    deps.store.save_order(first)  # the state item exists: the next save is an update
    grown = deps.store.get_order(order.order_id)
    _over_an_item(grown)

    with pytest.raises(ItemFull):
        deps.store.save_order(grown)

    assert deps.store.get_order(order.order_id).payment.payment_id == "pay_ok"


def test_a_transaction_past_the_item_size_limit_is_item_full_and_changes_nothing(
    deps: Any,
) -> None:
    order = new_order()
    deps.store.create_order(order)
    sku = new_sku(deps, {"WH-GETAFE": (5, 0)})
    grown = deps.store.get_order(order.order_id)
    _over_an_item(grown)
    reserve = StockChange(sku=sku, location_id="WH-GETAFE", reserved=1)

    with pytest.raises(ItemFull):
        deps.store.save_order(grown, stock=[reserve])

    assert deps.store.get_order(order.order_id).payment.payment_id is None
    assert [level.reserved for level in deps.store.stock_levels(sku)] == [0]
