"""Carrier webhooks, on fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import ConcurrentModification, NotFound, TryAgainShortly
from chalicelib.domain.fulfillments import MAX_PARCEL_EVENTS
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import carrier_events, ordering, pickups, returns, tickets
from chalicelib.services.sla import exception_ticket_id
from tests.fakes import Clock, RecordingEvents
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
    # Told again under its first id (``_tell_again``): subscribers act once per id.
    assert len({e["event_id"] for e in delivered}) == 1
    assert [e == delivered[0] for e in delivered] == [True, True]


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


def test_an_event_whose_request_died_mid_work_is_applied_by_the_carriers_next_try(
    deps: Deps,
) -> None:
    # Found by a review: a marker written before the work was kept 7 days, so every retry
    # was "duplicate", and the delivered parcel would have been breached and declared lost
    # and refunded. The order records the event in the write that applies it.
    order_id, carrier, tracking = _tracking(deps)
    real = deps.store.get_order

    def killed(order_id: str) -> object:
        raise flows.Killed

    deps.store.get_order = killed  # type: ignore[method-assign]
    with pytest.raises(flows.Killed):
        flows.carrier_event(deps, carrier, tracking, event_id="evt_killed")
    deps.store.get_order = real  # type: ignore[method-assign]
    assert deps.store.get_order(order_id).status is OrderStatus.SHIPPED

    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_killed")

    assert again["status"] == "applied"
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
    later = flows.carrier_event(deps, carrier, tracking, event_id="evt_killed")
    assert later["status"] == "duplicate"
    (parcel,) = deps.store.get_order(order_id).fulfillments
    assert parcel.shipment is not None
    assert [e["event_id"] for e in parcel.shipment.events].count("evt_killed") == 1


def test_an_exception_told_twice_alerts_ops_once(deps: Deps) -> None:
    _order_id, carrier, tracking = _tracking(deps)
    first = flows.carrier_event(deps, carrier, tracking, event_id="evt_x", type="exception")
    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_x", type="exception")
    assert (first["status"], again["status"]) == ("applied", "duplicate")
    assert isinstance(deps.events, RecordingEvents)
    kinds = [message.get("kind") for _, message in deps.events.alerts]
    assert kinds.count("carrier_exception") == 1


def test_an_event_that_came_before_its_parcel_was_known_applies_when_sent_again(
    deps: Deps,
) -> None:
    # The re-probe of 281ccb6: "ignored" used the event's id up for 7 days, so the parcel,
    # delivered, was later declared lost and refunded.
    order_id, carrier, tracking = _tracking(deps)
    real = deps.store.order_for_shipment

    def not_yet(carrier: str, tracking_number: str) -> str:
        raise NotFound(f"nothing known as {carrier}#{tracking_number}")

    deps.store.order_for_shipment = not_yet  # type: ignore[method-assign]
    early = flows.carrier_event(deps, carrier, tracking, event_id="evt_early")
    deps.store.order_for_shipment = real  # type: ignore[method-assign]
    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_early")

    assert (early["status"], again["status"]) == ("ignored", "applied")
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED


def test_an_unknown_parcel_told_twice_alerts_ops_once(deps: Deps) -> None:
    first = flows.carrier_event(deps, "rapido", "TRK-NOBODY-2", event_id="evt_u")
    again = flows.carrier_event(deps, "rapido", "TRK-NOBODY-2", event_id="evt_u")
    # Nothing was recorded: sent again, still ignored, not "duplicate", which a carrier
    # takes as delivered to us and stops sending (re-probe 189: the delivery was lost).
    assert (first["status"], again["status"]) == ("ignored", "ignored")
    assert isinstance(deps.events, RecordingEvents)
    assert [m["kind"] for _, m in deps.events.alerts].count("unknown_tracking_number") == 1


def test_one_unknown_parcel_scanned_again_and_again_alerts_ops_once(deps: Deps) -> None:
    # Probe 170: in transit, out for delivery, an exception and delivered for one unknown
    # parcel opened four alerts; another unknown parcel still gets its own.
    for n, kind in enumerate(("in_transit", "out_for_delivery", "exception", "delivered")):
        answer = flows.carrier_event(deps, "rapido", "TRK-NOBODY-3", event_id=f"e{n}", type=kind)
        assert answer["status"] == "ignored"
    # Another unknown parcel, even under an id seen for the first (ids are per parcel).
    flows.carrier_event(deps, "rapido", "TRK-NOBODY-4", event_id="e0")
    flows.carrier_event(deps, "veloz", "TRK-NOBODY-3", event_id="e10")

    assert isinstance(deps.events, RecordingEvents)
    told = [
        (m["carrier"], m["tracking_number"], m["event_id"])
        for _, m in deps.events.alerts
        if m["kind"] == "unknown_tracking_number"
    ]
    assert told == [
        ("rapido", "TRK-NOBODY-3", "e0"),
        ("rapido", "TRK-NOBODY-4", "e0"),
        ("veloz", "TRK-NOBODY-3", "e10"),
    ]


def _store(deps: Deps) -> str:
    return next(loc.location_id for loc in deps.store.locations() if loc.type.value == "store")


def _return_request(location_id: str) -> RequestReturnRequest:
    return RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "too small",
            "channel": "store",
            "location_id": location_id,
        }
    )


def _shipped_an_hour_ago(deps: Deps) -> tuple[str, str, str, datetime]:
    """A shipped order whose parcel left an hour before now: its id, carrier, tracking
    number and the moment it left."""
    order_id, carrier, tracking = _tracking(deps)
    (parcel,) = deps.store.get_order(order_id).fulfillments
    assert parcel.shipment is not None
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=1)
    return order_id, carrier, tracking, parcel.shipment.shipped_at


def test_a_delivery_the_carrier_dates_before_the_parcel_left_is_recorded_when_it_left(
    deps: Deps,
) -> None:
    order_id, carrier, tracking, shipped_at = _shipped_an_hour_ago(deps)

    flows.carrier_event(
        deps, carrier, tracking, event_id="evt_past", occurred_at="2001-01-01T00:00:00Z"
    )

    order = deps.store.get_order(order_id)
    assert order.status is OrderStatus.DELIVERED
    assert order.delivered_at() == shipped_at
    assert [entry.at for entry in order.history] == sorted(entry.at for entry in order.history)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    assert parcel.shipment.delivered_at == shipped_at
    (event,) = parcel.shipment.events
    # What the carrier said stays on the event, for audit.
    assert event["occurred_at"] == shipped_at.isoformat()
    assert event["reported_at"] == "2001-01-01T00:00:00Z"
    # The return window runs from the recorded delivery: a return a week later is taken.
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(days=7)
    opened = returns.request_return(order_id, _return_request(_store(deps)), deps)
    assert opened.status.value == "REQUESTED"


def test_a_delivery_the_carrier_dates_in_the_future_is_recorded_now(deps: Deps) -> None:
    order_id, carrier, tracking, _shipped_at = _shipped_an_hour_ago(deps)
    now = deps.clock()

    flows.carrier_event(
        deps, carrier, tracking, event_id="evt_future", occurred_at="2099-01-01T00:00:00Z"
    )

    order = deps.store.get_order(order_id)
    assert order.delivered_at() == now
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    assert parcel.shipment.delivered_at == now
    assert now < parcel.shipment.promised_by
    assert parcel.shipment.sla()["status"] == "met"
    assert order.returns_window_ends == now + timedelta(
        seconds=deps.settings.waits.return_window_seconds
    )
    (event,) = parcel.shipment.events
    assert event["reported_at"] == "2099-01-01T00:00:00Z"


def test_a_delivery_time_with_an_offset_is_recorded_in_utc(deps: Deps) -> None:
    order_id, carrier, tracking, shipped_at = _shipped_an_hour_ago(deps)
    half_way = shipped_at + timedelta(minutes=30)
    in_madrid = half_way.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert in_madrid.endswith("+02:00")

    flows.carrier_event(deps, carrier, tracking, event_id="evt_offset", occurred_at=in_madrid)

    order = deps.store.get_order(order_id)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    delivered_at = parcel.shipment.delivered_at
    assert delivered_at == half_way
    assert delivered_at is not None and delivered_at.utcoffset() == timedelta(0)
    delivered = order.delivered_at()
    assert delivered is not None and delivered.utcoffset() == timedelta(0)
    (event,) = parcel.shipment.events
    assert event["occurred_at"] == half_way.astimezone(UTC).isoformat()
    assert event["occurred_at"].endswith("+00:00")
    assert event["reported_at"] == in_madrid


def test_an_event_the_carrier_dates_correctly_is_stored_as_sent(deps: Deps) -> None:
    order_id, carrier, tracking, shipped_at = _shipped_an_hour_ago(deps)
    sent = (shipped_at + timedelta(minutes=10)).isoformat()

    flows.carrier_event(deps, carrier, tracking, type="in_transit", occurred_at=sent)

    (parcel,) = deps.store.get_order(order_id).fulfillments
    assert parcel.shipment is not None
    (event,) = parcel.shipment.events
    assert event["occurred_at"] == sent
    assert "reported_at" not in event


def test_an_event_dated_in_utc_with_z_is_stored_as_recorded_alone(deps: Deps) -> None:
    # "Z" and "+00:00" name the same moment the same way: nothing for an audit to keep,
    # and the event stays one short line in the order's state.
    order_id, carrier, tracking, shipped_at = _shipped_an_hour_ago(deps)
    moment = (shipped_at + timedelta(minutes=10)).astimezone(UTC)
    sent = moment.isoformat().replace("+00:00", "Z").lower()

    flows.carrier_event(deps, carrier, tracking, type="in_transit", occurred_at=sent)

    (parcel,) = deps.store.get_order(order_id).fulfillments
    assert parcel.shipment is not None
    (event,) = parcel.shipment.events
    assert event["occurred_at"] == moment.isoformat()
    assert "reported_at" not in event


def test_a_delivery_whose_request_died_before_telling_is_told_at_the_carriers_retry(
    deps: Deps,
) -> None:
    # A review: the write took the delivery and the event's id, then the Lambda ran out
    # of time before publishing; the carrier's retry was "duplicate", and the customer
    # never got the delivery email (nor the survey, nor the returns window's news).
    order_id, carrier, tracking = _tracking(deps)
    flows.dying_at(deps, "DELIVERED")
    with pytest.raises(flows.Killed):
        flows.carrier_event(deps, carrier, tracking, event_id="evt_untold")
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
    mails_before = len(flows.mail_everything(deps))

    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_untold")

    assert again["status"] == "duplicate"
    assert isinstance(deps.events, RecordingEvents)
    published = deps.events.of_type("order.status_changed")
    (told,) = [e for e in published if e["status"] == "DELIVERED"]
    assert told["event_id"].startswith(f"{order_id}:") and told["event_id"].endswith(":DELIVERED")
    sent = flows.mail_everything(deps)
    assert len(sent) == mails_before + 1
    assert "entregado" in sent[-1]["parts"].split("\n", 1)[0]


def test_a_problem_whose_request_died_before_its_ticket_opens_it_at_the_retry(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, carrier, tracking = _tracking(deps)
    opened = carrier_events.open_ticket
    calls = [0]

    def dying_once(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise flows.Killed
        return opened(*args, **kwargs)

    monkeypatch.setattr(carrier_events, "open_ticket", dying_once)
    with pytest.raises(flows.Killed):
        flows.carrier_event(deps, carrier, tracking, event_id="evt_x", type="exception")
    ticket_id = exception_ticket_id(carrier, tracking)
    with pytest.raises(NotFound):
        tickets.get_ticket(ticket_id, deps)

    for _ in range(2):  # the carrier tries again, and again
        again = flows.carrier_event(deps, carrier, tracking, event_id="evt_x", type="exception")
        assert again["status"] == "duplicate"

    ticket = tickets.get_ticket(ticket_id, deps)
    assert ticket.type == "delivery_problem" and ticket.order_id == order_id
    assert calls[0] == 3  # asked each time; the ticket's id made it one


def test_an_id_seen_before_does_what_it_was_recorded_as_not_what_its_new_body_says(
    deps: Deps,
) -> None:
    """A probe sent an in-transit event's id again as an exception: the parcel kept the
    in-transit, yet the customer got a problem ticket and its email. An id seen before is a
    retry of the event recorded under it, whatever the body says now."""
    order_id, carrier, tracking = _tracking(deps)
    mails_before = len(flows.mail_everything(deps))
    first = flows.carrier_event(deps, carrier, tracking, event_id="evt_moving", type="in_transit")
    assert first["status"] == "applied"

    for kind in ("exception", "delivered"):
        again = flows.carrier_event(deps, carrier, tracking, event_id="evt_moving", type=kind)
        assert again["status"] == "duplicate"

    with pytest.raises(NotFound):
        tickets.get_ticket(exception_ticket_id(carrier, tracking), deps)
    parcel = deps.store.get_order(order_id).fulfillments[0]
    assert parcel.shipment is not None
    assert [e["type"] for e in parcel.shipment.events] == ["in_transit"]
    assert deps.store.get_order(order_id).status is OrderStatus.SHIPPED
    assert len(flows.mail_everything(deps)) == mails_before


def test_a_flood_of_events_for_one_parcel_keeps_its_item_small_and_its_delivery_writable(
    deps: Deps,
) -> None:
    """A probe sent 900 events for one parcel: each was kept on the order's item until
    DynamoDB's 400 KB refused every write, the delivery was answered 500 and the order's
    execution failed. The parcel keeps its last events, and its last problem."""
    order_id, carrier, tracking = _tracking(deps)
    problem = flows.carrier_event(deps, carrier, tracking, event_id="evt_problem", type="exception")
    assert problem["status"] == "applied"
    for number in range(3 * MAX_PARCEL_EVENTS):
        moving = flows.carrier_event(
            deps, carrier, tracking, event_id=f"evt_{number}", type="in_transit"
        )
        assert moving["status"] == "applied"

    delivered = flows.carrier_event(deps, carrier, tracking, event_id="evt_home")

    assert delivered["status"] == "applied" and delivered["order_status"] == "DELIVERED"
    shipment = deps.store.get_order(order_id).fulfillments[0].shipment
    assert shipment is not None and len(shipment.events) == MAX_PARCEL_EVENTS
    kept = [e["event_id"] for e in shipment.events]
    assert kept[0] == "evt_problem" and kept[-1] == "evt_home"
    assert kept[1:-1] == [
        f"evt_{n}" for n in range(2 * MAX_PARCEL_EVENTS + 2, 3 * MAX_PARCEL_EVENTS)
    ]
    # The newest are still answered as duplicates.
    assert (
        flows.carrier_event(deps, carrier, tracking, event_id="evt_home")["status"] == "duplicate"
    )


def test_a_delivery_that_loses_many_races_in_a_row_is_still_applied(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe sent 24 events for one parcel at a time: some lost five races in a row and
    were answered 409, a delivery among them, which a carrier may take as final (and the
    parcel would later be declared lost and refunded although it arrived)."""
    _, carrier, tracking = _tracking(deps)
    save = deps.store.save_order
    lost = [0]

    def contended(*args: Any, **kwargs: Any) -> None:
        if lost[0] < 8:  # others wrote the order first, eight times
            lost[0] += 1
            raise ConcurrentModification("the item changed while we worked on it")
        save(*args, **kwargs)

    monkeypatch.setattr(deps.store, "save_order", contended)

    delivered = flows.carrier_event(deps, carrier, tracking)

    assert lost[0] == 8
    assert delivered["status"] == "applied" and delivered["order_status"] == "DELIVERED"


@pytest.mark.parametrize(("minutes_after_delivery", "alerts"), [(-10, 0), (0, 0), (5, 1)])
def test_a_problem_from_before_the_delivery_told_after_it_leaves_ops_no_alert(
    deps: Deps, minutes_after_delivery: int, alerts: int
) -> None:
    """A probe: an exception dated before the delivery, sent after it, opened a
    ``carrier_exception`` alert that nothing ever resolved (the order was at rest); so did
    one dated at the delivery's own moment (probe 234). One dated after the delivery is
    news, and alerts; none opens a ticket."""
    order_id, carrier, tracking = _tracking(deps)
    deps.clock.advance(minutes=30)  # type: ignore[attr-defined]
    flows.carrier_event(deps, carrier, tracking)
    dated = deps.clock() + timedelta(minutes=minutes_after_delivery)
    deps.clock.advance(minutes=10)  # type: ignore[attr-defined]

    late = flows.carrier_event(
        deps, carrier, tracking, type="exception", occurred_at=dated.isoformat()
    )

    assert late["status"] == "applied"
    assert isinstance(deps.events, RecordingEvents)
    assert [m.get("kind") for _, m in deps.events.alerts].count("carrier_exception") == alerts
    with pytest.raises(NotFound):
        tickets.get_ticket(exception_ticket_id(carrier, tracking), deps)
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED


def _pointed_at(deps: Deps, order_id: str) -> None:
    """The parcel's pointer names ``order_id`` before the order holds the parcel: the
    pointer is written ahead of the booking's order write."""

    def ahead(carrier: str, tracking_number: str) -> str:
        return order_id

    deps.store.order_for_shipment = ahead  # type: ignore[method-assign]


def test_an_event_sent_while_its_parcel_is_booked_is_asked_again_not_refused(
    deps: Deps,
) -> None:
    # Re-probe 188: an event arriving between the pointer's write and the order's was
    # answered 422 ("no shipment ... on this order"), which a carrier does not resend.
    order = flows.reserved(deps)
    _pointed_at(deps, order.order_id)

    with pytest.raises(TryAgainShortly) as asked_again:
        flows.carrier_event(deps, "rapido", "RAP-BEING-BOOKED")

    assert asked_again.value.field == "tracking_number"
    assert deps.store.get_order(order.order_id).status is OrderStatus.RESERVED
    assert isinstance(deps.events, RecordingEvents)
    assert not [m for _, m in deps.events.alerts if m["kind"] == "unknown_tracking_number"]


def test_an_event_for_a_parcel_its_order_never_held_is_an_unknown_parcel(deps: Deps) -> None:
    # A booking whose order write never landed, on an order cancelled since: nothing of
    # it waits to be booked, so the parcel is as unknown as any other.
    order = flows.reserved(deps)
    ordering.cancel_order(order.order_id, deps)
    _pointed_at(deps, order.order_id)

    answer = flows.carrier_event(deps, "rapido", "RAP-NEVER-BOOKED")

    assert answer["status"] == "ignored"
    assert isinstance(deps.events, RecordingEvents)
    told = [m for _, m in deps.events.alerts if m["kind"] == "unknown_tracking_number"]
    assert [m["tracking_number"] for m in told] == ["RAP-NEVER-BOOKED"]


def test_a_parcel_told_after_another_part_ended_keeps_its_own_moment_and_promise(
    deps: Deps,
) -> None:
    """Probe 200: a parcel delivered before its promise, told after the order's other part
    had ended, was recorded at that part's later moment and scored late against the
    carrier. It keeps the moment it reached the customer; the order's history stays in
    order."""
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.shipment is not None)
    pickup = next(f for f in order.fulfillments if f.pickup_code is not None)
    assert parcel.shipment is not None and pickup.pickup_code is not None
    promise = parcel.shipment.promised_by
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(seconds=(promise - deps.clock()).total_seconds() + 3600)
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    collected_at = deps.clock()
    deps.clock.advance(minutes=5)
    reached = promise - timedelta(minutes=10)

    flows.carrier_event(
        deps,
        parcel.shipment.carrier,
        parcel.shipment.tracking_number,
        occurred_at=reached.isoformat(),
    )

    order = deps.store.get_order(order.order_id)
    delivered = order.fulfillment(parcel.fulfillment_id).shipment
    assert delivered is not None
    assert (delivered.delivered_at, delivered.sla()["status"]) == (reached, "met")
    assert order.status is OrderStatus.DELIVERED
    # Just after the collection, the last entry before it: an entry at another part's
    # moment would read as made by that part (probe 217).
    delivered_at = order.delivered_at()
    assert delivered_at is not None and delivered_at - collected_at == timedelta(microseconds=1)
    assert [entry.at for entry in order.history] == sorted(entry.at for entry in order.history)


def test_a_carrier_ahead_of_our_clock_keeps_its_order_of_events(deps: Deps) -> None:
    """Probe 217: a carrier's clock two seconds ahead of ours; its delivery, dated in our
    future, was recorded at our now, and its exception, dated a second before the
    delivery but sent after it, read as after the delivery and left ops an alert open
    on a delivered order. On the carrier's own clock it came first."""
    order_id, carrier, tracking = _tracking(deps)
    deps.clock.advance(minutes=30)  # type: ignore[attr-defined]
    problem, delivery = (deps.clock() + timedelta(seconds=s) for s in (1, 2))
    flows.carrier_event(deps, carrier, tracking, occurred_at=delivery.isoformat())

    late = flows.carrier_event(
        deps, carrier, tracking, type="exception", occurred_at=problem.isoformat()
    )

    assert late["status"] == "applied"
    assert isinstance(deps.events, RecordingEvents)
    assert [m.get("kind") for _, m in deps.events.alerts].count("carrier_exception") == 0
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED


def test_a_carrier_clock_far_ahead_does_not_hide_the_problems_it_reports_after(
    deps: Deps,
) -> None:
    """Probe 222: a delivery dated 300 days ahead (a scanner's wrong year) was taken at its
    word, and every problem the carrier reported after it read as before it: no alert."""
    order_id, carrier, tracking = _tracking(deps)
    deps.clock.advance(minutes=30)  # type: ignore[attr-defined]
    flows.carrier_event(
        deps, carrier, tracking, occurred_at=(deps.clock() + timedelta(days=300)).isoformat()
    )
    deps.clock.advance(seconds=3)  # type: ignore[attr-defined]

    flows.carrier_event(
        deps, carrier, tracking, type="exception", occurred_at=deps.clock().isoformat()
    )

    assert isinstance(deps.events, RecordingEvents)
    assert [m.get("kind") for _, m in deps.events.alerts].count("carrier_exception") == 1
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED


def test_scans_after_a_delivery_never_push_the_delivery_out_of_its_events(deps: Deps) -> None:
    """Probe 200: 31 scans after a delivery evicted it; the page said "out for delivery",
    the timeline lost it, and its id was applied again."""
    order_id, carrier, tracking = _tracking(deps)
    flows.carrier_event(deps, carrier, tracking, event_id="evt_home")
    for number in range(MAX_PARCEL_EVENTS + 1):
        flows.carrier_event(
            deps, carrier, tracking, event_id=f"evt_after_{number}", type="out_for_delivery"
        )

    again = flows.carrier_event(deps, carrier, tracking, event_id="evt_home")

    assert again["status"] == "duplicate"
    shipment = deps.store.get_order(order_id).fulfillments[0].shipment
    assert shipment is not None and len(shipment.events) == MAX_PARCEL_EVENTS
    last = shipment.last_event()
    assert last is not None and last["type"] == "delivered"


def test_an_old_scan_sent_again_after_later_ones_pushed_it_out_is_a_duplicate(
    deps: Deps,
) -> None:
    """Re-probe 202: 31 later scans forgot an out-for-delivery's id, and the carrier's
    retry of it was applied again and pushed two newer scans out."""
    order_id, carrier, tracking = _tracking(deps)
    flows.carrier_event(deps, carrier, tracking, event_id="ofd-1", type="out_for_delivery")
    for number in range(MAX_PARCEL_EVENTS + 1):
        flows.carrier_event(deps, carrier, tracking, event_id=f"scan-{number}", type="in_transit")
    before = deps.store.get_order(order_id).fulfillments[0].shipment
    assert before is not None and "ofd-1" not in [e["event_id"] for e in before.events]

    again = flows.carrier_event(deps, carrier, tracking, event_id="ofd-1", type="out_for_delivery")
    scan_again = flows.carrier_event(deps, carrier, tracking, event_id="scan-0", type="in_transit")

    assert (again["status"], scan_again["status"]) == ("duplicate", "duplicate")
    after = deps.store.get_order(order_id).fulfillments[0].shipment
    assert after is not None and after.events == before.events


def test_problems_a_carrier_reports_after_the_delivery_alert_ops_once_per_parcel(
    deps: Deps,
) -> None:
    # Probe 254: 260 exceptions sent after a delivery opened 260 alerts, which nothing
    # resolves (the parcel is out no more): "Needs attention" read 100+.
    order_id, carrier, tracking = _tracking(deps)
    flows.carrier_event(deps, carrier, tracking)
    for n in range(3):
        deps.clock.advance(seconds=5)  # type: ignore[attr-defined]
        answer = flows.carrier_event(
            deps,
            carrier,
            tracking,
            event_id=f"evt_after_{n}",
            type="exception",
            occurred_at=deps.clock().isoformat(),
        )
        assert answer["status"] == "applied"

    assert isinstance(deps.events, RecordingEvents)
    told = [m for _, m in deps.events.alerts if m.get("kind") == "carrier_exception"]
    assert len(told) == 1 and told[0]["event_id"] == "evt_after_0"
    assert deps.store.get_order(order_id).status is OrderStatus.DELIVERED
