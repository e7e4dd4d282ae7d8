"""The customer's self-service actions from the tracking page, authorised by the signed
tracking token alone (a forged or revoked token is 404, as for the page itself)."""

from typing import Any, Literal

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import Field

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint, once_of
from chalicelib.api.models import OrderResponse, ReturnResponse, customer_view
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import (
    MAX_LINES,
    CancelOrderRequest,
    OneLineText,
    PaymentRequest,
    ReturnAsked,
    ReturnLineRequest,
    Strict,
    WrittenText,
)
from chalicelib.domain.tickets import TicketType
from chalicelib.services import self_service
from chalicelib.services.tracking import order_for_token, tracking_url

track_actions = Blueprint(__name__)


class TrackReturnRequest(Strict):
    """``POST /track/{token}/returns``: a return in store may name the store; without
    one it goes to the store the order came from or was collected at."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    reason: WrittenText = Field(min_length=1, max_length=500)
    channel: Literal["store", "mail"]
    location_id: str | None = Field(default=None, min_length=1, max_length=64)


class TrackTicketRequest(Strict):
    """``POST /track/{token}/tickets``: a question or complaint about this order."""

    subject: OneLineText = Field(min_length=1, max_length=200)
    description: WrittenText = Field(min_length=1, max_length=4000)
    type: TicketType = TicketType.QUESTION


class TrackPaymentRequest(Strict):
    """``POST /track/{token}/payment``: another card after a declined one."""

    payment: PaymentRequest


class TrackTicketResponse(DeferredModel):
    """The ticket the customer opened."""

    ticket_id: str
    status: str
    type: str
    order_id: str | None


def _order_body(order: Order, call: Call) -> dict[str, Any]:
    # What the customer sees of the order: no pick-up codes in a replayable answer, no
    # staff's notes or internal fields.
    seen = OrderResponse.from_order(
        order, tracking_url(order.order_id, call.deps), now=call.deps.clock()
    )
    return customer_view(seen).model_dump(mode="json")


def action_scope(action: str, order: Order) -> str:
    """Where the Idempotency-Keys of one self-service action on one order live, shared by
    the JSON route and the page's form: the same key acts once, whichever way it came."""
    return f"track-{action}-{order.order_id}"


# What each action answers, whichever way it came (JSON route or page form): a key used by
# one replays the same answer on the other.
def requested_return(
    call: Call, order: Order, request: TrackReturnRequest, key: str | None
) -> dict[str, Any]:
    """Open the return (named after ``key`` when there is one); its ``ReturnResponse``."""
    once = once_of(action_scope("returns", order), key, request)
    created = self_service.request_return(
        order, ReturnAsked.model_validate(request.model_dump()), call.deps, once
    )
    return ReturnResponse.opened(created, order.order_id).model_dump(mode="json")


def opened_ticket(
    call: Call, order: Order, request: TrackTicketRequest, key: str | None
) -> dict[str, Any]:
    """Open the ticket (named after ``key`` when there is one); its ``TrackTicketResponse``."""
    once = once_of(action_scope("tickets", order), key, request)
    ticket = self_service.open_ticket(
        order, request.subject, request.description, request.type, once, call.deps
    )
    return TrackTicketResponse(
        ticket_id=ticket.ticket_id,
        status=ticket.status.value,
        type=ticket.type.value,
        order_id=ticket.order_id,
    ).model_dump(mode="json")


def paid_again(call: Call, order: Order, request: TrackPaymentRequest) -> dict[str, Any]:
    """Pay the declined order again; the order as its customer sees it."""
    return _order_body(
        self_service.pay_again(order.order_id, request.payment.token, call.deps), call
    )


@endpoint(
    track_actions,
    "/track/{token}/cancel",
    "POST",
    summary="The customer cancels from the tracking page (409 once anything shipped)",
    request=CancelOrderRequest,
    response=OrderResponse,
    tag="tracking",
    access=Access.SIGNED,
    errors=(409,),
    optional_headers=(IDEMPOTENCY_HEADER,),
    optional_body=True,
)
def cancel(call: Call, token: str) -> dict[str, Any]:
    """Cancelling twice answers the same. Under an Idempotency-Key the same key with
    another reason is 422 (probe 161: it was 200). The key's record keeps the order's id
    alone: the answer is the order as it is now, as without a key, and no copy of the
    customer's order outlives an erasure there."""
    key = call.idempotency_key(required=False)
    request = call.parse(CancelOrderRequest, optional=True)
    order = order_for_token(token, call.deps)

    def cancelled() -> Order:
        return self_service.cancel(order, call.deps, request.reason)

    done = call.act_once(action_scope("cancel", order), key, request, cancelled, cancelled)
    return _order_body(done, call)


@endpoint(
    track_actions,
    "/track/{token}/returns",
    "POST",
    summary="The customer asks to return delivered units, within the return window",
    request=TrackReturnRequest,
    response=ReturnResponse,
    status=201,
    tag="tracking",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409, 429),
)
def request_return(call: Call, token: str) -> dict[str, Any]:
    """Once per Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(TrackReturnRequest)
    order = order_for_token(token, call.deps)
    return call.once(
        action_scope("returns", order),
        key,
        request,
        lambda: requested_return(call, order, request, key),
    )


@endpoint(
    track_actions,
    "/track/{token}/tickets",
    "POST",
    summary="The customer asks a question or complains about the order",
    request=TrackTicketRequest,
    response=TrackTicketResponse,
    status=201,
    tag="tracking",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409, 429),
)
def open_ticket(call: Call, token: str) -> dict[str, Any]:
    """On the customer's record, linked to the order; once per Idempotency-Key when one is
    sent; five per order, then 429 for a day."""
    key = call.idempotency_key(required=False)
    request = call.parse(TrackTicketRequest)
    order = order_for_token(token, call.deps)
    return call.once(
        action_scope("tickets", order),
        key,
        request,
        lambda: opened_ticket(call, order, request, key),
    )


@endpoint(
    track_actions,
    "/track/{token}/payment",
    "POST",
    summary="Pay again within 48 hours of a declined card: the same order goes on (202)",
    request=TrackPaymentRequest,
    response=OrderResponse,
    status=202,
    tag="tracking",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409,),
)
def pay_again(call: Call, token: str) -> dict[str, Any]:
    """Once per Idempotency-Key when one is sent; any order but a recently declined one is
    409."""
    key = call.idempotency_key(required=False)
    request = call.parse(TrackPaymentRequest)
    order = order_for_token(token, call.deps)
    return call.once(
        action_scope("payment", order), key, request, lambda: paid_again(call, order, request)
    )
