"""The ops timeline shows each return: asked for (what, how, where to), then received (where,
and the refund). A probe found a returned order whose only trace was its RETURNED status."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import (
    console,
    customer_projection,
    fulfillment_steps,
    notify,
    returns,
)
from chalicelib.services.compensation import CompensateInput, compensate
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes import FakeGateway, RecordingEvents
from tests.service import flows


def test_a_return_is_on_the_timeline_when_asked_for_and_when_received(deps: Deps) -> None:
    order = flows.delivered(deps)
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "too small",
            "channel": "store",
            "location_id": "ST-MADRID",
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
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
    request = RequestReturnRequest.model_validate(
        {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "x", "channel": "mail"}
    )
    opened = returns.request_return(order.order_id, request, deps)
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
