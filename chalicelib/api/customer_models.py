"""Wire models of the customer routes: requests refuse unknown fields; responses are what
the OpenAPI document describes."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money
from chalicelib.domain.placement import Problems
from chalicelib.domain.requests import (
    CustomerRef,
    OneLineText,
    Strict,
    Text,
    WrittenText,
    non_null,
)
from chalicelib.domain.tickets import TicketStatus, TicketType
from chalicelib.services.customer_view import RECENT_ITEMS

ContactChannel = Literal["web", "app", "store", "kiosk", "phone", "email", "chat"]


class AddInteractionRequest(Strict):
    """``POST /customers/{id}/interactions``: a call, chat or store visit."""

    type: Literal["call", "chat", "store_visit", "other"]
    channel: ContactChannel
    summary: WrittenText = Field(min_length=1, max_length=2000)


class OpenTicketRequest(Strict):
    """``POST /customers/{id}/tickets``."""

    type: TicketType = TicketType.COMPLAINT
    subject: OneLineText = Field(min_length=1, max_length=200)
    description: WrittenText = Field(min_length=1, max_length=4000)
    order_id: str | None = Field(default=None, min_length=1, max_length=64)
    skus: list[Annotated[OneLineText, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    shipment: OneLineText | None = Field(default=None, min_length=1, max_length=100)
    channel: ContactChannel


class UpdateTicketRequest(Strict):
    """``PATCH /tickets/{id}``: move the status forward and/or add a note."""

    json_schema_rules: ClassVar[dict[str, Any]] = {"anyOf": non_null("status", "note")}

    status: TicketStatus | None = None
    note: WrittenText | None = Field(default=None, min_length=1, max_length=4000)

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """A status, a note or both."""
        if data.get("status") is None and data.get("note") is None:
            return [(name, "give a status, a note or both") for name in ("status", "note")]
        return []


class MergeCustomersRequest(Strict):
    """``POST /customers/{id}/merge``: the other record is merged into this one."""

    from_customer_id: str = Field(min_length=1, max_length=64)


IDENTIFIERS = ("email", "phone", "loyalty_id")


class IdentifiedCustomer(CustomerRef):
    """Who the customer is, by at least one identifier (no customer id)."""

    json_schema_rules: ClassVar[dict[str, Any]] = {"anyOf": non_null(*IDENTIFIERS)}

    customer_id: None = Field(default=None, exclude=True)

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """At least one identifier."""
        if all(data.get(name) is None for name in IDENTIFIERS):
            # Every field that could answer it is named (API.md: every offending field).
            return [(name, "give an email, phone or loyalty_id") for name in IDENTIFIERS]
        return []


class ClaimOrderRequest(IdentifiedCustomer):
    """``POST /orders/{id}/claim``: the receipt's code and who the customer is."""

    # Eight characters of the receipt alphabet, any case.
    receipt_code: Annotated[
        str,
        StringConstraints(
            strip_whitespace=False, pattern="^[A-HJ-NP-Za-hj-np-z2-9]{8}$", max_length=8
        ),
    ]


class EraseCustomerRequest(Strict):
    """``POST /customers/{id}/erase``; the body is optional."""

    reason: Text | None = Field(default=None, max_length=500)


class IdentifierResponse(DeferredModel):
    """An identifier in normal form."""

    type: str
    value: str


class CustomerOrderResponse(DeferredModel):
    """One order in the 360 view."""

    order_id: str
    channel: str
    status: str
    total: Money
    placed_at: str
    # Brought by identifiers merely attached to the record, or by a merge: staff see it,
    # the customer's own token leaves it out.
    customer_unvouched: bool = False


class InteractionResponse(DeferredModel):
    """One contact with the customer."""

    interaction_id: str | None = None
    type: str
    channel: str
    at: str
    summary: str
    order_id: str | None = None


class TicketSummaryResponse(DeferredModel):
    """A ticket in the 360 view."""

    ticket_id: str
    type: str
    status: str
    order_id: str | None
    subject: str


class ConsentResponse(DeferredModel):
    """Terms and privacy versions accepted with an order."""

    terms_version: str
    privacy_version: str
    accepted_at: str
    channel: str
    order_id: str


class MetricsResponse(DeferredModel):
    """The customer's figures."""

    lifetime_value: Money
    order_count: int
    average_order_value: Money
    return_rate: float
    preferred_channel: str | None
    first_purchase: str | None
    last_purchase: str | None
    rfm_segment: str
    channel_mix: str | None = Field(
        default=None, description="online_only, store_only or both; null before any purchase"
    )
    store_before_online: bool = Field(
        default=False, description="Bought in a store before their first online order"
    )
    # The customer's average survey score (1-5); null before their first answer.
    satisfaction: float | None = None


class CustomerViewResponse(DeferredModel):
    """``GET /customers/{id}``: the customer 360."""

    customer_id: str
    merged_into: str | None
    profile: dict[str, Any]
    identifiers: list[IdentifierResponse]
    orders: list[CustomerOrderResponse]
    orders_next_cursor: str | None
    # Said in the document (probe 184: an agent could not tell the list was cut).
    interactions: list[InteractionResponse] = Field(
        description=f"The newest {RECENT_ITEMS}, newest first; "
        "GET /customers/{customer_id}/export holds every one"
    )
    tickets: list[TicketSummaryResponse] = Field(
        description=f"The newest {RECENT_ITEMS} and every older one not resolved yet, newest first"
    )
    consents: list[ConsentResponse]
    merge_candidates: list[str]
    metrics: MetricsResponse


class CustomerLookupResponse(DeferredModel):
    """``GET /customers?email=…``."""

    customer_id: str
    matched_by: str


class AddedInteractionResponse(InteractionResponse):
    """``POST /customers/{id}/interactions``."""

    customer_id: str


class TicketNoteResponse(DeferredModel):
    """A note on a ticket."""

    at: str
    by: str = Field(description="Who wrote it: role:client for ops keys, the role for others")
    text: str


class TicketResponse(DeferredModel):
    """A ticket with its notes (``customer_id`` is null for an anonymous store order's)."""

    ticket_id: str
    customer_id: str | None
    type: TicketType
    status: TicketStatus
    subject: str
    description: str
    order_id: str | None
    skus: list[str]
    shipment: str | None
    channel: str
    opened_at: str
    resolved_at: str | None
    notes: list[TicketNoteResponse] = Field(
        description="Staff's notes; a storefront reading for the customer gets only the note "
        "written to them as the ticket was resolved"
    )


class MergeResponse(DeferredModel):
    """``POST /customers/{id}/merge``: the merge record."""

    from_customer_id: str
    into_customer_id: str
    at: str
    by_client_id: str
    by_role: str


class EraseResponse(DeferredModel):
    """``POST /customers/{id}/erase``: the erasure record, complete."""

    customer_id: str = Field(description="The record erased: the one the id stands for now")
    at: str = Field(description="When the erasure was first asked for")
    reason: str | None = None
    by_client_id: str
    by_role: str
    status: Literal["completed"] = "completed"
    completed_at: str | None = None
    erased_records: list[str] = Field(
        default_factory=list, description="This record and every record merged into it"
    )
    split_records: list[str] = Field(
        default_factory=list,
        description="Records split off these, not erased: each was founded by someone proving"
        " an identifier only named on this person's record, maybe someone else; merge or"
        " erase them too if they are this person's",
    )
    cancelled_orders: list[str] = Field(
        default_factory=list,
        description="Orders cancelled because nothing of them was handed over yet and a part"
        " needed what was erased (a parcel not yet booked, a pick-up not yet ready)",
    )


class ClaimOrderResponse(DeferredModel):
    """``POST /orders/{id}/claim``."""

    order_id: str
    customer_id: str
    matched_by: str | None
    created: bool


class SegmentResponse(DeferredModel):
    """One RFM segment."""

    segment: str
    customers: int
    value: Money


class TopCustomerResponse(DeferredModel):
    """One of the most valuable customers."""

    customer_id: str
    lifetime_value: Money


class SegmentsResponse(DeferredModel):
    """``GET /analytics/segments``."""

    segments: list[SegmentResponse]
    top_customers: list[TopCustomerResponse]
    as_of: str


class ChannelsResponse(DeferredModel):
    """``GET /analytics/channels``."""

    online_only: int
    store_only: int
    both: int
    store_before_online: int
    as_of: str
