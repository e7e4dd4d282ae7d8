"""Placing, reading and cancelling orders."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.catalog import Location, LocationType, Product
from chalicelib.domain.customer_actions import (
    PAYMENT_RETRY_WINDOW,
    can_pay_again,
    facts_of,
    payment_tries_used,
)
from chalicelib.domain.erasure import ERASED
from chalicelib.domain.errors import (
    Conflict,
    ConflictingFields,
    CouponUsedUp,
    IdempotencyKeyReused,
    InvalidFields,
    NotFound,
    OrderCancelled,
    PromotionUsedUp,
    QuotePriceTaken,
    UnknownReferences,
    UnservableLines,
)
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import (
    Channel,
    Consent,
    CustomerContact,
    OrderLine,
    ShippingAddress,
)
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.ports import StockChange
from chalicelib.services import promotions, settlement
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.alert_once import resolve_gateway_alerts
from chalicelib.services.availability import refuse_unservable
from chalicelib.services.customers import (
    SeenClaims,
    contact_fields_owned_elsewhere,
    record_locale,
    resolve_customer,
    told_by_id,
)
from chalicelib.services.opportunities import subscribe_shortage
from chalicelib.services.order_pricing import price_order
from chalicelib.services.order_writes import Change, announce_again, mutate, publish

if TYPE_CHECKING:
    from chalicelib.composition import Deps

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
ERASURE_CANCEL_DETAIL = "cancelled: the customer's personal data was erased"
# A cancelled order's handling Wait with at most this many seconds left runs out by itself
# (its execution then ends SUCCEEDED); a longer one is stopped (``_stop_handling``).
HANDLING_LEFT_TO_RUN_OUT = 10


def new_receipt_code() -> str:
    """Eight characters printed on an anonymous store receipt."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))


def order_id_for(client_id: str, idempotency_key: str) -> str:
    """Orders are named after the client and its idempotency key, so a retried request can
    only ever find the order it created (and its execution, named after the order), and
    two clients using the same key never meet."""
    text = f"{client_id}\n{idempotency_key}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(text).hexdigest()
    return f"ord_{digest[:20]}"


def workflow_input(order_id: str, deps: Deps) -> dict[str, object]:
    """The execution's input: the order id and every wait, already scaled."""
    config = deps.settings
    return {
        "order_id": order_id,
        "waits": {
            "handling_seconds": config.waits.handling_seconds,
            "return_window_seconds": config.waits.return_window_seconds,
        },
    }


def _rule_problems(request: PlaceOrderRequest) -> list[tuple[str, str]]:
    try:
        request.check()
    except InvalidFields as exc:
        return exc.problems
    return []


def catalogue_lines(
    request: PlaceOrderRequest | QuoteRequest,
    products: dict[str, Product],
    locations: dict[str, Location],
    known_problems: list[tuple[str, str]],
) -> list[OrderLine]:
    """Lines at catalogue prices (the same SKU asked for twice at the same place is one
    line with both quantities). Raises ``InvalidFields`` (422) for ``known_problems``,
    ``UnknownReferences`` (404) naming every SKU, store and location that does not exist,
    and ``ConflictingFields`` (409) for a store that is a warehouse or a pick-up line at a
    location that does no pick-up. A ship line's location must exist (a probe: an unknown
    one was placed), but where it ships from is sourcing's to choose."""
    if known_problems:
        raise InvalidFields(known_problems)
    unknown: list[tuple[str, str]] = []
    unsuitable: list[tuple[str, str]] = []
    if request.store_id:
        if request.store_id not in locations:
            unknown.append(("store_id", f"no store {request.store_id}"))
        elif locations[request.store_id].type is not LocationType.STORE:
            unsuitable.append(("store_id", f"{request.store_id} is not a store"))
    quantities: dict[tuple[str, str | None], int] = {}
    for index, line in enumerate(request.lines):
        # Every offending field of a line is named, its SKU and its location both (a probe
        # got only the SKU named).
        refused = line.sku not in products
        if refused:
            unknown.append((f"lines.{index}.sku", f"unknown SKU {line.sku}"))
        if line.location_id is not None:
            location = locations.get(line.location_id)
            if location is None:
                unknown.append((f"lines.{index}.location_id", f"no location {line.location_id}"))
                continue
            # A ship line may name any location (a kiosk's storefront may well name its own
            # store, which ships nothing): sourcing chooses where it ships from.
            if line.fulfillment is FulfillmentType.PICKUP and not location.pickup:
                problem = f"{location.location_id} does not do pick-up"
                unsuitable.append((f"lines.{index}.location_id", problem))
                continue
        if refused:
            continue
        location_id = line.location_id if line.fulfillment is FulfillmentType.PICKUP else None
        key = (line.sku, location_id)
        quantities[key] = quantities.get(key, 0) + line.quantity
    if unknown:
        raise UnknownReferences(unknown)
    if unsuitable:
        raise ConflictingFields(unsuitable)
    return [
        OrderLine(
            sku=sku,
            name=products[sku].name,
            quantity=quantity,
            unit_price=products[sku].price,
            line_total=products[sku].price.times(quantity),
            fulfillment=FulfillmentType.PICKUP if location_id else FulfillmentType.SHIP,
            location_id=location_id,
        )
        for (sku, location_id), quantity in quantities.items()
    ]


def _placed_by_another_request(existing: Order, digest: str | None) -> bool:
    """Whether the stored order was placed by a request with another body. Orders placed
    before their digest was kept are taken as this request's, as before."""
    if digest is None or existing.request_digest is None:
        return False
    return existing.request_digest != digest


def place_order(
    request: PlaceOrderRequest,
    order_id: str,
    deps: Deps,
    client_id: str | None = None,
    digest: str | None = None,
) -> Order:
    """Accept an order priced by the engine (or on its quote) for the client placing it,
    and start its execution. Safe to repeat: the same order id finds the order already stored and
    (re)starts the same execution. ``digest``: the request's body hashed, kept on the order;
    another body under the same order id (its key used again once the key's record ran
    out) is refused, 422 naming the key, rather than answered with this order (probe
    161: a till reusing a key was told its new sale was placed)."""
    rule_problems = _rule_problems(request)
    try:
        existing: Order | None = deps.store.get_order(order_id)
    except NotFound:
        existing = None
    if existing is not None and _placed_by_another_request(existing, digest):
        raise IdempotencyKeyReused(
            "this Idempotency-Key placed another order", field="Idempotency-Key"
        )
    if existing is not None and not rule_problems:
        deps.workflow.start(order_id, workflow_input(order_id, deps))
        # The first request may have died after storing the order (its idempotency
        # record then runs out and this one runs): ACCEPTED is announced again.
        announce_again(deps, existing, OrderStatus.ACCEPTED)
        return existing
    products = {product.sku: product for product in deps.store.products()}
    locations = {location.location_id: location for location in deps.store.locations()}
    lines = catalogue_lines(request, products, locations, rule_problems)
    # Priced before stock is looked at: a bad postal code or coupon is the client's to fix
    # (422) whatever the shelves hold.
    # The claims of the shopper's identifiers pricing reads: resolving the customer below
    # decides on them first instead of reading them again.
    seen: SeenClaims = {}
    priced_lines, pricing = price_order(request, lines, locations, client_id, deps, seen)
    try:
        refuse_unservable(request.lines, deps)
    except UnservableLines as refused:
        # The customer is told when what was missing is back (API.md "Opportunities").
        _subscribe_to_shortage(order_id, request, refused, deps)
        raise
    customer_id = None
    customer_unvouched = False
    contact_owned_by: dict[str, str] = {}
    contact = CustomerContact()
    if request.customer is not None:
        ref = request.customer
        locale: str = ref.locale
        if ref.has_identifier():
            resolution = resolve_customer(ref, deps, "customer.", seen)
            customer_id, customer_unvouched = resolution.customer_id, resolution.unvouched
            contact_owned_by = contact_fields_owned_elsewhere(resolution)
            if "locale" not in ref.model_fields_set and not resolution.created:
                # An order that names no language speaks its customer's.
                locale = record_locale(resolution, deps)
        contact = CustomerContact(
            email=ref.email.strip().lower() if ref.email else None,
            phone=ref.phone,
            name=ref.name,
            locale=locale,
        )
    lines = priced_lines
    if pricing is not None:
        # Taken with the order's creation, under the promotions' limits.
        pricing.redemptions = promotions.redemptions_for(pricing, customer_id, deps)
    now = deps.clock()
    # The engine's total: lines, discount, shipping and any tax on top.
    total = Money.of(pricing.total)
    # An anonymous in-store sale can be claimed later with the code on its receipt.
    anonymous_store = customer_id is None and request.channel is Channel.STORE
    order = Order(
        order_id=order_id,
        channel=request.channel,
        store_id=request.store_id,
        client_id=client_id,
        customer_id=customer_id,
        customer_unvouched=customer_unvouched,
        contact=contact,
        contact_owned_by=contact_owned_by,
        lines=lines,
        total=total,
        shipping_address=(
            ShippingAddress.model_validate(request.shipping_address.model_dump())
            if request.shipping_address
            else None
        ),
        payment_token=request.payment.token,
        consent=Consent(
            terms_version=request.consent.terms_version,
            privacy_version=request.consent.privacy_version,
            accepted_at=now,
            channel=request.channel,
        ),
        placed_at=now,
        return_window_seconds=deps.settings.waits.return_window_seconds,
        execution_arn=deps.workflow.execution_arn(order_id),
        receipt_code=new_receipt_code() if anonymous_store else None,
        request_digest=digest,
        pricing=pricing,
    )
    entry = HistoryEntry(
        status=OrderStatus.ACCEPTED, at=now, detail=f"placed via {request.channel}"
    )
    order.history.append(entry)
    try:
        deps.store.create_order(order)
    except PromotionUsedUp:
        if request.quote_id is not None:
            raise  # the quote's price held that promotion: 409 naming quote_id
        # An automatic promotion's last redemption went to another order: price again
        # (without it now), as if the shopper had come a moment later.
        return place_order(request, order_id, deps, client_id)
    except CouponUsedUp:
        raise  # 409 naming coupon: the last redemption went to another order
    except QuotePriceTaken:
        # 409 naming quote_id: another live order (another key) holds the quote's price
        # (probe 250). Raised before ``Conflict``: the order is not this key's to answer.
        raise
    except Conflict:
        # A concurrent request with the same key stored it first: answer with that one.
        return deps.store.get_order(order_id)
    deps.workflow.start(order_id, workflow_input(order_id, deps))
    deps.events.publish(OrderStatusChanged.of(order, entry).message())
    return order


def get_order(order_id: str, deps: Deps) -> Order:
    """The order, or ``NotFound``."""
    return deps.store.get_order(order_id)


def cancel_order(
    order_id: str,
    deps: Deps,
    note: str | None = None,
    detail: str = "cancelled on request",
) -> Order:
    """Cancel before anything has left a location: release the stock held and void the
    authorisation (recorded as owed in the same write, then settled). 409 once shipped.
    ``note`` is the caller's reason, kept as their words (erased with the customer)."""
    now = deps.clock()

    def decide(order: Order) -> Change[list[str]] | None:
        if order.status is OrderStatus.CANCELLED:
            return None  # repeated cancel: same answer, nothing more to do
        released = StockChange.releasing(order.reserved_allocations())
        kept = ERASED if note and order_erased(order, deps) else note
        payable = _payable_again(order, now, deps)
        entry = order.cancel(now, StatusReason.CUSTOMER_REQUEST, detail, kept, payable)
        return Change(entry=entry, stock=released, result=order.release_waits())

    written = mutate(deps, order_id, decide, announce=False)
    try:
        # A gateway failure leaves the void owed on the order: the sweeper retries it.
        settlement.settle(order_id, deps)
    finally:
        # Announced once the void is settled, so that the customer's email says so.
        if written.change is not None:
            publish(deps, written.order, written.change)
        elif written.order.status is OrderStatus.CANCELLED:
            # A cancel asked again: the first request may have died before announcing it
            # (the customer would never be told, nor the store stop preparing).
            announce_again(deps, written.order, OrderStatus.CANCELLED)
        end_waits(written.result or [], order_id, deps)
        if not written.result and written.order.fulfillments:
            # Asked again too: the first request may have died before its stop.
            _stop_handling(written.order, deps)
        # Rejected when the gateway did not answer, then cancelled by staff (re-probe 193).
        resolve_gateway_alerts(
            written.order, "system:cancel", "the order was cancelled since", deps
        )
    return deps.store.get_order(order_id)


def _payable_again(order: Order, now: datetime, deps: Deps) -> bool:
    """Whether the order, rejected for a declined card, may still be paid again: its
    window is open and its tries are not used up."""
    if order.status is not OrderStatus.REJECTED:
        return False
    facts = facts_of(order)
    window = deps.settings.waits.duration(PAYMENT_RETRY_WINDOW)
    return can_pay_again(
        facts.status, facts.status_reason, facts.rejected_at, now, window
    ) and not payment_tries_used(order.history)


def _stop_handling(order: Order, deps: Deps) -> None:
    """Stop the execution of an order cancelled with its stock reserved and no wait parked,
    when its handling Wait, which no token ends, has more than a few seconds left: it
    would stay RUNNING until the picking time ran out (a probe, 18 of 18 with two days of
    picking; API.md: within seconds it is no longer RUNNING). It ends ABORTED with nothing
    held: the cancel released the stock and voided the money, and
    ``recovery.execution_ended`` leaves an order at rest alone. A shorter wait is left to
    run out: the dispatch after it finds the order cancelled and the execution ends
    SUCCEEDED at ``OrderCancelled``, as any cancel's."""
    reserved_at = order.became_at(OrderStatus.RESERVED)
    if reserved_at is None:
        return
    handling_ends = reserved_at + timedelta(seconds=deps.settings.waits.handling_seconds)
    if (handling_ends - deps.clock()).total_seconds() <= HANDLING_LEFT_TO_RUN_OUT:
        return
    arn = order.execution_arn or deps.workflow.execution_arn(order.order_id)
    deps.workflow.stop(arn, "OrderCancelled", f"order {order.order_id} was cancelled")


def cancel_for_erasure(order_id: str, deps: Deps) -> bool:
    """Cancel an order of an erased customer while nothing of it was handed over and a part
    still waits for what the erasure took: a parcel not yet booked needs the address, a
    pick-up not yet ready needs the email its code goes to. Its stock is released and its
    authorisation voided, as any cancel. A pick-up already ready stays: its code was sent.
    True when the order is (now or already) cancelled for this reason."""
    try:
        order = deps.store.get_order(order_id)
    except NotFound:
        return False
    if order.status is OrderStatus.CANCELLED:
        return cancelled_for_erasure(order)
    if not waits_for_what_an_erasure_takes(order):
        return False
    try:
        cancelled = cancel_order(order_id, deps, detail=ERASURE_CANCEL_DETAIL)
    except Conflict:
        return False  # handed over meanwhile: the carrier or the store has what it needs
    return cancelled_for_erasure(cancelled)


def waits_for_what_an_erasure_takes(order: Order) -> bool:
    """Whether ``cancel_for_erasure`` cancels the order: nothing of it was handed over,
    and a part waits to be (a parcel not booked, a pick-up not ready)."""
    # Before its stock is reserved an order has no fulfilment yet, and every part of it
    # waits (a probe: such an order, missed by the erasure, went on to be shipped).
    waiting = not order.fulfillments or any(
        f.status is FulfillmentStatus.PENDING for f in order.fulfillments
    )
    return order.cancel_refusal() is None and waiting


def cancelled_for_erasure(order: Order) -> bool:
    """Whether the order was cancelled because its customer was erased."""
    return any(
        e.status is OrderStatus.CANCELLED and e.detail == ERASURE_CANCEL_DETAIL
        for e in order.history
    )


def end_waits(tokens: list[str], order_id: str, deps: Deps) -> None:
    """Fail every wait the execution is parked on with ``OrderCancelled``, which the ASL
    catches into its ``OrderCancelled`` end: the execution stops within seconds instead of
    waiting out a pick-up window. A token no longer waiting is skipped."""
    for token in tokens:
        deps.workflow.fail(token, "OrderCancelled", f"order {order_id} was cancelled")


def ensure_not_cancelled(order: Order) -> None:
    """Workflow steps stop here when the order was cancelled under them."""
    if order.status is OrderStatus.CANCELLED:
        raise OrderCancelled(f"order {order.order_id} was cancelled")


def _subscribe_to_shortage(
    order_id: str, request: PlaceOrderRequest, refused: UnservableLines, deps: Deps
) -> None:
    """Subscribe the refused order's customer to each short SKU; keyed by the order id the
    request would have had, so a retried request subscribes nobody twice."""
    customer = request.customer
    if customer is None:
        return
    email, customer_id = customer.email, None
    if email is None and customer.customer_id:
        # A signed-in shopper's storefront names them by id alone (a probe: never told).
        customer_id, email = told_by_id(customer.customer_id, deps)
    subscribe_shortage(
        order_id, refused.short, email, deps, customer_id=customer_id, locale=customer.locale
    )
