"""The order's items without a table (``adapters/dynamodb/order_items``): the update that
writes only what changed, and the attributes read back as the order written."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters.dynamodb.order_items import (
    DETAIL_FIELDS,
    StoredOrder,
    order_of,
    update_of,
    values_of,
)
from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from tests.support.builders import NOW, delivered, line, order


def _entry(status: OrderStatus) -> dict[str, str]:
    return HistoryEntry(status=status, at=NOW, detail=status.value).model_dump(mode="json")


def test_nothing_changed_is_no_update() -> None:
    state = {"status": "PAID", "history": [_entry(OrderStatus.ACCEPTED)]}
    assert update_of(state, dict(state)) is None


def test_changed_values_are_set_and_those_back_at_their_default_removed() -> None:
    before = {"status": "PAID", "status_reason": "out_of_stock", "attention": {"kind": "x"}}
    after = {"status": "REJECTED", "attention": {"kind": "x"}}
    update = update_of(before, after)
    assert update is not None
    assert update.expression == "SET #a0 = :a0 REMOVE #r0"
    assert update.names == {"#a0": "status", "#r0": "status_reason"}
    assert update.values == {":a0": "REJECTED"}


def test_a_list_that_only_grew_gets_its_new_entries_appended() -> None:
    first, second, third = (
        _entry(OrderStatus.ACCEPTED),
        _entry(OrderStatus.PAID),
        _entry(OrderStatus.RESERVED),
    )
    update = update_of({"history": [first]}, {"history": [first, second, third]})
    assert update is not None
    assert update.expression == "SET #a0 = list_append(#a0, :a0)"
    assert update.values == {":a0": [second, third]}


def test_a_list_rewritten_or_new_is_set_whole() -> None:
    first, second = _entry(OrderStatus.ACCEPTED), _entry(OrderStatus.PAID)
    rewritten = update_of({"history": [first, second]}, {"history": [second, first, second]})
    created = update_of({}, {"history": [first]})
    assert rewritten is not None and created is not None
    assert rewritten.expression == created.expression == "SET #a0 = :a0"
    assert rewritten.values == {":a0": [second, first, second]}


def test_what_is_also_given_is_always_set() -> None:
    update = update_of({"status": "PAID"}, {"status": "PAID"}, {"version": 3})
    assert update is not None
    assert (update.expression, update.names, update.values) == (
        "SET #a0 = :a0",
        {"#a0": "version"},
        {":a0": 3},
    )


def test_an_order_through_dynamodb_types_reads_back_as_it_was() -> None:
    placed = delivered(line("TSHIRT-BLK-M", 2), window=timedelta(days=30))
    details, state = values_of(placed)
    assert set(details) <= DETAIL_FIELDS and not set(state) & DETAIL_FIELDS
    assert state["status"] == "DELIVERED"
    stored = StoredOrder(from_item(to_item(details)), from_item(to_item(state)), placed.version)
    assert order_of(placed.order_id, stored) == placed


def test_the_status_is_stored_even_at_its_default_and_defaults_are_left_out() -> None:
    details, state = values_of(order())
    assert state == {"status": "ACCEPTED"}
    assert "shipping_address" not in details and "receipt_code" not in details
