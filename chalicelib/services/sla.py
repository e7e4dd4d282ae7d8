"""Carrier SLAs: breaches, the scheduled safety net, and the scorecard."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import Conflict, NotFound, OrquestaError
from chalicelib.domain.events import SlaBreached
from chalicelib.domain.fulfillments import FulfillmentStatus, Shipment, SlaStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.sla import scorecard_row
from chalicelib.domain.tickets import TicketStatus
from chalicelib.presentation.wording import Wording
from chalicelib.services.alert_once import alert_once
from chalicelib.services.alerts import parcel_problems_settled
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.tickets import open_ticket, update_ticket, words_for

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# After a missed promise, how long we wait for the carrier before the SLA is breached
# (API.md: "past its promise plus the 72 h grace"): the apology, the ticket, ops' alert.
LATE_DELIVERY_GRACE_HOURS = 72


def record_breach(order_id: str, fulfillment_id: str, deps: Deps) -> bool:
    """Mark a shipment late once: the order shows it, the customer gets an apology (the
    ``shipment.sla_breached`` event), ops get an alert. True if this call recorded it."""
    return breach_once(order_id, fulfillment_id, deps)[0]


def breach_once(
    order_id: str,
    fulfillment_id: str,
    deps: Deps,
    when_due: bool = False,
    start: Order | None = None,
) -> tuple[bool, Order]:
    """``record_breach``, and the order as its write (or read) left it. ``when_due``:
    only if the order's own grace has run out (the record that led here may hold another
    promise, see ``check_overdue_shipments``). ``start``: the order just read."""
    now = deps.clock()

    def decide(order: Order) -> Change[bool] | None:
        fulfillment = order.fulfillment(fulfillment_id)
        shipment = fulfillment.shipment
        if (
            fulfillment.status is not FulfillmentStatus.SHIPPED
            or shipment is None
            or shipment.breached_at is not None
            or (when_due and shipment.breaks_at > now)
        ):
            return None
        # The SLA broke when the grace ran out, not when a step noticed: the moment the
        # order's JSON already shows before this record (``Shipment.sla``), so it never moves
        # (a probe read two). With scaled waits the step may run a little before it.
        shipment.breached_at = min(now, shipment.breaks_at)
        shipment.sla_status = SlaStatus.BREACHED
        shipment.lost_by = lost_deadline(shipment.promised_by, deps)
        event = SlaBreached.of(order, fulfillment_id, shipment, shipment.breached_at)
        return Change(events=[event], shipments=[fulfillment], result=True)

    # mutate may decide again after losing a race: only the attempt that was written
    # returns True (another recorder that won has told already).
    written = mutate(deps, order_id, decide, start=start)
    order = written.order
    fulfillment = order.fulfillment(fulfillment_id)
    shipment = fulfillment.shipment
    breached_at = shipment.breached_at if shipment is not None else None
    if shipment is None or breached_at is None:
        return False, order
    if not written.result:
        if fulfillment.status is not FulfillmentStatus.SHIPPED:
            return False, order  # moved on since: what it became was told
        if now >= lost_deadline(shipment.promised_by, deps):
            return False, order  # the lost deadline's follow-up: told long ago
        # Recorded already, before the lost deadline: by a run that may have died
        # between its write and what it tells (a Lambda stopped by its timeout), so the
        # customer's apology, the ticket and ops' alert are told again, each once.
        event = SlaBreached.of(order, fulfillment_id, shipment, breached_at)
        deps.events.publish(event.message())
    _tell_breach(order, fulfillment_id, shipment, breached_at, deps)
    return bool(written.result), order


def _tell_breach(
    order: Order, fulfillment_id: str, shipment: Shipment, breached_at: datetime, deps: Deps
) -> None:
    """Ops' alert and customer service's ticket about a breach (recorded at
    ``breached_at``), each once however often a retried step tells them."""
    breached = dict(
        kind="sla_breached",
        order_id=order.order_id,
        fulfillment_id=fulfillment_id,
        customer_id=order.customer_id,
        carrier=shipment.carrier,
        service_level=shipment.service_level,
        tracking_number=shipment.tracking_number,
        promised_by=shipment.promised_by.isoformat(),
        breached_at=breached_at.isoformat(),
    )
    marker = f"breach:{order.order_id}:{fulfillment_id}"
    alert_once(marker, f"SLA breached {order.order_id}", breached, deps)
    if not order.customer_id:
        return
    # Customer service hears of it before the customer has to ask; the fixed id keeps a
    # retried step from opening a second ticket. In the order's language: the customer
    # reads the ticket's subject when it is resolved.
    subject, description = words_for(
        "late_delivery",
        order,
        carrier=shipment.carrier.title(),  # as every email and the page name it
        tracking_number=shipment.tracking_number,
        promised_by=Wording.for_order(order).when(shipment.promised_by),
    )
    open_ticket(
        order.customer_id,
        "late_delivery",
        subject,
        description,
        order.order_id,
        "system",
        deps,
        shipment=shipment.tracking_number,
        ticket_id=late_ticket_id(order.order_id, fulfillment_id),
    )


def late_ticket_id(order_id: str, fulfillment_id: str) -> str:
    """The ticket a parcel's breach opens (one per parcel, whoever records the breach)."""
    return f"tkt_late_{order_id}_{fulfillment_id}"[:64]


def exception_ticket_id(carrier: str, tracking_number: str) -> str:
    """The ticket a carrier's exception opens (one per parcel, however often it is told)."""
    return f"tkt_exc_{carrier}_{tracking_number}"[:64]


def settle_parcel_problems(
    order_id: str, shipment: Shipment, by: str, alert_note: str, ticket_note: str, deps: Deps
) -> None:
    """A parcel the carrier reported a problem with reached its end: its exception alerts
    are resolved and its ``delivery_problem`` ticket noted. Nothing is read for a parcel
    the carrier reported no problem with."""
    if not any(event.get("type") == "exception" for event in shipment.events):
        return
    parcel_problems_settled(
        order_id, shipment.carrier, shipment.tracking_number, by, alert_note, deps
    )
    ticket_id = exception_ticket_id(shipment.carrier, shipment.tracking_number)
    note_parcel_ticket(ticket_id, ticket_note, by, deps)


def note_late_ticket(
    order_id: str, fulfillment_id: str, note: str, by: str, deps: Deps, resolve: bool = False
) -> None:
    """Say on the ticket a parcel's breach opened how the parcel ended (delivered after all,
    or lost); ``resolve`` it too when the parcel arrived within its promise after all."""
    note_parcel_ticket(late_ticket_id(order_id, fulfillment_id), note, by, deps, resolve)


def note_parcel_ticket(
    ticket_id: str, note: str, by: str, deps: Deps, resolve: bool = False
) -> None:
    """Say on a ticket about a parcel how the parcel ended: a note, once per writer, no
    email (the customer heard of it otherwise; a late ticket we resolve is not mailed,
    ``tickets._told_already``). Left alone once resolved, and for an erased customer's."""
    ticket = deps.customers.get_ticket(ticket_id)
    if ticket is None or ticket.status is TicketStatus.RESOLVED:
        return
    if any(existing.by == by for existing in ticket.notes):
        return  # a retried step, or the carrier telling again
    with contextlib.suppress(Conflict):  # resolved meanwhile, or an erased customer's
        update_ticket(ticket_id, TicketStatus.RESOLVED if resolve else None, note, by, deps)


def lost_deadline(promised_by: datetime, deps: Deps) -> datetime:
    """When an unconfirmed parcel is declared lost: ``lost_parcel_days`` after its
    promise, scaled like every wait."""
    return promised_by + timedelta(seconds=deps.settings.waits.lost_parcel_seconds)


def late_delivery_deadline(promised_by: datetime, deps: Deps) -> datetime:
    """When we stop waiting for a late parcel and hand it to ops."""
    return deps.settings.waits.deadline(promised_by, LATE_DELIVERY_GRACE_HOURS * 3600)


def check_overdue_shipments(
    deps: Deps, declare_lost: Callable[[str, str, Deps], object] | None = None
) -> dict[str, int]:
    """The scheduled safety net: shipments past their promise and its grace with no breach
    recorded (an execution stopped or lost its timer) get their breach now, and with
    ``declare_lost`` (``lost_parcels.declare_lost``), breached parcels still unconfirmed
    past their lost deadline are declared lost (refunded, the customer told, ops alerted):
    API.md lets no stopped execution keep money captured for a parcel that never arrived.
    Reads only the sparse index of watched shipments, for the last three due days: the
    check runs every few minutes, so that window survives two days without a run.

    It also brings in line the records a crash left open (``records_repaired``): a record
    is written beside its order, before it when it opens and after it when it closes, so
    one may say "open" longer than its order does. Found overdue, such a record is
    rewritten from the order (delivered, breached, no longer out, or out with a later
    promise than the record's: no breach then) or, if the order never shipped that
    parcel and no dispatch can ship it any more, deleted."""
    now = deps.clock()
    overdue, pages = deps.store.overdue_shipments(now)
    outcomes: Counter[str] = Counter()
    for item in overdue:
        try:
            outcome = _check_record(item, now, deps, declare_lost)
        except Exception:  # noqa: BLE001 - one record must not stop the check for all others
            # Records are read oldest due first: one that fails every run (an order that
            # can no longer be written, a probe found) stopped every breach and loss after
            # it, run after run. It is logged with its order, and the next run tries again.
            outcomes["failed"] += 1
            _log.exception("overdue shipment of %s not checked", item.get("order_id"))
            continue
        if outcome is not None:
            outcomes[outcome] += 1
    return {
        "overdue": len(overdue),
        "breaches_recorded": outcomes["breach"],
        "parcels_declared_lost": outcomes["lost"],
        "lost_parcels_failed": outcomes["lost_failed"],
        "records_repaired": outcomes["repaired"],
        "records_failed": outcomes["failed"],
        "pages_read": pages,
    }


def _check_record(
    item: dict[str, Any],
    now: datetime,
    deps: Deps,
    declare_lost: Callable[[str, str, Deps], object] | None,
) -> str | None:
    """One overdue record (``check_overdue_shipments``): what was done about it, if
    anything."""
    order_id, fulfillment_id = str(item["order_id"]), str(item["fulfillment_id"])
    try:
        breached, order = breach_once(order_id, fulfillment_id, deps, when_due=True)
    except NotFound:
        if _order_exists(order_id, deps):
            raise  # something else is missing: not this record's to repair
        # No such order: nothing can ship this parcel.
        carrier, tracking_number = str(item["carrier"]), str(item["tracking_number"])
        return "repaired" if deps.store.drop_shipment(carrier, tracking_number, order_id) else None
    if breached:
        return "breach"
    if declare_lost is not None and _past_lost_deadline(order, fulfillment_id, now):
        # The execution that waits for it (if one still does) declares it at the same
        # moment; both are one write and one refund (the loss is recorded once). A
        # gateway that fails leaves it watched: the next run settles it.
        try:
            declare_lost(order_id, fulfillment_id, deps)
        except OrquestaError as exc:
            _log.warning("lost parcel %s %s not settled yet: %s", order_id, fulfillment_id, exc)
            return "lost_failed"
        return "lost"
    return "repaired" if _repair_record(item, order, deps) else None


def _past_lost_deadline(order: Order, fulfillment_id: str, now: datetime) -> bool:
    """Breached, never confirmed, and its lost deadline passed; or declared lost and its
    refund not yet recorded (``Fulfillment.watch_due``)."""
    fulfillment = order.find_fulfillment(fulfillment_id)
    if fulfillment is None or fulfillment.shipment is None:
        return False
    due = fulfillment.watch_due()
    return fulfillment.shipment.breached_at is not None and due is not None and due <= now


def _repair_record(record: dict[str, Any], order: Order, deps: Deps) -> bool:
    """Bring an open record in line with its order (read after its breach was decided);
    True if it was rewritten or deleted."""
    carrier, tracking_number = str(record["carrier"]), str(record["tracking_number"])
    shipped = order.find_by_tracking(carrier, tracking_number)
    if shipped is not None:
        shipment = shipped.shipment
        assert shipment is not None
        if shipped.parcel_out() and record["promised_by"] == shipment.promised_by.isoformat():
            return False  # still out as recorded: its breach recorded by another just now
        # Closed since, or out with another promise than a dispatch that lost its race
        # stored ahead of the order: the order's own record.
        return deps.store.put_shipment(order.order_id, shipped, order.version)
    # Stored by a dispatch whose order write never happened: keep it while that dispatch
    # may still be retried (it writes the same record, the parcel is out then).
    if order.may_still_dispatch(str(record["fulfillment_id"])):
        return False
    return deps.store.drop_shipment(carrier, tracking_number, order.order_id)


def _order_exists(order_id: str, deps: Deps) -> bool:
    try:
        deps.store.get_order(order_id)
    except NotFound:
        return False
    return True


def sla_scorecard(deps: Deps, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per carrier and service level, the shipments handed over in ``[start, end)``."""
    now = deps.clock()
    rows = []
    for carrier in deps.carriers.values():
        records = deps.store.shipments_between(carrier.name, carrier.service_level, start, end)
        rows.append(scorecard_row(carrier.name, carrier.service_level, records, now))
    return rows
