"""What erasing a customer (GDPR art. 17) does to each thing that holds their data.

Every rule is an allow-list: what is kept is named, everything else goes, so a field added
later is erased until someone decides it may stay. Each function is idempotent (applied
to what it already redacted, it changes nothing) so that an interrupted erasure can be run
again to the end. Amounts, statuses, dates and ids stay: the retailer must keep its books.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from chalicelib.domain.customers import UNVOUCHED, email_as_stored, reached_at
from chalicelib.domain.opportunities import (
    BackInStockSubscription,
    Opportunity,
    SubscriptionStatus,
)
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import CustomerContact, ShippingAddress
from chalicelib.domain.surveys import SurveyResponse
from chalicelib.domain.tickets import Ticket

ERASED = "[erased]"

# A profile keeps only what says what happened to the record (``split_from``: the record
# an identifier of this one was split off, an id).
PROFILE_KEPT = frozenset(
    {
        "pk",
        "sk",
        "state",
        "locale",
        "merged_into",
        "merged_at",
        "split_from",
        "erased_at",
        "version",
    }
)
# An interaction keeps what it was, when, through which channel and about what; its text
# (a call's notes, an email's summary or subject) goes.
INTERACTION_KEPT = frozenset(
    {
        "pk",
        "sk",
        "interaction_id",
        "type",
        "channel",
        "at",
        "order_id",
        "ticket_id",
        "message_id",
        "recorded_by",
        "score",
        "version",
        UNVOUCHED,
    }
)
INTERACTION_TEXT = "summary"
# The ticket list in the customer's partition repeats the ticket's subject.
TICKET_INDEX_KEPT = frozenset(
    {"pk", "sk", "ticket_id", "type", "status", "order_id", "version", UNVOUCHED}
)
TICKET_INDEX_TEXT = "subject"
# A survey answer keeps its score and what it is about (the satisfaction figures); the
# comment the customer wrote goes.
SURVEY_KEPT = frozenset({"subject", "score", "answered_at"})
# A subscription keeps what was wished, by which record and when; the address goes.
SUBSCRIPTION_KEPT = frozenset(
    {
        "subscription_id",
        "sku",
        "customer_id",
        "source",
        "order_id",
        "quantity",
        "status",
        "created_at",
        "notified_at",
    }
)
# An opportunity keeps its kind, status, value (and a converted wish's own, ``wished``),
# dates and what it followed (the figures); the address it recognised the customer by goes.
OPPORTUNITY_KEPT = frozenset(
    {
        "opportunity_id",
        "kind",
        "customer_id",
        "order_id",
        "sku",
        "status",
        "value",
        "currency",
        "created_at",
        "updated_at",
        "subscription_id",
        "notified_at",
        "converted_by",
        "wished",
    }
)


def redact_order(order: Order) -> bool:
    """Drop the customer's contact details, the shipping address (its country stays, for
    the accounts' taxes), what they wrote about their returns and the notes written with a
    status change (a cancel's reason). True if anything changed."""
    changed = False
    contact = CustomerContact(locale=order.contact.locale)
    if order.contact != contact:
        order.contact = contact
        changed = True
    address = order.shipping_address
    if address is not None:
        erased = ShippingAddress(
            name=ERASED, line1=ERASED, city=ERASED, postal_code=ERASED, country=address.country
        )
        if address != erased:
            order.shipping_address = erased
            changed = True
    for returned in order.returns:
        if returned.reason != ERASED:
            returned.reason = ERASED
            changed = True
    for entry in order.history:
        if entry.note is not None and entry.note != ERASED:
            entry.note = ERASED
            changed = True
    return changed


def redact_ticket(ticket: Ticket) -> bool:
    """Subject, description, the shipment named (free text: a probe's read "leave with
    neighbour Ana Perez") and every note's text go; type, status, dates, the order and who
    wrote each note stay. True if anything changed."""
    changed = False
    if ticket.shipment is not None and ticket.shipment != ERASED:
        ticket.shipment = ERASED
        changed = True
    if ticket.subject != ERASED:
        ticket.subject = ERASED
        changed = True
    if ticket.description != ERASED:
        ticket.description = ERASED
        changed = True
    for note in ticket.notes:
        if note.text != ERASED:
            note.text = ERASED
            changed = True
    return changed


def _kept(item: dict[str, Any], kept: frozenset[str], text: str) -> dict[str, Any]:
    redacted = {name: value for name, value in item.items() if name in kept}
    redacted[text] = ERASED
    return redacted


def redact_interaction(item: dict[str, Any]) -> dict[str, Any]:
    """An interaction item with its text erased and nothing but the allowed fields."""
    return _kept(item, INTERACTION_KEPT, INTERACTION_TEXT)


def redact_ticket_index(item: dict[str, Any]) -> dict[str, Any]:
    """A ticket's entry in its customer's list, with the subject erased."""
    return _kept(item, TICKET_INDEX_KEPT, TICKET_INDEX_TEXT)


def redact_profile(item: dict[str, Any], erased_at: str) -> dict[str, Any]:
    """A profile item without the name or anything else about the person; it says when
    it was erased. A merged record stays merged (its id still leads to the survivor)."""
    redacted = {name: value for name, value in item.items() if name in PROFILE_KEPT}
    redacted.setdefault("erased_at", erased_at)
    return redacted


def redact_survey(response: SurveyResponse) -> SurveyResponse | None:
    """The answer without the customer's comment; None when nothing is left to erase."""
    kept = {name: value for name, value in response if name in SURVEY_KEPT}
    redacted = SurveyResponse.model_validate(kept)
    return redacted if redacted != response else None


def redact_subscription(
    subscription: BackInStockSubscription,
) -> BackInStockSubscription | None:
    """The subscription without the address; an open one is closed (no notice may go to
    an erased person). None when nothing is left to erase."""
    kept = {name: value for name, value in subscription if name in SUBSCRIPTION_KEPT}
    redacted = BackInStockSubscription.model_validate(kept | {"email": ERASED})
    if redacted.status is SubscriptionStatus.OPEN:
        redacted.status = SubscriptionStatus.ERASED
    return redacted if redacted != subscription else None


def redact_opportunity(opportunity: Opportunity) -> Opportunity | None:
    """The opportunity without the address; None when nothing is left to erase."""
    kept = {name: value for name, value in opportunity if name in OPPORTUNITY_KEPT}
    redacted = Opportunity.model_validate(kept)
    return redacted if redacted != opportunity else None


def contact_emails(order: Order) -> set[str]:
    """The addresses the order's emails went to, as their identifiers are stored."""
    return {email_as_stored(order.contact.email)} if order.contact.email else set()


def forget_owned_contact(order: Order, owners: Collection[str]) -> bool:
    """Take off the order's contact the email or the phone that one of ``owners`` (records)
    owned when the order named it (``Order.contact_owned_by``), with its mark; True if
    either was."""
    fields = [field for field, owner in order.contact_owned_by.items() if owner in owners]
    for field in fields:
        setattr(order.contact, field, None)
        del order.contact_owned_by[field]
    return bool(fields)


def forget_contact(order: Order, addresses: set[str]) -> bool:
    """Take off the order's contact the email or the phone that is one of ``addresses``
    (someone else's, named there); True if either was."""
    contact = order.contact
    wanted = {a.lower() for a in addresses}
    changed = False
    if contact.email and reached_at(contact.email, None) & wanted:
        contact.email = None
        changed = True
    if contact.phone and reached_at(None, contact.phone) & wanted:
        contact.phone = None
        changed = True
    return changed
