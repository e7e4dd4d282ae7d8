"""Orders, returns and pick-ups."""

from typing import Annotated, Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import StringConstraints

from chalicelib.api.http import (
    IDEMPOTENCY_HEADER,
    Access,
    Call,
    endpoint,
    once_of,
    require_order,
)
from chalicelib.api.models import OrderResponse, PlaceOrderResponse, ReturnResponse
from chalicelib.domain.errors import (
    CouponUsedUp,
    InvalidCoupon,
    NotFound,
    QuotePriceTaken,
    SpreadTooThin,
    UnservableLines,
)
from chalicelib.domain.orders import Order
from chalicelib.domain.request_digests import request_digest
from chalicelib.domain.requests import (
    CancelOrderRequest,
    PlaceOrderRequest,
    ReceiveReturnRequest,
    RequestReturnRequest,
    Strict,
)
from chalicelib.domain.settlement import return_refund_status
from chalicelib.domain.status_reasons import CANCELLED_AT_STORE, CANCELLED_BY_SERVICE
from chalicelib.services import ordering, returns
from chalicelib.services.pickups import collect, order_id_of_fulfillment
from chalicelib.services.tracking import tracking_url

orders = Blueprint(__name__)


class CollectRequest(Strict):
    """``POST /fulfillments/{id}/collect``."""

    # The code from the ready-for-pick-up email: ASCII letters and digits.
    pickup_code: Annotated[
        str, StringConstraints(strip_whitespace=False, pattern="^[0-9A-Za-z]{4,12}$")
    ]


def order_body(order: Order, call: Call) -> dict[str, Any]:
    """The order as this caller may see it."""
    principal = call.principal
    shown = principal is None or principal.sees_tracking_link(order)
    return OrderResponse.from_order(
        order,
        tracking_url(order.order_id, call.deps) if shown else None,
        principal.sees_pickup_code_at if principal else lambda _location_id: False,
        call.deps.clock(),
    ).model_dump(mode="json")


# Refusals an Idempotency-Key answers again (API.md: the same key and body return the
# first response and create nothing new): what refused them may change (stock or a
# redemption given back, a coupon's window opening), and the key sent again then placed
# an order (probe 191; a quote's price given back by the order holding it, probe 250).
# Failures worth retrying (a 429, the gateway down) are not kept.
KEPT_REFUSALS = (UnservableLines, CouponUsedUp, InvalidCoupon, QuotePriceTaken)
_REFUSED = "refused"
# The kept refusals of one field, by name, and the field each names by default.
_ONE_FIELD = {kind.__name__: kind for kind in (CouponUsedUp, InvalidCoupon, QuotePriceTaken)}
# Those naming each line they refuse: a shortage, or stock spread over too many places
# (probe 255: the latter, known by no name here, came back as a 422).
_EACH_LINE = {kind.__name__: kind for kind in (UnservableLines, SpreadTooThin)}


def kept_refusal(
    refused: UnservableLines | CouponUsedUp | InvalidCoupon | QuotePriceTaken,
) -> dict[str, Any]:
    """What the key's record keeps of a refusal, to raise it again."""
    return {
        _REFUSED: type(refused).__name__,
        "detail": refused.detail,
        "problems": [list(problem) for problem in refused.field_errors()],
    }


def refuse_again_if_refused(answer: dict[str, Any]) -> None:
    """Raise again the refusal a key's first request got; nothing for an order placed."""
    if _REFUSED not in answer:
        return
    problems = [(str(field), str(message)) for field, message in answer["problems"]]
    if str(answer[_REFUSED]) in _EACH_LINE:
        raise _EACH_LINE[str(answer[_REFUSED])](problems)
    kind = _ONE_FIELD.get(str(answer[_REFUSED]), InvalidCoupon)
    if problems:
        raise kind(str(answer["detail"]), problems[0][0])
    raise kind(str(answer["detail"]))


@endpoint(
    orders,
    "/orders",
    "POST",
    summary="Place an order (asynchronous: 202 ACCEPTED)",
    roles=("storefront", "store", "ops"),
    request=PlaceOrderRequest,
    response=PlaceOrderResponse,
    status=202,
    headers=(IDEMPOTENCY_HEADER,),
    access=Access.NEW,
    errors=(404, 409),
)
def place_order(call: Call) -> dict[str, Any]:
    """Validate, then run once per Idempotency-Key."""
    key = call.idempotency_key()
    assert key is not None
    request = call.parse(PlaceOrderRequest)
    # Rules spanning fields and email addresses are checked with the fields (one 422 names
    # every bad field); the catalogue (404/409) is read only for a request that is valid.
    principal = call.principal
    assert principal is not None
    principal.require_store_sale(request.channel, request.store_id, "place")
    # Idempotency keys and order ids are the client's own: two clients using the same key
    # place two orders, and neither can reach the other's.
    order_id = ordering.order_id_for(principal.client_id, key)

    def place() -> dict[str, Any]:
        try:
            order = ordering.place_order(
                request, order_id, call.deps, principal.client_id, request_digest(request)
            )
        except KEPT_REFUSALS as refused:
            return kept_refusal(refused)
        return PlaceOrderResponse(
            order_id=order.order_id,
            # The first answer's, also when the order is found placed already (a first run
            # that died, or the key's record run out): GET /orders/{id} tells the rest.
            status=order.history[0].status.value if order.history else "ACCEPTED",
            customer_id=order.customer_id,
            total=order.total,
            tracking_url=tracking_url(order.order_id, call.deps),
            execution_arn=order.execution_arn,
            receipt_code=order.receipt_code,
        ).model_dump(mode="json")

    answer = call.once(call.key_scope("orders"), key, request, place)
    refuse_again_if_refused(answer)
    return answer


@endpoint(
    orders,
    "/orders/{order_id}",
    "GET",
    summary="Read an order with fulfillments and history",
    roles=("storefront", "store", "ops"),
    response=OrderResponse,
    access=Access.OWN_ORDER,
)
def get_order(call: Call, order_id: str) -> dict[str, Any]:
    """The order as this caller may see it."""
    return order_body(ordering.get_order(order_id, call.deps), call)


# Who cancels through the staff route, told to the customer (``Order.reason_cause``).
_CANCELLED_BY = {"store": CANCELLED_AT_STORE, "ops": CANCELLED_BY_SERVICE}


@endpoint(
    orders,
    "/orders/{order_id}/cancel",
    "POST",
    summary="Cancel before shipping: stock released, authorisation voided (409 once shipped)",
    roles=("storefront", "store", "ops"),
    request=CancelOrderRequest,
    response=OrderResponse,
    access=Access.OWN_ORDER,
    errors=(409,),
    optional_body=True,
)
def cancel_order(call: Call, order_id: str) -> dict[str, Any]:
    """Cancel on request: a storefront's for its shopper, a store's or customer service's
    told to the customer as theirs."""
    request = call.parse(CancelOrderRequest, optional=True)
    assert call.principal is not None
    if call.principal.location_id is not None:
        call.principal.require_whole_order_at_its_store(require_order(call, order_id))
    detail = _CANCELLED_BY.get(call.principal.role, "cancelled on request")
    return order_body(ordering.cancel_order(order_id, call.deps, request.reason, detail), call)


@endpoint(
    orders,
    "/orders/{order_id}/returns",
    "POST",
    summary="Ask to return delivered units, in store or by mail, within the return window",
    roles=("storefront", "store", "ops"),
    request=RequestReturnRequest,
    response=ReturnResponse,
    status=201,
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.OWN_ORDER,
    errors=(409, 429),
)
def request_return(call: Call, order_id: str) -> dict[str, Any]:
    """Open a return (a store key bound to a store names no other location: 403);
    once per Idempotency-Key when one is sent."""
    key = call.idempotency_key(required=False)
    request = call.parse(RequestReturnRequest)
    assert call.principal is not None
    if request.location_id is not None:
        # A store's, or by mail where to send it: a bound key names only its own (403),
        # as its store reads the order once named (probes; a mail return naming another
        # store let that store's key read a sale it had no part in).
        call.principal.require_location(request.location_id, "location_id")

    scope = call.key_scope("order-returns", order_id)
    once = once_of(scope, key, request)

    def open_return() -> dict[str, Any]:
        created = returns.request_return(order_id, request, call.deps, once=once)
        return ReturnResponse.opened(created, order_id).model_dump(mode="json")

    return call.once(scope, key, request, open_return)


@endpoint(
    orders,
    "/returns/{return_id}/receive",
    "POST",
    summary="Receive returned goods at a location: restock there and refund",
    roles=("store", "ops"),
    request=ReceiveReturnRequest,
    response=ReturnResponse,
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.STAFF,
    errors=(409, 429),
)
def receive_return(call: Call, return_id: str) -> dict[str, Any]:
    """Goods are back (a store key bound to a store receives only there: 403, and only
    returns of orders it may read or returns to be taken to a store: 404 otherwise). It
    creates a refund: under an Idempotency-Key a till sending it again gets the first
    answer (a probe got 409 "already received"); without one, a second receipt is 409."""
    key = call.idempotency_key(required=False)
    request = call.parse(ReceiveReturnRequest)
    principal = call.principal
    assert principal is not None
    principal.require_location(request.location_id, "location_id")

    def receive() -> dict[str, Any]:
        order = returns.receive_return(return_id, request.location_id, call.deps, principal.sees)
        received = next(r for r in order.returns if r.return_id == return_id)
        return ReturnResponse(
            return_id=return_id,
            order_id=order.order_id,
            status=received.status.value,
            refund=received.refund,
            refund_status=return_refund_status(order, return_id),
            order_status=order.status.value,
        ).model_dump(mode="json")

    return call.once(call.key_scope("return-receive", return_id), key, request, receive)


@endpoint(
    orders,
    "/fulfillments/{fulfillment_id}/collect",
    "POST",
    summary="Store staff confirm a pick-up with the customer's code",
    roles=("store", "ops"),
    request=CollectRequest,
    response=OrderResponse,
    access=Access.STAFF,
    errors=(409, 429),
    optional_headers=(IDEMPOTENCY_HEADER,),
)
def collect_fulfillment(call: Call, fulfillment_id: str) -> dict[str, Any]:
    """The customer collected their pick-up (a store key bound to a store confirms only
    its own pick-ups: 403, and knows none of an order it may not read: 404); five wrong
    codes lock the pick-up (429). Under an Idempotency-Key the till's retry is answered as
    the first request was, with the order as it is now, where a retry without one is 409:
    the goods are gone."""
    key = call.idempotency_key(required=False)
    request = call.parse(CollectRequest)
    principal = call.principal
    assert principal is not None

    def collected_before() -> Order:
        # A retry answered under the key is held to the binding the first run checked:
        # a probe read another store's order, tracking link included, by replaying its
        # till's key through a key of the same client bound elsewhere.
        order = ordering.get_order(order_id_of_fulfillment(fulfillment_id), call.deps)
        if not principal.sees(order):
            raise NotFound(f"no fulfillment {fulfillment_id}", field="fulfillment_id")
        principal.require_location(order.fulfillment(fulfillment_id).location_id, "fulfillment_id")
        return order

    order = call.act_once(
        call.key_scope("collect", fulfillment_id),
        key,
        request,
        lambda: collect(
            fulfillment_id, request.pickup_code, call.deps, principal.location_id, principal.sees
        ),
        collected_before,
    )
    return order_body(order, call)
