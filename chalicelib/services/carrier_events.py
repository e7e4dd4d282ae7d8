"""Carrier webhooks: verify the signature, apply each event once."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.domain.errors import (
    InvalidRequest,
    NotFound,
    TryAgainShortly,
    Unauthorized,
)
from chalicelib.domain.events import Event, ParcelDelivered
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus, Shipment, SlaStatus
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import CarrierEventRequest
from chalicelib.domain.tickets import BY_CARRIER
from chalicelib.presentation.wording import Wording
from chalicelib.services.alert_once import alert_once, resolve_open
from chalicelib.services.alerts import late_parcel_delivered
from chalicelib.services.order_writes import (
    CONTENDED_ATTEMPTS,
    Change,
    announce_again,
    mutate,
    sent_again_when_contended,
)
from chalicelib.services.sla import (
    exception_ticket_id,
    note_late_ticket,
    settle_parcel_problems,
)
from chalicelib.services.tickets import open_ticket, words_for

if TYPE_CHECKING:
    from chalicelib.composition import Deps

SIGNATURE_HEADER = "X-Orquesta-Signature"
# A carrier may report a parcel's events all at once: a probe sent 24 at a time and 2 to 7
# lost five races in a row (a delivery among them), answered 409, which a carrier may take
# as final. An event tries ``CONTENDED_ATTEMPTS`` times; one that loses every race is
# answered 429 with Retry-After, which carriers send again (1 of 120 events still did, 24
# at a time, with 12 attempts).
EVENT_WRITE_ATTEMPTS = CONTENDED_ATTEMPTS
# Open unknown-parcel alerts read at a time when one parcel becomes known: one per parcel.
UNKNOWN_PARCEL_ALERTS_READ = 50


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The header value a carrier sends: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    header: str | None, raw_body: bytes, secret: str, tolerance_seconds: int, now: float
) -> None:
    """Raise ``Unauthorized`` unless the header signs this body with this secret, recently."""
    if not header or not secret:
        raise Unauthorized("missing signature", field=SIGNATURE_HEADER)
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    raw_timestamp = parts.get("t", [""])[0]
    # Ten digits cover Unix time for centuries; anything longer is not a timestamp.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise Unauthorized("malformed signature timestamp", field=SIGNATURE_HEADER)
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthorized("signature timestamp outside tolerance", field=SIGNATURE_HEADER)
    expected = sign(secret, timestamp, raw_body).split("v1=", 1)[1]
    # Any of the v1 signatures may match (carriers rotating secrets send two).
    given_signatures = [given.encode("utf-8", "replace") for given in parts.get("v1", [])]
    if not any(hmac.compare_digest(expected.encode(), given) for given in given_signatures):
        raise Unauthorized("signature does not match", field=SIGNATURE_HEADER)


def handle_carrier_event(
    carrier: str, raw_body: bytes, signature: str | None, deps: Deps
) -> dict[str, Any]:
    """Apply a signed carrier event once; duplicates and unknown parcels are acknowledged so
    the carrier stops retrying.

    Once is the order's to say: the event's id is recorded on its parcel in the same
    conditional write as what it changes, so of two deliveries at once one applies it and
    the other, read again, finds it there. No marker is written first: one written before
    the work outlived a request killed mid-work (a Lambda's timeout never reaches an
    ``except``), and the carrier's retry was told "duplicate" (found by a review: a
    delivered parcel stayed SHIPPED, then was declared lost and refunded). An event on an
    unknown parcel, which no order records, is remembered by a marker."""
    if carrier not in deps.carriers:
        raise NotFound(f"no carrier {carrier}", field="carrier")
    verify_signature(
        signature,
        raw_body,
        deps.secrets.carrier_secret(carrier),
        deps.settings.signature_tolerance_seconds,
        time.time(),
    )
    try:
        event = CarrierEventRequest.model_validate_json(raw_body)
    except ValidationError as exc:
        raise InvalidRequest.from_validation(exc) from exc
    return _apply(carrier, event, deps)


@dataclass(frozen=True)
class Outcome:
    """What applying one event calls for once it is written: the delivery wait to release,
    or the facts of a parcel delivered after it was declared lost (for ops), and the moment
    recorded for the event."""

    at: datetime
    token: str | None = None
    found_after_loss: dict[str, Any] | None = None
    delivered_now: bool = False  # this event delivered the parcel (not a carrier's retry)


def _forms_of(recorded: str) -> tuple[str, str]:
    """A recorded UTC moment (``...+00:00``) as written, and in the ``...Z`` form."""
    return recorded, f"{recorded.removesuffix('+00:00')}Z"


def _troubled_parcel_arrived(order: Order, carrier: str, tracking_number: str, deps: Deps) -> None:
    """A parcel delivered after its breach, or after the carrier reported a problem with
    it: ops' alerts about it are dealt with, and the ticket the breach or the problem
    opened says so (a note, no email: the customer has the parcel). Nothing is read for a
    parcel that had neither."""
    parcel = order.fulfillment_by_tracking(carrier, tracking_number)
    shipment = parcel.shipment
    if parcel.status is not FulfillmentStatus.DELIVERED or shipment is None:
        return
    if shipment.delivered_at is None:
        return
    delivered_at = shipment.delivered_at.isoformat()
    if shipment.breached_at is not None:
        late_parcel_delivered(order.order_id, parcel.fulfillment_id, delivered_at, deps)
        note = _confirmed(delivered_at)
        # Delivered by the promise, told after the breach was recorded: the ticket that
        # breach opened was about nothing; a person following a late parcel must not keep
        # chasing it.
        on_time = shipment.sla_status is SlaStatus.MET
        if on_time:
            note = f"{note} That is within the promise: the parcel was not late."
        note_late_ticket(order.order_id, parcel.fulfillment_id, note, BY_CARRIER, deps, on_time)
    _problems_settled_by_delivery(order.order_id, shipment, deps)


def _confirmed(delivered_at: str) -> str:
    """What a ticket about a parcel says once the carrier delivered it."""
    return f"The carrier confirmed delivery at {delivered_at}."


def _problems_settled_by_delivery(order_id: str, shipment: Shipment, deps: Deps) -> None:
    """The delivered parcel's problem alerts resolved and its problem ticket noted."""
    assert shipment.delivered_at is not None
    delivered_at = shipment.delivered_at.isoformat()
    told = f"the carrier delivered the parcel at {delivered_at}"
    settle_parcel_problems(order_id, shipment, BY_CARRIER, told, _confirmed(delivered_at), deps)


def _overtaken(order: Order, carrier: str, event: CarrierEventRequest) -> bool:
    """Whether the carrier dates the problem before the parcel's delivery, or at its very
    moment, told only after it: it stays in the parcel's events (recorded at the delivery,
    as history stays in order) and raises no alert, which nothing would ever resolve (a
    probe: such an alert stayed open on the delivered order; probe 234: one dated at the
    delivery's second too). One dated after the delivery is news for a person, and
    alerts."""
    shipment = order.fulfillment_by_tracking(carrier, event.tracking_number).shipment
    delivered_at = shipment.delivered_as_reported() if shipment is not None else None
    return delivered_at is not None and event.occurred_utc() <= delivered_at


def _settled_if_delivered_meanwhile(
    order_id: str, carrier: str, event: CarrierEventRequest, deps: Deps
) -> None:
    """The delivery, written while this problem's alert was being raised, settled the
    parcel's alerts before this one was recorded (a re-probe: 7 of 39 sent at the same
    moment left it open). Read again once it is recorded: either the delivery's settling
    saw the alert, or this reading sees the delivery."""
    order = deps.store.get_order(order_id)
    shipment = order.fulfillment_by_tracking(carrier, event.tracking_number).shipment
    if shipment is None or shipment.delivered_at is None:
        return
    # Dated at the delivery's own moment and written before it, the problem was not
    # overtaken by the date (probe 200: sent together, such alerts stayed open on 9 of 10
    # delivered parcels): its place among the parcel's events says it came first.
    if _overtaken(order, carrier, event) or shipment.recorded_before_delivery(event.event_id):
        _problems_settled_by_delivery(order_id, shipment, deps)


def _open_exception_ticket(
    order: Order, carrier: str, event: CarrierEventRequest, occurred_at: datetime, deps: Deps
) -> None:
    """One ticket per parcel, while it is out: a carrier reporting its problem again, or
    after the delivery, writes to the customer no more (found by a probe)."""
    parcel = order.fulfillment_by_tracking(carrier, event.tracking_number)
    if not order.customer_id or parcel.status is not FulfillmentStatus.SHIPPED:
        return
    # In the order's language: the customer reads the ticket's email.
    subject, description = words_for(
        "carrier_exception",
        order,
        carrier=carrier.title(),
        tracking_number=event.tracking_number,
        at=Wording.for_order(order).when(occurred_at),
    )
    open_ticket(
        order.customer_id,
        "delivery_problem",
        subject,
        description,
        order.order_id,
        "system",
        deps,
        shipment=event.tracking_number,
        ticket_id=exception_ticket_id(carrier, event.tracking_number),
    )


def _tell_again(order: Order, carrier: str, event: CarrierEventRequest, deps: Deps) -> None:
    """A carrier's retry of an event its parcel records: the request that recorded it may
    have died before telling the customer (a Lambda's timeout after DynamoDB took the
    write; found by a review: the delivery email never went). What the customer hears is
    told again, once per id or ticket: the delivery, announced under its first id, and
    the problem's ticket, opened under its own. Ops' alert is not repeated (one per
    event, and the order's timeline holds the event). The execution's wait, whose token
    the parcel keeps, is released again (a token released already is skipped)."""
    parcel = order.fulfillment_by_tracking(carrier, event.tracking_number)
    recorded = parcel.shipment.recorded(event.event_id) if parcel.shipment is not None else None
    if recorded is None:
        return
    # What the id was recorded as, not what this body says: an id seen before is a retry
    # of that event (a probe sent an in-transit id again as an exception, and the customer
    # got a problem ticket and its email for an event the parcel never recorded).
    kind = recorded.get("type")
    if kind == "delivered" and order.status is OrderStatus.DELIVERED:
        announce_again(deps, order, OrderStatus.DELIVERED)
    delivered = kind == "delivered" and parcel.status is FulfillmentStatus.DELIVERED
    if delivered and parcel.task_token:
        deps.workflow.resume(parcel.task_token, {"event": kind, "event_id": event.event_id})
    elif kind == "exception":
        occurred_at = datetime.fromisoformat(recorded["occurred_at"])
        _open_exception_ticket(order, carrier, event, occurred_at, deps)


class _NotOnItsOrderYet(Exception):
    """The parcel's pointer names an order that does not hold the parcel: its booking is
    being written (the pointer goes first), or one never finished (``booking``: False)."""

    def __init__(self, booking: bool) -> None:
        super().__init__("the parcel is not on its order")
        self.booking = booking


def _unknown_parcel(carrier: str, event: CarrierEventRequest, deps: Deps) -> dict[str, Any]:
    """Nothing is recorded of an event for a parcel not known: sent again, it is
    ``ignored`` again, and applies once the booking is known. It was answered
    ``duplicate`` the second time, and a carrier taking that for "you have it" stopped
    sending: the delivery was lost (re-probe 189)."""
    # Once per parcel, not per event: a carrier scanning one mislabelled parcel four times
    # opened four alerts (probe 170). The alert names the first event.
    alert_once(
        _unknown_parcel_marker(carrier, event.tracking_number),
        f"unknown parcel {event.tracking_number}",
        {"kind": "unknown_tracking_number", "carrier": carrier, **event.model_dump()},
        deps,
    )
    return {"event_id": event.event_id, "status": "ignored", "reason": "unknown tracking number"}


def _apply(carrier: str, event: CarrierEventRequest, deps: Deps) -> dict[str, Any]:
    try:
        order_id = deps.store.order_for_shipment(carrier, event.tracking_number)
    except NotFound:
        return _unknown_parcel(carrier, event, deps)

    def decide(order: Order) -> Change[Outcome] | None:
        if order.find_by_tracking(carrier, event.tracking_number) is None:
            waiting = any(f.status is FulfillmentStatus.PENDING for f in order.fulfillments)
            raise _NotOnItsOrderYet(booking=waiting)
        fulfillment = order.fulfillment_by_tracking(carrier, event.tracking_number)
        shipment = fulfillment.shipment
        assert shipment is not None
        if shipment.has_seen(event.event_id):
            return None  # its parcel records it already: nothing to write
        occurred_at = order.carrier_event_moment(fulfillment, event.occurred_utc(), deps.clock())
        recorded = {
            "type": event.type,
            "occurred_at": occurred_at.isoformat(),
            "event_id": event.event_id,
        }
        if event.occurred_at.upper() not in _forms_of(recorded["occurred_at"]):
            # What the carrier said, kept for audit where it differs from what was recorded
            # (not where it only wrote UTC as "Z": the event then stays one short line).
            recorded["reported_at"] = event.occurred_at
        shipment.record_event(recorded)
        if event.type == "delivered" and fulfillment.status is FulfillmentStatus.SHIPPED:
            told_late = deps.clock() > shipment.breaks_at
            entry = order.deliver(fulfillment.fulfillment_id, occurred_at, told_late)
            # The wait's token stays on the parcel: the carrier's retry of a request that
            # died before the release below releases the wait (``_tell_again``).
            return Change(
                entry=entry,
                shipments=[fulfillment],
                events=_parcel_delivered(order, fulfillment, occurred_at),
                result=Outcome(occurred_at, token=fulfillment.task_token, delivered_now=True),
            )
        if event.type == "delivered" and order.delivered_after_loss(
            fulfillment.fulfillment_id, occurred_at
        ):
            found_after_loss = dict(
                kind="delivered_after_lost",
                order_id=order.order_id,
                fulfillment_id=fulfillment.fulfillment_id,
                carrier=carrier,
                tracking_number=event.tracking_number,
                delivered_at=occurred_at.isoformat(),
                refunded=fulfillment.refunded.model_dump(mode="json")
                if fulfillment.refunded
                else None,
            )
            return Change(
                shipments=[fulfillment],
                result=Outcome(occurred_at, found_after_loss=found_after_loss),
            )
        if event.type == "delivered" and fulfillment.status is FulfillmentStatus.DELIVERED:
            # Told again (a carrier's retry): its record is written again from the order,
            # in case a crash after the delivery's write left it open, and the wait is
            # released again, in case that crash came before its release; its event is
            # published again too (it keeps its id: the customer is told once).
            assert shipment.delivered_at is not None
            return Change(
                shipments=[fulfillment],
                events=_parcel_delivered(order, fulfillment, shipment.delivered_at),
                result=Outcome(occurred_at, token=fulfillment.task_token),
            )
        return Change(result=Outcome(occurred_at))

    busy = f"parcel {event.tracking_number} is taking other events; send this one again"
    try:
        with sent_again_when_contended(busy, "tracking_number"):
            written = mutate(deps, order_id, decide, attempts=EVENT_WRITE_ATTEMPTS)
    except _NotOnItsOrderYet as missing:
        # An event sent while the parcel's booking is written was answered 422, which a
        # carrier does not send again (re-probe 188): the booking lands in moments.
        if missing.booking:
            raise TryAgainShortly(
                f"parcel {event.tracking_number} is being booked; send this event again",
                field="tracking_number",
            ) from missing
        return _unknown_parcel(carrier, event, deps)
    if written.change is None:
        _tell_again(written.order, carrier, event, deps)
        return {"event_id": event.event_id, "status": "duplicate"}
    order, outcome = written.order, written.result
    assert outcome is not None  # every change ``decide`` makes carries its outcome
    occurred_at = outcome.at
    if _first_event_of_its_parcel(order, carrier, event):
        _unknown_parcel_now_known(order_id, carrier, event.tracking_number, deps)
    if outcome.delivered_now:
        _troubled_parcel_arrived(order, carrier, event.tracking_number, deps)
    if outcome.found_after_loss:
        # The customer has the goods and the refund: a person settles it with them.
        deps.events.alert_ops(f"lost parcel delivered {order_id}", outcome.found_after_loss)
    if event.type == "exception" and not _overtaken(order, carrier, event):
        subject = f"carrier exception {event.tracking_number}"
        facts = {"kind": "carrier_exception", "order_id": order_id, "carrier": carrier}
        facts |= event.model_dump()
        parcel = order.fulfillment_by_tracking(carrier, event.tracking_number)
        if parcel.status is FulfillmentStatus.SHIPPED:
            # Out: each problem is told, and the delivery or the loss resolves them.
            _open_exception_ticket(order, carrier, event, occurred_at, deps)
            deps.events.alert_ops(subject, facts)
            _settled_if_delivered_meanwhile(order_id, carrier, event, deps)
        else:
            # Delivered or lost already: news for a person, told once per parcel, as
            # nothing will resolve it (probe 254: 260 exceptions, 260 open alerts).
            marker = f"exception-after-the-end:{carrier}:{event.tracking_number}"
            alert_once(marker, subject, facts, deps)
    if outcome.token:
        deps.workflow.resume(outcome.token, {"event": event.type, "event_id": event.event_id})
    return {"event_id": event.event_id, "status": "applied", "order_status": order.status.value}


def _unknown_parcel_marker(carrier: str, tracking_number: str) -> str:
    return f"unknown-parcel:{carrier}:{tracking_number}"


def _first_event_of_its_parcel(order: Order, carrier: str, event: CarrierEventRequest) -> bool:
    parcel = order.fulfillment_by_tracking(carrier, event.tracking_number)
    seen = parcel.shipment.events if parcel.shipment is not None else []
    return [e.get("event_id") for e in seen] == [event.event_id]


def _unknown_parcel_now_known(
    order_id: str, carrier: str, tracking_number: str, deps: Deps
) -> None:
    """A parcel's events that came before its booking was known alerted ops
    (``unknown_tracking_number``); once its first event applies, the parcel is known and
    that alert is dealt with. Ops were left an open alert for a parcel that had been
    delivered long since (probes 170 and 180). Read once per parcel, on its first event:
    only a parcel that alerted holds the marker."""
    if not deps.store.has_marker(f"alert:{_unknown_parcel_marker(carrier, tracking_number)}"):
        return
    resolve_open(
        None,
        lambda alert: (
            alert.facts.get("carrier") == carrier
            and alert.facts.get("tracking_number") == tracking_number
        ),
        "system",
        f"parcel {tracking_number} is now known as order {order_id}'s: its events apply",
        deps,
        limit=UNKNOWN_PARCEL_ALERTS_READ,
        kind="unknown_tracking_number",
    )


def _parcel_delivered(order: Order, parcel: Fulfillment, at: datetime) -> list[Event]:
    """The parcel's own delivery event while the order is not DELIVERED (a pick-up or
    another parcel is still under way); the order's DELIVERED status tells the last one."""
    if order.status is OrderStatus.DELIVERED or parcel.shipment is None:
        return []
    return [ParcelDelivered.of(order.order_id, parcel.fulfillment_id, parcel.shipment, at)]
