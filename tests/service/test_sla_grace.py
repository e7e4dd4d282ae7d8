"""The grace after a missed promise, on fakes. API.md (an order at rest): "Past its promise
plus the 72 h grace, the shipment's SLA is ``breached``, a ``late_delivery`` ticket is
open, ops are alerted"; and a delivered web order with one shipment sends at most 3
emails. So a parcel a day late is ``at_risk`` and nobody is told yet; delivered within the
grace it is ``late``, with no breach, apology, ticket or alert. Before, the breach was
recorded at the promise: a parcel delivered an hour late made a fourth email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.deps import Deps
from chalicelib.domain.orders import Order
from chalicelib.services import fulfillment_steps, sla
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes import RecordingEvents
from tests.service import flows

GRACE = timedelta(hours=72)


def _parcel(order: Order) -> Any:
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    return parcel


def _at(deps: Deps, moment: Any) -> None:
    clock: Any = deps.clock
    clock.now = moment


def _follow_up(deps: Deps, order: Order) -> Any:
    """The workflow's step when a wait for the carrier runs out."""
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=_parcel(order).fulfillment_id)
    return fulfillment_steps.handle_fulfillment_timeout(step, deps)


def _told(deps: Deps, order: Order) -> tuple[int, int, bool]:
    """Apologies published, ops alerts about the breach, and whether the ticket is open."""
    events = deps.events
    assert isinstance(events, RecordingEvents)
    apologies = [
        e for e in events.of_type("shipment.sla_breached") if e["order_id"] == order.order_id
    ]
    alerts = [
        m
        for _, m in events.alerts
        if m.get("kind") == "sla_breached" and m.get("order_id") == order.order_id
    ]
    ticket_id = sla.late_ticket_id(order.order_id, _parcel(order).fulfillment_id)
    return len(apologies), len(alerts), deps.customers.get_ticket(ticket_id) is not None


def _stored_parcel(deps: Deps, order: Order) -> Any:
    return _parcel(deps.store.get_order(order.order_id)).shipment


def test_the_dispatch_sets_the_end_of_the_grace_72_hours_after_the_promise(deps: Deps) -> None:
    shipment = _parcel(flows.shipped(deps)).shipment

    assert shipment.breach_due == shipment.promised_by + GRACE
    assert shipment.breaks_at == shipment.breach_due


def test_past_the_promise_the_workflow_waits_through_the_grace_and_tells_nobody(
    deps: Deps,
) -> None:
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.promised_by + timedelta(minutes=1))

    output = _follow_up(deps, order)

    assert output.keep_waiting is True
    # Until the grace is over (a second's margin: the timeout must find it passed).
    assert output.wait_seconds == int((GRACE - timedelta(minutes=1)).total_seconds()) + 1
    assert _told(deps, order) == (0, 0, False)
    stored = _stored_parcel(deps, order)
    assert stored.breached_at is None
    shown = stored.sla(deps.clock())
    assert (shown["status"], shown["breached_at"]) == ("at_risk", None)
    # The scheduled safety net agrees: nothing is due yet.
    assert sla.check_overdue_shipments(deps)["breaches_recorded"] == 0
    assert _stored_parcel(deps, order).breached_at is None


def test_when_the_grace_is_over_the_breach_is_recorded_and_told_once(deps: Deps) -> None:
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.breaks_at + timedelta(seconds=1))

    output = _follow_up(deps, order)

    stored = _stored_parcel(deps, order)
    assert stored.breached_at == shipment.promised_by + GRACE
    shown = stored.sla(deps.clock())
    assert (shown["status"], shown["breached_at"]) == ("breached", stored.breached_at.isoformat())
    assert _told(deps, order) == (1, 1, True)
    # Then the wait goes on until the parcel would be declared lost.
    lost_by = sla.lost_deadline(shipment.promised_by, deps)
    assert output.keep_waiting is True
    assert output.wait_seconds == int((lost_by - deps.clock()).total_seconds()) + 1


def test_the_safety_net_records_the_breach_only_once_the_grace_is_over(deps: Deps) -> None:
    # An execution that was stopped: only the scheduled check sees the parcel.
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.breaks_at - timedelta(minutes=1))
    assert sla.check_overdue_shipments(deps)["breaches_recorded"] == 0

    _at(deps, shipment.breaks_at + timedelta(minutes=1))
    assert sla.check_overdue_shipments(deps)["breaches_recorded"] == 1

    assert _stored_parcel(deps, order).breached_at == shipment.breaks_at
    assert _told(deps, order) == (1, 1, True)


def test_a_parcel_delivered_within_the_grace_is_late_and_never_breached(deps: Deps) -> None:
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.promised_by + timedelta(hours=20))
    assert _follow_up(deps, order).keep_waiting is True

    delivered = shipment.promised_by + timedelta(hours=19)
    answer = flows.carrier_event(
        deps, shipment.carrier, shipment.tracking_number, occurred_at=delivered.isoformat()
    )

    assert answer["status"] == "applied"
    stored = _stored_parcel(deps, order)
    shown = stored.sla(deps.clock())
    assert (shown["status"], shown["breached_at"]) == ("late", None)
    assert _told(deps, order) == (0, 0, False)
    # Should the grace's wait still run out (the release lost), nothing is told then either.
    _at(deps, shipment.breaks_at + timedelta(seconds=1))
    assert _follow_up(deps, order).keep_waiting is False
    assert _told(deps, order) == (0, 0, False)
    # The carrier scorecard counts it late.
    start, end = stored.shipped_at - timedelta(days=1), deps.clock() + timedelta(days=1)
    (row,) = [r for r in sla.sla_scorecard(deps, start, end) if r["carrier"] == stored.carrier]
    assert (row["on_time"], row["late"]) == (0, 1)


def test_a_delivery_past_the_grace_told_before_the_breach_step_shows_when_it_broke(
    deps: Deps,
) -> None:
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.breaks_at + timedelta(hours=1))
    delivered = shipment.breaks_at + timedelta(minutes=30)

    flows.carrier_event(
        deps, shipment.carrier, shipment.tracking_number, occurred_at=delivered.isoformat()
    )

    shown = _stored_parcel(deps, order).sla(deps.clock())
    assert (shown["status"], shown["breached_at"]) == ("late", shipment.breaks_at.isoformat())


def test_a_parcel_shipped_before_the_grace_was_kept_breaks_at_its_promise(deps: Deps) -> None:
    # Orders stored before this change carry no end of grace: their executions wait until
    # the promise and record the breach then, as they were told to.
    order = flows.shipped(deps)
    fulfillment_id = _parcel(order).fulfillment_id

    def as_stored_before(stored: Order) -> Change[None]:
        fulfillment = stored.fulfillment(fulfillment_id)
        assert fulfillment.shipment is not None
        fulfillment.shipment.breach_due = None
        return Change(shipments=[fulfillment])

    mutate(deps, order.order_id, as_stored_before)
    shipment = _parcel(order).shipment
    _at(deps, shipment.promised_by + timedelta(minutes=1))

    output = _follow_up(deps, order)

    assert output.keep_waiting is True
    assert _stored_parcel(deps, order).breached_at == shipment.promised_by
    assert _told(deps, order) == (1, 1, True)


def test_the_follow_up_at_the_lost_deadline_tells_the_breach_no_more(deps: Deps) -> None:
    order = flows.shipped(deps)
    shipment = _parcel(order).shipment
    _at(deps, shipment.breaks_at + timedelta(seconds=1))
    _follow_up(deps, order)
    _at(deps, sla.lost_deadline(shipment.promised_by, deps) + timedelta(seconds=1))

    assert _follow_up(deps, order).keep_waiting is False

    assert _told(deps, order) == (1, 1, True)
    assert deps.store.get_order(order.order_id).fulfillments[0].status.value == "LOST"
