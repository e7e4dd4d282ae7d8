"""Wire models of the customer export (``GET /customers/{id}/export``): every field named,
so that nothing internal or about someone else leaves."""

from pydantic import Field

from chalicelib.api.customer_models import (
    ConsentResponse,
    IdentifierResponse,
    InteractionResponse,
    MetricsResponse,
)
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.money import Money


class ExportContact(DeferredModel):
    """How the customer asked to be reached about an order."""

    email: str | None
    phone: str | None
    name: str | None
    locale: str


class ExportAddress(DeferredModel):
    """Where an order's shipped lines went."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class ExportOrderLine(DeferredModel):
    """A line of an order."""

    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    fulfillment: str
    location_id: str | None


class ExportItemLine(DeferredModel):
    """Units of a SKU in a fulfillment or a return."""

    sku: str
    quantity: int


class ExportPayment(DeferredModel):
    """What was paid and given back (no payment token, no gateway reference)."""

    status: str
    captured: Money | None
    refunded: Money | None


class ExportConsent(DeferredModel):
    """The terms accepted with an order."""

    terms_version: str
    privacy_version: str
    accepted_at: str
    channel: str


class ExportShipment(DeferredModel):
    """A parcel: carrier, tracking number and dates."""

    carrier: str
    service_level: str
    tracking_number: str
    tracking_url: str
    promised_by: str
    shipped_at: str
    delivered_at: str | None


class ExportFulfillment(DeferredModel):
    """A fulfillment, without the workflow's task token or the pick-up code."""

    fulfillment_id: str
    type: str
    location_id: str
    status: str
    status_reason: str | None
    lines: list[ExportItemLine]
    pickup_deadline: str | None
    shipment: ExportShipment | None


class ExportReturn(DeferredModel):
    """A return the customer asked for."""

    return_id: str
    status: str
    lines: list[ExportItemLine]
    reason: str
    channel: str
    location_id: str | None
    requested_location_id: str | None
    requested_at: str
    received_at: str | None
    refund: Money | None


class ExportHistoryEntry(DeferredModel):
    """A status the order went through, or a part's own entry (``fulfillment_id``)."""

    status: str
    at: str
    detail: str
    note: str | None = None
    fulfillment_id: str | None = None


class ExportTax(DeferredModel):
    """A tax the order holds; ``included`` when the prices already hold it."""

    name: str
    rate: str
    amount: Money
    included: bool


class ExportPromotion(DeferredModel):
    """A promotion the order got, and what it took off."""

    promotion_id: str
    name: str
    amount: Money


class ExportAttribution(DeferredModel):
    """Where the order came from, as the storefront tagged it."""

    campaign: str | None
    source: str | None
    medium: str | None


class ExportOrder(DeferredModel):
    """An order as its customer may see it."""

    order_id: str
    status: str
    status_reason: str | None
    channel: str
    store_id: str | None
    placed_at: str
    contact: ExportContact
    shipping_address: ExportAddress | None
    lines: list[ExportOrderLine]
    total: Money
    # How it was priced (absent for an order placed before the breakdown was kept).
    subtotal: Money | None = None
    discount: Money | None = None
    shipping: Money | None = None
    taxes: list[ExportTax] = Field(default_factory=list)
    coupon: str | None = None
    promotions: list[ExportPromotion] = Field(default_factory=list)
    attribution: ExportAttribution | None = None
    payment: ExportPayment
    consent: ExportConsent | None
    fulfillments: list[ExportFulfillment]
    returns: list[ExportReturn]
    history: list[ExportHistoryEntry]


class ExportTicketNote(DeferredModel):
    """A note on a ticket: when and what."""

    at: str
    text: str


class ExportTicket(DeferredModel):
    """A ticket about the customer."""

    ticket_id: str
    type: str
    status: str
    subject: str
    description: str
    order_id: str | None
    skus: list[str]
    channel: str
    opened_at: str
    resolved_at: str | None
    notes: list[ExportTicketNote]


class ExportProfile(DeferredModel):
    """The profile."""

    name: str | None = None
    locale: str | None = None
    notifications: str | None = None
    state: str | None = None
    erased_at: str | None = None


class ExportMerge(DeferredModel):
    """A record merged into this one."""

    from_customer_id: str
    into_customer_id: str
    at: str
    by_role: str | None = None


class ExportMergedRecord(DeferredModel):
    """What a record merged into this one still holds."""

    customer_id: str
    name: str | None
    merged_into: str | None
    merged_at: str | None


class ExportErasure(DeferredModel):
    """The erasure, if one was made."""

    at: str
    by_role: str | None = None
    reason: str | None = None
    status: str | None = None
    completed_at: str | None = None


class ExportSurveyAnswer(DeferredModel):
    """The customer's answer to an order's satisfaction survey."""

    order_id: str
    score: int
    comment: str | None
    answered_at: str


class ExportSubscription(DeferredModel):
    """A back-in-stock subscription: what was wished, to which address, and its state."""

    subscription_id: str
    sku: str
    email: str
    status: str
    source: str
    order_id: str | None
    quantity: int
    created_at: str
    notified_at: str | None


class ExportOpportunity(DeferredModel):
    """A sale followed up with the customer (a back-in-stock wish, a payment to retry)."""

    opportunity_id: str
    kind: str
    sku: str | None
    order_id: str | None
    status: str
    value: Money
    created_at: str
    updated_at: str


class ExportCampaign(DeferredModel):
    """How a campaign counted the customer, from the first of their orders in it."""

    campaign: str
    counted_as: str = Field(description="new or returning")
    order_placed_at: str


class ExportResponse(DeferredModel):
    """``GET /customers/{id}/export``: everything held about the customer, field by field
    (the models name every field that may leave; nothing else does)."""

    customer_id: str
    exported_at: str
    profile: ExportProfile
    identifiers: list[IdentifierResponse]
    orders: list[ExportOrder]
    interactions: list[InteractionResponse]
    tickets: list[ExportTicket]
    consents: list[ConsentResponse]
    merges: list[ExportMerge]
    merged_records: list[ExportMergedRecord]
    erasure: list[ExportErasure]
    survey_answers: list[ExportSurveyAnswer]
    subscriptions: list[ExportSubscription]
    opportunities: list[ExportOpportunity]
    campaigns: list[ExportCampaign]
    metrics: MetricsResponse
