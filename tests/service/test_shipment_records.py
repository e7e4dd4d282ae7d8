"""Shipment records written beside their order, on fakes: opened before the order's write,
closed after it, and a crash between the two writes repaired by a retry or by the SLA
check, with the open-shipments index and the carrier scorecard ending right."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import NotFound
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.services import fulfillment_steps, lost_parcels, ordering, sla
from chalicelib.services.step_models import DispatchInput, FulfillmentStep
from tests.fakes import FakeGateway, FakeWorkflow, RecordingEvents
from tests.service import flows


class Crash(Exception):
    """The function stopped here (a timeout, a lost container)."""


def _crash_once(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, method: str, when: Callable[..., bool]
) -> list[bool]:
    """Make ``deps.store.<method>`` raise once, on the first call ``when`` accepts."""
    real = getattr(deps.store, method)
    crashed: list[bool] = []

    def failing(*args: Any, **options: Any) -> Any:
        if not crashed and when(*args):
            crashed.append(True)
            raise Crash(method)
        return real(*args, **options)

    monkeypatch.setattr(deps.store, method, failing)
    return crashed


def _dispatch_crashed_after_its_record(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> tuple[Order, dict[str, Any]]:
    """A reserved order whose dispatch stored its shipment record, then stopped before
    the order's write: the order and the record."""
    order = flows.reserved(deps)
    crashed = _crash_once(deps, monkeypatch, "save_order", lambda *_: True)
    with pytest.raises(Crash):
        fulfillment_steps.dispatch_fulfillment(flows.parcel_step(order), deps)
    assert crashed
    (record,) = [r for r in _records(deps) if r["order_id"] == order.order_id]
    return order, record


def _closing(_order_id: str, fulfillment: Fulfillment, _version: int) -> bool:
    return not fulfillment.parcel_out()


def _tracking(order: Order) -> str:
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    return parcel.shipment.tracking_number


def _open(deps: Deps, tracking: str) -> bool:
    """Whether the record is in the open-shipments index (as the SLA check reads it once
    the parcel's promise has passed)."""
    records = _scored(deps, tracking)
    if not records:
        return False
    (record,) = records
    overdue, _ = deps.store.overdue_shipments(_grace_over(deps, record))
    return tracking in {str(item["tracking_number"]) for item in overdue}


def _records(deps: Deps) -> list[dict[str, Any]]:
    """The records the carrier scorecard reads, around now."""
    start, end = deps.clock() - timedelta(days=8), deps.clock() + timedelta(days=8)
    return deps.store.shipments_between("rapido", "express", start, end)


def _scored(deps: Deps, tracking: str) -> list[dict[str, Any]]:
    return [record for record in _records(deps) if record["tracking_number"] == tracking]


def _past_the_grace(deps: Deps, order: Order) -> None:
    """A minute past the promise and the grace after it: when the SLA is breached."""
    (parcel,) = deps.store.get_order(order.order_id).fulfillments
    assert parcel.shipment is not None
    clock: Any = deps.clock
    clock.now = parcel.shipment.breaks_at + timedelta(minutes=1)


def test_an_order_that_fails_every_check_does_not_stop_the_check_for_the_others(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe: an order that could no longer be written (its item at DynamoDB's 400 KB)
    failed the scheduled check every run, and as records are read oldest due first, no
    other parcel got its breach or was declared lost after it."""
    poisoned, other = flows.shipped(deps), flows.shipped(deps)
    _past_the_grace(deps, other)
    read = deps.store.get_order

    def get_order(order_id: str) -> Order:
        if order_id == poisoned.order_id:
            raise RuntimeError("Item size to update has exceeded the maximum allowed size")
        return read(order_id)

    monkeypatch.setattr(deps.store, "get_order", get_order)

    outcome = sla.check_overdue_shipments(deps)

    assert (outcome["overdue"], outcome["records_failed"], outcome["breaches_recorded"]) == (
        2,
        1,
        1,
    )
    breached = read(other.order_id).fulfillments[0].shipment
    assert breached is not None and breached.breached_at is not None
    # The next run tries the failing one again, and the breach is not recorded twice.
    again = sla.check_overdue_shipments(deps)
    assert (again["records_failed"], again["breaches_recorded"]) == (1, 0)


# Opening: the record before the order ------------------------------------------------------
def test_shipping_stores_the_record_before_the_order_and_delivery_after_it(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = flows.reserved(deps)
    writes: list[str] = []
    real_put, real_save = deps.store.put_shipment, deps.store.save_order

    def put(order_id: str, fulfillment: Fulfillment, version: int, ahead: bool = False) -> bool:
        writes.append(f"record open={fulfillment.parcel_out()} v{version} ahead={ahead}")
        return real_put(order_id, fulfillment, version, ahead)

    def save(saved: Order, *args: Any) -> None:
        real_save(saved, *args)
        writes.append(f"order v{saved.version}")

    monkeypatch.setattr(deps.store, "put_shipment", put)
    monkeypatch.setattr(deps.store, "save_order", save)
    fulfillment_steps.dispatch_fulfillment(flows.parcel_step(order), deps)
    shipped_at = order.version + 1
    assert writes[:2] == [f"record open=True v{shipped_at} ahead=True", f"order v{shipped_at}"]
    writes.clear()
    shipped = deps.store.get_order(order.order_id)
    assert flows.carrier_event(deps, "rapido", _tracking(shipped))["status"] == "applied"
    delivered = deps.store.get_order(order.order_id)
    assert writes == [
        f"order v{delivered.version}",
        f"record open=False v{delivered.version} ahead=False",
    ]
    assert not _open(deps, _tracking(shipped))
    (record,) = _scored(deps, _tracking(shipped))
    assert record["delivered_at"] is not None


def test_a_crash_after_the_open_record_is_repaired_by_the_retried_dispatch(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, booked = _dispatch_crashed_after_its_record(deps, monkeypatch)
    # The record says "open" while the order does not say shipped: allowed that way round.
    (pending,) = deps.store.get_order(order.order_id).fulfillments
    assert pending.status is FulfillmentStatus.PENDING and pending.shipment is None
    assert _open(deps, str(booked["tracking_number"]))

    fulfillment_steps.dispatch_fulfillment(flows.parcel_step(order), deps)
    shipped = deps.store.get_order(order.order_id)
    tracking = _tracking(shipped)
    assert tracking == booked["tracking_number"]
    (record,) = _scored(deps, tracking)
    assert record["order_id"] == order.order_id and record["delivered_at"] is None
    assert _open(deps, tracking)
    flows.carrier_event(deps, "rapido", tracking)
    assert not _open(deps, tracking)
    (scorecard,) = [row for row in _scorecard(deps) if row["carrier"] == "rapido"]
    assert scorecard["shipments"] == 1 and scorecard["on_time"] == 1


def test_a_dispatch_retried_later_writes_its_own_promise_over_the_crashed_one(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Retried hours later, the dispatch books anew (shipped now, maybe a later promise):
    # the record must hold what the order holds, or the SLA check and the scorecard
    # would go by the booking that was never written.
    order, crashed = _dispatch_crashed_after_its_record(deps, monkeypatch)
    clock: Any = deps.clock
    clock.advance(hours=10)

    fulfillment_steps.dispatch_fulfillment(flows.parcel_step(order), deps)

    (parcel,) = deps.store.get_order(order.order_id).fulfillments
    assert parcel.shipment is not None
    (record,) = _scored(deps, parcel.shipment.tracking_number)
    assert record["promised_by"] == parcel.shipment.promised_by.isoformat()
    assert record["shipped_at"] == parcel.shipment.shipped_at.isoformat()
    assert record["shipped_at"] > crashed["shipped_at"]


def test_the_sla_check_does_not_call_late_a_parcel_whose_order_promises_later(
    deps: Deps,
) -> None:
    # Two dispatches of one fulfillment raced and the loser's record, with an earlier
    # promise, was stored last: the order's promise decides, and the record is rewritten.
    shipped = flows.shipped(deps)
    (parcel,) = shipped.fulfillments
    assert parcel.shipment is not None
    loser = parcel.model_copy(deep=True)
    assert loser.shipment is not None
    loser.shipment.promised_by = parcel.shipment.promised_by - timedelta(hours=6)
    loser.shipment.breach_due = parcel.shipment.breaks_at - timedelta(hours=6)
    assert deps.store.put_shipment(shipped.order_id, loser, shipped.version, ahead=True)
    clock: Any = deps.clock
    clock.now = loser.shipment.breaks_at + timedelta(minutes=1)

    outcome = sla.check_overdue_shipments(deps)

    assert (outcome["breaches_recorded"], outcome["records_repaired"]) == (0, 1)
    after = deps.store.get_order(shipped.order_id).fulfillments[0].shipment
    assert after is not None and after.breached_at is None
    (record,) = _scored(deps, parcel.shipment.tracking_number)
    assert record["promised_by"] == parcel.shipment.promised_by.isoformat()
    assert sla.check_overdue_shipments(deps)["overdue"] == 0


def _scorecard(deps: Deps) -> list[dict[str, Any]]:
    return sla.sla_scorecard(
        deps, deps.clock() - timedelta(days=8), deps.clock() + timedelta(days=8)
    )


def test_the_record_of_an_order_that_never_shipped_is_dropped_by_the_sla_check(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, record = _dispatch_crashed_after_its_record(deps, monkeypatch)
    tracking = str(record["tracking_number"])
    # While the dispatch may still be retried, the check leaves the record alone.
    clock: Any = deps.clock
    clock.now = _grace_over(deps, record)
    assert sla.check_overdue_shipments(deps)["records_repaired"] == 0
    assert _open(deps, tracking)

    ordering.cancel_order(order.order_id, deps)
    outcome = sla.check_overdue_shipments(deps)
    assert outcome["records_repaired"] == 1 and outcome["breaches_recorded"] == 0
    assert not _open(deps, tracking)
    assert _scored(deps, tracking) == []
    with pytest.raises(NotFound):
        deps.store.order_for_shipment("rapido", tracking)
    assert sla.check_overdue_shipments(deps)["overdue"] == 0


def _promise_of(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["promised_by"]))


def _grace_over(deps: Deps, record: dict[str, Any]) -> datetime:
    """A minute past the record's promise and the grace after it."""
    return sla.late_delivery_deadline(_promise_of(record), deps) + timedelta(minutes=1)


# Closing: the order before the record ------------------------------------------------------
def test_a_crash_after_the_delivery_is_written_leaves_the_record_open_until_the_sla_check(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = flows.reserved(deps)
    step = flows.parcel_step(order)
    fulfillment_steps.dispatch_and_await(_dispatch_input(deps, step, "tok-delivery"), deps)
    shipped = deps.store.get_order(order.order_id)
    tracking = _tracking(shipped)
    crashed = _crash_once(deps, monkeypatch, "put_shipment", _closing)

    answer = flows.carrier_event(deps, "rapido", tracking)

    assert crashed
    # The order, its announcement and the released wait are not lost with the record.
    assert answer["status"] == "applied" and answer["order_status"] == "DELIVERED"
    workflow = deps.workflow
    assert isinstance(workflow, FakeWorkflow)
    assert [token for token, _ in workflow.resumed] == ["tok-delivery"]
    assert _open(deps, tracking)
    (stale,) = _scored(deps, tracking)
    assert stale["delivered_at"] is None

    _past_the_grace(deps, shipped)
    outcome = sla.check_overdue_shipments(deps)
    assert outcome == {
        "overdue": 1,
        "breaches_recorded": 0,
        "parcels_declared_lost": 0,
        "lost_parcels_failed": 0,
        "records_repaired": 1,
        "records_failed": 0,
        "pages_read": outcome["pages_read"],
    }
    assert not _open(deps, tracking)
    (record,) = _scored(deps, tracking)
    assert record["delivered_at"] is not None
    (row,) = [row for row in _scorecard(deps) if row["carrier"] == "rapido"]
    assert (row["shipments"], row["on_time"], row["late"], row["open_past_due"]) == (1, 1, 0, 0)
    assert deps.store.get_order(order.order_id).status is OrderStatus.DELIVERED
    assert sla.check_overdue_shipments(deps)["overdue"] == 0


def _dispatch_input(deps: Deps, step: FulfillmentStep, token: str) -> DispatchInput:
    return DispatchInput(
        order_id=step.order_id,
        fulfillment_id=step.fulfillment_id,
        task_token=token,
        entered_at=deps.clock(),
        wait_seconds=3600,
    )


def test_the_carrier_telling_again_rewrites_a_record_a_crash_left_open(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = flows.shipped(deps)
    tracking = _tracking(shipped)
    _crash_once(deps, monkeypatch, "put_shipment", _closing)
    flows.carrier_event(deps, "rapido", tracking)
    assert _open(deps, tracking)

    again = flows.carrier_event(deps, "rapido", tracking)

    assert again["status"] == "applied" and again["order_status"] == "DELIVERED"
    assert not _open(deps, tracking)
    (record,) = _scored(deps, tracking)
    assert record["delivered_at"] is not None
    delivered = deps.store.get_order(shipped.order_id)
    assert [h.status for h in delivered.history].count(OrderStatus.DELIVERED) == 1


def test_a_crash_after_the_breach_is_written_is_repaired_by_the_sla_check(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = flows.shipped(deps)
    tracking = _tracking(shipped)
    _past_the_grace(deps, shipped)
    crashed = _crash_once(deps, monkeypatch, "put_shipment", _closing)
    (parcel,) = shipped.fulfillments

    # The breach is recorded and told (the alert, the ticket) all the same.
    assert sla.record_breach(shipped.order_id, parcel.fulfillment_id, deps)
    assert crashed
    assert _open(deps, tracking)

    outcome = sla.check_overdue_shipments(deps)
    assert (outcome["breaches_recorded"], outcome["records_repaired"]) == (0, 1)
    assert not _open(deps, tracking)
    (record,) = _scored(deps, tracking)
    assert record["breached_at"] is not None and record["sla_status"] == "breached"
    breached = deps.store.get_order(shipped.order_id).fulfillments[0].shipment
    assert breached is not None and record["breached_at"] == breached.breached_at.isoformat()


def test_the_sla_check_records_a_breach_and_closes_the_record_in_one_pass(deps: Deps) -> None:
    shipped = flows.shipped(deps)
    tracking = _tracking(shipped)
    _past_the_grace(deps, shipped)
    outcome = sla.check_overdue_shipments(deps)
    assert (outcome["breaches_recorded"], outcome["records_repaired"]) == (1, 0)
    assert not _open(deps, tracking)
    assert sla.check_overdue_shipments(deps)["overdue"] == 0


def test_a_stale_open_record_does_not_put_a_delivered_parcel_back(deps: Deps) -> None:
    # A dispatch's record written late (its function paused before the put) arrives after
    # the delivery: refused, the delivered record stays.
    shipped = flows.shipped(deps)
    tracking = _tracking(shipped)
    flows.carrier_event(deps, "rapido", tracking)
    (still_out,) = shipped.fulfillments
    assert still_out.parcel_out()
    assert not deps.store.put_shipment(shipped.order_id, still_out, shipped.version)
    assert not _open(deps, tracking)
    (record,) = _scored(deps, tracking)
    assert record["delivered_at"] is not None


def test_the_record_of_an_order_that_does_not_exist_is_dropped_by_the_sla_check(
    deps: Deps,
) -> None:
    shipped = flows.shipped(deps)
    (parcel,) = shipped.fulfillments
    assert parcel.shipment is not None
    stray = parcel.model_copy(deep=True)
    assert stray.shipment is not None
    stray.shipment.tracking_number = "RAP0000000001"
    assert deps.store.put_shipment("ord_never_stored", stray, 2)
    _past_the_grace(deps, shipped)
    outcome = sla.check_overdue_shipments(deps)
    assert (outcome["overdue"], outcome["breaches_recorded"], outcome["records_repaired"]) == (
        2,
        1,
        1,
    )
    assert _scored(deps, "RAP0000000001") == []
    assert [r["tracking_number"] for r in _records(deps)] == [_tracking(shipped)]


def test_a_lost_parcel_leaves_the_scorecard_late_and_not_open_past_due(deps: Deps) -> None:
    """Found by a probe: a parcel declared lost (closed, refunded) counted as open past
    due for ever."""
    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)
    (row,) = [row for row in _scorecard(deps) if row["carrier"] == "rapido"]
    assert (row["shipments"], row["late"], row["open_past_due"]) == (1, 1, 0)


def test_a_parcel_whose_execution_no_longer_waits_is_declared_lost_by_the_scheduled_check(
    deps: Deps,
) -> None:
    # A probe stopped an execution while its parcel travelled: the breach came from the
    # scheduled check, but nothing ever declared the parcel lost, and its money stayed
    # captured (API.md: 30 days after the promise it is LOST and refunded).
    order = flows.shipped(deps)
    _past_the_grace(deps, order)
    breach = lost_parcels.check_watched_shipments(deps)
    assert (breach["breaches_recorded"], breach["parcels_declared_lost"]) == (1, 0)
    shipment = deps.store.get_order(order.order_id).fulfillments[0].shipment
    assert shipment is not None and shipment.lost_by is not None
    clock: Any = deps.clock
    clock.now = shipment.lost_by - timedelta(minutes=1)
    assert lost_parcels.check_watched_shipments(deps)["parcels_declared_lost"] == 0

    clock.now = shipment.lost_by + timedelta(minutes=1)
    outcome = lost_parcels.check_watched_shipments(deps)

    assert outcome["parcels_declared_lost"] == 1
    lost = deps.store.get_order(order.order_id)
    assert lost.fulfillments[0].status is FulfillmentStatus.LOST
    assert lost.payment.captured is not None and lost.payment.refunded is not None
    assert lost.payment.refunded == lost.payment.captured  # the fee too: nothing arrived
    assert lost.payment.owed() == []
    # The next check finds nothing to do: the record closed as lost.
    assert lost_parcels.check_watched_shipments(deps)["overdue"] == 0
    assert not _open(deps, _tracking(lost))


def test_a_lost_parcel_whose_refund_failed_is_refunded_and_told_by_a_later_check(
    deps: Deps,
) -> None:
    # The re-probe: the gateway failed the refund the check asked for; the parcel was LOST
    # but no later run looked at it again, so the customer and ops were never told.
    order = flows.shipped(deps)
    _past_the_grace(deps, order)
    lost_parcels.check_watched_shipments(deps)
    shipment = deps.store.get_order(order.order_id).fulfillments[0].shipment
    assert shipment is not None and shipment.lost_by is not None
    clock: Any = deps.clock
    clock.now = shipment.lost_by + timedelta(minutes=1)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    gateway.unavailable = 10  # every attempt of this run fails

    failed = lost_parcels.check_watched_shipments(deps)

    assert (failed["parcels_declared_lost"], failed["lost_parcels_failed"]) == (0, 1)
    untold = deps.store.get_order(order.order_id).fulfillments[0]
    assert untold.status is FulfillmentStatus.LOST and untold.refunded is None
    events = deps.events
    assert isinstance(events, RecordingEvents)
    assert events.of_type("fulfillment.lost") == []
    gateway.unavailable = 0
    clock.now += timedelta(minutes=5)

    told = lost_parcels.check_watched_shipments(deps)

    assert told["parcels_declared_lost"] == 1
    settled = deps.store.get_order(order.order_id)
    assert settled.fulfillments[0].refunded is not None
    assert settled.payment.refunded == settled.payment.captured
    assert len(events.of_type("fulfillment.lost")) == 1
    assert [a for _, a in events.alerts if a.get("kind") == "parcel_lost"] != []
    # Told: nothing left to watch.
    clock.now += timedelta(minutes=5)
    assert lost_parcels.check_watched_shipments(deps)["overdue"] == 0


def test_a_breach_is_at_the_end_of_the_grace_before_and_after_the_step_records_it(
    deps: Deps,
) -> None:
    """A probe: the order's JSON said ``breached_at`` = the promise until the workflow
    recorded the breach, then the moment the step ran, a second later. The SLA breaks
    when the 72 h grace after the promise runs out (API.md: an order at rest)."""
    shipped = flows.shipped(deps)
    _past_the_grace(deps, shipped)
    (parcel,) = shipped.fulfillments
    assert parcel.shipment is not None
    seen_before = parcel.shipment.sla(deps.clock())

    assert sla.record_breach(shipped.order_id, parcel.fulfillment_id, deps)

    (recorded,) = deps.store.get_order(shipped.order_id).fulfillments
    assert recorded.shipment is not None
    grace_over = parcel.shipment.promised_by + timedelta(hours=72)
    assert recorded.shipment.breached_at == grace_over
    seen_after = recorded.shipment.sla(deps.clock())
    assert seen_before["status"] == seen_after["status"] == "breached"
    assert seen_after["breached_at"] == seen_before["breached_at"]
    assert isinstance(deps.events, RecordingEvents)
    (told,) = deps.events.of_type("shipment.sla_breached")
    assert datetime.fromisoformat(told["at"]) == grace_over
