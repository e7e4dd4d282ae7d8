"""The low-stock check after a reservation, on fakes: each SKU the reservation took is
checked against its levels read after the write (alerting once per crossing, re-arming a
SKU back above its threshold), with the products read in one request and the markers in
another, however many SKUs the order holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.deps import Deps
from chalicelib.domain.orders import Order
from chalicelib.services import payment_steps, stock_steps
from chalicelib.services.step_models import OrderStep
from tests.fakes import RecordingEvents
from tests.fakes.orders import FakeOrderStore
from tests.service import flows
from tests.support.catalogue import fresh_sku

WAREHOUSE = "WH-GETAFE"


def _reads(deps: Deps) -> Counter[str]:
    assert isinstance(deps.store, FakeOrderStore)
    return deps.store.reads


def _low_stock_alerts(deps: Deps) -> list[dict[str, Any]]:
    assert isinstance(deps.events, RecordingEvents)
    return [message for _, message in deps.events.alerts if message.get("kind") == "low_stock"]


def _paid(deps: Deps, quantities: dict[str, int]) -> Order:
    lines = [{"sku": sku, "quantity": n, "fulfillment": "ship"} for sku, n in quantities.items()]
    order = flows.place(deps, lines=lines)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    return order


def _reserve(order: Order, deps: Deps) -> None:
    stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)


def test_reserving_two_skus_reads_their_products_once_and_their_markers_once(
    deps: Deps,
) -> None:
    first = fresh_sku(deps, {WAREHOUSE: 20}, threshold=3)
    second = fresh_sku(deps, {WAREHOUSE: 20}, threshold=3)
    order = _paid(deps, {first: 1, second: 2})
    _reads(deps).clear()

    _reserve(order, deps)

    reads = _reads(deps)
    assert (reads["products_of"], reads["product"]) == (1, 0)
    assert (reads["markers_held"], reads["marker"]) == (1, 0)
    # Each SKU's levels: once to plan the reservation, once after it for the check.
    assert reads["stock_levels"] == 4
    assert _low_stock_alerts(deps) == []


def test_a_reservation_crossing_one_skus_threshold_alerts_once_for_that_sku(
    deps: Deps,
) -> None:
    scarce = fresh_sku(deps, {WAREHOUSE: 6}, threshold=5)
    plenty = fresh_sku(deps, {WAREHOUSE: 50}, threshold=5)

    _reserve(_paid(deps, {scarce: 1, plenty: 1}), deps)  # 5 left: not below
    assert _low_stock_alerts(deps) == []
    _reserve(_paid(deps, {scarce: 1, plenty: 1}), deps)  # 4 left: below
    _reserve(_paid(deps, {scarce: 1, plenty: 1}), deps)  # still below: no second alert

    (alert,) = _low_stock_alerts(deps)
    assert (alert["sku"], alert["available_to_promise"], alert["threshold"]) == (scarce, 4, 5)
    assert deps.store.has_marker(f"lowstock:{scarce}")
    assert not deps.store.has_marker(f"lowstock:{plenty}")


def test_a_reservation_leaving_a_sku_above_its_threshold_rearms_its_alert(deps: Deps) -> None:
    # An alert from an earlier crossing whose recovery no check saw (stock released by a
    # cancellation re-arms nothing): the reservation's check re-arms it, so the next
    # crossing alerts again.
    sku = fresh_sku(deps, {WAREHOUSE: 8}, threshold=5)
    other = fresh_sku(deps, {WAREHOUSE: 50}, threshold=5)
    assert deps.store.remember_once(f"lowstock:{sku}", 3600)

    _reserve(_paid(deps, {sku: 1, other: 1}), deps)  # 7 left: above, re-armed
    assert not deps.store.has_marker(f"lowstock:{sku}")
    _reserve(_paid(deps, {sku: 3}), deps)  # 4 left: a new crossing

    (alert,) = _low_stock_alerts(deps)
    assert (alert["sku"], alert["available_to_promise"]) == (sku, 4)


def _sell(deps: Deps, sku: str, quantity: int) -> None:
    from chalicelib.domain.requests import RecordMovementRequest
    from chalicelib.services import inventory

    request = RecordMovementRequest.model_validate(
        {"sku": sku, "location_id": WAREHOUSE, "type": "sale", "quantity": quantity}
    )
    inventory.record_movement(request, deps)


def test_a_check_that_read_before_anothers_crossing_leaves_its_alert_armed(deps: Deps) -> None:
    # Probe 174: 18 concurrent sales from 20 down to 2 raised 3 alerts for one crossing. A
    # sale whose reading came before another's crossing saw the SKU above its threshold
    # and dropped the marker that crossing had just set; the next sale alerted again.
    from chalicelib.services import inventory
    from tests.fakes import Clock

    sku = fresh_sku(deps, {WAREHOUSE: 10}, threshold=5)
    assert isinstance(deps.clock, Clock)
    read_at, early = deps.clock(), deps.store.stock_levels(sku)  # A reads: 10, above
    deps.clock.advance(seconds=1)
    _sell(deps, sku, 6)  # B crosses: 4 left, alerted
    assert len(_low_stock_alerts(deps)) == 1

    inventory.check_low_stock(sku, deps, early, read_at)  # A's check, on its reading
    _sell(deps, sku, 1)  # C: 3 left, the same crossing

    assert len(_low_stock_alerts(deps)) == 1
    # Restocked above the threshold, then below again: a new crossing, a new alert.
    deps.clock.advance(seconds=1)
    from chalicelib.domain.requests import RecordMovementRequest

    receipt = RecordMovementRequest.model_validate(
        {"sku": sku, "location_id": WAREHOUSE, "type": "receipt", "quantity": 20}
    )
    inventory.record_movement(receipt, deps)
    deps.clock.advance(seconds=1)
    _sell(deps, sku, 20)
    assert [a["available_to_promise"] for a in _low_stock_alerts(deps)] == [4, 3]
