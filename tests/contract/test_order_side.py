"""The order side of the table: orders, stock, catalogue, markers (the shipment records are in
test_shipment_side.py). Each test runs on the fake and on DynamoDB (moto) and expects the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.catalog import Location, LocationType, Product
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    MovementRejected,
    NotFound,
    OutOfStock,
)
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.money import Money
from chalicelib.domain.orders import (
    HistoryEntry,
    OrderStatus,
    StatusReason,
)
from chalicelib.domain.payments import OperationStatus
from chalicelib.domain.settlement import record_owed
from chalicelib.ports import StockChange
from tests.support.builders import NOW, new_id, order, paid

WAREHOUSE = Location(
    location_id="WH-1",
    type=LocationType.WAREHOUSE,
    name="W",
    city="Getafe",
    pickup=False,
    ships=True,
)


def _stock(
    store: Any, sku: str, location_id: str = "WH-1", on_hand: int = 5, **counts: int
) -> None:
    store.put_stock(
        StockLevel(
            sku=sku,
            location_id=location_id,
            location_type=LocationType.WAREHOUSE,
            ships=True,
            pickup=False,
            on_hand=on_hand,
            **({"reserved": 0} | counts),
        )
    )


def _level(store: Any, sku: str, location_id: str = "WH-1") -> StockLevel:
    (level,) = [lv for lv in store.stock_levels(sku) if lv.location_id == location_id]
    return level


def _stored(store: Any) -> Any:
    placed = order()
    placed.history.append(HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail="placed"))
    store.create_order(placed)
    return placed


# Orders -------------------------------------------------------------------------------------
def test_an_unknown_order_is_not_found(store: Any) -> None:
    with pytest.raises(NotFound):
        store.get_order(new_id())


def test_an_order_reads_back_as_it_was_created_at_version_one(store: Any) -> None:
    placed = _stored(store)
    found = store.get_order(placed.order_id)
    assert found == placed
    assert found.version == 1
    assert [h.status for h in found.history] == [OrderStatus.ACCEPTED]


def test_whose_contact_fields_were_reads_back_and_a_save_takes_one_off(store: Any) -> None:
    placed = order()
    placed.contact.phone = "+34600111222"
    placed.contact_owned_by = {"phone": "cus_other", "email": "cus_third"}
    placed.history.append(HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail="placed"))
    store.create_order(placed)
    assert store.get_order(placed.order_id).contact_owned_by == placed.contact_owned_by

    current = store.get_order(placed.order_id)
    current.contact.phone = None
    del current.contact_owned_by["phone"]
    store.save_order(current)

    stored = store.get_order(placed.order_id)
    assert (stored.contact.phone, stored.contact_owned_by) == (None, {"email": "cus_third"})


def test_an_order_id_is_created_once(store: Any) -> None:
    placed = _stored(store)
    again = store.get_order(placed.order_id)
    again.version = 0
    with pytest.raises(Conflict):
        store.create_order(again)


def test_a_save_over_a_newer_version_is_refused_and_writes_nothing(store: Any) -> None:
    placed = _stored(store)
    first, second = store.get_order(placed.order_id), store.get_order(placed.order_id)
    first.contact.name = "First"
    store.save_order(first)
    second.contact.name = "Second"
    with pytest.raises(ConcurrentModification):
        store.save_order(second)
    assert store.get_order(placed.order_id).contact.name == "First"
    assert store.get_order(placed.order_id).version == 2


def test_a_stale_save_whose_stock_also_moved_is_a_lost_race_not_out_of_stock(
    store: Any,
) -> None:
    # Two writers read the order holding 1 reserved unit; the first releases it. The
    # second, deciding on its stale read, would release it again: it lost a race (to be
    # read again and decided anew), the stock is not short.
    sku = new_id("SKU")
    _stock(store, sku, on_hand=3)
    placed = _stored(store)
    current = store.get_order(placed.order_id)
    store.save_order(current, None, [StockChange(sku=sku, location_id="WH-1", reserved=1)])
    first, second = store.get_order(placed.order_id), store.get_order(placed.order_id)
    release = [StockChange(sku=sku, location_id="WH-1", reserved=-1)]
    store.save_order(first, None, release)
    with pytest.raises(ConcurrentModification) as lost:
        store.save_order(second, None, release)
    assert not isinstance(lost.value, OutOfStock)
    assert _level(store, sku).reserved == 0
    assert store.get_order(placed.order_id).version == 3


def test_a_save_adds_its_history_entry(store: Any) -> None:
    placed = _stored(store)
    current = store.get_order(placed.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")
    store.save_order(current, entry)
    stored = store.get_order(placed.order_id)
    assert [h.status for h in stored.history] == [OrderStatus.ACCEPTED, OrderStatus.CANCELLED]
    assert stored.history[-1] == entry
    assert stored.status is OrderStatus.CANCELLED


def test_a_save_short_of_stock_names_the_sku_and_writes_nothing(store: Any) -> None:
    sku, other = new_id("SKU"), new_id("SKU")
    _stock(store, sku, on_hand=1)
    _stock(store, other, on_hand=5)
    placed = _stored(store)
    current = store.get_order(placed.order_id)
    current.contact.name = "Changed"
    changes = [
        StockChange(sku=other, location_id="WH-1", reserved=2),
        StockChange(sku=sku, location_id="WH-1", reserved=2),
    ]
    with pytest.raises(OutOfStock, match=sku):
        store.save_order(current, None, changes)
    assert store.get_order(placed.order_id).version == 1
    assert store.get_order(placed.order_id).contact.name == "Ana"
    assert _level(store, other).reserved == 0


def test_an_order_owing_money_is_listed_until_nothing_is_owed(store: Any) -> None:
    placed = paid()
    store.create_order(placed)
    current = store.get_order(placed.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")
    record_owed(current, NOW)
    store.save_order(current, entry)
    assert placed.order_id in store.orders_owing(100)
    settled = store.get_order(placed.order_id)
    assert settled.payment.listed_as_owed
    for operation in settled.payment.owed():
        settled.payment.operations.remove(operation)
    store.save_order(settled)
    assert placed.order_id not in store.orders_owing(100)


def _owing_since(store: Any, minutes: int) -> str:
    """A paid order, cancelled: its void recorded as owed ``minutes`` after NOW."""
    placed = paid()
    store.create_order(placed)
    current = store.get_order(placed.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "asked")
    record_owed(current, NOW + timedelta(minutes=minutes))
    store.save_order(current, entry)
    return placed.order_id


def test_orders_owing_come_longest_owed_first_up_to_the_limit(store: Any) -> None:
    # Twelve orders: on DynamoDB they are listed over several shards of the index.
    owing = {minutes: _owing_since(store, minutes) for minutes in range(12, 0, -1)}
    longest_owed_first = [owing[minutes] for minutes in sorted(owing)]
    assert store.orders_owing(100) == longest_owed_first
    assert store.orders_owing(5) == longest_owed_first[:5]


def test_an_order_keeps_its_place_among_those_owing_while_it_owes_anything(
    store: Any,
) -> None:
    first = _owing_since(store, 1)
    second = _owing_since(store, 2)
    current = store.get_order(first)
    (void,) = current.payment.owed()
    later = void.model_copy(
        update={"key": f"{first}:shipping:void", "recorded_at": NOW + timedelta(minutes=3)}
    )
    void.status, void.done_at = OperationStatus.DONE, NOW
    current.payment.operations.append(later)
    store.save_order(current)
    assert store.orders_owing(100) == [first, second]
    assert store.orders_owing(1) == [first]


def test_a_return_leads_to_its_order(store: Any) -> None:
    placed = _stored(store)
    return_id = new_id("ret")
    store.save_order(store.get_order(placed.order_id), None, None, [return_id])
    assert store.order_for_return(return_id) == placed.order_id
    with pytest.raises(NotFound):
        store.order_for_return(new_id("ret"))


def test_a_save_may_change_one_stock_item_twice(store: Any) -> None:
    # An order shipping and collecting one SKU at one store holds it in two fulfillments;
    # DynamoDB refuses two operations on one item in a transaction (found by a probe: the
    # order was cancelled as a processing error).
    sku = new_id("SKU")
    _stock(store, sku, on_hand=4)
    placed = _stored(store)
    current = store.get_order(placed.order_id)
    current.contact.name = "Changed"
    twice = [
        StockChange(sku=sku, location_id="WH-1", reserved=1),
        StockChange(sku=sku, location_id="WH-1", reserved=2),
    ]
    store.save_order(current, None, twice)
    assert _level(store, sku).reserved == 3
    assert store.get_order(placed.order_id).contact.name == "Changed"
    # Short only together: refused as one, nothing written.
    again = store.get_order(placed.order_id)
    again.contact.name = "Again"
    with pytest.raises(OutOfStock, match=sku):
        store.save_order(again, None, twice)
    assert _level(store, sku).reserved == 3
    assert store.get_order(placed.order_id).contact.name == "Changed"
    store.apply_stock([StockChange(sku=sku, location_id="WH-1", reserved=-1)] * 2)
    assert _level(store, sku).reserved == 1


def test_stock_changes_apply_all_or_nothing(store: Any) -> None:
    plenty, scarce = new_id("SKU"), new_id("SKU")
    _stock(store, plenty, on_hand=10)
    _stock(store, scarce, on_hand=1)
    with pytest.raises(OutOfStock, match=scarce):
        store.apply_stock(
            [
                StockChange(sku=plenty, location_id="WH-1", reserved=3),
                StockChange(sku=scarce, location_id="WH-1", reserved=2),
            ]
        )
    assert _level(store, plenty).reserved == 0
    store.apply_stock([StockChange(sku=plenty, location_id="WH-1", reserved=3)])
    assert _level(store, plenty).available == 7


@pytest.mark.parametrize(
    "change",
    [
        {"reserved": -1},  # releasing more than is reserved
        {"on_hand": -6},  # taking more than is on hand
    ],
    ids=["release", "take"],
)
def test_stock_never_goes_below_zero(store: Any, change: dict[str, int]) -> None:
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5)
    with pytest.raises(OutOfStock):
        store.apply_stock([StockChange(sku=sku, location_id="WH-1", **change)])
    assert _level(store, sku).on_hand == 5


def test_safety_stock_is_not_available(store: Any) -> None:
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5, safety_stock=3)
    with pytest.raises(OutOfStock):
        store.apply_stock([StockChange(sku=sku, location_id="WH-1", reserved=3)])
    store.apply_stock([StockChange(sku=sku, location_id="WH-1", reserved=2)])


def test_stock_at_a_location_never_stocked_is_out(store: Any) -> None:
    with pytest.raises(OutOfStock):
        store.apply_stock([StockChange(sku=new_id("SKU"), location_id="WH-1", reserved=1)])


def test_ensuring_a_stock_item_keeps_what_is_there(store: Any) -> None:
    sku = new_id("SKU")
    store.ensure_stock_item(sku, WAREHOUSE)
    assert _level(store, sku).on_hand == 0
    store.apply_stock([StockChange(sku=sku, location_id="WH-1", on_hand=4)])
    store.ensure_stock_item(sku, WAREHOUSE)
    assert _level(store, sku).on_hand == 4


def _movement(sku: str, delta: int, at: str) -> dict[str, Any]:
    return {"movement_id": new_id("mov"), "sku": sku, "on_hand_delta": delta, "at": at}


def test_a_movement_changes_on_hand_and_is_kept_in_time_order(store: Any) -> None:
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5)
    store.record_movement(sku, "WH-1", 3, 0, _movement(sku, 3, "2026-03-02T10:00:00"))
    store.record_movement(sku, "WH-1", -2, 0, _movement(sku, -2, "2026-03-02T09:00:00"))
    assert _level(store, sku).on_hand == 6
    assert [m["on_hand_delta"] for m in store.movements(sku)] == [-2, 3]


def test_a_movement_recorded_again_under_its_id_changes_nothing_and_answers_the_first(
    store: Any,
) -> None:
    # The request asked again under its Idempotency-Key runs later: another moment, the
    # same id. Keyed by its moment, the ledger took it as a new entry (a review).
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5)
    first = _movement(sku, -2, "2026-03-02T10:00:00")
    again = first | {"at": "2026-03-02T10:00:31"}

    assert store.record_movement(sku, "WH-1", -2, 0, first) == first
    assert store.record_movement(sku, "WH-1", -2, 0, again) == first

    assert _level(store, sku).on_hand == 3
    assert store.movements(sku) == [first]


def test_a_movement_cannot_take_units_promised_to_orders(store: Any) -> None:
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5)
    store.apply_stock([StockChange(sku=sku, location_id="WH-1", reserved=4)])
    with pytest.raises(MovementRejected):
        store.record_movement(sku, "WH-1", -2, 0, _movement(sku, -2, "2026-03-02T10:00:00"))
    assert _level(store, sku).on_hand == 5
    assert store.movements(sku) == []


def test_a_movement_checks_the_safety_stock_it_read(store: Any) -> None:
    sku = new_id("SKU")
    _stock(store, sku, on_hand=5, safety_stock=1)
    with pytest.raises(MovementRejected):
        store.record_movement(sku, "WH-1", -1, 0, _movement(sku, -1, "2026-03-02T10:00:00"))


# Catalogue and markers ----------------------------------------------------------------------
def test_products_and_locations_read_back(store: Any) -> None:
    sku = new_id("SKU")
    product = Product(sku=sku, name="Socks", price=Money.of("4.50"))
    store.put_product(product)
    store.put_location(WAREHOUSE)
    assert store.product(sku) == product
    assert product in store.products()
    assert store.product(new_id("SKU")) is None
    assert WAREHOUSE in store.locations()


def test_products_of_several_skus_read_together_leave_out_the_unknown(store: Any) -> None:
    socks, hat = new_id("SKU"), new_id("SKU")
    for sku, price in ((socks, "4.50"), (hat, "12.00")):
        store.put_product(Product(sku=sku, name=sku, price=Money.of(price)))
    unknown = new_id("SKU")
    found = store.products_of([socks, unknown, hat, socks])
    assert found == {socks: store.product(socks), hat: store.product(hat)}
    assert store.products_of([]) == {}


def test_a_marker_is_remembered_once_until_forgotten(store: Any) -> None:
    key = new_id("evt")
    assert not store.has_marker(key)
    assert store.remember_once(key, 3600)
    assert not store.remember_once(key, 3600)
    assert store.has_marker(key)
    store.forget(key)
    assert store.remember_once(key, 3600)


def test_a_marker_is_forgotten_only_if_set_before_the_moment_given(store: Any) -> None:
    # The low-stock re-arm: a reading taken before another request set the marker must
    # not drop it (a probe's concurrent sales alerted three times for one crossing).
    from datetime import UTC, datetime

    before, kept = new_id("evt"), new_id("evt")
    store.remember_once(before, 3600)
    assert store.forget_set_before(before, datetime.now(UTC) + timedelta(seconds=5))
    assert not store.has_marker(before)
    store.remember_once(kept, 3600)
    assert not store.forget_set_before(kept, datetime.now(UTC) - timedelta(seconds=5))
    assert store.has_marker(kept)
    # None set: nothing to do, and nothing said dropped (what it guarded is not settled).
    assert not store.forget_set_before(new_id("evt"), datetime.now(UTC))


def test_markers_held_names_only_those_set(store: Any) -> None:
    held, forgotten, never = new_id("evt"), new_id("evt"), new_id("evt")
    store.remember_once(held, 3600)
    store.remember_once(forgotten, 3600)
    store.forget(forgotten)
    assert store.markers_held([held, forgotten, never, held]) == {held}
    assert store.markers_held([]) == set()
