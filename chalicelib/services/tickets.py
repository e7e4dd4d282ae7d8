"""Customer-service tickets: opened by staff or by other parts of the system (an SLA
breach, a failed return), worked open → pending → resolved, the customer emailed when
a ticket is opened and when it is resolved."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import ProfileState
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound
from chalicelib.domain.events import TicketChanged, TicketEventType
from chalicelib.domain.surveys import is_survey_complaint
from chalicelib.domain.tickets import Ticket, TicketStatus, TicketType
from chalicelib.presentation.wording import Wording, language_of
from chalicelib.rendering import render
from chalicelib.services.after_sale_records import order_customer
from chalicelib.services.customer_records import carry_over_after_merge
from chalicelib.services.customers import (
    canonical_customer,
    merge_chain,
    told_before_merge,
    unsure_whose,
    vouched_contact,
)
from chalicelib.services.emails import compose, email_record, send_once, text_once
from chalicelib.services.order_writes import CONTENDED_ATTEMPTS, sent_again_when_contended
from chalicelib.services.retries import retried
from chalicelib.services.tracking import tracking_url

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.domain.orders import Order

TICKET_EVENTS = frozenset({"ticket.opened", "ticket.resolved"})
MAX_ATTEMPTS = 5
SYSTEM_CHANNEL = "system"


def open_ticket(
    customer_id: str | None,
    type: TicketType | str,
    subject: str,
    description: str,
    order_id: str | None,
    channel: str,
    deps: Deps,
    shipment: str | None = None,
    skus: list[str] | None = None,
    ticket_id: str | None = None,
) -> Ticket:
    """Open a ticket for a customer, optionally about one of their orders (and lines or a
    shipment of it); with no customer, about an anonymous order (``order_id`` then names
    an order without a customer). Give ``ticket_id`` to make the call idempotent (a
    workflow step that may run twice); the same id twice returns the first ticket."""
    owner, profile = canonical_customer(customer_id, deps) if customer_id else (None, {})
    # Staff write nothing new about an erased customer; the system still opens its
    # tickets about their orders (a late parcel), whose text names no person.
    if profile.get("state") == ProfileState.ERASED and channel != SYSTEM_CHANNEL:
        raise Conflict(f"customer {customer_id} was erased", field="customer_id")
    if owner is None and order_id is None:
        raise NotFound("a ticket is about a customer or an order", field="customer_id")
    # For whoever may not be the record's founder: staff who found the record by an
    # identifier not vouched for there, or an order only such identifiers or a merge
    # brought to it.
    unvouched = owner is not None and order_id is None and unsure_whose(owner, deps)
    # Whose vouched address the customer is written at about it (``Ticket.addressed_on``).
    addressed_on = None if unvouched else owner
    if order_id is not None:
        try:
            order = deps.store.get_order(order_id)
        except NotFound as exc:
            raise NotFound(f"no order {order_id}", field="order_id") from exc
        order_owner = order_customer(order, deps)[0]
        if order_owner != owner:
            raise NotFound(f"order {order_id} is not this customer's", field="order_id")
        # An order a split record owns was brought by the identifier proven there.
        placed_under = canonical_customer(order.customer_id, deps)[0] if order.customer_id else None
        split_owned = order_owner != placed_under
        unvouched = (
            owner is not None
            and not split_owned
            and (order.customer_unvouched or order.customer_id != owner)
        )
        addressed_on = owner
        if unvouched:  # placed on a record merged into the owner's, unless attached ids did
            addressed_on = None if order.customer_unvouched else order.customer_id
        unknown = sorted(set(skus or []) - {line.sku for line in order.lines})
        if unknown:
            raise Conflict(f"not in the order: {', '.join(unknown)}", field="skus")
    now = deps.clock()
    ticket = Ticket(
        ticket_id=ticket_id or f"tkt_{uuid.uuid4().hex[:16]}",
        customer_id=owner,
        type=TicketType(type),
        subject=subject,
        description=description,
        order_id=order_id,
        skus=skus or [],
        shipment=shipment,
        channel=channel,
        opened_at=now,
        customer_unvouched=unvouched,
        addressed_on=addressed_on,
    )
    try:
        deps.customers.create_ticket(ticket)
    except ConcurrentModification:  # the ticket id is taken: a retried request
        existing = deps.customers.get_ticket(ticket.ticket_id)
        if existing is None:
            raise
        # Told again under its first id and moment: the first run may have died between
        # its write and this publish (the customer's email is sent once per id and moment).
        deps.events.publish(_event("ticket.opened", existing, existing.opened_at.isoformat()))
        return existing
    if owner is not None and (survivor := canonical_customer(owner, deps)[0]) != owner:
        # Merged since it was read (probe 153: a ticket opened as the merge ran was left on
        # the merged record, out of the survivor's 360): it follows, however far the merge's
        # move got (its list entry may be moved already, probe 154), then the rest.
        deps.customers.put_ticket_owner(ticket.ticket_id, survivor)
        carry_over_after_merge(owner, deps)
        ticket = get_ticket(ticket.ticket_id, deps)
    deps.events.publish(_event("ticket.opened", ticket, now.isoformat()))
    return ticket


def ticket_id_for(once: str) -> str:
    """The ticket a request asked under an Idempotency-Key opens (``once``: the key in its
    scope): the same key finds the same ticket, even when the first run died before its
    answer was stored (Powertools then runs the key again; found by a review: a second
    ticket, and a second email to the customer)."""
    digest = hashlib.sha256(once.encode("utf-8", "surrogatepass")).hexdigest()
    return f"tkt_{digest[:16]}"


def words_for(cause: str, order: Order, **facts: Any) -> tuple[str, str]:
    """The subject and description of a ticket we open about ``order`` (``cause``: a
    ``survey_complaint``, a ``late_delivery``, a ``carrier_exception``), in the order's
    language: the customer reads them in the ticket emails. ``facts`` are what the
    templates (``tickets/opened_by_us.<locale>.txt.j2``) print."""
    template = f"tickets/opened_by_us.{Wording.for_order(order).locale}.txt.j2"
    context = {"cause": cause, "order_id": order.order_id} | facts
    return (
        render(template, part="subject", **context).strip(),
        render(template, part="description", **context).strip(),
    )


def get_ticket(ticket_id: str, deps: Deps) -> Ticket:
    """A ticket, or ``NotFound``."""
    ticket = deps.customers.get_ticket(ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return ticket


def update_ticket(
    ticket_id: str, status: TicketStatus | None, note: str | None, by: str, deps: Deps
) -> Ticket:
    """Move a ticket forward and/or add a note; 409 for a step back or after resolution,
    and for a note on an erased customer's ticket (nothing new is written about them)."""

    def save() -> tuple[Ticket, bool, str]:
        ticket = get_ticket(ticket_id, deps)
        if (
            note
            and ticket.customer_id is not None
            and canonical_customer(ticket.customer_id, deps)[1].get("state") == ProfileState.ERASED
        ):
            raise Conflict(f"ticket {ticket_id} is an erased customer's", field="note")
        now = deps.clock()
        resolved_now = ticket.update(status, note, by, now)
        deps.customers.save_ticket(ticket)
        return ticket, resolved_now, now.isoformat()

    # Staff noting a busy ticket together (probe 207: 20 notes at once, bare 409s).
    busy = f"ticket {ticket_id} is taking other changes; send this one again"
    with sent_again_when_contended(busy, "note" if note else "status"):
        ticket, resolved_now, at = retried(save, CONTENDED_ATTEMPTS)
    if resolved_now:
        deps.events.publish(_event("ticket.resolved", ticket, at))
    return ticket


def _event(kind: TicketEventType, ticket: Ticket, at: str) -> dict[str, Any]:
    return TicketChanged.of(kind, ticket, at).message()


def is_ticket_event(event: dict[str, Any]) -> bool:
    """Whether an event on the order-events topic is about a ticket."""
    return event.get("type") in TICKET_EVENTS


def _told_already(kind: str, ticket: Ticket) -> bool:
    """A late delivery's ticket, opened by us when the promise ran out: the customer got
    the late-delivery email at that moment (one moment, one email), and the delivered
    email when the carrier's delivery resolved it (a parcel on time after all)."""
    if ticket.channel != SYSTEM_CHANNEL or ticket.type is not TicketType.LATE_DELIVERY:
        return False
    if kind == "ticket.opened":
        return True
    return kind == "ticket.resolved" and ticket.resolved_by_system()


def _order_of(ticket: Ticket, deps: Deps) -> Order | None:
    """The order a ticket is about, if it is about one that exists."""
    if ticket.order_id is None:
        return None
    try:
        return deps.store.get_order(ticket.order_id)
    except NotFound:
        return None


def _locale_of(order: Order | None, profile: dict[str, Any]) -> str:
    """The order's language for a ticket about an order (the language every other email
    of that order speaks), else the profile's; Spanish by default."""
    if order is not None:
        return Wording.for_order(order).locale
    return language_of(profile.get("locale")).value


def _recipient(
    ticket: Ticket, order: Order | None, owner: str, profile: dict[str, Any], deps: Deps
) -> tuple[str | None, str | None, str, bool] | None:
    """Whom to tell about a ticket (an email, else a phone to text: a customer who left
    only a phone heard nothing of what they asked, probe 213), the name to greet them by,
    and whether that is where the order's own messages go (``notify.addressee``): the
    address and name given with the order it is about, else an address vouched for on
    the customer's record and the record's name. Never an address merely attached to the
    record (anyone may have named it next to the customer's phone), none of the record's
    for an order only attached identifiers brought to it, nor for a ticket opened for
    whoever such an identifier named; and never the record's name to the order's address
    (whoever placed the order by a known phone or id must not learn whose record it
    joined). A ticket a merge moved (or about an order it moved) is written where the
    merged record's customer was (``customers.told_before_merge``), greeted by no name:
    the survivor's is not theirs to learn (a probe: its resolution went to nobody, after
    its customer was told "we will write")."""
    if order is not None and order.contact.email:
        return order.contact.email, None, order.contact.name or "", True
    placed_on = None if order is None or order.customer_unvouched else order.customer_id
    # Still on a record merged into ``owner``: the merge has yet to move (and mark) it, and
    # it is written to as one it moved (probe 153: the survivor's address got it).
    if not ticket.customer_unvouched and ticket.customer_id == owner:
        email, phone = vouched_contact(owner, deps)
        if not email and order is not None and order.contact.phone:
            # Where the order's own texts went.
            return None, order.contact.phone, order.contact.name or "", True
        told = (email, phone, str(profile.get("name") or ""), placed_on == owner)
        return told if email or phone else None
    if order is not None and order.contact.phone:
        return None, order.contact.phone, order.contact.name or "", True
    origin = ticket.addressed_on
    if origin is None or origin == owner:
        return None
    email, phone = told_before_merge(origin, owner, deps)
    return (email, phone, "", placed_on == origin) if email or phone else None


def mail_ticket_event(event: dict[str, Any], deps: Deps) -> str | None:
    """Email the customer that their ticket was opened or resolved, once per event.
    Returns the message id, or None when nothing was sent."""
    ticket = get_ticket(str(event["ticket_id"]), deps)
    if _told_already(str(event["type"]), ticket) or ticket.customer_id is None:
        return None  # told already, or nobody to tell (an anonymous order's complaint)
    chain, profile = merge_chain(ticket.customer_id, deps)
    order = _order_of(ticket, deps)
    told = _recipient(ticket, order, chain[-1], profile, deps)
    if told is None and len(chain) == 1:
        # Read as not merged, then its identifiers as a merge had moved them (probe 154: 1
        # in 50 emails racing a merge went to nobody): worked out again, as a ticket the
        # merge moved, wherever the merge has got to with it.
        chain, profile = merge_chain(chain[0], deps)
        if len(chain) > 1:
            ticket = get_ticket(ticket.ticket_id, deps)
            told = _recipient(ticket, order, chain[-1], profile, deps)
    if told is None:
        return None
    email, phone, name, link = told
    locale = _locale_of(order, profile)
    # The order's page, as every email about the order links it (a review: the customer
    # read of their ticket and had no way to the order it was about). Only to the address
    # the order's own emails go to (``link``): the link opens its self-service.
    context = {
        "tracking_url": tracking_url(order.order_id, deps) if order and link else "",
        "kind": event["type"],
        "from_survey": is_survey_complaint(ticket.ticket_id),
        # Opened by us (a carrier's exception): not "your request", which they never made.
        "by_us": ticket.channel == SYSTEM_CHANNEL,
        "ticket": ticket.model_dump(mode="json"),
        "name": name,
        "locale": locale,
        "note": ticket.resolution_note(),
    }
    if email is None:
        assert phone is not None
        return text_once(
            str(event["event_id"]),
            phone,
            lambda: render(f"texts/ticket.{locale}.txt.j2", **context).strip(),
            deps,
            email_record(event, chain),
        )
    return send_once(
        str(event["event_id"]),
        email,
        lambda: compose("ticket_subject", "ticket", str(locale), context),
        deps,
        email_record(event, chain),
    )
