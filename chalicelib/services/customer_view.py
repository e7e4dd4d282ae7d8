"""The customer 360 as read: the view of one customer, interactions staff record, and
the segment and channel aggregates (the projection keeps it: ``customer_projection``;
the export: ``customer_export``)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.domain.cursors import decode_cursor_parts, encode_cursor_parts
from chalicelib.domain.customers import (
    SEGMENTS,
    UNVOUCHED,
    CustomerMetrics,
    Identifier,
    OrderContribution,
    ProfileState,
)
from chalicelib.domain.email_policy import preference_of
from chalicelib.domain.errors import Conflict, InvalidCursor, NotFound
from chalicelib.domain.orders import Order
from chalicelib.domain.surveys import SatisfactionTally
from chalicelib.domain.tickets import Ticket, TicketStatus
from chalicelib.ports import CustomerRecord
from chalicelib.services.after_sale_records import (
    orders_split_away,
    split_owner,
    stray_order_items,
    survey_answers,
)
from chalicelib.services.customers import (
    canonical_customer,
    person_records,
    unsure_whose,
    vouched_identifiers,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps

ORDERS_PAGE = 20


RECENT_ITEMS = 50


TOP_CUSTOMERS = 10


def interaction_id_for(once: str) -> str:
    """The interaction a request asked under an Idempotency-Key records (``once``: the key
    in its scope)."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()
    return f"int_{digest[:16]}"


def add_interaction(
    customer_id: str,
    kind: str,
    channel: str,
    summary: str,
    by: str,
    deps: Deps,
    once: str | None = None,
) -> dict[str, Any]:
    """Record a call, chat or store visit staff had with the customer; ``Conflict`` for an
    erased customer (nothing new is written about them). Asked under an Idempotency-Key
    (``once``), the interaction its first run recorded, even when that run died before
    its answer was stored (Powertools then runs the key again; found by a review: the
    note was recorded twice)."""
    owner, profile = canonical_customer(customer_id, deps)
    if profile.get("state") == ProfileState.ERASED:
        raise Conflict(f"customer {customer_id} was erased", field="customer_id")
    now = deps.clock()
    interaction: dict[str, Any] = {
        "interaction_id": interaction_id_for(once) if once else f"int_{uuid.uuid4().hex[:16]}",
        "type": kind,
        "channel": channel,
        "at": now.isoformat(),
        "summary": summary,
        "recorded_by": by,
    }
    if unsure_whose(owner, deps):
        # Staff may have found the record by an identifier merely attached to it, talking
        # to someone else: the record's token does not show what they noted.
        interaction[UNVOUCHED] = True
    if once is not None:
        # Kept as long as the key may be run again.
        keep_until = int(now.timestamp()) + deps.settings.idempotency_ttl_seconds
        first = deps.customers.add_requested_interaction(owner, interaction, once, keep_until)
        return first | {"customer_id": owner}
    deps.customers.add_interaction(owner, interaction)
    return interaction | {"customer_id": owner}


def recorded_summary(customer_id: str, interaction_id: str, deps: Deps) -> str:
    """What staff noted in an interaction recorded on the customer's record (or the one
    it was merged into), newest first: a keyed request's replay reads it again (the key's
    record keeps no words). ``NotFound`` once it is gone."""
    owner = canonical_customer(customer_id, deps)[0]
    cursor: str | None = None
    while True:
        page, cursor = deps.customers.records(
            owner, CustomerRecord.INTERACTIONS, limit=100, newest_first=True, cursor=cursor
        )
        for item in page:
            if item.get("interaction_id") == interaction_id:
                return str(item.get("summary", ""))
        if cursor is None:
            raise NotFound(f"no interaction {interaction_id}", field="interaction_id")


def public_fields(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only ``fields`` of a stored item: what the API may show of it."""
    return {name: item.get(name) for name in fields}


ORDER_FIELDS = ("order_id", "channel", "status", "total", "placed_at")


INTERACTION_FIELDS = ("interaction_id", "type", "channel", "at", "summary", "order_id")


TICKET_FIELDS = ("ticket_id", "type", "status", "order_id", "subject")


CONSENT_FIELDS = ("terms_version", "privacy_version", "accepted_at", "channel", "order_id")


@dataclass(frozen=True)
class TokenScope:
    """What a customer's own token leaves out of their records: the orders only identifiers
    merely attached to the record led to (``Order.customer_unvouched``) and, when there
    are such orders, the figures and satisfaction of the others; and the identifiers only
    attached to the record (``identifiers``: those shown, None for all of them)."""

    hidden: frozenset[str] = frozenset()
    figures: CustomerMetrics | None = None
    satisfaction: SatisfactionTally | None = None
    identifiers: list[Identifier] | None = None

    def metrics(self, stored: CustomerMetrics) -> CustomerMetrics:
        """The figures to show: the stored ones, or those without the hidden orders."""
        return self.figures if self.figures is not None else stored

    def tally(self, stored: SatisfactionTally) -> SatisfactionTally:
        """The satisfaction to show: the stored tally, or one without the hidden orders."""
        return self.satisfaction if self.satisfaction is not None else stored

    def shown(self, listed: list[Identifier]) -> list[Identifier]:
        """The identifiers to show of those listed."""
        return listed if self.identifiers is None else self.identifiers


def token_scope(owner: str, summaries: list[dict[str, Any]], deps: Deps) -> TokenScope:
    """``TokenScope`` of ``owner``'s record, from every order summary it and the records
    merged into it hold: the figures without the hidden orders are rebuilt from the
    others' contributions (each summary keeps the one last applied to the stored figures),
    the satisfaction from the others' survey answers."""
    identifiers = vouched_identifiers(owner, deps)
    hidden = {str(s["order_id"]) for s in summaries if s.get(UNVOUCHED)}
    visible = [s for s in summaries if not s.get(UNVOUCHED)]
    if not hidden:
        return TokenScope(identifiers=identifiers)
    figures = CustomerMetrics()
    for summary in visible:
        if "contribution" in summary:
            figures = figures.apply(None, OrderContribution.model_validate(summary["contribution"]))
    answers = survey_answers([str(s["order_id"]) for s in visible], deps)
    satisfaction = SatisfactionTally.of_all(a.score for a in answers)
    return TokenScope(frozenset(hidden), figures, satisfaction, identifiers)


def ticket_owner(ticket: Ticket, deps: Deps) -> str | None:
    """Whose ticket it is: the record split off the ticket's own that owns the order it is
    about (``split_owner``), else the record it was opened on."""
    if ticket.order_id is None or ticket.customer_id is None:
        return ticket.customer_id
    try:
        order = deps.store.get_order(ticket.order_id)
    except NotFound:
        return ticket.customer_id
    owner = canonical_customer(ticket.customer_id, deps)[0]
    return split_owner(order, owner, deps) or ticket.customer_id


def not_about(items: list[dict[str, Any]], hidden: AbstractSet[str]) -> list[dict[str, Any]]:
    """What a customer's token shows of these items: not those about one of the ``hidden``
    orders, nor those recorded for whoever an attached identifier named (``UNVOUCHED``)."""
    return [i for i in items if i.get("order_id") not in hidden and not i.get(UNVOUCHED)]


@dataclass(frozen=True)
class StrayOrders:
    """The orders the person's proven identifiers alone brought to the records theirs were
    split off (``stray_orders``), and those records, which hold their summaries, consents
    and tickets."""

    orders: list[Order] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[str], deps: Deps) -> StrayOrders:
        orders = stray_order_items(records, deps)
        holders = {
            canonical_customer(o.customer_id, deps)[0] for o in orders if o.customer_id is not None
        }
        return cls(orders, sorted(holders))

    @property
    def ids(self) -> set[str]:
        return {o.order_id for o in self.orders}

    def about(self, kind: CustomerRecord, deps: Deps) -> list[dict[str, Any]]:
        """The items of ``kind`` the holders keep about these orders."""
        if not self.orders:
            return []
        ids = self.ids
        found: list[dict[str, Any]] = []
        for holder in self.holders:
            items, _ = deps.customers.records(holder, kind)
            found.extend(i for i in items if i.get("order_id") in ids)
        return found


def listed_figures(
    summaries: list[dict[str, Any]],
    hidden: AbstractSet[str],
    stray_summaries: list[dict[str, Any]],
    stored: CustomerMetrics,
) -> CustomerMetrics:
    """The figures of the orders listed: the stored ones unless orders moved in (the
    summaries of ``StrayOrders``) or out (``hidden``), then rebuilt from each listed
    order's contribution (every summary keeps the one last applied to its record's
    figures)."""
    moved_out = any(str(s["order_id"]) in hidden for s in summaries)
    if not stray_summaries and not moved_out:
        return stored
    figures = CustomerMetrics()
    for summary in summaries + stray_summaries:
        if str(summary["order_id"]) not in hidden and "contribution" in summary:
            figures = figures.apply(None, OrderContribution.model_validate(summary["contribution"]))
    return figures


def customer_view(
    customer_id: str,
    deps: Deps,
    cursor: str | None = None,
    limit: int = ORDERS_PAGE,
    by_token: bool = False,
    opens: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """The 360 view: a handful of key queries in one partition, whatever the number of
    customers; orders one page at a time, newest first. ``by_token``: the view the
    customer's own token opens (``token_scope``): without the orders only attached
    identifiers brought nor what is about them, with figures that leave them out, only the
    identifiers vouched for on the record, and no merge candidates (ops' business: the
    other record may be someone else's). Its pages are filled without the hidden orders,
    and its cursors never name one.

    Whoever asks, a record lists the orders as the export and the erasure read them
    (found by a probe): an order another person's identifier alone brought here, before
    that person proved it and founded a record of their own (a split), is that record's,
    with what is about it (``orders_split_away``); so the split record lists the orders
    its proven identifier brought to the record it was split off (``StrayOrders``), on
    its first page, and the figures are those of the orders listed.

    ``opens``: which orders the caller may open, when it may not open them all (a store
    key bound to a store). The others are left out as the token's hidden ones are, with
    what is about them, and the figures are those of the orders listed (a re-probe: a
    bound key's pages were empty, its cursors named another store's order, and the
    figures counted and dated orders it was refused). It is asked once per order the
    record lists: a bound key's view reads each of them."""
    owner, profile = canonical_customer(customer_id, deps)
    store = deps.customers
    records = person_records(owner, deps)
    split_apart = any(store.split_off(r) for r in records) or any(
        (profile if r == owner else store.profile(r) or {}).get("split_from") for r in records
    )
    away = set(orders_split_away(records, deps)) if split_apart else set()
    stray = StrayOrders.of(records, deps) if split_apart else StrayOrders()
    if opens is not None:
        stray = StrayOrders([o for o in stray.orders if opens(o.order_id)], stray.holders)
    summaries: list[dict[str, Any]] = []
    if by_token or away or stray.orders or opens is not None:
        summaries = store.records(owner, CustomerRecord.ORDERS)[0]
    scope = token_scope(owner, summaries, deps) if by_token else TokenScope()
    refused = (
        set()
        if opens is None
        else {str(s["order_id"]) for s in summaries if not opens(str(s["order_id"]))}
    )
    hidden = scope.hidden | away | refused
    stray_summaries = stray.about(CustomerRecord.ORDERS, deps)
    if stray.orders:
        listed, next_cursor = _with_stray(owner, summaries, hidden, stray_summaries, cursor, limit)
    else:
        orders, next_cursor = store.records(
            owner,
            CustomerRecord.ORDERS,
            limit=limit,
            newest_first=True,
            cursor=cursor,
            leaving_out=hidden,
        )
        listed = [
            public_fields(o, ORDER_FIELDS) | {UNVOUCHED: bool(o.get(UNVOUCHED))} for o in orders
        ]
    # Filled past what is hidden (a probe and its re-probe: after a merge, or staff notes on
    # a record with an attached identifier, the customer's own view showed no interaction
    # when the newest 50 were about orders the merge brought, or marked as unsure whose).
    interactions, _ = store.records(
        owner,
        CustomerRecord.INTERACTIONS,
        limit=RECENT_ITEMS,
        newest_first=True,
        leaving_out=hidden,
        leaving_unvouched=by_token,
    )
    tickets = _recent_and_unresolved(
        store.records(
            owner,
            CustomerRecord.TICKETS,
            newest_first=True,
            leaving_out=hidden,
            leaving_unvouched=by_token,
        )[0]
    )
    consents, _ = store.records(
        owner, CustomerRecord.CONSENTS, newest_first=True, leaving_out=hidden
    )
    interactions += stray.about(CustomerRecord.INTERACTIONS, deps)
    tickets += stray.about(CustomerRecord.TICKETS, deps)
    consents += stray.about(CustomerRecord.CONSENTS, deps)
    if opens is not None:
        # About an order the record lists no more (split or merged away): opened or not.
        interactions, tickets, consents = (
            [i for i in items if i.get("order_id") is None or opens(str(i["order_id"]))]
            for items in (interactions, tickets, consents)
        )
    # Every record of the person's: a candidate of a record merged in is this customer's
    # (a re-probe: ops saw none where the other side listed them).
    candidates = (
        []
        if by_token
        else [c for record in records for c in store.records(record, CustomerRecord.CANDIDATES)[0]]
    )
    metrics = scope.metrics(store.metrics(owner))
    if away or stray.orders or refused:
        metrics = listed_figures(summaries, hidden, stray_summaries, metrics)
        shown = [str(s["order_id"]) for s in summaries if str(s["order_id"]) not in hidden]
        answers = survey_answers(shown + sorted(stray.ids), deps)
        satisfaction = SatisfactionTally.of_all(a.score for a in answers)
    else:
        # Each record keeps the tally of the answers given while it was the customer's: a
        # merged record's stays where it was (a re-probe saw the 360 leave it out).
        stored = SatisfactionTally()
        for record in records:
            stored = stored.plus(deps.surveys.customer_satisfaction(record))
        satisfaction = scope.tally(stored)
    return {
        "customer_id": owner,
        "merged_into": owner if owner != customer_id else None,
        "profile": {
            "name": profile.get("name"),
            "locale": profile.get("locale"),
            "state": profile.get("state", ProfileState.ACTIVE),
            "erased_at": profile.get("erased_at"),
            "notifications": preference_of(profile).value,
        },
        "identifiers": [i.model_dump(mode="json") for i in scope.shown(store.identifiers(owner))],
        "orders": listed,
        "orders_next_cursor": next_cursor,
        "interactions": [public_fields(i, INTERACTION_FIELDS) for i in _newest(interactions)],
        "tickets": [public_fields(t, TICKET_FIELDS) for t in tickets],
        "consents": [public_fields(c, CONSENT_FIELDS) for c in consents],
        "merge_candidates": _candidates_now(candidates, records, deps),
        "metrics": metrics.summary(deps.clock()) | {"satisfaction": satisfaction.average},
    }


def _candidates_now(candidates: list[dict[str, Any]], records: list[str], deps: Deps) -> list[str]:
    """The records this one may be merged with, as they stand now: a candidate merged
    since is the record it went into (a probe and its re-probe: it stayed listed, and
    merging it was refused as merged), none that is this customer already. One profile
    read per candidate and merge it went through (ops' view only; they are few)."""
    now: list[str] = []
    for candidate in candidates:
        try:
            current = canonical_customer(str(candidate["customer_id"]), deps)[0]
        except NotFound:
            continue
        if current not in records and current not in now:
            now.append(current)
    return now


def _with_stray(
    owner: str,
    summaries: list[dict[str, Any]],
    hidden: AbstractSet[str],
    stray_summaries: list[dict[str, Any]],
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a split record's orders: its own and those its proven identifier
    brought to the record it was split off (few; every summary is read already), newest
    first, ``limit`` to a page (a re-probe found them all crowded on the first). The
    cursor names the last order listed, so an order placed meanwhile shifts nothing."""
    every = [
        public_fields(o, ORDER_FIELDS) | {UNVOUCHED: bool(o.get(UNVOUCHED))}
        for o in summaries
        if str(o["order_id"]) not in hidden
    ]
    # Vouched for here: the identifier that brought them was proven on this record.
    every += [public_fields(o, ORDER_FIELDS) | {UNVOUCHED: False} for o in stray_summaries]
    every.sort(key=_newest_first, reverse=True)
    if cursor is not None:
        after = _stray_cursor_key(cursor, owner)
        every = [o for o in every if _newest_first(o) < after]
    page = every[:limit]
    more = len(every) > limit
    return page, (_stray_cursor(owner, _newest_first(page[-1])) if more else None)


def _newest_first(order: dict[str, Any]) -> tuple[str, str]:
    return str(order["placed_at"]), str(order["order_id"])


def _stray_cursor(owner: str, key: tuple[str, str]) -> str:
    return encode_cursor_parts(owner, *key)


def _stray_cursor_key(cursor: str, owner: str) -> tuple[str, str]:
    """The (placed_at, order_id) a cursor of ``_with_stray`` names; ``InvalidCursor`` for
    anything else."""
    named, placed_at, order_id = decode_cursor_parts(cursor, 3)
    if named != owner or not isinstance(placed_at, str) or not isinstance(order_id, str):
        raise InvalidCursor("not a cursor for this customer", field="cursor")
    return placed_at, order_id


def _recent_and_unresolved(tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest ``RECENT_ITEMS`` tickets and every older one not resolved yet, newest
    first: what ops still have to act on is never cut off (a probe: 59 open tickets were
    out of sight)."""
    return [
        t
        for rank, t in enumerate(tickets)
        if rank < RECENT_ITEMS or t.get("status") != TicketStatus.RESOLVED
    ]


def _newest(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most recent ``RECENT_ITEMS``, newest first (a split record's list holds what
    the record it was split off keeps about its orders too)."""
    return sorted(interactions, key=lambda i: str(i.get("at", "")), reverse=True)[:RECENT_ITEMS]


def _money(value: Any) -> dict[str, str]:
    return {"amount": str(Decimal(str(value or 0)).quantize(Decimal("0.01"))), "currency": "EUR"}


def segments_report(deps: Deps) -> dict[str, Any]:
    """RFM segments with customer counts and value, and the most valuable customers, from
    counters the projector maintains (each customer's segment as of its latest event)."""
    counters = deps.customers.segment_counters()
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
    counters = deps.customers.channel_counters()
    return {
        "online_only": int(counters.get("online_only", 0)),
        "store_only": int(counters.get("store_only", 0)),
        "both": int(counters.get("both", 0)),
        "store_before_online": int(counters.get("store_before_online", 0)),
        "as_of": deps.clock().isoformat(),
    }
