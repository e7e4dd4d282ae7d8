"""The shipment records on the order side of the table: written beside their order, found by
tracking number, carrier and period, overdue while open. Each test runs on the fake and on
DynamoDB (moto) and expects the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.domain.orders import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentStatus,
    FulfillmentType,
    HistoryEntry,
    OrderStatus,
)
from tests.support.builders import NOW, new_id, order, shipment


def _stored(store: Any) -> Any:
    placed = order()
    placed.history.append(HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail="placed"))
    store.create_order(placed)
    return placed


def _shipped(store: Any, promised_in: timedelta) -> tuple[Any, Fulfillment]:
    placed = _stored(store)
    booking = shipment(promised_by=NOW + promised_in)
    booking.tracking_number = new_id("TRK")
    parcel = Fulfillment(
        fulfillment_id=new_id("ful"),
        type=FulfillmentType.SHIP,
        location_id="WH-1",
        lines=[FulfillmentLine(sku="TSHIRT-BLK-M", quantity=2)],
        shipment=booking,
        status=FulfillmentStatus.SHIPPED,
    )
    assert store.put_shipment(placed.order_id, parcel, 2)
    return placed, parcel


def test_a_tracking_number_leads_to_its_order(store: Any) -> None:
    placed, parcel = _shipped(store, timedelta(hours=24))
    assert parcel.shipment is not None
    found = store.order_for_shipment("rapido", parcel.shipment.tracking_number)
    assert found == placed.order_id
    with pytest.raises(NotFound):
        store.order_for_shipment("rapido", new_id("TRK"))


def test_shipments_are_found_by_carrier_and_period(store: Any) -> None:
    _placed, parcel = _shipped(store, timedelta(hours=24))
    assert parcel.shipment is not None
    window = store.shipments_between(
        "rapido", "express", NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    )
    assert parcel.shipment.tracking_number in {r["tracking_number"] for r in window}
    before = store.shipments_between(
        "rapido", "express", NOW - timedelta(days=2), NOW - timedelta(days=1)
    )
    assert parcel.shipment.tracking_number not in {r["tracking_number"] for r in before}


def test_a_period_holds_its_start_and_not_its_end(store: Any) -> None:
    # Probe 215: a parcel handed over exactly at a period's end counted in that period
    # and in the next, though each says [start, end).
    _placed, parcel = _shipped(store, timedelta(hours=24))
    assert parcel.shipment is not None and parcel.shipment.shipped_at is not None
    at = parcel.shipment.shipped_at
    second = timedelta(seconds=1)

    def held(start: datetime, end: datetime) -> bool:
        window = store.shipments_between("rapido", "express", start, end)
        return _tracking(parcel) in {r["tracking_number"] for r in window}

    assert (held(at - second, at), held(at, at + second), held(at - second, at + second)) == (
        False,
        True,
        True,
    )


def test_an_open_shipment_is_overdue_once_its_promise_passed(store: Any) -> None:
    _placed, parcel = _shipped(store, timedelta(hours=2))
    assert parcel.shipment is not None
    tracking = parcel.shipment.tracking_number
    early, _ = store.overdue_shipments(NOW + timedelta(hours=1))
    late, _ = store.overdue_shipments(NOW + timedelta(hours=3))
    assert tracking not in {r["tracking_number"] for r in early}
    assert tracking in {r["tracking_number"] for r in late}


def _tracking(parcel: Fulfillment) -> str:
    assert parcel.shipment is not None
    return parcel.shipment.tracking_number


def _overdue(store: Any, parcel: Fulfillment) -> bool:
    late, _ = store.overdue_shipments(NOW + timedelta(hours=3))
    return _tracking(parcel) in {r["tracking_number"] for r in late}


def _as_scored(store: Any, parcel: Fulfillment) -> dict[str, Any]:
    window = store.shipments_between(
        "rapido", "express", NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    )
    (record,) = [r for r in window if r["tracking_number"] == _tracking(parcel)]
    return dict(record)


def _delivered(parcel: Fulfillment) -> Fulfillment:
    closed = parcel.model_copy(deep=True)
    assert closed.shipment is not None
    closed.status = FulfillmentStatus.DELIVERED
    closed.shipment.delivered_at = NOW + timedelta(hours=1)
    return closed


def test_a_closed_record_leaves_the_open_index_and_shows_in_the_scorecard(store: Any) -> None:
    placed, parcel = _shipped(store, timedelta(hours=2))
    assert _overdue(store, parcel)
    assert store.put_shipment(placed.order_id, _delivered(parcel), 3)
    assert not _overdue(store, parcel)
    assert _as_scored(store, parcel)["delivered_at"] == (NOW + timedelta(hours=1)).isoformat()


def test_a_record_from_an_older_version_of_the_order_is_refused(store: Any) -> None:
    # A late writer (a dispatch retried after the delivery was written) must not put the
    # parcel back among the open ones.
    placed, parcel = _shipped(store, timedelta(hours=2))
    assert store.put_shipment(placed.order_id, _delivered(parcel), 4)
    assert not store.put_shipment(placed.order_id, parcel, 3)
    assert not store.put_shipment(placed.order_id, parcel, 4)
    assert not _overdue(store, parcel)
    assert _as_scored(store, parcel)["delivered_at"] is not None


def test_a_record_written_ahead_of_its_order_gives_way_at_the_same_version(store: Any) -> None:
    placed, parcel = _shipped(store, timedelta(hours=2))
    rebooked = parcel.model_copy(deep=True)
    assert rebooked.shipment is not None
    rebooked.shipment.promised_by = NOW + timedelta(hours=5)
    # Ahead of version 3 (the dispatch's order write may never happen): a retry ahead of
    # the same version replaces it, and so does the order's own record at that version.
    assert store.put_shipment(placed.order_id, parcel, 3, ahead=True)
    assert store.put_shipment(placed.order_id, rebooked, 3, ahead=True)
    assert _as_scored(store, parcel)["promised_by"] == rebooked.shipment.promised_by.isoformat()
    assert store.put_shipment(placed.order_id, parcel, 3)
    assert _overdue(store, parcel)
    # Written from the order at version 3, nothing ahead of 3 replaces it.
    assert not store.put_shipment(placed.order_id, rebooked, 3, ahead=True)
    assert not store.put_shipment(placed.order_id, rebooked, 3)
    assert _as_scored(store, parcel)["promised_by"] == (NOW + timedelta(hours=2)).isoformat()


def test_a_parcel_not_shipped_by_its_fulfillment_is_not_open(store: Any) -> None:
    placed, parcel = _shipped(store, timedelta(hours=2))
    given_back = parcel.model_copy(update={"status": FulfillmentStatus.CANCELLED})
    assert store.put_shipment(placed.order_id, given_back, 3)
    assert not _overdue(store, parcel)


def test_a_record_is_dropped_only_for_its_own_order(store: Any) -> None:
    placed, parcel = _shipped(store, timedelta(hours=2))
    assert not store.drop_shipment("rapido", _tracking(parcel), new_id("ord"))
    assert _overdue(store, parcel)
    assert store.drop_shipment("rapido", _tracking(parcel), placed.order_id)
    assert not _overdue(store, parcel)
    assert not store.drop_shipment("rapido", _tracking(parcel), placed.order_id)
    with pytest.raises(NotFound):
        store.order_for_shipment("rapido", _tracking(parcel))
    # Written again (a retried dispatch), from any version.
    assert store.put_shipment(placed.order_id, parcel, 2)
    assert _overdue(store, parcel)


# Stock --------------------------------------------------------------------------------------


def test_a_breached_unconfirmed_parcel_is_watched_again_at_its_lost_deadline(store: Any) -> None:
    # Once breached it leaves the promise's watch, and comes back when it is due to be
    # declared lost: the scheduled check declares it if no execution waits for it.
    placed, parcel = _shipped(store, timedelta(hours=2))
    breached = parcel.model_copy(deep=True)
    assert breached.shipment is not None
    breached.shipment.breached_at = NOW + timedelta(hours=2, minutes=1)
    breached.shipment.lost_by = NOW + timedelta(days=1)
    assert store.put_shipment(placed.order_id, breached, 3)

    assert not _overdue(store, parcel)  # not at its promise any more
    before, _ = store.overdue_shipments(NOW + timedelta(hours=23))
    after, _ = store.overdue_shipments(NOW + timedelta(days=1, minutes=1))
    assert _tracking(parcel) not in {r["tracking_number"] for r in before}
    assert _tracking(parcel) in {r["tracking_number"] for r in after}
    # Delivered late after all: watched no more.
    assert store.put_shipment(placed.order_id, _delivered(breached), 4)
    gone, _ = store.overdue_shipments(NOW + timedelta(days=1, minutes=1))
    assert _tracking(parcel) not in {r["tracking_number"] for r in gone}
