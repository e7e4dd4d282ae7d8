"""The ops timeline shows each return: asked for (what, how, where to), then received (where,
and the refund). A probe found a returned order whose only trace was its RETURNED status."""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.domain.returns import OrderReturn
from chalicelib.services import (
    console,
    customer_projection,
    fulfillment_steps,
    notify,
    returns,
)
from chalicelib.services.compensation import CompensateInput, compensate
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes import Clock, FakeGateway, RecordingEvents
from tests.service import flows


def _ask(
    deps: Deps,
    order_id: str,
    location_id: str | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> OrderReturn:
    """A return asked for: one T-shirt unless ``lines`` say otherwise, in store at
    ``location_id``, else by mail."""
    request = RequestReturnRequest.model_validate(
        {
            "lines": lines or [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "too small",
            "channel": "store" if location_id else "mail",
            "location_id": location_id,
        }
    )
    return returns.request_return(order_id, request, deps)


def test_a_return_is_on_the_timeline_when_asked_for_and_when_received(deps: Deps) -> None:
    order = flows.delivered(deps)
    opened = _ask(deps, order.order_id, "ST-MADRID")
    asked = [
        e for e in console.order_timeline(order.order_id, deps)["entries"] if e["kind"] == "return"
    ]
    assert [(e["title"], e["detail"]) for e in asked] == [
        ("return requested", f"{opened.return_id}: 1 x TSHIRT-BLK-M by store to ST-MADRID")
    ]

    returns.receive_return(opened.return_id, "ST-MADRID", deps)

    entries = console.order_timeline(order.order_id, deps)["entries"]
    received = [e for e in entries if e["title"] == "return received"]
    refund = deps.store.get_order(order.order_id).returns[0].refund
    assert refund is not None and refund.amount > 0
    assert [e["detail"] for e in received] == [
        f"{opened.return_id} at ST-MADRID; refund {refund.amount} EUR"
    ]
    titles = [e["title"] for e in entries]
    assert titles.index("return requested") < titles.index("return received")


def test_a_refund_still_owed_says_so_on_the_timeline(deps: Deps) -> None:
    order = flows.delivered(deps)
    opened = _ask(deps, order.order_id)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    gateway.unavailable = 10

    returns.receive_return(opened.return_id, "ST-MADRID", deps)

    (received,) = [
        e
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["title"] == "return received"
    ]
    assert received["detail"].endswith("(owed: the gateway failed, the sweeper retries)")


def test_emails_about_other_events_read_as_words_not_event_codes(deps: Deps) -> None:
    # A probe: "email: email sent: fulfillment.cancelled about order ord_..." beside
    # "email: shipment sent".
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.type.value == "ship")
    fulfillment_steps.dispatch_fulfillment(
        FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id), deps
    )
    compensate(CompensateInput(order_id=order.order_id, error={"Error": "States.Runtime"}), deps)
    events = deps.events
    assert isinstance(events, RecordingEvents)
    for event in list(events.published):
        if event.get("order_id") == order.order_id and "ticket_id" not in event:
            customer_projection.project_order_event(event, deps)
            notify.on_order_event(event, deps)

    titles = [
        e["title"]
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["kind"] == "email"
    ]

    assert "email: part of the order cancelled" in titles, titles
    assert not [t for t in titles if "email sent" in t or "." in t.split(": ", 1)[1]], titles


def test_a_status_s_email_reads_as_words(deps: Deps) -> None:
    # Probe 242: "email: order DELIVERED", the status's code.
    order = flows.delivered(deps)
    flows.mail_everything(deps)

    titles = [
        e["title"]
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["kind"] == "email"
    ]

    assert "email: order delivered" in titles, titles
    assert not [t for t in titles if any(c.isupper() for c in t)], titles


def _return_entries(order_id: str, deps: Deps) -> list[tuple[str, str]]:
    return [
        (e["title"], e["detail"])
        for e in console.order_timeline(order_id, deps)["entries"]
        if e["kind"] == "return"
    ]


def test_a_mail_return_received_at_a_store_says_where_it_was_sent_not_the_store(
    deps: Deps,
) -> None:
    # A probe: "return requested ... by mail to ST-BARCELONA" for a mail return that named
    # no store, once a store had received it. It names where the customer was told to
    # send it: where the parcel left from (probe 194: kept with the return).
    order = flows.delivered(deps)
    (parcel,) = order.fulfillments
    opened = _ask(deps, order.order_id)
    returns.receive_return(opened.return_id, "ST-MADRID", deps)
    asked, received = _return_entries(order.order_id, deps)
    sent_to = f"by mail to {parcel.location_id}"
    assert asked == ("return requested", f"{opened.return_id}: 1 x TSHIRT-BLK-M {sent_to}")
    assert parcel.location_id != "ST-MADRID"
    assert received[1].startswith(f"{opened.return_id} at ST-MADRID; refund ")


def test_a_return_named_for_one_store_and_received_at_another_says_both(deps: Deps) -> None:
    order = flows.delivered(deps)
    stores = [loc.location_id for loc in deps.store.locations() if loc.type.value == "store"]
    named, walked_into = stores[0], stores[1]
    opened = _ask(deps, order.order_id, named)
    returns.receive_return(opened.return_id, walked_into, deps)
    asked, received = _return_entries(order.order_id, deps)
    assert asked[1] == f"{opened.return_id}: 1 x TSHIRT-BLK-M by store to {named}"
    assert received[1].startswith(f"{opened.return_id} at {walked_into}; refund ")


def test_the_receipt_comes_before_the_returned_status_it_caused(deps: Deps) -> None:
    # A probe: "RETURNED" was listed before "return received" at the same moment.
    order = flows.delivered(deps)
    every_unit = [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]
    opened = _ask(deps, order.order_id, lines=every_unit)
    returned = returns.receive_return(opened.return_id, "ST-MADRID", deps)
    assert returned.status.value == "RETURNED"
    titles = [e["title"] for e in console.order_timeline(order.order_id, deps)["entries"]]
    assert titles.index("return received") < titles.index("RETURNED")


def test_the_carriers_events_come_before_the_delivered_status_they_caused(deps: Deps) -> None:
    # Probe 26E: "DELIVERED" was listed above the carrier's "in_transit" and "delivered"
    # sent with the same second.
    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    carrier, number = parcel.shipment.carrier, parcel.shipment.tracking_number
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=20)
    flows.carrier_event(deps, carrier, number, type="in_transit")
    flows.carrier_event(deps, carrier, number)
    titles = [e["title"] for e in console.order_timeline(order.order_id, deps)["entries"]]
    assert titles.index("carrier: in_transit") < titles.index("DELIVERED")
    assert titles.index("carrier: delivered") < titles.index("DELIVERED")


def test_a_mixed_order_s_pick_up_email_is_dated_when_its_part_was_ready(deps: Deps) -> None:
    # Probe 185: the console dated "email: ready for pick-up" at the parcel's delivery,
    # when the mixed order itself became READY_FOR_PICKUP, not when the email went.
    order = flows.reserved(deps, lines=flows.MIXED)
    for part in order.fulfillments:
        fulfillment_steps.dispatch_fulfillment(
            FulfillmentStep(order_id=order.order_id, fulfillment_id=part.fulfillment_id), deps
        )
    ready = deps.store.get_order(order.order_id)
    pickup = next(f for f in ready.fulfillments if f.type.value == "pickup")
    parcel = next(f for f in ready.fulfillments if f.shipment is not None)
    assert parcel.shipment is not None and pickup.ready_at is not None
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(hours=20)
    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
    events = deps.events
    assert isinstance(events, RecordingEvents)
    for event in list(events.published):
        if event.get("order_id") == order.order_id and "ticket_id" not in event:
            notify.on_order_event(event, deps)

    (told,) = [
        e
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["title"] == "email: ready for pick-up"
    ]

    assert told["at"] == pickup.ready_at.isoformat()


def test_a_breach_on_the_timeline_gives_its_promise_as_the_console_gives_times(
    deps: Deps,
) -> None:
    # Probe 199: "promised by 2026-12-07T01:23:21.078466+00:00" among "2026-12-07 01:23:21".
    from chalicelib.services import sla

    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None and isinstance(deps.clock, Clock)
    deps.clock.advance(seconds=(parcel.shipment.breaks_at - deps.clock()).total_seconds() + 1)
    sla.breach_once(order.order_id, parcel.fulfillment_id, deps, when_due=True)

    (breach,) = [
        e
        for e in console.order_timeline(order.order_id, deps)["entries"]
        if e["title"] == "SLA breached"
    ]

    promised = parcel.shipment.promised_by.strftime("%Y-%m-%d %H:%M:%S")
    assert breach["detail"].endswith(f"promised by {promised}")


def test_a_compensation_that_could_not_finish_is_listed_once_among_ops_alerts(
    deps: Deps,
) -> None:
    # Probe 245: the workflow told the ops topic only; the console's "Needs attention"
    # read "Nothing" beside an order holding its stock and authorisation.
    from chalicelib.domain.alerts import AlertStatus
    from chalicelib.services.compensation import AttentionInput, mark_compensation_failed

    order = flows.reserved(deps)
    failed = AttentionInput(order_id=order.order_id, error={"Error": "ValidationException"})

    for _ in range(2):  # the step retried
        mark_compensation_failed(failed, deps)

    listed = deps.alerts.list(order.order_id, AlertStatus.OPEN, 10)
    assert [(a.kind, a.facts["error"]["Error"]) for a in listed] == [
        ("compensation_failed", "ValidationException")
    ]
    attention = deps.store.get_order(order.order_id).attention
    assert attention is not None and attention.kind.value == "compensation_failed"


def test_a_compensation_failure_whose_alert_could_not_be_recorded_is_recorded_on_the_retry(
    deps: Deps, monkeypatch: Any
) -> None:
    import pytest

    from chalicelib.domain.alerts import AlertStatus
    from chalicelib.services.compensation import AttentionInput, mark_compensation_failed

    order = flows.reserved(deps)
    failed = AttentionInput(order_id=order.order_id, error={"Error": "RuntimeError"})
    record = deps.alerts.record

    def unavailable(_alert: Any) -> None:
        raise RuntimeError("the alert log did not answer")

    monkeypatch.setattr(deps.alerts, "record", unavailable)
    with pytest.raises(RuntimeError):
        mark_compensation_failed(failed, deps)
    monkeypatch.setattr(deps.alerts, "record", record)

    mark_compensation_failed(failed, deps)  # the step retried

    listed = deps.alerts.list(order.order_id, AlertStatus.OPEN, 10)
    assert [a.kind for a in listed] == ["compensation_failed"]


def test_a_compensation_failing_again_after_an_ops_retry_is_alerted_again(deps: Deps) -> None:
    # Probe 246: the same failure after ops resolved the first alert and retried was
    # taken for the first, and "Needs attention" stayed empty.
    from chalicelib.domain.alerts import AlertStatus
    from chalicelib.domain.orders import ExecutionRetry, OrderStatus
    from chalicelib.services.compensation import AttentionInput, mark_compensation_failed

    order = flows.reserved(deps)
    failed = AttentionInput(order_id=order.order_id, error={"Error": "OutOfStock"})
    mark_compensation_failed(failed, deps)
    (first,) = deps.alerts.list(order.order_id, AlertStatus.OPEN, 10)
    deps.alerts.resolve(first.alert_id, "ops", "retrying", deps.clock())
    current = deps.store.get_order(order.order_id)
    current.retries.append(
        ExecutionRetry(
            attempt=1,
            at=deps.clock(),
            by="ops",
            execution_arn="arn:aws:states:eu-west-1:1:execution:o:r1",
            previous_execution_arn="arn:aws:states:eu-west-1:1:execution:o:r0",
            previous_status="FAILED",
            resumed_from=OrderStatus.RESERVED,
        )
    )
    deps.store.save_order(current)

    mark_compensation_failed(failed, deps)

    (again,) = deps.alerts.list(order.order_id, AlertStatus.OPEN, 10)
    assert again.kind == "compensation_failed" and again.alert_id != first.alert_id


def test_a_compensation_failure_on_an_order_that_cannot_be_written_is_still_alerted(
    deps: Deps, monkeypatch: Any
) -> None:
    # Probe 246: the order's write failed first, and no alert was ever recorded.
    import pytest

    from chalicelib.domain.alerts import AlertStatus
    from chalicelib.services import compensation
    from chalicelib.services.compensation import AttentionInput, mark_compensation_failed

    order = flows.reserved(deps)

    def full(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the order item is full")

    monkeypatch.setattr(compensation, "mutate", full)
    with pytest.raises(RuntimeError):
        mark_compensation_failed(
            AttentionInput(order_id=order.order_id, error={"Error": "ItemFull"}), deps
        )

    listed = deps.alerts.list(order.order_id, AlertStatus.OPEN, 10)
    assert [a.kind for a in listed] == ["compensation_failed"]
