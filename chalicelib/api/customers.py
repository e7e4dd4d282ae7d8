"""Customers: identify, look up, the 360 view, interactions, merge, export and erasure.

A storefront key reads a customer's data only with that customer's signed token in
``X-Customer-Token``, handed out only to a customer who proved an identifier with a
one-time code (``POST /customers/verifications``); everything else about customers is for
store staff and ops."""

from collections.abc import Callable
from typing import Any, ClassVar

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.customer_models import (
    IDENTIFIERS,
    AddedInteractionResponse,
    AddInteractionRequest,
    CustomerLookupResponse,
    CustomerViewResponse,
    EraseCustomerRequest,
    EraseResponse,
    IdentifiedCustomer,
    MergeCustomersRequest,
    MergeResponse,
    OpenTicketRequest,
    TicketResponse,
)
from chalicelib.api.export_models import ExportResponse
from chalicelib.api.http import (
    IDEMPOTENCY_HEADER,
    Access,
    Call,
    Words,
    endpoint,
    once_of,
    require_order,
)
from chalicelib.api.models import CustomerResolutionResponse
from chalicelib.domain.customers import identifiers_of
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.email_policy import NotificationPreference
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.placement import Problems
from chalicelib.domain.requests import (
    Email,
    LoyaltyId,
    Phone,
    RuleChecked,
    Strict,
    non_null,
    one_of_problems,
)
from chalicelib.services import (
    customer_export,
    customer_records,
    customer_view,
    tickets,
    verification,
)
from chalicelib.services.customers import (
    Resolution,
    canonical_customer,
    customer_id_for,
    lookup_customer,
    refuse_if_erased,
    resolve_customer,
    token_grants,
    token_holder,
)
from chalicelib.services.preferences import set_locale, set_notifications

customers = Blueprint(__name__)

CUSTOMER_TOKEN_HEADER = "X-Customer-Token"
MAX_PAGE = 100


class CustomerLookupQuery(RuleChecked):
    """``GET /customers``: exactly one identifier (other parameters are ignored, as on every
    route)."""

    # Exactly one is ``oneOf`` a required identifier, not ``maxProperties: 1`` with no
    # extras: a fuzzer negates "no extras" into an identifier plus an extra valued ``[]``,
    # which is never sent, so the request that arrives is valid and is answered (the
    # outside checks' schemathesis saw ``?email=0%400.com`` answered 200 as "accepted
    # although broken").
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": [name]} for name in IDENTIFIERS]}
    )

    email: Email | None = Field(default=None, description="An email address, any case")
    phone: Phone | None = Field(
        default=None, description="E.164, or a Spanish national number without +34"
    )
    loyalty_id: LoyaltyId | None = Field(default=None, description="A loyalty card number")

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """Exactly one identifier."""
        return one_of_problems(data, IDENTIFIERS, "give exactly one of email, phone, loyalty_id")


class CustomerViewQuery(DeferredModel):
    """``GET /customers/{customer_id}``: one page of orders, newest first."""

    limit: int = Field(
        default=customer_view.ORDERS_PAGE, ge=1, le=MAX_PAGE, description="Orders on the page"
    )
    cursor: str | None = Field(
        default=None, description="``orders_next_cursor`` of the page before"
    )


class IdentifyCustomerRequest(IdentifiedCustomer):
    """``POST /customers``: identifiers to resolve (at least one); a new customer is created
    if none match. ``notifications`` sets the profile's email preference. ``locale`` is the
    language a new record is written to in; a known record's changes when staff send it,
    or a storefront with that customer's X-Customer-Token."""

    notifications: NotificationPreference | None = Field(
        default=None,
        description='"essential" (the default): what matters only; "all": every status too',
    )


def require_customer_access(call: Call, customer_id: str | None) -> bool:
    """Storefronts act for one customer at a time, proven by that customer's token (no
    token proves a record without a customer, such as an anonymous order's ticket). True
    when the token is what grants access: the caller then sees what the token opens."""
    assert call.principal is not None
    if call.principal.role != "storefront":
        return False
    holder, _ = require_token_holder(call)
    if customer_id is None or holder != customer_id:
        raise _needs_the_customers_token()
    return True


def require_token_holder(call: Call) -> tuple[str, dict[str, Any]]:
    """The customer a storefront's X-Customer-Token proves, with their profile, checked
    before anything is read (a refusal after a read would tell whether what was asked for
    exists)."""
    proven = token_holder(call.header(CUSTOMER_TOKEN_HEADER), call.deps)
    if proven is None:
        raise _needs_the_customers_token()
    return proven


def _needs_the_customers_token() -> Forbidden:
    return Forbidden(
        "a storefront reads a customer only with that customer's token",
        field=CUSTOMER_TOKEN_HEADER,
    )


def _by(call: Call) -> tuple[str, str]:
    assert call.principal is not None
    return call.principal.client_id, call.principal.role


@endpoint(
    customers,
    "/customers",
    "POST",
    summary="Resolve identifiers to one customer, creating it when none match",
    roles=("storefront", "store", "ops"),
    request=IdentifyCustomerRequest,
    response=CustomerResolutionResponse,
    tag="customers",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.NEW,
    errors=(409,),
)
def identify_customer(call: Call) -> dict[str, Any]:
    """Find or create; once per Idempotency-Key when one is sent (the replay answers the
    first response, ``created`` included)."""
    key = call.idempotency_key(required=False)
    request = call.parse(IdentifyCustomerRequest)

    scope = call.key_scope("customers")
    once = once_of(scope, key, request)

    def resolve() -> dict[str, Any]:
        founded_here = customer_id_for(once) if once is not None else None
        _may_set_preference(call, request, founded_here=founded_here)
        resolution = resolve_customer(request, call.deps, once=once)
        if request.notifications is not None:
            if not resolution.created:
                # Founded by someone else between the check and here (a re-probe's race):
                # the record found is the one the token must prove.
                _may_set_preference(call, request, resolution.customer_id)
            set_notifications(resolution.customer_id, request.notifications, call.deps)
        if _changes_the_language(call, request, resolution):
            set_locale(resolution.customer_id, request.locale, call.deps)
        response = CustomerResolutionResponse(
            customer_id=resolution.customer_id,
            matched_by=resolution.matched_by,
            created=resolution.created,
        )
        return response.model_dump(mode="json", exclude_unset=True)

    def replayable(first: dict[str, Any]) -> None:
        # The record it resolved to was erased since: it stands for nobody any more.
        refuse_if_erased(first["customer_id"], call.deps, field=IDEMPOTENCY_HEADER)

    return call.once(scope, key, request, resolve, replayable)


def _changes_the_language(
    call: Call, request: IdentifyCustomerRequest, resolution: Resolution
) -> bool:
    """Whether a ``locale`` sent for a known record becomes its language: staff record what
    the customer asked for (probe 184: a contact-centre agent's "write to me in English"
    was answered 200 and dropped); a storefront only with that customer's token, as for
    the email preference. A storefront without it resolves the record and changes nothing
    (the same body sent again for a known shopper is not refused)."""
    assert call.principal is not None
    if resolution.created or "locale" not in request.model_fields_set:
        return False
    if call.principal.role != "storefront":
        return True
    return token_grants(call.header(CUSTOMER_TOKEN_HEADER), resolution.customer_id, call.deps)


def _may_set_preference(
    call: Call,
    request: IdentifyCustomerRequest,
    found: str | None = None,
    founded_here: str | None = None,
) -> None:
    """A storefront sets the email preference of a record it founds, or of the one its
    customer's token proves; a known customer's otherwise only staff (a probe: another
    storefront client, knowing only an email, switched its owner to every status email).
    Checked before anything is written, on the record its first known identifier names,
    and again on the record ``found`` when it was founded meanwhile by someone else. The
    record this request's first run founded (``founded_here``: the run again of a keyed
    request that died before its answer was stored) is the storefront's to set."""
    assert call.principal is not None
    if request.notifications is None or call.principal.role != "storefront":
        return
    owner = found
    if owner is None:
        for identifier in identifiers_of(request.email, request.phone, request.loyalty_id):
            claim = call.deps.customers.identifier_claim(identifier)
            if claim is not None:
                owner = canonical_customer(claim.customer_id, call.deps)[0]
                break
    if owner is None or owner == founded_here:
        return
    if not token_grants(call.header(CUSTOMER_TOKEN_HEADER), owner, call.deps):
        raise Forbidden(
            "a storefront changes a known customer's notifications only with that customer's token",
            field=CUSTOMER_TOKEN_HEADER,
        )


@endpoint(
    customers,
    "/customers",
    "GET",
    summary="Look a customer up by one identifier: ?email=, ?phone= or ?loyalty_id=",
    roles=("storefront", "store", "ops"),
    response=CustomerLookupResponse,
    query=CustomerLookupQuery,
    tag="customers",
    access=Access.NEW,
    errors=(404,),
)
def find_customer(call: Call) -> dict[str, Any]:
    """Who an identifier belongs to (a merged record answers with its survivor)."""
    query = call.query(CustomerLookupQuery)
    found = lookup_customer(query.email, query.phone, query.loyalty_id, call.deps)
    return CustomerLookupResponse(
        customer_id=found.customer_id, matched_by=found.matched_by or ""
    ).model_dump(mode="json")


@endpoint(
    customers,
    "/customers/{customer_id}",
    "GET",
    summary=(
        "The customer 360 (orders newest first: ?limit=&cursor=); storefront keys need the "
        "customer's X-Customer-Token"
    ),
    roles=("storefront", "store", "ops"),
    response=CustomerViewResponse,
    query=CustomerViewQuery,
    tag="customers",
    access=Access.CUSTOMER,
    optional_headers=(CUSTOMER_TOKEN_HEADER,),
)
def get_customer(call: Call, customer_id: str) -> dict[str, Any]:
    """Profile, identifiers, orders, interactions, tickets, consents and figures."""
    by_token = require_customer_access(call, customer_id)
    query = call.query(CustomerViewQuery)
    view = customer_view.customer_view(
        customer_id,
        call.deps,
        cursor=query.cursor,
        limit=query.limit,
        by_token=by_token,
        opens=_orders_a_bound_store_opens(call),
    )
    return CustomerViewResponse.model_validate(view).model_dump(mode="json")


def _orders_a_bound_store_opens(call: Call) -> Callable[[str], bool] | None:
    """A key bound to a store reads in the 360 only what it reads elsewhere: the orders it
    may open, and what is about those or about no order (a probe read a Valencia ticket's
    subject here with the Madrid key, which the ticket's own route answered 404). None
    for every other caller, who may open every order the record lists."""
    principal = call.principal
    assert principal is not None
    if principal.role != "store" or principal.location_id is None:
        return None
    seen: dict[str, bool] = {}

    def opens(order_id: str) -> bool:
        if order_id not in seen:
            try:
                seen[order_id] = bool(require_order(call, order_id))
            except NotFound:
                seen[order_id] = False
        return seen[order_id]

    return opens


@endpoint(
    customers,
    "/customers/{customer_id}/interactions",
    "POST",
    summary="Record a call, chat or store visit with the customer",
    roles=("store", "ops"),
    request=AddInteractionRequest,
    response=AddedInteractionResponse,
    status=201,
    tag="customers",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.STAFF,
    errors=(409,),
)
def add_interaction(call: Call, customer_id: str) -> dict[str, Any]:
    """Staff talked to the customer; recorded once per Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(AddInteractionRequest)

    def record() -> dict[str, Any]:
        interaction = customer_view.add_interaction(
            customer_id,
            request.type,
            request.channel,
            request.summary,
            _by(call)[0],
            call.deps,
            once=once_of(call.key_scope("interactions", customer_id), key, request),
        )
        return AddedInteractionResponse.model_validate(interaction).model_dump(mode="json")

    summary = Words(
        ("summary",),
        lambda kept: {
            "summary": customer_view.recorded_summary(
                str(kept["customer_id"]), str(kept["interaction_id"]), call.deps
            )
        },
    )
    return _once_about(call, "interactions", customer_id, key, request, record, summary)


@endpoint(
    customers,
    "/customers/{customer_id}/tickets",
    "POST",
    summary="Open a ticket (complaint, return, question, late delivery); the customer is emailed",
    roles=("store", "ops"),
    request=OpenTicketRequest,
    response=TicketResponse,
    status=201,
    tag="customers",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.STAFF,
    errors=(409,),
)
def open_ticket(call: Call, customer_id: str) -> dict[str, Any]:
    """A customer-service case, optionally about one of the customer's orders; once per
    Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(OpenTicketRequest)
    if request.order_id is not None:
        # A store key bound to a store gets for an order it may not read what an unknown
        # id gets: a ticket must not be a way to probe order ids.
        require_order(call, request.order_id)

    scope = call.key_scope("customer-tickets", customer_id)
    once = once_of(scope, key, request)

    def opened() -> dict[str, Any]:
        ticket = tickets.open_ticket(
            customer_id,
            request.type,
            request.subject,
            request.description,
            request.order_id,
            request.channel,
            call.deps,
            shipment=request.shipment,
            skus=request.skus,
            ticket_id=tickets.ticket_id_for(once) if once is not None else None,
        )
        as_json = ticket.model_dump(mode="json")
        return TicketResponse.model_validate(as_json).model_dump(mode="json")

    def ticket_words(kept: dict[str, Any]) -> dict[str, Any]:
        ticket = tickets.get_ticket(str(kept["ticket_id"]), call.deps)
        return {
            "subject": ticket.subject,
            "description": ticket.description,
            "shipment": ticket.shipment,
        }

    words = Words(("subject", "description", "shipment"), ticket_words)
    return _once_about(call, "customer-tickets", customer_id, key, request, opened, words)


def _once_about(
    call: Call,
    route: str,
    customer_id: str,
    key: str | None,
    request: BaseModel,
    compute: Callable[[], dict[str, Any]],
    words: Words,
) -> dict[str, Any]:
    """What staff write about a customer, once per Idempotency-Key; a replay once the
    customer is erased gets the 409 the request would get now, not their words again.
    The key's record keeps the answer without ``words``."""
    return call.once(
        call.key_scope(route, customer_id),
        key,
        request,
        compute,
        lambda _first: refuse_if_erased(customer_id, call.deps),
        words,
    )


@endpoint(
    customers,
    "/customers/{customer_id}/merge",
    "POST",
    summary="Merge another record of the same person into this one (recorded with who and when)",
    roles=("ops",),
    request=MergeCustomersRequest,
    response=MergeResponse,
    tag="customers",
    errors=(409,),
)
def merge_customers(call: Call, customer_id: str) -> dict[str, Any]:
    """Two records, one person."""
    request = call.parse(MergeCustomersRequest)
    client_id, role = _by(call)
    record = customer_records.merge_customers(
        customer_id, request.from_customer_id, client_id, role, call.deps
    )
    return MergeResponse.model_validate(record).model_dump(mode="json")


@endpoint(
    customers,
    "/customers/{customer_id}/export",
    "GET",
    summary="Everything held about the customer, as JSON; storefront keys need X-Customer-Token",
    roles=("storefront", "ops"),
    response=ExportResponse,
    tag="customers",
    access=Access.CUSTOMER,
    optional_headers=(CUSTOMER_TOKEN_HEADER,),
)
def export_customer(call: Call, customer_id: str) -> dict[str, Any]:
    """The right of access."""
    by_token = require_customer_access(call, customer_id)
    return ExportResponse.model_validate(
        customer_export.export_customer(customer_id, call.deps, by_token=by_token)
    ).model_dump(mode="json")


@endpoint(
    customers,
    "/customers/{customer_id}/erase",
    "POST",
    summary="Erase personal data (name, identifiers, addresses); orders and amounts stay",
    roles=("ops",),
    request=EraseCustomerRequest,
    response=EraseResponse,
    tag="customers",
    errors=(409,),
    optional_body=True,
)
def erase_customer(call: Call, customer_id: str) -> dict[str, Any]:
    """The right to erasure."""
    request = call.parse(EraseCustomerRequest, optional=True)
    client_id, role = _by(call)
    record = customer_records.erase_customer(
        customer_id, client_id, role, call.deps, request.reason
    )
    return EraseResponse.model_validate(record).model_dump(mode="json")


class VerificationRequest(Strict):
    """``POST /customers/verifications``: the email or the phone to send a code to."""

    json_schema_rules: ClassVar[dict[str, Any]] = {"oneOf": non_null("email", "phone")}

    email: Email | None = None
    phone: Phone | None = None

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """Exactly one of email or phone."""
        return one_of_problems(data, ("email", "phone"), "give exactly one of email or phone")


class ConfirmVerificationRequest(VerificationRequest):
    """``POST /customers/verifications/confirm``: the address and the code it received."""

    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code sent")


class VerificationSentResponse(DeferredModel):
    """Always the same answer, whether or not anyone is known by the address."""

    status: str = "sent"


class CustomerTokenResponse(DeferredModel):
    """The verified customer and a token that proves them, until ``expires_at``."""

    customer_id: str
    customer_token: str
    expires_at: str


@endpoint(
    customers,
    "/customers/verifications",
    "POST",
    summary="Send a one-time code to an email or phone (same answer whether it is known)",
    roles=("storefront", "store", "ops"),
    request=VerificationRequest,
    response=VerificationSentResponse,
    status=202,
    tag="customers",
    access=Access.NEW,
    errors=(429,),
)
def start_verification(call: Call) -> dict[str, Any]:
    """A 6-digit code, valid 10 minutes, goes to the address (5 per 15 minutes from each
    client). Sending a code creates nothing, so it takes no Idempotency-Key: each request
    sends a fresh code, and the last one sent is the one that proves."""
    request = call.parse(VerificationRequest)
    assert call.principal is not None
    verification.send_code(request.email, request.phone, call.deps, sender=call.principal.client_id)
    return VerificationSentResponse().model_dump(mode="json")


@endpoint(
    customers,
    "/customers/verifications/confirm",
    "POST",
    summary="Prove an email or phone with its code: the customer (created if new) and a token",
    roles=("storefront", "store", "ops"),
    request=ConfirmVerificationRequest,
    response=CustomerTokenResponse,
    tag="customers",
    access=Access.CODE,
    errors=(409, 429),
)
def confirm_verification(call: Call) -> dict[str, Any]:
    """Wrong or expired code: 422 on ``code``; five wrong ones lock the address (429)."""
    request = call.parse(ConfirmVerificationRequest)
    verified = verification.confirm_code(request.email, request.phone, request.code, call.deps)
    return CustomerTokenResponse(
        customer_id=verified.resolution.customer_id,
        customer_token=verified.token.token,
        expires_at=verified.token.expires_at.isoformat(),
    ).model_dump(mode="json")
