"""What the ops console shows: executions by status, and one order's timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.settlement import return_refund_status
from chalicelib.domain.surveys import complaint_ticket_id
from chalicelib.domain.tickets import Ticket
from chalicelib.ports import CustomerRecord
from chalicelib.services.customers import canonical_customer

if TYPE_CHECKING:
    from chalicelib.composition import Deps

EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# Counting stops here per status: the console shows "1000+" rather than paging for ever.
COUNT_CAP = 1000

# Sorted with the entry kinds in this order when two happen at the same instant.
_KIND_ORDER = {
    "status": 0,
    "part": 0,
    "webhook": 1,
    "sla": 2,
    "return": 2,
    "alert": 3,
    "ticket": 4,
    "interaction": 5,
    "email": 6,
}


def executions_overview(status: str | None, limit: int, deps: Deps) -> dict[str, Any]:
    """Counts per execution status and the newest ``limit`` executions (of ``status``)."""
    counts = {
        name: len(deps.workflow.list_executions(name, COUNT_CAP)) for name in EXECUTION_STATUSES
    }
    return {
        "counts": counts,
        "count_cap": COUNT_CAP,
        "status": status,
        "executions": [
            _with_order_status(row, deps) for row in deps.workflow.list_executions(status, limit)
        ],
    }


def _with_order_status(row: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """A stopped execution's row says where its order stands. A cancel during a long
    picking time stops the execution with nothing held (ordering.cancel_order): ops should
    tell that from a stop that left an order half-way. Only stopped rows read their order."""
    unread = {
        "order_status": None,
        "order_attention": False,
        "retried": False,
        "order_nothing_left": False,
    }
    if row["status"] != "ABORTED":
        return {**row, **unread}
    try:
        order = deps.store.get_order(row["order_id"])
    except NotFound:
        return {**row, **unread}
    # A stop that cancelled the order through compensation leaves it at rest but marked
    # (probe 207: drawn grey, "ABORTED · order cancelled", as a harmless stop). One that
    # an ops retry carries on is over too (probe 256: it stayed red, with nothing to do).
    return {
        **row,
        "order_status": order.status.value,
        "order_attention": order.attention is not None,
        "retried": order.execution_arn not in (None, row["execution_arn"]),
        # Every part lost or cancelled: drawn grey as at rest (probe 268: it stayed red).
        "order_nothing_left": order.nothing_left_to_carry_on(),
    }


def order_timeline(order_id: str, deps: Deps) -> dict[str, Any]:
    """Everything that happened to an order, oldest first: its statuses, the emails the
    customer was sent, the carriers' webhooks, SLA breaches, returns and customer-service
    tickets."""
    order = deps.store.get_order(order_id)
    interactions, tickets = _customer_items(order, deps)
    entries = (
        _statuses(order)
        + _emails(order, interactions, deps)
        + _interactions(interactions)
        + _carrier_events(order)
        + _returns(order)
        + _tickets(tickets)
        + _retries(order)
        + _alerts(order, deps)
    )
    entries.sort(key=lambda e: (_instant(e["at"]), _rank(e)))
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "customer_id": order.customer_id,
        "execution_arn": order.execution_arn,
        "entries": entries,
    }


def _rank(entry: dict[str, Any]) -> float:
    """Where an entry goes among those of the same moment: the RETURNED status after the
    return's receipt that caused it (a probe read "RETURNED", then "return received"), the
    DELIVERED status after the carrier's events (probe 26E read "DELIVERED" above the
    carrier's "in_transit" and "delivered" of the same second)."""
    if entry["kind"] == "status" and entry["title"] == OrderStatus.RETURNED.value:
        return _KIND_ORDER["return"] + 0.5
    if entry["kind"] == "status" and entry["title"] == OrderStatus.DELIVERED.value:
        return _KIND_ORDER["webhook"] + 0.5
    return _KIND_ORDER.get(entry["kind"], 9)


def _alerts(order: Order, deps: Deps) -> list[dict[str, Any]]:
    """The ops alerts raised about this order."""
    return [
        {
            "at": alert.at.isoformat(),
            "kind": "alert",
            "title": f"ops alert: {alert.kind} ({alert.status.value})",
            "detail": alert.detail,
            "event_id": alert.alert_id,
        }
        for alert in deps.alerts.list(order.order_id, None, 100)
    ]


def _retries(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "at": retry.at.isoformat(),
            "kind": "retry",
            "title": f"Retry {retry.attempt}",
            "detail": (
                f"{retry.previous_status} execution restarted from {retry.resumed_from.value} "
                f"by {retry.by}" + (f": {retry.reason}" if retry.reason else "")
            ),
        }
        for retry in order.retries
    ]


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _statuses(order: Order) -> list[dict[str, Any]]:
    """The history: each status change, and each part's own entry as that part's (a
    re-probe read a pick-up not collected as the order becoming SHIPPED again)."""
    found: list[dict[str, Any]] = []
    for entry in order.history:
        kind, title = ("status", entry.status.value)
        if entry.fulfillment_id is not None:
            # Its suffix ("F1"), as the parts table names it (probe 242: "part -F1").
            suffix = entry.fulfillment_id.removeprefix(order.order_id).lstrip("-")
            kind, title = "part", f"part {suffix}"
        detail = f"{entry.detail}: {entry.note}" if entry.note else entry.detail
        found.append({"at": entry.at.isoformat(), "kind": kind, "title": title, "detail": detail})
    return found


# What the email of a status said to the customer, where its name is not the status's:
# RESERVED mails the order's confirmation (a probe: ops read "email: order RESERVED" while
# the customer read "Pedido confirmado").
_STATUS_EMAILS = {
    "RESERVED": "order confirmed",
    "REJECTED": "order not completed",
}


def _mail_events(order: Order) -> list[tuple[str, str, str]]:
    """(event id, when, what) of every event of this order that mails the customer; the ids
    are the ones ``notify`` marks once an email for the event is sent. Every status is a
    candidate: which ones mailed depends on the customer's preference, and the markers
    tell."""
    found: list[tuple[str, str, str]] = []
    for index, entry in enumerate(order.history, start=1):
        if not entry.changes_status:
            continue  # a part's entry: its part's own event mails, listed below
        event_id = f"{order.order_id}:{index:03d}:{entry.status.value}"
        # In words (probe 242: "email: order DELIVERED").
        words = entry.status.value.lower().replace("_", " ")
        what = _STATUS_EMAILS.get(entry.status.value, f"order {words}")
        found.append((event_id, entry.at.isoformat(), what))
    # Pick-ups stored before a part kept when it was ready: the order's first READY.
    order_ready_at = next(
        (e.at for e in order.history if e.status.value == "READY_FOR_PICKUP" and e.changes_status),
        None,
    )
    for fulfillment in order.fulfillments:
        prefix = f"{order.order_id}:{fulfillment.fulfillment_id}"
        # When the part was ready, which its email tells: a mixed order becomes
        # READY_FOR_PICKUP only once its parcel arrived (probe 185: the console dated the
        # email at the parcel's delivery).
        ready_at = fulfillment.ready_at or order_ready_at
        if fulfillment.pickup_code and ready_at:
            found.append((f"{prefix}:READY_FOR_PICKUP", ready_at.isoformat(), "ready for pick-up"))
        shipment = fulfillment.shipment
        if shipment is not None:
            found.append((f"{prefix}:SHIPPED", shipment.shipped_at.isoformat(), "shipment sent"))
        if shipment is not None and shipment.delivered_at is not None:
            at = shipment.delivered_at.isoformat()
            found.append((f"{prefix}:DELIVERED", at, "parcel delivered"))
        if shipment is not None and shipment.breached_at is not None:
            found.append(
                (f"{prefix}:SLA_BREACHED", shipment.breached_at.isoformat(), "late delivery")
            )
        if shipment is not None and shipment.lost_at is not None:
            found.append((f"{prefix}:LOST", shipment.lost_at.isoformat(), "parcel lost"))
    for returned in order.returns:
        found.append(
            (
                f"{order.order_id}:{returned.return_id}:REQUESTED",
                returned.requested_at.isoformat(),
                "return requested",
            )
        )
    return found


def _emails(order: Order, interactions: list[dict[str, Any]], deps: Deps) -> list[dict[str, Any]]:
    """The emails sent about this order: as the customer 360 recorded them and, for any it
    has not (yet), as the notifier's once-only markers show them."""
    recorded = {
        str(i["interaction_id"]).removeprefix("email-"): i
        for i in interactions
        if i.get("type") == "email"
    }
    to = f"to {order.contact.email}" if order.contact.email else "to the customer"
    entries: list[dict[str, Any]] = []
    for event_id, at, what in _mail_events(order):
        item = recorded.pop(event_id, None)
        if item is None and not (
            order.contact.email and deps.store.has_marker(f"email:{event_id}")
        ):
            continue
        entries.append(
            {
                "at": at,
                "kind": "email",
                "title": f"email: {what}",
                "detail": to,
                "event_id": event_id,
            }
        )
    for event_id, item in recorded.items():  # emails about other events (tickets, ...)
        entries.append(
            {
                "at": str(item["at"]),
                "kind": "email",
                "title": f"email: {_email_title(str(item.get('summary') or event_id))}",
                "detail": to,
                "event_id": event_id,
            }
        )
    return entries


# What an email recorded in the 360 was about, in the words the rest of the timeline uses
# (its summary is "email sent: <event type or status> about order <id>").
_EMAIL_WORDS = {
    "fulfillment.cancelled": "part of the order cancelled",
    "fulfillment.not_collected": "pick-up not collected",
    "fulfillment.ready_for_pickup": "ready for pick-up",
    "fulfillment.shipped": "shipment sent",
    "fulfillment.lost": "parcel lost",
    "shipment.sla_breached": "late delivery",
    "payment.refund": "refund",
    "return.requested": "return requested",
    "return.received": "return received",
    "ticket.opened": "ticket opened",
    "ticket.resolved": "ticket resolved",
}


def _email_title(summary: str) -> str:
    """``email sent: payment.refund about order ord_1`` -> ``refund``; a status -> ``order
    RESERVED``, as the statuses' own email entries read."""
    what = summary.removeprefix("email sent: ").removeprefix("text sent: ")
    what = what.split(" about order ", 1)[0]
    if what in _EMAIL_WORDS:
        return _EMAIL_WORDS[what]
    return f"order {what}" if what.isupper() else what


def _carrier_events(order: Order) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for fulfillment in order.fulfillments:
        shipment = fulfillment.shipment
        if shipment is None:
            continue
        parcel = f"{shipment.carrier} {shipment.tracking_number}"
        for event in shipment.events:
            entries.append(
                {
                    "at": event.get("occurred_at", shipment.shipped_at.isoformat()),
                    "kind": "webhook",
                    "title": f"carrier: {event.get('type', 'event')}",
                    "detail": parcel,
                    "event_id": event.get("event_id"),
                }
            )
        if shipment.breached_at is not None:
            entries.append(
                {
                    "at": shipment.breached_at.isoformat(),
                    "kind": "sla",
                    "title": "SLA breached",
                    "detail": f"{parcel}, promised by {_utc_shown(shipment.promised_by)}",
                }
            )
        if shipment.lost_at is not None:
            refunded = fulfillment.refunded
            entries.append(
                {
                    "at": shipment.lost_at.isoformat(),
                    "kind": "sla",
                    "title": "parcel lost",
                    "detail": f"{parcel} never confirmed"
                    + (f"; refunded {refunded.amount} {refunded.currency}" if refunded else ""),
                }
            )
    return entries


def _returns(order: Order) -> list[dict[str, Any]]:
    """Each return asked for (what, how, where to) and received (where, and the refund)."""
    entries: list[dict[str, Any]] = []
    for returned in order.returns:
        what = ", ".join(f"{line.quantity} x {line.sku}" for line in returned.lines)
        named = returned.requested_location_id
        where = f" to {named}" if named else ""
        entries.append(
            {
                "at": returned.requested_at.isoformat(),
                "kind": "return",
                "title": "return requested",
                "detail": f"{returned.return_id}: {what} by {returned.channel}{where}",
                "event_id": returned.return_id,
            }
        )
        if returned.received_at is not None:
            refund = returned.refund
            owed = return_refund_status(order, returned.return_id) == "pending"
            entries.append(
                {
                    "at": returned.received_at.isoformat(),
                    "kind": "return",
                    "title": "return received",
                    "detail": f"{returned.return_id} at {returned.location_id}"
                    + (f"; refund {refund.amount} {refund.currency}" if refund else "")
                    + (" (owed: the gateway failed, the sweeper retries)" if owed else ""),
                    "event_id": returned.return_id,
                }
            )
    return entries


def _customer_items(order: Order, deps: Deps) -> tuple[list[dict[str, Any]], list[Any]]:
    """The customer's recorded interactions and tickets about this order (customer 360); for
    an order without a customer, the complaint its survey may have opened."""
    if not order.customer_id:
        complaint = deps.customers.get_ticket(complaint_ticket_id(order.order_id))
        return [], [complaint] if complaint is not None else []
    try:
        owner, _ = canonical_customer(order.customer_id, deps)
    except NotFound:
        return [], []
    interactions, _ = deps.customers.records(owner, CustomerRecord.INTERACTIONS)
    indexed, _ = deps.customers.records(owner, CustomerRecord.TICKETS)
    tickets = [
        deps.customers.get_ticket(str(item["ticket_id"]))
        for item in indexed
        if item.get("order_id") == order.order_id
    ]
    mine = [i for i in interactions if i.get("order_id") == order.order_id]
    return mine, [t for t in tickets if t is not None]


def _interactions(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls, chats and visits staff recorded about this order (emails are shown apart)."""
    return [
        {
            "at": str(item["at"]),
            "kind": "interaction",
            "title": (
                f"text: {_email_title(str(item.get('summary') or ''))}"  # a text message
                if item.get("type") == "sms"
                else f"{item.get('type') or 'contact'}: {item.get('summary') or ''}".strip()
            ),
            "detail": " · ".join(str(item[k]) for k in ("channel", "recorded_by") if item.get(k)),
            "event_id": str(item["interaction_id"]),
        }
        for item in interactions
        if item.get("type") != "email"
    ]


def _tickets(tickets: list[Ticket]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for ticket in tickets:
        entries.append(
            {
                "at": ticket.opened_at.isoformat(),
                "kind": "ticket",
                "title": f"ticket opened: {ticket.type.value}",
                "detail": f"{ticket.ticket_id} · {ticket.subject} ({ticket.status.value})",
                "event_id": ticket.ticket_id,
            }
        )
        if ticket.resolved_at is not None:
            entries.append(
                {
                    "at": ticket.resolved_at.isoformat(),
                    "kind": "ticket",
                    "title": f"ticket resolved: {ticket.type.value}",
                    "detail": f"{ticket.ticket_id} · {ticket.subject}",
                    "event_id": ticket.ticket_id,
                }
            )
    return entries


def _utc_shown(moment: datetime) -> str:
    """A moment inside a detail as the console shows every other time: UTC, to the second
    (probe 199: an ISO string stood out among them)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
