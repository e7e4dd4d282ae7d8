"""Ports to the table, one per aggregate (``adapters/dynamodb`` implements them on
DynamoDB, ``tests/fakes`` in memory), and the two stores services are handed, made of
them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.domain.catalog import Location
from chalicelib.domain.customers import (
    AnalyticsState,
    CustomerMetrics,
    Identifier,
    IdentifierClaim,
)
from chalicelib.domain.fulfillments import Fulfillment
from chalicelib.domain.inventory import StockChange, StockLevel
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order
from chalicelib.domain.quotes import Quote
from chalicelib.domain.tickets import Ticket
from chalicelib.ports.catalogue import Catalogue
from chalicelib.ports.promotions import PromotionStore

# A customer's figures, how they were last counted in the aggregates, how they are now.
FiguresChange = tuple[str, CustomerMetrics, AnalyticsState, AnalyticsState]


class CustomerRecord(StrEnum):
    """The kinds of record a customer's 360 keeps, each listed in time order."""

    PROFILE = "profile"
    ORDERS = "orders"
    INTERACTIONS = "interactions"
    TICKETS = "tickets"
    CONSENTS = "consents"
    CANDIDATES = "candidates"
    MERGES = "merges"
    SPLITS = "splits"
    ERASURE = "erasure"
    IDENTIFIERS = "identifiers"


class Orders(Protocol):
    """Orders with optimistic versions and what is written with them."""

    def get_order(self, order_id: str) -> Order:
        """The order, or ``NotFound``."""
        ...

    def create_order(self, order: Order) -> None:
        """Store a new order with its first history entry; ``Conflict`` if it exists. Takes
        the redemptions its pricing holds in the same write (``CouponUsedUp``)."""
        ...

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        return_ids: list[str] | None = None,
    ) -> None:
        """Write the order if nobody changed it since it was read, with its new history
        entry (``entry``, the last of ``order.history``), the stock deltas and the returns
        it answers to, all or nothing. ``OutOfStock`` if a stock
        condition fails, ``ConcurrentModification`` otherwise. Lists the order among those
        owing money while any is owed."""
        ...

    def hand_redemptions_to(self, order: Order, customer_id: str) -> None:
        """Make the order's once-per-customer redemptions ``customer_id``'s (a record split
        off the one it was placed under, whose proven identifier alone brought it there):
        its pricing names them, and the markers it holds pass to them, in one write if
        nobody changed the order since it was read. ``CouponUsedUp`` or
        ``PromotionUsedUp`` when ``customer_id`` holds one already under another order,
        ``ConcurrentModification`` otherwise."""
        ...

    def orders_owing(self, limit: int) -> list[str]:
        """Ids of orders with captures, voids or refunds owed (read with one query)."""
        ...

    def order_for_return(self, return_id: str) -> str:
        """The order a return belongs to, or ``NotFound``."""
        ...

    def park_return_wait(self, order_id: str, task_token: str, until: datetime) -> None:
        """Keep the task token the execution waits on for the order's return window (until
        ``until``), beside the order; parking again replaces it."""
        ...

    def return_wait(self, order_id: str) -> str | None:
        """The parked return wait's token, or None if none is parked. It stays parked
        until TTL sweeps it: a caller that died between reading it and releasing it
        leaves it for its retry, and a second release is refused as stale."""
        ...


class Shipments(Protocol):
    """Shipment records, written beside their order (``services.order_writes``): one
    that opens before the order's write, one that closes after it, so that a record may
    say "open" longer than its order does, never less."""

    def put_shipment(
        self, order_id: str, fulfillment: Fulfillment, order_version: int, ahead: bool = False
    ) -> bool:
        """Store the fulfillment's shipment record as the order at ``order_version`` has
        it, unless the stored one came from a later version or from the order at that
        one (a stale write never wins). ``ahead``: written before the order's write that
        makes ``order_version``, which may never happen or be retried with other values;
        such a record gives way to one written from the order at that version, or ahead
        of it again. True if it was written."""
        ...

    def drop_shipment(self, carrier: str, tracking_number: str, order_id: str) -> bool:
        """Delete the record of a parcel its order never shipped (``order_id``'s, if it
        still is). True if one was deleted."""
        ...

    def order_for_shipment(self, carrier: str, tracking_number: str) -> str:
        """The order a carrier's tracking number belongs to, or ``NotFound``."""
        ...

    def overdue_shipments(
        self, now: datetime, days_back: int = 2
    ) -> tuple[list[dict[str, Any]], int]:
        """Open shipments whose promise has passed (due in the last ``days_back`` days),
        and the pages read."""
        ...

    def shipments_between(
        self, carrier: str, service_level: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Shipment records of one carrier and service level shipped in ``[start, end)``."""
        ...


class Stock(Protocol):
    """Stock levels and the movements that changed them."""

    def stock_levels(self, sku: str) -> list[StockLevel]:
        """One SKU at every location that holds it."""
        ...

    def put_stock(self, level: StockLevel) -> None:
        """Set a stock item outright (provisioning and demo data only)."""
        ...

    def ensure_stock_item(self, sku: str, location: Location) -> None:
        """Create an empty stock item where the SKU was never held; nothing if it was."""
        ...

    def apply_stock(self, changes: list[StockChange]) -> None:
        """Apply stock deltas all or nothing, or raise ``OutOfStock``."""
        ...

    def record_movement(
        self,
        sku: str,
        location_id: str,
        on_hand_delta: int,
        safety_stock: int,
        movement: dict[str, Any],
    ) -> dict[str, Any]:
        """Apply a movement and append it to the SKU's ledger, all or nothing; the movement
        as recorded. A ``movement_id`` recorded before changes nothing and returns that
        first movement (a request asked again under its Idempotency-Key).
        ``MovementRejected`` if a decrease would take units promised to orders or more
        than are on hand, or the safety stock changed since it was read."""
        ...

    def movements(self, sku: str) -> list[dict[str, Any]]:
        """The SKU's movement ledger, oldest first."""
        ...


class Markers(Protocol):
    """Once-only markers."""

    def remember_once(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key``; True the first time, False if it was already there."""
        ...

    def has_marker(self, key: str) -> bool:
        """Whether a once-only marker is set."""
        ...

    def markers_held(self, names: list[str]) -> set[str]:
        """Which of these once-only markers are set, read together (one request)."""
        ...

    def forget(self, key: str) -> None:
        """Drop a marker (the work it guarded failed and must be redone)."""
        ...

    def forget_set_before(self, key: str, moment: datetime) -> bool:
        """Drop a marker set no later than ``moment``; one set since stays (what a reading taken
        at ``moment`` says cannot undo what was done after it). True if it was dropped."""
        ...


class Identities(Protocol):
    """Customers' profiles and the identifiers they own (each owned by one customer)."""

    def find_identifier(self, identifier: Identifier) -> str | None:
        """The customer an identifier belongs to."""
        ...

    def identifier_claim(self, identifier: Identifier) -> IdentifierClaim | None:
        """Who owns an identifier and whether it is vouched for (claims stored before the
        flag existed count as vouched)."""
        ...

    def create_customer(
        self,
        customer_id: str,
        identifiers: list[Identifier],
        profile: dict[str, Any],
        vouched: Identifier | None = None,
    ) -> None:
        """Store a customer and claim its identifiers, ``vouched`` (one of them) vouched
        for and the others not, or ``Conflict`` if one is taken."""
        ...

    def customer_exists(self, customer_id: str) -> bool:
        """Whether this customer id is known."""
        ...

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The profile: name, locale, state (active, merged, erased), merged_into."""
        ...

    def identifiers(self, customer_id: str) -> list[Identifier]:
        """The identifiers the customer owns, by type then value."""
        ...

    def set_notifications(self, customer_id: str, preference: str) -> bool:
        """Record the profile's email preference (``essential`` or ``all``); False when
        the customer is unknown or no longer active (merged, erased)."""
        ...

    def set_locale(self, customer_id: str, locale: str) -> bool:
        """Record the language the customer asked to be written to in (``es`` or ``en``,
        marked ``LOCALE_CHOSEN``); False when the customer is unknown or no longer active
        (merged, erased)."""
        ...

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        """Give an unowned identifier to a customer, not vouched for; False if someone owns
        it, the customer has no active profile, or it lists ``MAX_ATTACHED_IDENTIFIERS``
        already."""
        ...

    def split_off_identifier(
        self, from_customer: str, identifier: Identifier, customer_id: str, profile: dict[str, Any]
    ) -> None:
        """Take an identifier ``from_customer`` owns unvouched off that record and found a new
        record ``customer_id`` with it, vouched, all or nothing, each record naming the
        other (``split_from`` on the new profile, ``split_off`` of the old one: an erasure
        of the old record reaches the new one); ``Conflict`` if the claim is no longer
        ``from_customer``'s unvouched one or ``customer_id`` exists."""
        ...

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        """Release an identifier the customer owns; safe to repeat."""
        ...

    def merge_profiles(
        self,
        survivor: str,
        merged: str,
        identifiers: list[Identifier],
        record: dict[str, Any],
        vouched: Collection[Identifier] = (),
        survivor_takes: Mapping[str, Any] | None = None,
    ) -> None:
        """Point the merged record and its identifiers at the survivor (none of them
        vouched for there: a merge proves nothing) and keep the merge record, all or
        nothing; ``Conflict`` if either stopped being active, or the merged record lists an
        identifier not in ``identifiers`` (claimed since they were read). The claims of
        ``vouched`` (those vouched for on the merged record) remember it
        (``IdentifierClaim.proven_on``); the others keep what they remembered. The
        survivor's profile takes ``survivor_takes`` (what it keeps of the merged record's
        choices: its email preference, its language) in the same write."""
        ...

    def erasure(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's erasure record, if an erasure was begun."""
        ...

    def begin_erasure(
        self, customer_id: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        """Record the erasure, mark the record erased (name dropped) and release these
        identifiers, all or nothing; ``ConcurrentModification`` if the record is neither
        active nor erased, or an erasure was recorded meanwhile."""
        ...

    def keep_erasure_addresses(self, customer_id: str, addresses: Collection[str]) -> bool:
        """Add ``addresses`` to those an erasure still in progress keeps until its steps ran
        (``pending_late_addresses``; two calls at once both keep theirs); False, nothing
        kept, once the erasure is complete: a completed record keeps no address."""
        ...

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        """Mark the erasure complete and drop the addresses it kept; returns the record."""
        ...


class CustomerView(Protocol):
    """The 360 projection and the records kept with a customer."""

    def records(
        self,
        customer_id: str,
        kind: CustomerRecord,
        limit: int | None = None,
        newest_first: bool = False,
        cursor: str | None = None,
        leaving_out: AbstractSet[str] = frozenset(),
        leaving_unvouched: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The customer's records of one kind, oldest first unless ``newest_first``; one
        page when ``limit`` is given, with the cursor of the next (None at the end);
        ``InvalidCursor`` for a cursor not handed out for this customer. Records about an
        order in ``leaving_out`` are skipped, and so are those marked ``UNVOUCHED`` when
        ``leaving_unvouched``: pages are filled without them, and a cursor never names one."""
        ...

    def order_summary(
        self, customer_id: str, placed_at: str, order_id: str
    ) -> dict[str, Any] | None:
        """One order's summary (with its ``version``)."""
        ...

    def project(
        self,
        customer_id: str,
        summary: dict[str, Any],
        summary_version: int,
        consent: dict[str, Any] | None,
        figures: tuple[CustomerMetrics, AnalyticsState, AnalyticsState] | None,
    ) -> None:
        """Write an order's summary (``order_id``, ``placed_at``...) if it is still at
        ``summary_version``, with the consent and the figures when given, all or nothing;
        ``ConcurrentModification`` if the summary or the figures changed. The consent
        accepted with the order is given with every summary of it (listed once)."""
        ...

    def add_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        """Record an interaction (``interaction_id``, ``at``...); the same id twice is one."""
        ...

    def add_requested_interaction(
        self, customer_id: str, interaction: dict[str, Any], once: str, keep_until: int
    ) -> dict[str, Any]:
        """Record an interaction a request asked for under ``once`` (its Idempotency-Key in
        its scope), with a claim of that request kept until ``keep_until`` (epoch
        seconds), all or nothing; the interaction the request recorded first if it was
        run again (its first run died before its answer was stored)."""
        ...

    def add_interaction_once(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        """Record an interaction unless one with its ``interaction_id`` and ``at`` is
        recorded; True if this call recorded it (a send-once claim)."""
        ...

    def has_interaction(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        """Whether an interaction with this ``interaction_id`` and ``at`` is recorded."""
        ...

    def remove_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        """Drop the interaction with this ``interaction_id`` and ``at`` (a claim whose work
        failed); nothing if there is none."""
        ...

    def record_merge_candidate(self, customer_ids: list[str], reason: dict[str, Any]) -> None:
        """Two records one order named: recorded on both."""
        ...

    def drop_merge_candidates(self, customer_id: str) -> int:
        """Forget every merge candidate the customer is part of, on both records."""
        ...

    def merged_into(self, customer_id: str) -> list[str]:
        """The records merged into this one (directly)."""
        ...

    def split_off(self, customer_id: str) -> list[str]:
        """The records founded by an identifier split off this one (directly)."""
        ...

    def move_items(
        self, from_customer: str, to_customer: str, kinds: tuple[CustomerRecord, ...]
    ) -> int:
        """Move a customer's records of these kinds to another, each marked ``UNVOUCHED``
        (a merge proves nothing: the survivor's token does not open what it brought);
        returns how many."""
        ...

    def rewrite_items(
        self,
        customer_id: str,
        kind: CustomerRecord,
        rewrite: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> int:
        """Replace each record of one kind by what ``rewrite`` makes of it (None deletes);
        returns how many changed."""
        ...


class Analytics(Protocol):
    """Customers' running figures and the aggregates kept from them."""

    def figures(self, customer_id: str) -> tuple[CustomerMetrics, AnalyticsState]:
        """The running figures and where they were last counted."""
        ...

    def metrics(self, customer_id: str) -> CustomerMetrics:
        """The running figures (zero before the first projected order)."""
        ...

    def analytics_state(self, customer_id: str) -> AnalyticsState:
        """Where the customer was last counted in the aggregates."""
        ...

    def save_metrics(self, changes: list[FiguresChange]) -> None:
        """Write several customers' figures (each guarded by its version) and move the
        aggregates, all or nothing."""
        ...

    def segment_reviews_due(self, now: datetime, days_back: int) -> tuple[list[str], int]:
        """Customers whose segment review is due by ``now``, and the pages read."""
        ...

    def segment_counters(self) -> dict[str, Any]:
        """``count_<segment>`` and ``value_<segment>`` over every customer."""
        ...

    def channel_counters(self) -> dict[str, Any]:
        """The channel counters over every customer."""
        ...

    def top_customers(self, limit: int) -> list[dict[str, Any]]:
        """The most valuable customers (``customer_id``, ``value``), most valuable first."""
        ...


class Tickets(Protocol):
    """Customer-service tickets with optimistic versions."""

    def create_ticket(self, ticket: Ticket) -> None:
        """Store a new ticket; ``ConcurrentModification`` if its id is taken."""
        ...

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """A ticket, or None."""
        ...

    def save_ticket(self, ticket: Ticket) -> None:
        """Write a changed ticket if nobody changed it since it was read."""
        ...

    def put_ticket_owner(self, ticket_id: str, customer_id: str) -> None:
        """Re-point a ticket at the customer it now belongs to."""
        ...


class Quotes(Protocol):
    """Quotes, kept until they expire."""

    def put_quote(self, quote: Quote) -> None:
        """Store a new quote."""
        ...

    def get_quote(self, quote_id: str) -> Quote:
        """The quote, or ``NotFound`` (an expired one may be gone)."""
        ...


class OrderStore(
    Orders, Shipments, Catalogue, Stock, Markers, Identities, Quotes, PromotionStore, Protocol
):
    """What ``Deps.store`` offers: the order side of the table."""


class CustomerStore(Identities, CustomerView, Analytics, Tickets, Protocol):
    """What ``Deps.customers`` offers: the customer side of the table."""
