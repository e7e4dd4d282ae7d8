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
    analytics_state,
    contribution_of,
)
from chalicelib.domain.errors import ConcurrentModification, NotFound
from chalicelib.domain.orders import Order
from chalicelib.services.customers import canonical_customer
from chalicelib.services.unit_of_work import jittered_pause

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# A refund confirmed after the status change (the settlement sweeper) changes the figures.
PROJECTED_TYPES = frozenset({"order.status_changed", "order.claimed", "payment.refund"})
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
    if first.customer_id is None:
        return False  # anonymous until claimed; the claim publishes order.claimed
    sk = order_sk(first)
    for _ in range(MAX_ATTEMPTS):
        # Summary first, then the order: the order read is at least as new as the one the
        # summary was written from, and the summary's version guards the write.
        customer_id, summary = _summary_owner(first.customer_id, sk, deps)
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
        try:
            deps.customers.project(
                customer_id,
                item,
                int(summary["version"]) if summary else 0,
                _consent_item(order) if summary is None else None,
                figures,
            )
        except ConcurrentModification:
            jittered_pause()
            continue
        return True
    raise ConcurrentModification(f"could not project {event.get('event_id')}; SNS will retry")


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
    for _ in range(MAX_ATTEMPTS):
        metrics, old = store.figures(customer_id)
        if old.review_at is None or old.review_at > now:
            return 0  # reviewed already, or a new order moved the review on
        new = analytics_state(metrics, now)
        try:
            store.save_metrics([(customer_id, metrics, old, new)])
        except ConcurrentModification:
            jittered_pause()
            continue
        return int(new.segment != old.segment)
    raise ConcurrentModification(f"could not review {customer_id}; the next run will")


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
    """Record a call, chat or store visit staff had with the customer."""
    owner, _ = canonical_customer(customer_id, deps)
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
            "state": profile.get("state", "active"),
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
    """Everything we hold about a customer, as JSON (the right of access)."""
    owner, profile = canonical_customer(customer_id, deps)
    pk = customer_pk(owner)
    store = deps.customers
    summaries, _ = store.query(pk, "ORDER#")
    orders = []
    for summary in summaries:
        try:
            order = deps.store.get_order(str(summary["order_id"]))
        except NotFound:
            continue
        orders.append(
            order.model_dump(
                mode="json",
                exclude={"payment_token", "delivery_task_token", "returns_task_token", "version"},
            )
        )
    ticket_items, _ = store.query(pk, "TICKET#")
    tickets = [store.get_ticket(str(t["ticket_id"])) for t in ticket_items]

    def every(prefix: str) -> list[dict[str, Any]]:
        items, _ = store.query(pk, prefix)
        return [{k: v for k, v in i.items() if k not in ("pk", "sk")} for i in items]

    return {
        "customer_id": owner,
        "exported_at": deps.clock().isoformat(),
        "profile": {k: v for k, v in profile.items() if k not in ("pk", "sk")},
        "identifiers": [i.model_dump(mode="json") for i in store.identifiers(owner)],
        "orders": orders,
        "interactions": every("INTERACTION#"),
        "tickets": [t.model_dump(mode="json", exclude={"version"}) for t in tickets if t],
        "consents": every("CONSENT#"),
        "merges": every("MERGE#"),
        "erasure": every("ERASURE"),
        "metrics": store.metrics(owner).summary(deps.clock()),
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
