"""The customer's self-service actions from the tracking page, authorised by the signed
tracking token alone (a forged or revoked token is 404, as for the page itself)."""

from typing import Any, Literal

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import Field

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint
from chalicelib.api.models import OrderResponse, ReturnResponse
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import (
    MAX_LINES,
    CancelOrderRequest,
    PaymentRequest,
    RequestReturnRequest,
    ReturnLineRequest,
    Strict,
)
from chalicelib.domain.tickets import TicketType
from chalicelib.services import self_service
from chalicelib.services.tracking import order_for_token, tracking_url

track_actions = Blueprint(__name__)


class TrackReturnRequest(Strict):
    """``POST /track/{token}/returns``: a return in store may name the store; without
    one it goes to the store the order came from or was collected at."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    reason: str = Field(min_length=1, max_length=500)
    channel: Literal["store", "mail"]
    location_id: str | None = Field(default=None, min_length=1, max_length=64)


class TrackTicketRequest(Strict):
    """``POST /track/{token}/tickets``: a question or complaint about this order."""

    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
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
    # What a storefront sees of the order: no pick-up codes in a replayable answer.
    return OrderResponse.from_order(
        order, tracking_url(order.order_id, call.deps), False, call.deps.clock()
    ).model_dump(mode="json")


def _key(call: Call) -> str:
    key = call.idempotency_key()
    assert key is not None  # required: 422 naming the header otherwise
    return key


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
    """Cancelling twice answers the same; the key is checked when given."""
    call.idempotency_key(required=False)
    request = call.parse(CancelOrderRequest, optional=True)
    order = order_for_token(token, call.deps)
    return _order_body(self_service.cancel(order, call.deps, request.reason), call)


@endpoint(
    track_actions,
    "/track/{token}/returns",
    "POST",
    summary="The customer asks to return delivered units, within the return window",
    request=TrackReturnRequest,
    response=ReturnResponse,
    status=201,
    tag="tracking",
    headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409,),
)
def request_return(call: Call, token: str) -> dict[str, Any]:
    """Once per Idempotency-Key."""
    key = _key(call)
    request = call.parse(TrackReturnRequest)
    order = order_for_token(token, call.deps)

    def open_return() -> dict[str, Any]:
        created = self_service.request_return(
            order, RequestReturnRequest.model_validate(request.model_dump()), call.deps
        )
        return ReturnResponse(
            return_id=created.return_id, order_id=order.order_id, status=created.status.value
        ).model_dump(mode="json")

    return call.deps.idempotency.run(
        f"track-returns-{order.order_id}", key, request.model_dump(mode="json"), open_return
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
    headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409,),
)
def open_ticket(call: Call, token: str) -> dict[str, Any]:
    """On the customer's record, linked to the order; the same key finds the same ticket."""
    key = _key(call)
    request = call.parse(TrackTicketRequest)
    order = order_for_token(token, call.deps)
    ticket = self_service.open_ticket(
        order, request.subject, request.description, request.type, key, call.deps
    )
    return TrackTicketResponse(
        ticket_id=ticket.ticket_id,
        status=ticket.status.value,
        type=ticket.type.value,
        order_id=ticket.order_id,
    ).model_dump(mode="json")


@endpoint(
    track_actions,
    "/track/{token}/payment",
    "POST",
    summary="Pay again within 48 hours of a declined card: the same order goes on (202)",
    request=TrackPaymentRequest,
    response=OrderResponse,
    status=202,
    tag="tracking",
    headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409,),
)
def pay_again(call: Call, token: str) -> dict[str, Any]:
    """Once per Idempotency-Key; any order but a recently declined one is 409."""
    key = _key(call)
    request = call.parse(TrackPaymentRequest)
    order = order_for_token(token, call.deps)

    def reopen() -> dict[str, Any]:
        paid = self_service.pay_again(order.order_id, request.payment.token, call.deps)
        return _order_body(paid, call)

    return call.deps.idempotency.run(
        f"track-payment-{order.order_id}", key, request.model_dump(mode="json"), reopen
    )
