"""What the in-memory repositories hold: the same state the table holds, kept as copies
so that a caller changing what it read or wrote changes nothing stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.campaigns import CampaignCounters, CountedCustomer
from chalicelib.domain.catalog import Location, Product
from chalicelib.domain.inventory import StockLevel
from chalicelib.ports import CustomerRecord

# customer id -> record kind -> sort value -> record (sorted by the sort value on read)
Records = dict[str, dict[CustomerRecord, dict[str, dict[str, Any]]]]


@dataclass
class Memory:
    """Everything the fakes hold, shared by them as the table is by the repositories."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # order id -> since when it owes money (the oldest owed operation's record time)
    owing: dict[str, str] = field(default_factory=dict)
    returns: dict[str, str] = field(default_factory=dict)
    return_waits: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    shipments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    stock: dict[tuple[str, str], StockLevel] = field(default_factory=dict)
    movements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    markers: dict[str, float] = field(default_factory=dict)
    # When each marker was set (seconds since the epoch, the clock below).
    marker_set_at: dict[str, float] = field(default_factory=dict)
    identifiers: dict[tuple[str, str], str] = field(default_factory=dict)
    # The claims above that are not vouched for (attached to a record without proof).
    unvouched: set[tuple[str, str]] = field(default_factory=set)
    # The record each claim above was vouched for on before a merge moved it.
    proven_on: dict[tuple[str, str], str] = field(default_factory=dict)
    records: Records = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotes: dict[str, str] = field(default_factory=dict)
    # Promotions (JSON by id), coupon codes, live redemptions and once-per-customer holders.
    promotions: dict[str, str] = field(default_factory=dict)
    coupon_codes: dict[str, str] = field(default_factory=dict)
    promotion_creations: dict[str, str] = field(default_factory=dict)
    interaction_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    redemption_counts: dict[str, int] = field(default_factory=dict)
    redeemed: dict[tuple[str, str], str | None] = field(default_factory=dict)
    holders: dict[tuple[str, str], str] = field(default_factory=dict)
    # (promotion id, quote id) -> the live order the quote's price of it went to.
    quote_holders: dict[tuple[str, str], str] = field(default_factory=dict)
    # Campaign counters by name, and the events applied to them.
    campaigns: dict[str, CampaignCounters] = field(default_factory=dict)
    campaign_events: set[str] = field(default_factory=set)
    # (campaign, customer id) -> how the campaign counts the customer.
    campaign_customers: dict[tuple[str, str], CountedCustomer] = field(default_factory=dict)
    campaign_order_revenue: dict[str, Decimal] = field(default_factory=dict)
    # Reads by what was read ("order", "profile"): a test of what a use case reads counts them.
    reads: Counter[str] = field(default_factory=Counter)
    # Seconds since the epoch, for marker expiry: the fakes' clock when there is one.
    now: Callable[[], float] = field(default=lambda: datetime.now().timestamp())

    def kept(self, customer_id: str, kind: CustomerRecord) -> dict[str, dict[str, Any]]:
        """The customer's records of one kind, by sort value."""
        return self.records.setdefault(customer_id, {}).setdefault(kind, {})
