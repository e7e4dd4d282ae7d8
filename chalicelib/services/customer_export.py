"""The export of everything kept about a person (GDPR art. 15 and 20), built field by
field so that nothing internal or about someone else leaves."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.campaigns import CountedCustomer
from chalicelib.domain.customers import IdentifierType
from chalicelib.domain.email_policy import preference_of
from chalicelib.domain.errors import NotFound
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import BackInStockSubscription, Opportunity
from chalicelib.domain.orders import Order
from chalicelib.domain.surveys import SatisfactionTally
from chalicelib.domain.tickets import Ticket
from chalicelib.ports import CustomerRecord
from chalicelib.services.after_sale_records import (
    opportunities_of,
    orders_split_away,
    subscriptions_of,
    survey_answers,
)
from chalicelib.services.customer_view import (
    CONSENT_FIELDS,
    INTERACTION_FIELDS,
    StrayOrders,
    TokenScope,
    listed_figures,
    not_about,
    public_fields,
    token_scope,
)
from chalicelib.services.customers import canonical_customer, person_records

if TYPE_CHECKING:
    from chalicelib.composition import Deps

EXPORT_PROFILE_FIELDS = ("name", "locale", "state", "erased_at")


EXPORT_MERGE_FIELDS = ("from_customer_id", "into_customer_id", "at", "by_role")


EXPORT_ERASURE_FIELDS = ("at", "by_role", "reason", "status", "completed_at")


def export_customer(customer_id: str, deps: Deps, by_token: bool = False) -> dict[str, Any]:
    """Everything we hold about the person, as JSON (the right of access): the record the
    id stands for now and the records merged into it. Built field by field from
    allow-lists, never by dumping items: no task tokens, payment tokens, pick-up or receipt
    codes, internal ids of who did what, or anyone else's data. ``by_token``: asked with
    the customer's own token, which proves an identifier vouched for on the record; the
    orders only attached identifiers brought (``Order.customer_unvouched``) may be someone
    else's, so they and what is about them are left out. Whoever asks, an order that an
    identifier since split off (proven by whoever founded the split record) alone brought
    is that record's: in its export, not in this one."""
    owner, profile = canonical_customer(customer_id, deps)
    store = deps.customers
    records = person_records(owner, deps)

    def every(kind: CustomerRecord) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in records:
            items, _ = store.records(record, kind)
            found.extend(items)
        return found

    summaries = every(CustomerRecord.ORDERS)
    scope = token_scope(owner, summaries, deps) if by_token else TokenScope()
    hidden = set(scope.hidden)  # and the orders marked since their summary was written
    # Orders another person's identifier alone brought here, before that person proved it
    # (a record split off): theirs, in their export, not in this one, whoever asks.
    hidden.update(orders_split_away(records, deps))
    orders = []
    for summary in summaries:
        try:
            order = deps.store.get_order(str(summary["order_id"]))
        except NotFound:
            continue
        if by_token and order.customer_unvouched:
            hidden.add(order.order_id)
        if order.order_id in hidden:
            continue
        if order.customer_id in records:
            orders.append(_exported_order(order))
    # And the orders this person's proven identifiers brought to the record they were
    # split off (the erasure erases them as theirs), with what that record holds about them.
    stray = StrayOrders.of(records, deps)
    orders.extend(_exported_order(order) for order in stray.orders)

    def shown(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if by_token:
            return not_about(items, hidden)
        return [i for i in items if i.get("order_id") not in hidden]

    tickets = []
    for entry in shown(every(CustomerRecord.TICKETS)):  # as the 360 lists them
        ticket = store.get_ticket(str(entry["ticket_id"]))
        if ticket is not None and ticket.customer_id in records:
            tickets.append(_exported_ticket(ticket))
    for entry in stray.about(CustomerRecord.TICKETS, deps):
        ticket = store.get_ticket(str(entry["ticket_id"]))
        if ticket is not None:
            tickets.append(_exported_ticket(ticket))
    addresses = {
        i.value
        for record in records
        for i in scope.shown(store.identifiers(record))
        if i.type is IdentifierType.EMAIL
    }
    followed = [
        o
        for o in opportunities_of(records, addresses, deps)
        # Through the token, only what the vouched addresses and the orders shown lead to.
        if not by_token or (o.order_id not in hidden and (o.email is None or o.email in addresses))
    ]
    # The answers about the orders listed, theirs by a split included: the export's
    # satisfaction is theirs, as its other figures are the listed orders'.
    answers = survey_answers([str(o["order_id"]) for o in orders], deps)
    figures = listed_figures(
        summaries,
        hidden,
        stray.about(CustomerRecord.ORDERS, deps),
        scope.metrics(store.metrics(owner)),
    )
    merged = []
    # Through the token, not even who the merged records were: a merge proves nothing.
    for record in records[1:] if not by_token else []:
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
        "profile": public_fields(profile, EXPORT_PROFILE_FIELDS)
        | {"notifications": preference_of(profile).value},
        "identifiers": [i.model_dump(mode="json") for i in scope.shown(store.identifiers(owner))],
        "orders": orders,
        # With those about the orders found on the record theirs was split from (a
        # re-probe: the 360 listed the emails sent about them, the export did not).
        "interactions": [
            public_fields(i, INTERACTION_FIELDS)
            for i in shown(every(CustomerRecord.INTERACTIONS))
            + stray.about(CustomerRecord.INTERACTIONS, deps)
        ],
        "tickets": tickets,
        "consents": [
            public_fields(c, CONSENT_FIELDS)
            for c in shown(every(CustomerRecord.CONSENTS))
            + stray.about(CustomerRecord.CONSENTS, deps)
        ],
        # Through the token no merge either: its other record's id is who it was (probe 195).
        "merges": (
            []
            if by_token
            else [public_fields(m, EXPORT_MERGE_FIELDS) for m in every(CustomerRecord.MERGES)]
        ),
        "merged_records": merged,
        "erasure": [public_fields(e, EXPORT_ERASURE_FIELDS) for e in every(CustomerRecord.ERASURE)],
        "survey_answers": [
            {
                "order_id": a.subject.order_id,
                "score": a.score,
                "comment": a.comment,
                "answered_at": a.answered_at.isoformat(),
            }
            for a in answers
        ],
        "subscriptions": [_exported_subscription(s) for s in subscriptions_of(followed, deps)],
        "opportunities": [_exported_opportunity(o) for o in followed],
        # Counted where each listed order was counted: a stray order on the record it was
        # split from (a re-probe found its campaign in no export).
        "campaigns": _campaigns_counted(
            records + [str(o.customer_id) for o in stray.orders if o.customer_id], orders, deps
        ),
        "metrics": figures.summary(deps.clock())
        | {"satisfaction": SatisfactionTally.of_all(a.score for a in answers).average},
    }


def _campaigns_counted(
    records: list[str], orders: list[dict[str, Any]], deps: Deps
) -> list[dict[str, Any]]:
    """How each campaign counted the person (new or returning), from which of the orders
    listed, as ``records`` (the person's, and those holding their stray orders) keep the
    counts: a count made by an order the export leaves out (someone else's) is theirs."""
    placed = {datetime.fromisoformat(str(o["placed_at"])) for o in orders}
    firsts: dict[str, CountedCustomer] = {}
    for record in dict.fromkeys(records):
        for counted in deps.store.campaign_counts(record):
            if counted.placed_at is None or counted.placed_at not in placed:
                continue  # counted by an order not listed here: someone else's
            kept = firsts.get(counted.campaign)
            firsts[counted.campaign] = kept.first(counted) if kept else counted
    return [
        {
            "campaign": counted.campaign,
            "counted_as": counted.kind.value,
            "order_placed_at": _iso(counted.placed_at),  # never None: filtered above
        }
        for counted in sorted(firsts.values(), key=lambda c: c.campaign)
    ]


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
        **_exported_pricing(order),
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
                        "promised_by": f.shipment.shown_promise.isoformat(),
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
                "requested_location_id": r.requested_location_id,
                "requested_at": r.requested_at.isoformat(),
                "received_at": _iso(r.received_at),
                "refund": _money_of(r.refund),
            }
            for r in order.returns
        ],
        "history": [
            {
                "status": h.status.value,
                "at": h.at.isoformat(),
                "detail": h.detail,
                "note": h.note,
                "fulfillment_id": h.fulfillment_id,
            }
            for h in order.history
        ],
    }


def _exported_subscription(subscription: BackInStockSubscription) -> dict[str, Any]:
    return {
        "subscription_id": subscription.subscription_id,
        "sku": subscription.sku,
        "email": subscription.email,
        "status": subscription.status.value,
        "source": subscription.source.value,
        "order_id": subscription.order_id,
        "quantity": subscription.quantity,
        "created_at": subscription.created_at.isoformat(),
        "notified_at": _iso(subscription.notified_at),
    }


def _exported_opportunity(opportunity: Opportunity) -> dict[str, Any]:
    """Its kind, state and value; not the internal address it matched orders by."""
    return {
        "opportunity_id": opportunity.opportunity_id,
        "kind": opportunity.kind.value,
        "sku": opportunity.sku,
        "order_id": opportunity.order_id,
        "status": opportunity.status.value,
        "value": {"amount": opportunity.value, "currency": opportunity.currency},
        "created_at": opportunity.created_at.isoformat(),
        "updated_at": opportunity.updated_at.isoformat(),
    }


def _exported_pricing(order: Order) -> dict[str, Any]:
    """How the order was priced: the breakdown, the coupon and promotions it got, and the
    campaign the storefront tagged it with (none for an order placed before pricing)."""
    pricing = order.pricing
    if pricing is None:
        return {}
    return pricing.shown() | {
        "attribution": (
            pricing.attribution.model_dump(mode="json") if pricing.attribution else None
        ),
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
