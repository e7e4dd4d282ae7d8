"""Customer care: tickets, claiming anonymous store orders, customer analytics."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.customer_models import (
    ChannelsResponse,
    ClaimOrderRequest,
    ClaimOrderResponse,
    SegmentsResponse,
    TicketResponse,
    UpdateTicketRequest,
)
from chalicelib.api.customers import require_token_holder
from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint, require_order
from chalicelib.domain.errors import NotFound
from chalicelib.domain.tickets import Ticket
from chalicelib.services import customer_records, customer_view, tickets

care = Blueprint(__name__)


def _ticket_body(ticket: Ticket, reader_role: str) -> dict[str, Any]:
    """The ticket as ``reader_role`` reads it. A note's writer is ``role:client``, and a key
    configured without a client id is its own client, named by a digest of the key: only
    ops read it, so that no customer or store key holds a digest of another's key to guess
    it from (a probe read the ops key's through a customer's token). A storefront reads
    it for the customer, whose token it presents: only the notes written to them."""
    if reader_role == "storefront":
        ticket = ticket.model_copy(update={"notes": ticket.notes_for_customer()})
    body = TicketResponse.model_validate(ticket.model_dump(mode="json")).model_dump(mode="json")
    if reader_role != "ops":
        for note in body["notes"]:
            note["by"] = note["by"].partition(":")[0]
    return body


def _ticket_for(call: Call, ticket_id: str) -> Ticket:
    """The ticket, unless it is about an order this caller may not read (a store key bound
    to another store): that caller gets what an unknown ticket id gets, as when opening a
    ticket about such an order, so tickets neither show nor move what the order hides."""
    ticket = tickets.get_ticket(ticket_id, call.deps)
    assert call.principal is not None
    if ticket.order_id is not None and call.principal.role == "store":
        try:
            require_order(call, ticket.order_id)
        except NotFound as exc:
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id") from exc
    return ticket


@endpoint(
    care,
    "/tickets/{ticket_id}",
    "GET",
    summary="A ticket with its notes; storefront keys need the customer's X-Customer-Token",
    roles=("storefront", "store", "ops"),
    response=TicketResponse,
    tag="customers",
    access=Access.CUSTOMER,
    optional_headers=("X-Customer-Token",),
)
def get_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Read a ticket."""
    assert call.principal is not None
    if call.principal.role == "storefront":
        return _ticket_body(_ticket_for_token(call, ticket_id), call.principal.role)
    return _ticket_body(_ticket_for(call, ticket_id), call.principal.role)


def _ticket_for_token(call: Call, ticket_id: str) -> Ticket:
    """The ticket, for a storefront whose customer's token opens it. A ticket the token
    does not open answers as an unknown id does: the late-delivery and survey-complaint
    tickets' ids are made from their order's, so a 403 told any storefront which of
    another client's orders had a late parcel or a low score (a probe)."""
    holder, profile = require_token_holder(call)
    # A ticket on another record is the holder's only for a record split off another (an
    # order the split owns). Known before the ticket is read, so that another customer's
    # ticket costs the reads an unknown id costs: a re-probe timed the owner's lookup,
    # 4 ms more when the ticket existed. A split record's holder still pays it.
    split_off = bool(profile.get("split_from"))
    ticket = tickets.get_ticket(ticket_id, call.deps)
    if ticket.customer_id != holder and not split_off:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    # A ticket about an order a split record owns (its proven identifier alone brought the
    # order to the record the ticket sits on) is that record's: its token opens it, as its
    # 360 and export list it.
    owner = customer_view.ticket_owner(ticket, call.deps)
    # Marked when opened for whoever may not be the record's founder, or brought by a merge.
    unvouched = ticket.customer_unvouched and owner == ticket.customer_id
    if owner != holder or unvouched:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return ticket


@endpoint(
    care,
    "/tickets/{ticket_id}",
    "PATCH",
    summary="Move a ticket forward (open → pending → resolved) and/or add a note",
    roles=("store", "ops"),
    request=UpdateTicketRequest,
    response=TicketResponse,
    tag="customers",
    access=Access.STAFF,
    errors=(409, 429),
    optional_headers=(IDEMPOTENCY_HEADER,),
)
def update_ticket(call: Call, ticket_id: str) -> dict[str, Any]:
    """Work a ticket; resolving it emails the customer. Once per Idempotency-Key when one
    is sent (probe 161: ten retries of one note wrote ten notes): the same key with
    another body is 422. The key's record keeps the ticket's id alone, so no note's words
    outlive an erasure there; the answer is the ticket as it is now."""
    key = call.idempotency_key(required=False)
    request = call.parse(UpdateTicketRequest)
    assert call.principal is not None
    _ticket_for(call, ticket_id)
    by = call.principal.writer
    ticket = call.act_once(
        call.key_scope("ticket-updates", ticket_id),
        key,
        request,
        lambda: tickets.update_ticket(ticket_id, request.status, request.note, by, call.deps),
        lambda: tickets.get_ticket(ticket_id, call.deps),
    )
    return _ticket_body(ticket, call.principal.role)


@endpoint(
    care,
    "/orders/{order_id}/claim",
    "POST",
    summary="Attach an anonymous store order to a customer with its receipt code",
    roles=("storefront", "store", "ops"),
    request=ClaimOrderRequest,
    response=ClaimOrderResponse,
    tag="customers",
    access=Access.CODE,
    errors=(409, 429),
)
def claim_order(call: Call, order_id: str) -> dict[str, Any]:
    """The order joins the customer's history; five wrong codes lock it (429)."""
    request = call.parse(ClaimOrderRequest)
    assert call.principal is not None
    resolution = customer_records.claim_order(
        order_id, request.receipt_code, request, call.deps, sees=call.principal.sees
    )
    return ClaimOrderResponse(
        order_id=order_id,
        customer_id=resolution.customer_id,
        matched_by=resolution.matched_by,
        created=resolution.created,
    ).model_dump(mode="json")


@endpoint(
    care,
    "/analytics/segments",
    "GET",
    summary="RFM segments with counts and value, and the most valuable customers",
    roles=("ops",),
    response=SegmentsResponse,
    tag="customers",
)
def segments(call: Call) -> dict[str, Any]:
    """From counters the customer projection maintains; no scan."""
    return SegmentsResponse.model_validate(customer_view.segments_report(call.deps)).model_dump(
        mode="json"
    )


@endpoint(
    care,
    "/analytics/channels",
    "GET",
    summary="Customers buying online only, in store only, or both",
    roles=("ops",),
    response=ChannelsResponse,
    tag="customers",
)
def channels(call: Call) -> dict[str, Any]:
    """From counters the customer projection maintains; no scan."""
    return ChannelsResponse.model_validate(customer_view.channels_report(call.deps)).model_dump(
        mode="json"
    )
