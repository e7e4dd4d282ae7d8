"""The key design: the only module that knows a key prefix, a sort key or an index name.

The item types and their keys are tabled in docs/table-design.md; keep it in step.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING

from chalicelib.ports import CustomerRecord

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.domain.customers import Identifier

Key = dict[str, str]

# Indexes ---------------------------------------------------------------------------------
OPEN_SHIPMENTS_BY_DUE = "open-shipments-by-due"
SHIPMENTS_BY_CARRIER = "shipments-by-carrier"
SEGMENT_REVIEWS_BY_DAY = "segment-reviews-by-day"
ORDERS_OWING_BY_SHARD = "orders-owing-by-shard"
# Opportunities by status, in creation order: a page of ops' list, and the open and notified
# ones the hourly review may lose, are read without the converted and lost ones that only
# grow. Projected whole (the list shows every one it reads).
OPPORTUNITIES_BY_STATUS = "opportunities-by-status"
# Opportunities by who holds them (the customer named, or a bare email's address): what an
# erasure and an export read of a person's, without every opportunity. Keys only, so a move
# rewrites no entry; the items are then read from the table, consistently.
OPPORTUNITIES_BY_HOLDER = "opportunities-by-holder"
TOP_CUSTOMERS_BY_SHARD = "top-customers-by-shard"


def _key(pk: str, sk: str) -> Key:
    return {"pk": pk, "sk": sk}


# Orders ----------------------------------------------------------------------------------
POINTER = "POINTER"
# Both items of an order (or its one item, stored before) sort under this prefix, apart.
ORDER_ITEMS_PREFIX = "ORDER"


def order_pk(order_id: str) -> str:
    """The partition of an order, its ops alerts' copies and its survey answer."""
    return f"ORDER#{order_id}"


def order(order_id: str) -> Key:
    """The order's details item (for an order stored before the split, its one item)."""
    return _key(order_pk(order_id), ORDER_ITEMS_PREFIX)


def order_state(order_id: str) -> Key:
    """The order's state item: status, version and what the lifecycle moves."""
    return _key(order_pk(order_id), f"{ORDER_ITEMS_PREFIX}#STATE")


def return_wait(order_id: str) -> Key:
    """The return window's parked wait, beside the order (outside its ``ORDER`` items, so
    reading the order does not read it)."""
    return _key(order_pk(order_id), "WAIT#RETURNS")


def return_pointer(return_id: str) -> Key:
    """The pointer from a return to its order."""
    return _key(f"RETURN#{return_id}", POINTER)


def shipment(carrier: str, tracking_number: str) -> Key:
    """The shipment record, which doubles as the tracking number's pointer to the order."""
    return _key(f"SHIPMENT#{carrier}#{tracking_number}", POINTER)


def carrier_key(carrier: str, service_level: str) -> str:
    """The ``shipments-by-carrier`` partition of one carrier's service level."""
    return f"{carrier}#{service_level}"


# Owed orders: the state item's ``owed_shard``/``owed_since`` while anything is owed, in the
# sparse KEYS_ONLY ``ORDERS_OWING_BY_SHARD`` (1 unit to put, 1 to delete), over ``OWED_SHARDS``
# values: on one, every owed order writes one key twice (~1,000 writes/s: 500 orders/s).
OWED_SHARDS = 8
OWED_SHARD = "owed_shard"
OWED_SINCE = "owed_since"


def owed_shard(order_id: str) -> str:
    """The ``orders-owing-by-shard`` partition an order is listed in while it owes money."""
    digest = hashlib.sha256(order_id.encode()).digest()
    return owed_shard_name(int.from_bytes(digest[:4], "big") % OWED_SHARDS)


def owed_shard_name(shard: int) -> str:
    """One partition of ``orders-owing-by-shard``."""
    return f"OWED#{shard}"


# The listing before the index (one partition): still swept, deleted once nothing is owed.
OWED_PK = "SETTLEMENT#OWED"


def owed(order_id: str) -> Key:
    """An order's listing among those owing money, as stored before the index."""
    return _key(OWED_PK, f"ORDER#{order_id}")


# Catalogue, locations and stock -------------------------------------------------------------
CATALOG_PK = "CATALOG"
LOCATION_PK = "LOCATION"
STOCK_LOCATION_PREFIX = "LOC#"
MOVEMENT_PREFIX = "MOVE#"


def product(sku: str) -> Key:
    """A catalogue entry."""
    return _key(CATALOG_PK, f"SKU#{sku}")


def location(location_id: str) -> Key:
    """A store or warehouse."""
    return _key(LOCATION_PK, f"{STOCK_LOCATION_PREFIX}{location_id}")


def stock_pk(sku: str) -> str:
    """The partition of one SKU's stock items and movement ledger."""
    return f"STOCK#{sku}"


def stock(sku: str, location_id: str) -> Key:
    """One SKU's stock item at one location."""
    return _key(stock_pk(sku), f"{STOCK_LOCATION_PREFIX}{location_id}")


def movement(sku: str, movement_id: str) -> Key:
    """One entry of a SKU's movement ledger, keyed by its id so that a movement asked for
    again under its Idempotency-Key is refused by the key itself (entries written before
    were keyed ``MOVE#<at>#<id>``; the ledger is read whole and put in time order)."""
    return _key(stock_pk(sku), f"{MOVEMENT_PREFIX}{movement_id}")


# Once-only markers -------------------------------------------------------------------------
def marker(name: str) -> Key:
    """A once-only marker."""
    return _key(f"ONCE#{name}", "ONCE")


# Customers ---------------------------------------------------------------------------------
PROFILE_SK = "PROFILE"
METRICS_SK = "METRICS"
ERASURE_SK = "ERASURE"
IDENTIFIER_PREFIX = "IDENT#"
CANDIDATE_PREFIX = "CANDIDATE#"

# Where each kind of record a customer owns sorts in the customer's partition.
RECORD_PREFIXES: dict[CustomerRecord, str] = {
    CustomerRecord.PROFILE: PROFILE_SK,
    CustomerRecord.ORDERS: "ORDER#",
    CustomerRecord.INTERACTIONS: "INTERACTION#",
    CustomerRecord.TICKETS: "TICKET#",
    CustomerRecord.CONSENTS: "CONSENT#",
    CustomerRecord.CANDIDATES: CANDIDATE_PREFIX,
    CustomerRecord.MERGES: "MERGE#",
    CustomerRecord.SPLITS: "SPLIT#",
    CustomerRecord.ERASURE: ERASURE_SK,
    CustomerRecord.IDENTIFIERS: IDENTIFIER_PREFIX,
}


def customer_pk(customer_id: str) -> str:
    """The partition of everything one customer owns."""
    return f"CUSTOMER#{customer_id}"


def customer_id_of(pk: str) -> str:
    """The customer a customer partition belongs to."""
    return pk.removeprefix("CUSTOMER#")


def profile(customer_id: str) -> Key:
    """The customer's profile."""
    return _key(customer_pk(customer_id), PROFILE_SK)


def customer_figures(customer_id: str) -> Key:
    """The customer's running figures."""
    return _key(customer_pk(customer_id), METRICS_SK)


def erasure(customer_id: str) -> Key:
    """The customer's erasure record."""
    return _key(customer_pk(customer_id), ERASURE_SK)


def identifier(identifier: Identifier) -> Key:
    """The identifier item: who owns an email or phone, unique by condition."""
    return _key(f"{IDENTIFIER_PREFIX}{identifier.type.value}#{identifier.value}", "IDENT")


def identifier_mirror(customer_id: str, identifier: Identifier) -> Key:
    """The customer's copy of an identifier they own."""
    return _key(
        customer_pk(customer_id), f"{IDENTIFIER_PREFIX}{identifier.type.value}#{identifier.value}"
    )


def customer_order(customer_id: str, placed_at: str, order_id: str) -> Key:
    """An order's summary in its customer's partition (sorted by when it was placed)."""
    return _key(customer_pk(customer_id), f"ORDER#{placed_at}#{order_id}")


def consent(customer_id: str, accepted_at: str, order_id: str) -> Key:
    """The terms a customer accepted with an order."""
    return _key(customer_pk(customer_id), f"CONSENT#{accepted_at}#{order_id}")


def interaction(customer_id: str, at: str, interaction_id: str) -> Key:
    """A call, chat, store visit or email recorded with a customer."""
    return _key(customer_pk(customer_id), f"INTERACTION#{at}#{interaction_id}")


def interaction_request(once: str) -> Key:
    """The claim of the request that recorded a staff interaction (``once``: its
    Idempotency-Key in its scope, hashed: any text, bounded), naming the interaction."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return _key(f"INTERACTION_REQUEST#{digest}", "CLAIM")


def merge_candidate(customer_id: str, other_id: str) -> Key:
    """Another record one of the customer's orders named."""
    return _key(customer_pk(customer_id), f"{CANDIDATE_PREFIX}{other_id}")


def merge_record(survivor_id: str, at: str, merged_id: str) -> Key:
    """Who merged ``merged_id`` into the survivor, and when."""
    return _key(customer_pk(survivor_id), f"MERGE#{at}#{merged_id}")


def split_record(customer_id: str, split_id: str) -> Key:
    """A record founded by an identifier split off this customer's record."""
    return _key(customer_pk(customer_id), f"SPLIT#{split_id}")


# Tickets -----------------------------------------------------------------------------------
def ticket(ticket_id: str) -> Key:
    """The whole ticket."""
    return _key(f"TICKET#{ticket_id}", "TICKET")


def customer_ticket(customer_id: str, opened_at: datetime, ticket_id: str) -> Key:
    """A ticket's entry in its customer's list (sorted by when it was opened)."""
    return _key(customer_pk(customer_id), f"TICKET#{opened_at.isoformat()}#{ticket_id}")


# Aggregates --------------------------------------------------------------------------------
ANALYTICS_SHARDS = 8
# One item per shard holds the segment counters and the channel counters (these under
# ``CHANNEL_COUNTER_PREFIX``): a projection that moves both writes one item, not two.
AGGREGATES_SK = "AGGREGATES"
CHANNEL_COUNTER_PREFIX = "channel#"
TOP_PREFIX = "TOP#"


def analytics_shard(shard: int) -> str:
    """The partition of one aggregates shard."""
    return f"ANALYTICS#{shard}"


def analytics_pk(customer_id: str) -> str:
    """The aggregates shard a customer is counted in. The counters are spread over
    ``ANALYTICS_SHARDS`` partitions so that projections do not all write one key (DynamoDB
    takes about 1,000 writes/s per partition); readers add the shards up."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return analytics_shard(int.from_bytes(digest[:4], "big") % ANALYTICS_SHARDS)


def top_customer(customer_id: str, value: Decimal) -> Key:
    """A customer's place among the most valuable, by key (cents zero-padded), in their shard."""
    cents = max(0, int(value * 100))
    return _key(analytics_pk(customer_id), f"{TOP_PREFIX}{cents:015d}#{customer_id}")


# Access records (adapters/access.py) -------------------------------------------------------
def attempts(scope: str) -> Key:
    """The attempt counter and lockout of one scope."""
    return _key(f"ATTEMPTS#{scope}", "ATTEMPTS")


def verification_code(identifier: str) -> Key:
    """The one-time code sent to an identifier (``<type>#<value>``)."""
    return _key(f"VERIFY#{identifier}", "CODE")


def tracking_generation(order_id: str) -> Key:
    """The generation of an order's tracking links."""
    return _key(f"TRACKING#{order_id}", "GENERATION")


# Ops alerts (adapters/alerts.py) -----------------------------------------------------------
ALERTS_PK = "ALERT"
OPEN_ALERTS_PK = "ALERT_OPEN"
ORDER_ALERT_PREFIX = "ALERT#"


def order_alert(order_id: str, alert_id: str) -> Key:
    """The copy of an alert in its order's partition."""
    return _key(order_pk(order_id), f"{ORDER_ALERT_PREFIX}{alert_id}")


# Idempotency records (Powertools, adapters/idempotency.py) ---------------------------------
IDEMPOTENCY_PK = "IDEMPOTENCY#requests"


# The sandbox payment gateway (adapters/payments.py) ----------------------------------------
def sandbox_ledger(payment_id: str) -> Key:
    """A sandbox payment's ledger."""
    return _key(f"SANDBOXPAY#{payment_id}", "LEDGER")


def sandbox_payment_id(order_id: str, card_token: str) -> str:
    """The one payment of an order and card: a retried authorisation finds it, while a new
    card after a decline (paying again) is a new payment. Derived from a hash, so that no
    card reference sits in a key."""
    card = hashlib.sha256(card_token.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return "pay_" + hashlib.sha256(f"{order_id}#{card}".encode()).hexdigest()[:16]


# Satisfaction surveys ----------------------------------------------------------------------
SURVEY_SK = "SURVEY"
SATISFACTION_PK = "SATISFACTION"
CUSTOMER_SATISFACTION_SK = "SATISFACTION"


def survey(order_id: str) -> Key:
    """The order's survey answer."""
    return _key(order_pk(order_id), SURVEY_SK)


def satisfaction_counter(counter_id: str) -> Key:
    """One CSAT counter."""
    return _key(SATISFACTION_PK, counter_id)


def customer_satisfaction(customer_id: str) -> Key:
    """The customer's own satisfaction tally."""
    return _key(customer_pk(customer_id), CUSTOMER_SATISFACTION_SK)


# Opportunities -----------------------------------------------------------------------------
OPPORTUNITY_PK = "OPPORTUNITY"
SUBSCRIPTION_SK = "SUBSCRIPTION"
OPEN_SUBSCRIPTION_PREFIX = "OPEN#"
OPEN_WISH_PREFIX = "WISH#"
NOTIFIED_OPPORTUNITY_PREFIX = "NOTIFIED#"


def opportunity(opportunity_id: str) -> Key:
    """One opportunity."""
    return _key(OPPORTUNITY_PK, opportunity_id)


def listed_status(status: str) -> str:
    """The ``opportunities-by-status`` partition of one status."""
    return f"OPPORTUNITY#{status}"


def opportunity_listing(status: str, listed_at: str) -> dict[str, str]:
    """The attributes that list an opportunity in ``opportunities-by-status``."""
    return {"listed_status": listed_status(status), "listed_at": listed_at}


def customer_holder(customer_id: str) -> str:
    """The ``opportunities-by-holder`` partition of a customer's opportunities."""
    return f"CUSTOMER#{customer_id}"


def email_holder(email: str) -> str:
    """The ``opportunities-by-holder`` partition of the opportunities of a bare email."""
    return f"EMAIL#{email}"


def opportunity_holder(customer_id: str | None, email: str | None) -> dict[str, str]:
    """The attribute that lists an opportunity in ``opportunities-by-holder``: its
    customer, else its address; none when it names neither (an erased bare email's)."""
    if customer_id:
        return {"held_by": customer_holder(customer_id)}
    if email:
        return {"held_by": email_holder(email)}
    return {}


def subscription(subscription_id: str) -> Key:
    """One back-in-stock subscription."""
    return _key(f"SUBSCRIPTION#{subscription_id}", SUBSCRIPTION_SK)


def back_in_stock_pk(sku: str) -> str:
    """The partition of a SKU's open subscriptions and notified opportunities."""
    return f"BACKINSTOCK#{sku}"


def open_subscription(sku: str, subscription_id: str) -> Key:
    """The copy of a subscription while it is open."""
    return _key(back_in_stock_pk(sku), f"{OPEN_SUBSCRIPTION_PREFIX}{subscription_id}")


def open_wish(sku: str, email: str) -> Key:
    """The claim of an address's one open subscription to a SKU: written with the
    subscription on the condition that it is absent, gone when the subscription closes."""
    digest = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return _key(back_in_stock_pk(sku), f"{OPEN_WISH_PREFIX}{digest}")


def notified_opportunity(sku: str, opportunity_id: str) -> Key:
    """The pointer to a notified back-in-stock opportunity."""
    return _key(back_in_stock_pk(sku), f"{NOTIFIED_OPPORTUNITY_PREFIX}{opportunity_id}")


OWED_NOTICES_PK = "BACKINSTOCK_OWED"


def owed_notices(sku: str, moment: datetime) -> Key:
    """What a stock write at ``moment`` could not tell the subscribers of ``sku``: one
    partition, read by the sweep in the order owed (failures are rare, so never hot)."""
    return _key(OWED_NOTICES_PK, f"{moment.isoformat()}#{sku}")


def order_conversions_pk(order_id: str) -> str:
    """The partition of the pointers to the opportunities an order converted."""
    return f"CONVERSIONS#{order_id}"


def converted_opportunity(order_id: str, opportunity_id: str) -> Key:
    """The pointer to an opportunity ``order_id`` converted, while it stays converted."""
    return _key(order_conversions_pk(order_id), opportunity_id)


def quote(quote_id: str) -> Key:
    """A quote."""
    return _key(f"QUOTE#{quote_id}", "QUOTE")


# Promotions (the item types are listed in adapters/dynamodb/promotions.py) ---------------
PROMOTIONS_PK = "PROMOTIONS"
AUTOMATIC_PROMOTIONS_PK = "PROMOTIONS#AUTOMATIC"
NEVER_ENDS = "9999"  # sorts after every ISO timestamp: a promotion without an end


def promotion(promotion_id: str, sk: str = "PROMOTION") -> Key:
    """The promotion (its counter), or with ``sk`` one of its redemption items."""
    return _key(f"PROMOTION#{promotion_id}", sk)


def promotion_creation(once: str) -> Key:
    """The claim of the request that created a promotion (``once``: its Idempotency-Key in
    its scope, hashed: any text, bounded), holding the promotion's id."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return _key(f"PROMOTION_CREATION#{digest}", "CLAIM")


def redemption(promotion_id: str, order_id: str) -> Key:
    """A live order's redemption of a promotion."""
    return promotion(promotion_id, f"REDEEMED#{order_id}")


def customer_redemption(promotion_id: str, customer_id: str) -> Key:
    """A customer's one redemption of a once-per-customer promotion."""
    return promotion(promotion_id, f"CUSTOMER#{customer_id}")


def quote_redemption(promotion_id: str, quote_id: str) -> Key:
    """The one live order a quote's price of a promotion is given to."""
    return promotion(promotion_id, f"QUOTE#{quote_id}")


def promotion_copy(promotion_id: str, automatic: bool = False, ends_at: str | None = None) -> Key:
    """A promotion's copy in the listing of all, or of those without a code (by end)."""
    if automatic:
        return _key(AUTOMATIC_PROMOTIONS_PK, f"{ends_at or NEVER_ENDS}#{promotion_id}")
    return _key(PROMOTIONS_PK, promotion_id)


def coupon_code(code: str) -> Key:
    """The claim on a coupon code (upper case), unique by condition."""
    return _key(f"PROMOCODE#{code.upper()}", "CODE")


# Campaign figures (adapters/dynamodb/campaigns.py) -----------------------------------------
CAMPAIGNS_PK = "CAMPAIGNS"


def campaign(name: str) -> Key:
    """One campaign's counters."""
    return _key(CAMPAIGNS_PK, name)


CAMPAIGN_CUSTOMER_PREFIX = "CAMPAIGN#"


def campaign_customer(customer_id: str, campaign: str) -> Key:
    """How a campaign counts a customer record (new or returning), once per campaign."""
    return _key(customer_pk(customer_id), f"{CAMPAIGN_CUSTOMER_PREFIX}{campaign}")


def campaign_order(order_id: str) -> Key:
    """The revenue an order last added to its campaign's counters."""
    return _key(f"CAMPAIGNORDER#{order_id}", "REVENUE")
