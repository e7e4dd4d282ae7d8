"""Carrier webhooks, on fakes."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import NotFound
from chalicelib.domain.orders import OrderStatus
from tests.fakes import RecordingEvents
from tests.service import flows


def _tracking(deps: Deps) -> tuple[str, str, str]:
    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    return order.order_id, parcel.shipment.carrier, parcel.shipment.tracking_number


def test_a_delivery_event_marks_the_order_delivered(deps: Deps) -> None:
    order_id, carrier, tracking = _tracking(deps)
    answer = flows.carrier_event(deps, carrier, tracking)
    assert answer["status"] == "applied"
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED


def test_the_same_event_twice_is_applied_once(deps: Deps) -> None:
    _order_id, carrier, tracking = _tracking(deps)
    first = flows.carrier_event(deps, carrier, tracking, event_id="evt_once")
    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_once")
    assert (first["status"], again["status"]) == ("applied", "duplicate")
    assert isinstance(deps.events, RecordingEvents)
    delivered = [
        e for e in deps.events.of_type("order.status_changed") if e["status"] == "DELIVERED"
    ]
    assert len(delivered) == 1


def test_an_unknown_parcel_is_acknowledged_and_ops_are_told(deps: Deps) -> None:
    answer = flows.carrier_event(deps, "rapido", "TRK-NOBODY")
    assert answer["status"] != "applied"
    assert isinstance(deps.events, RecordingEvents)
    (subject, message) = deps.events.alerts[-1]
    assert "TRK-NOBODY" in subject
    assert message["kind"] == "unknown_tracking_number"


def test_an_unknown_carrier_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound):
        flows.carrier_event(deps, "nobody", "TRK-1")


def test_a_failed_application_forgets_the_event_so_the_retry_applies_it(deps: Deps) -> None:
    order_id, carrier, tracking = _tracking(deps)
    real = deps.store.get_order

    def broken(order_id: str) -> object:
        raise RuntimeError("the table did not answer")

    deps.store.get_order = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        flows.carrier_event(deps, carrier, tracking, event_id="evt_retry")
    deps.store.get_order = real  # type: ignore[method-assign]
    assert flows.carrier_event(deps, carrier, tracking, event_id="evt_retry")["status"] == "applied"
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
