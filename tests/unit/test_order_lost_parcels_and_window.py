"""An order at rest, decided by the domain: lost parcels, a late delivery after the loss,
the waits a cancel releases, and a return window that runs from the delivery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.returns import ReturnLine
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import (
    NOW,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    fulfillment_id,
    line,
    pickup,
    reserved,
    shipment,
)

LOST_AT = NOW + timedelta(days=31)


def shipped() -> tuple[Order, str]:
    """Two T-shirts shipped from the warehouse, not yet confirmed."""
    placed = reserved([line("TSHIRT-BLK-M", 2)], [allocate("TSHIRT-BLK-M", WAREHOUSE, 2)])
    (only,) = placed.fulfillments
    placed.dispatch_shipment(only.fulfillment_id, shipment(), NOW)
    return placed, only.fulfillment_id


def mixed() -> tuple[Order, str, str]:
    """A T-shirt shipped and a mug waiting at Sol."""
    placed = reserved(
        [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)],
        [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)],
    )
    ship_id = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    pickup_id = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship_id, shipment(), NOW)
    placed.ready_for_pickup(pickup_id, "123456", NOW + timedelta(days=3), NOW)
    return placed, ship_id, pickup_id


def test_a_lost_parcel_is_owed_back_and_the_order_keeps_its_status() -> None:
    placed, fid = shipped()
    owed, entry = placed.lose_fulfillment(fid, LOST_AT)
    assert owed.amount == Decimal("39.90")
    assert entry is None
    assert placed.status is OrderStatus.SHIPPED
    lost = placed.fulfillment(fid)
    assert lost.status is FulfillmentStatus.LOST
    assert lost.shipment is not None and lost.shipment.lost_at == LOST_AT
    # Nothing of it is kept, so nothing of it can be returned or refunded again.
    assert placed.kept_quantities() == {"TSHIRT-BLK-M": 0}


def test_only_a_parcel_still_out_can_be_lost() -> None:
    placed, fid = shipped()
    placed.deliver(fid, NOW + timedelta(hours=20))
    with pytest.raises(Conflict):
        placed.lose_fulfillment(fid, LOST_AT)
    again, fid2 = shipped()
    again.lose_fulfillment(fid2, LOST_AT)
    with pytest.raises(Conflict):
        again.lose_fulfillment(fid2, LOST_AT)


def test_a_lost_parcel_beside_a_collected_pickup_leaves_the_order_delivered() -> None:
    placed, ship_id, pickup_id = mixed()
    placed.return_window_seconds = 30 * 86400
    placed.deliver(pickup_id, NOW + timedelta(hours=2))
    assert placed.status is OrderStatus.SHIPPED
    owed, entry = placed.lose_fulfillment(ship_id, LOST_AT)
    assert owed.amount == Decimal("19.95")
    assert entry is not None and entry.status is OrderStatus.DELIVERED
    assert placed.status is OrderStatus.DELIVERED
    # The window opens now, for the mug only.
    assert placed.returns_window_ends == LOST_AT + timedelta(days=30)
    assert placed.returnable_quantities() == {"TSHIRT-BLK-M": 0, "MUG-WHT": 1}


def test_a_delivery_reported_after_the_loss_is_recorded_once_without_going_back() -> None:
    placed, fid = shipped()
    placed.lose_fulfillment(fid, LOST_AT)
    late = LOST_AT + timedelta(days=2)
    assert placed.delivered_after_loss(fid, late) is True
    assert placed.delivered_after_loss(fid, late + timedelta(hours=1)) is False
    lost = placed.fulfillment(fid)
    assert lost.status is FulfillmentStatus.LOST
    assert lost.shipment is not None and lost.shipment.delivered_at == late
    assert placed.status is OrderStatus.SHIPPED


def test_a_lost_parcel_cannot_be_cancelled() -> None:
    placed, fid = shipped()
    placed.lose_fulfillment(fid, LOST_AT)
    with pytest.raises(Conflict):
        placed.cancel(LOST_AT, StatusReason.CUSTOMER_REQUEST, "changed my mind")


def test_release_waits_hands_over_every_parked_token_once() -> None:
    placed, _, _ = mixed()
    placed.fulfillments[0].task_token = "t-ship"
    placed.fulfillments[1].task_token = "t-pickup"
    placed.returns_task_token = "t-returns"
    assert sorted(placed.release_waits()) == ["t-pickup", "t-returns", "t-ship"]
    assert placed.release_waits() == []
    assert [f.task_token for f in placed.fulfillments] == [None, None]


def test_the_return_window_runs_from_the_delivery_not_from_placement() -> None:
    placed, fid = shipped()
    placed.return_window_seconds = 30 * 86400
    delivered_at = NOW + timedelta(days=40)  # confirmed very late
    placed.deliver(fid, delivered_at)
    assert placed.delivered_at() == delivered_at
    assert placed.returns_window_ends == delivered_at + timedelta(days=30)
    back = [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)]
    placed.request_return("ret_a", back, "x", "mail", None, delivered_at + timedelta(days=29))
    with pytest.raises(Conflict) as refused:
        placed.request_return("ret_b", back, "x", "mail", None, delivered_at + timedelta(days=36))
    assert refused.value.field == "status"


def test_an_order_without_its_own_window_uses_the_one_given_from_the_delivery() -> None:
    placed, fid = shipped()
    delivered_at = NOW + timedelta(days=2)
    placed.deliver(fid, delivered_at)
    assert placed.returns_window_ends is None
    back = [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)]
    with pytest.raises(Conflict):
        placed.request_return(
            "ret_c", back, "x", "mail", None, delivered_at + timedelta(days=36), timedelta(days=30)
        )
    placed.request_return(
        "ret_d", back, "x", "mail", None, delivered_at + timedelta(days=30), timedelta(days=30)
    )


def test_a_lost_only_parcel_is_in_the_history_though_the_order_stays_shipped() -> None:
    # Probe 180: every parcel lost and refunded, and the history ended at SHIPPED.
    placed, fid = shipped()
    placed.lose_fulfillment(fid, LOST_AT)
    last = placed.history[-1]
    assert (last.status, last.at, last.fulfillment_id) == (OrderStatus.SHIPPED, LOST_AT, fid)
    assert last.detail == f"{fid} lost by rapido"
    assert placed.became_at(OrderStatus.SHIPPED) == NOW
