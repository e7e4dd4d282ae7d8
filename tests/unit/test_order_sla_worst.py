"""The order's own SLA block is the worst of its shipments' (API.md "Delivery SLA"). A
probe: one parcel delivered within the grace after its promise (late, never breached) and
one breached before it arrived (late, with ``breached_at``) made the order read late with
no breach, the first parcel's block winning a tie of statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.api.models import OrderResponse
from chalicelib.domain.fulfillments import sla_severity
from chalicelib.domain.orders import Order
from tests.support.builders import NOW, STORE_SOL, WAREHOUSE, allocate, line, reserved, shipment

GRACE = timedelta(hours=72)


def _two_parcels_both_late(breached_first: bool) -> Order:
    """Two parcels promised a day out, both delivered late: one inside the grace, one
    after its breach was recorded; ``breached_first`` puts the breached one first."""
    lines = [line("TSHIRT-BLK-M", 1), line("MUG-WHT", 1)]
    placed = reserved(
        lines, [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)]
    )
    first, second = placed.fulfillments
    breached, within_grace = (first, second) if breached_first else (second, first)
    for fulfillment in (breached, within_grace):
        booked = shipment(NOW + timedelta(days=1))
        booked.breach_due = booked.promised_by + GRACE
        placed.dispatch_shipment(fulfillment.fulfillment_id, booked, NOW)
    late_one = breached.shipment
    assert late_one is not None and late_one.breach_due is not None
    late_one.breached_at = late_one.breach_due
    placed.deliver(breached.fulfillment_id, late_one.breach_due + timedelta(hours=5))
    placed.deliver(within_grace.fulfillment_id, NOW + timedelta(days=2))
    return placed


@pytest.mark.parametrize("breached_first", [True, False])
def test_an_order_with_a_breached_parcel_shows_the_breach_whichever_parcel_comes_first(
    breached_first: bool,
) -> None:
    placed = _two_parcels_both_late(breached_first)
    blocks = [f.shipment.sla(NOW + timedelta(days=5)) for f in placed.fulfillments if f.shipment]
    assert [b["status"] for b in blocks] == ["late", "late"]

    view = OrderResponse.from_order(placed, "https://track.example/t", now=NOW + timedelta(days=5))

    assert view.sla is not None
    assert view.sla.status == "late"
    breached_at = (NOW + timedelta(days=1) + GRACE).isoformat()
    assert view.sla.breached_at == breached_at


def test_a_breached_status_still_outranks_a_late_one() -> None:
    late_with_breach = {"status": "late", "breached_at": NOW.isoformat()}
    breached = {"status": "breached", "breached_at": NOW.isoformat()}
    late = {"status": "late", "breached_at": None}
    on_time = {"status": "on_time", "breached_at": None}

    ordered = sorted([late_with_breach, breached, late, on_time], key=sla_severity)

    assert ordered == [on_time, late, late_with_breach, breached]
