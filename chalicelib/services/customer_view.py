"""The customer 360: a projection kept up to date from order events, and what is read
from it (the view, the export, the segment and channel aggregates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.customers import customer_pk
from chalicelib.domain.customers import (
    SEGMENTS,
    OrderContribution,
    ProfileState,
    analytics_state,
    contribution_of,
)
from chalicelib.domain.erasure import contact_emails, redact_order
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.tickets import Ticket
from chalicelib.services.customers import canonical_customer
from chalicelib.services.order_writes import Change, Unchanged, mutate
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# A refund confirmed after the status change (the settlement sweeper) changes the figures.
PROJECTED_TYPES = frozenset(
    {"order.status_changed", "order.claimed", "fulfillment.lost", "payment.refund"}
)
MAX_ATTEMPTS = 12
ORDERS_PAGE = 20
RECENT_ITEMS = 50
TOP_CUSTOMERS = 10
# The review runs hourly; a month of reviews survives the schedule being off that long.
REVIEW_DAYS_BACK = 31


def order_sk(order: Order) -> str:
    """The sort key of an order's summary in its customer's partition (newest last)."""
    return f"ORDER#{order.placed_at.isoformat()}#{order.order_id}"


def _contribution(order: Order) -> OrderContribution:
    return contribution_of(
        status=order.status.value,
        channel=order.channel.value,
        total=order.total.amount,
        # Counted once paid (authorised); what is never handed over is voided, and the
        # order then ends cancelled or rejected, which is not counted.
        captured=order.payment.authorized is not None,
        refunded=order.payment.refunded.amount if order.payment.refunded else Decimal(0),
        placed_at=order.placed_at,
    )


def _consent_item(order: Order) -> dict[str, Any] | None:
    if order.consent is None:
        return None
    accepted = order.consent.accepted_at.isoformat()
    return {
        "sk": f"CONSENT#{accepted}#{order.order_id}",
        "terms_version": order.consent.terms_version,
        "privacy_version": order.consent.privacy_version,
        "accepted_at": accepted,
        "channel": order.consent.channel.value,
        "order_id": order.order_id,
    }


def _summary_owner(customer_id: str, sk: str, deps: Deps) -> tuple[str, dict[str, Any] | None]:
    """Whose partition holds the order's summary, and the summary. Normally the customer
    the order names, or the record it was merged into; while a merge is still moving the
    history, the summary may be in the merged record yet, and it is updated there (the
    move and the figures' merge then carry the change over) rather than duplicated."""
    owner, _profile = canonical_customer(customer_id, deps)
    if owner != customer_id:
        summary = deps.customers.order_summary(customer_id, sk)
        if summary is not None:
            return customer_id, summary
    return owner, deps.customers.order_summary(owner, sk)


def project_order_event(event: dict[str, Any], deps: Deps) -> bool:
    """Bring the customer 360 up to date with one order event; True if it changed anything.

    The projection is state-based: the order is read again and its contribution to the
    figures replaces the one last applied (kept on the order's summary), so late, reordered
    or redelivered events cannot corrupt the totals: an event whose order state is already
    projected writes nothing. The figures and aggregates are written only when the
    contribution changes (payment, cancellation, refund, return), not on every status."""
    if event.get("type") not in PROJECTED_TYPES or not event.get("order_id"):
        return False
    order_id = str(event["order_id"])
    first = deps.store.get_order(order_id)
    named_customer = first.customer_id
    if named_customer is None:
        return False  # anonymous until claimed; the claim publishes order.claimed
    _respect_erasure(first, deps)
    sk = order_sk(first)

    def project() -> bool:
        # Summary first, then the order: the order read is at least as new as the one the
        # summary was written from, and the summary's version guards the write.
        customer_id, summary = _summary_owner(named_customer, sk, deps)
        order = deps.store.get_order(order_id)
        old = OrderContribution.model_validate(summary["contribution"]) if summary else None
        new = _contribution(order)
        item = {
            "sk": sk,
            "order_id": order.order_id,
            "channel": order.channel.value,
            "status": order.status.value,
            "total": order.total.model_dump(mode="json"),
            "placed_at": order.placed_at.isoformat(),
            "contribution": new.model_dump(mode="json"),
        }
        if summary is not None and all(summary.get(key) == value for key, value in item.items()):
            return False  # this state of the order is projected already
        figures = None
        if old != new and ((old is not None and old.counted) or new.counted):
            metrics, counted_as = deps.customers.figures(customer_id)
            updated = metrics.apply(old, new)
            figures = (updated, counted_as, analytics_state(updated, deps.clock()))
        deps.customers.project(
            customer_id,
            item,
            int(summary["version"]) if summary else 0,
            _consent_item(order) if summary is None else None,
            figures,
        )
        return True

    try:
        return retried(project, MAX_ATTEMPTS)
    except ConcurrentModification as exc:
        raise ConcurrentModification(
            f"could not project {event.get('event_id')}; SNS will retry"
        ) from exc


def _respect_erasure(order: Order, deps: Deps) -> None:
    """An order of an erased customer that the erasure did not see (it was placed while
    the erasure ran, or its summary was not projected yet) loses the customer's personal
    data when its event arrives, and so do the copies of the emails sent about it; its
    amounts and statuses are projected as any order's."""
    assert order.customer_id is not None
    _owner, profile = canonical_customer(order.customer_id, deps)
    if profile.get("state") != ProfileState.ERASED:
        return

    def redact(current: Order) -> Change[set[str]] | Unchanged[set[str]]:
        addresses = contact_emails(current)
        return Change(result=addresses) if redact_order(current) else Unchanged(addresses)

    # The addresses as first read count too: a racing redaction may have cleared them.
    addresses = contact_emails(order) | (mutate(deps, order.order_id, redact).result or set())
    if addresses and deps.outbox is not None:
        deps.outbox.forget(addresses)


def review_segments(deps: Deps) -> dict[str, int]:
    """The scheduled review: customers whose recency score has dropped since their figures
    were last written (no order since) get their segment, and the aggregates, recomputed.
    Reads only the sparse index of reviews due, over the last ``REVIEW_DAYS_BACK`` days:
    the cost follows the customers due, not all customers. Each review moves the next one
    forward, so running it twice changes nothing the second time."""
    now = deps.clock()
    due, pages = deps.customers.segment_reviews_due(now, REVIEW_DAYS_BACK)
    moved = 0
    for customer_id in dict.fromkeys(due):
        moved += _review_segment(customer_id, now, deps)
    return {"due": len(due), "segments_changed": moved, "pages_read": pages}


def _review_segment(customer_id: str, now: datetime, deps: Deps) -> int:
    store = deps.customers

    def review() -> int:
        metrics, old = store.figures(customer_id)
        if old.review_at is None or old.review_at > now:
            return 0  # reviewed already, or a new order moved the review on
        new = analytics_state(metrics, now)
        store.save_metrics([(customer_id, metrics, old, new)])
        return int(new.segment != old.segment)

    try:
        return retried(review, MAX_ATTEMPTS)
    except ConcurrentModification as exc:
        raise ConcurrentModification(f"could not review {customer_id}; the next run will") from exc


def record_email(
    event: dict[str, Any], message_id: str, deps: Deps, customer_id: str | None = None
) -> None:
    """Every email sent to a customer becomes an interaction in their 360 (once per event)."""
    order_id = event.get("order_id")
    customer_id = customer_id or event.get("customer_id")
    if customer_id is None and order_id:
        customer_id = deps.store.get_order(str(order_id)).customer_id
    if customer_id is None:
        return
    owner, _ = canonical_customer(customer_id, deps)
    kind = str(event.get("type", ""))
    label = str(event.get("status") or kind)
    about = f" about order {order_id}" if order_id else ""
    deps.customers.add_interaction(
        owner,
        {
            "interaction_id": f"email-{event['event_id']}",
            "type": "email",
            "channel": "email",
            "at": str(event.get("at") or deps.clock().isoformat()),
            "summary": f"email sent: {label}{about}",
            "order_id": order_id,
            "message_id": message_id,
        },
    )


def add_interaction(
    customer_id: str, kind: str, channel: str, summary: str, by: str, deps: Deps
) -> dict[str, Any]:
    """Record a call, chat or store visit staff had with the customer; ``Conflict`` for an
    erased customer (nothing new is written about them)."""
    owner, profile = canonical_customer(customer_id, deps)
    if profile.get("state") == ProfileState.ERASED:
        raise Conflict(f"customer {customer_id} was erased", field="customer_id")
    interaction = {
        "interaction_id": f"int_{uuid.uuid4().hex[:16]}",
        "type": kind,
        "channel": channel,
        "at": deps.clock().isoformat(),
        "summary": summary,
        "recorded_by": by,
    }
    deps.customers.add_interaction(owner, interaction)
    return interaction | {"customer_id": owner}


def _public(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item.get(name) for name in fields}


ORDER_FIELDS = ("order_id", "channel", "status", "total", "placed_at")
INTERACTION_FIELDS = ("interaction_id", "type", "channel", "at", "summary", "order_id")
TICKET_FIELDS = ("ticket_id", "type", "status", "order_id", "subject")
CONSENT_FIELDS = ("terms_version", "privacy_version", "accepted_at", "channel", "order_id")


def customer_view(
    customer_id: str, deps: Deps, cursor: str | None = None, limit: int = ORDERS_PAGE
) -> dict[str, Any]:
    """The 360 view: a handful of key queries in one partition, whatever the number of
    customers; orders one page at a time, newest first."""
    owner, profile = canonical_customer(customer_id, deps)
    pk = customer_pk(owner)
    store = deps.customers
    orders, next_cursor = store.query(pk, "ORDER#", limit=limit, newest_first=True, cursor=cursor)
    interactions, _ = store.query(pk, "INTERACTION#", limit=RECENT_ITEMS, newest_first=True)
    tickets, _ = store.query(pk, "TICKET#", limit=RECENT_ITEMS, newest_first=True)
    consents, _ = store.query(pk, "CONSENT#", newest_first=True)
    candidates, _ = store.query(pk, "CANDIDATE#")
    return {
        "customer_id": owner,
        "merged_into": owner if owner != customer_id else None,
        "profile": {
            "name": profile.get("name"),
            "locale": profile.get("locale"),
            "state": profile.get("state", ProfileState.ACTIVE),
            "erased_at": profile.get("erased_at"),
        },
        "identifiers": [i.model_dump(mode="json") for i in store.identifiers(owner)],
        "orders": [_public(o, ORDER_FIELDS) for o in orders],
        "orders_next_cursor": next_cursor,
        "interactions": [_public(i, INTERACTION_FIELDS) for i in interactions],
        "tickets": [_public(t, TICKET_FIELDS) for t in tickets],
        "consents": [_public(c, CONSENT_FIELDS) for c in consents],
        "merge_candidates": [str(c["customer_id"]) for c in candidates],
        "metrics": store.metrics(owner).summary(deps.clock()),
    }


def export_customer(customer_id: str, deps: Deps) -> dict[str, Any]:
    """Everything we hold about the person, as JSON (the right of access): the record the
    id stands for now and the records merged into it. Built field by field from
    allow-lists, never by dumping items: no task tokens, payment tokens, pick-up or receipt
    codes, internal ids of who did what, or anyone else's data."""
    owner, profile = canonical_customer(customer_id, deps)
    store = deps.customers
    records = [owner]
    for current in records:
        records.extend(m for m in store.merged_into(current) if m not in records)

    def every(prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in records:
            items, _ = store.query(customer_pk(record), prefix)
            found.extend(items)
        return found

    orders = []
    for summary in every("ORDER#"):
        try:
            order = deps.store.get_order(str(summary["order_id"]))
        except NotFound:
            continue
        if order.customer_id in records:
            orders.append(_exported_order(order))
    tickets = []
    for entry in every("TICKET#"):
        ticket = store.get_ticket(str(entry["ticket_id"]))
        if ticket is not None and ticket.customer_id in records:
            tickets.append(_exported_ticket(ticket))
    merged = []
    for record in records[1:]:
        merged_profile = store.profile(record) or {}
        merged.append(
            {
                "customer_id": record,
                "name": merged_profile.get("name"),
                "merged_into": merged_profile.get("merged_into"),
                "merged_at": merged_profile.get("merged_at"),
            }
        )
    return {
        "customer_id": owner,
        "exported_at": deps.clock().isoformat(),
        "profile": _public(profile, EXPORT_PROFILE_FIELDS),
        "identifiers": [i.model_dump(mode="json") for i in store.identifiers(owner)],
        "orders": orders,
        "interactions": [_public(i, INTERACTION_FIELDS) for i in every("INTERACTION#")],
        "tickets": tickets,
        "consents": [_public(c, CONSENT_FIELDS) for c in every("CONSENT#")],
        "merges": [_public(m, EXPORT_MERGE_FIELDS) for m in every("MERGE#")],
        "merged_records": merged,
        "erasure": [_public(e, EXPORT_ERASURE_FIELDS) for e in every("ERASURE")],
        "metrics": store.metrics(owner).summary(deps.clock()),
    }


EXPORT_PROFILE_FIELDS = ("name", "locale", "state", "erased_at")
EXPORT_MERGE_FIELDS = ("from_customer_id", "into_customer_id", "at", "by_role")
EXPORT_ERASURE_FIELDS = ("at", "by_role", "reason", "status", "completed_at")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _exported_order(order: Order) -> dict[str, Any]:
    """An order as its customer may see it: what they bought, where it went, what it
    cost and what happened to it."""
    address = order.shipping_address
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "status_reason": order.status_reason.value if order.status_reason else None,
        "channel": order.channel.value,
        "store_id": order.store_id,
        "placed_at": order.placed_at.isoformat(),
        "contact": {
            "email": order.contact.email,
            "phone": order.contact.phone,
            "name": order.contact.name,
            "locale": order.contact.locale,
        },
        "shipping_address": (
            {
                "name": address.name,
                "line1": address.line1,
                "city": address.city,
                "postal_code": address.postal_code,
                "country": address.country,
            }
            if address is not None
            else None
        ),
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price.model_dump(mode="json"),
                "line_total": line.line_total.model_dump(mode="json"),
                "fulfillment": line.fulfillment.value,
                "location_id": line.location_id,
            }
            for line in order.lines
        ],
        "total": order.total.model_dump(mode="json"),
        "payment": {
            "status": order.payment.status.value,
            "captured": _money_of(order.payment.captured),
            "refunded": _money_of(order.payment.refunded),
        },
        "consent": (
            {
                "terms_version": order.consent.terms_version,
                "privacy_version": order.consent.privacy_version,
                "accepted_at": order.consent.accepted_at.isoformat(),
                "channel": order.consent.channel.value,
            }
            if order.consent is not None
            else None
        ),
        "fulfillments": [
            {
                "fulfillment_id": f.fulfillment_id,
                "type": f.type.value,
                "location_id": f.location_id,
                "status": f.status.value,
                "status_reason": f.status_reason.value if f.status_reason else None,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in f.lines],
                "pickup_deadline": _iso(f.pickup_deadline),
                "shipment": (
                    {
                        "carrier": f.shipment.carrier,
                        "service_level": f.shipment.service_level,
                        "tracking_number": f.shipment.tracking_number,
                        "tracking_url": f.shipment.tracking_url,
                        "promised_by": f.shipment.promised_by.isoformat(),
                        "shipped_at": f.shipment.shipped_at.isoformat(),
                        "delivered_at": _iso(f.shipment.delivered_at),
                    }
                    if f.shipment is not None
                    else None
                ),
            }
            for f in order.fulfillments
        ],
        "returns": [
            {
                "return_id": r.return_id,
                "status": r.status.value,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in r.lines],
                "reason": r.reason,
                "channel": r.channel,
                "location_id": r.location_id,
                "requested_at": r.requested_at.isoformat(),
                "received_at": _iso(r.received_at),
                "refund": _money_of(r.refund),
            }
            for r in order.returns
        ],
        "history": [
            {"status": h.status.value, "at": h.at.isoformat(), "detail": h.detail}
            for h in order.history
        ],
    }


def _money_of(value: Money | None) -> dict[str, str] | None:
    return value.model_dump(mode="json") if value is not None else None


def _exported_ticket(ticket: Ticket) -> dict[str, Any]:
    """A ticket with its notes' text and dates, not which staff key wrote them."""
    return {
        "ticket_id": ticket.ticket_id,
        "type": ticket.type.value,
        "status": ticket.status.value,
        "subject": ticket.subject,
        "description": ticket.description,
        "order_id": ticket.order_id,
        "skus": list(ticket.skus),
        "channel": ticket.channel,
        "opened_at": ticket.opened_at.isoformat(),
        "resolved_at": _iso(ticket.resolved_at),
        "notes": [{"at": note.at.isoformat(), "text": note.text} for note in ticket.notes],
    }


def _money(value: Any) -> dict[str, str]:
    return {"amount": str(Decimal(str(value or 0)).quantize(Decimal("0.01"))), "currency": "EUR"}


def segments_report(deps: Deps) -> dict[str, Any]:
    """RFM segments with customer counts and value, and the most valuable customers, from
    counters the projector maintains (each customer's segment as of its latest event)."""
    counters = deps.customers.aggregate("SEGMENTS")
    return {
        "segments": [
            {
                "segment": segment,
                "customers": int(counters.get(f"count_{segment}", 0)),
                "value": _money(counters.get(f"value_{segment}", 0)),
            }
            for segment in SEGMENTS
            if segment != "prospect"
        ],
        "top_customers": [
            {"customer_id": str(item["customer_id"]), "lifetime_value": _money(item["value"])}
            for item in deps.customers.top_customers(TOP_CUSTOMERS)
        ],
        "as_of": deps.clock().isoformat(),
    }


def channels_report(deps: Deps) -> dict[str, Any]:
    """Customers who buy only online, only in store, or both, and how many online customers
    bought in a store before their first online order."""
    counters = deps.customers.aggregate("CHANNELS")
    return {
        "online_only": int(counters.get("online_only", 0)),
        "store_only": int(counters.get("store_only", 0)),
        "both": int(counters.get("both", 0)),
        "store_before_online": int(counters.get("store_before_online", 0)),
        "as_of": deps.clock().isoformat(),
    }
