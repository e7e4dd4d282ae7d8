"""Signed tracking links: the customer's only credential for the tracking page."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.catalog import Location
from chalicelib.domain.errors import NotFound
from chalicelib.domain.events import LinkRenewed
from chalicelib.domain.fulfillments import (
    Fulfillment,
    FulfillmentStatus,
    FulfillmentType,
    Shipment,
)
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.returns import OrderReturn
from chalicelib.domain.settlement import return_refund_status
from chalicelib.services import tokens

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.ports import Keyring

_PURPOSE = "track"
_VERSION = "v1"


def tracking_token(order_id: str, keys: Keyring, generation: int = 0) -> str:
    """``v1.<kid>.<generation>.<order id>.<signature>``: unguessable, verifiable without a
    look-up of any secret store, signed by the current key (``kid``), and revoked by
    raising the order's generation."""
    kid, signature = tokens.sign(keys, _PURPOSE, str(generation), order_id)
    return f"{_VERSION}.{kid}.{generation}.{order_id}.{signature}"


def tracking_url(order_id: str, deps: Deps, generation: int | None = None) -> str:
    """The link every customer email carries (of the order's current generation: read
    unless given)."""
    if generation is None:
        generation = deps.access.tracking_generation(order_id)
    token = tracking_token(order_id, deps.secrets.tracking_keys(), generation)
    return f"{deps.settings.public_base_url.rstrip('/')}/track/{token}"


def _legacy_signature(order_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"track:{order_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[: tokens.SIGNATURE_CHARS]


def _signed_order(token: str, keys: Keyring) -> tuple[str, int] | None:
    """The order id and generation a token was signed for, or None."""
    version, _, rest = token.partition(".")
    if version == _VERSION:
        kid, _, rest = rest.partition(".")
        generation, _, rest = rest.partition(".")
        order_id, _, signature = rest.rpartition(".")
        if not (order_id and generation.isascii() and generation.isdigit()):
            return None
        if not tokens.verify(keys, kid, signature, _PURPOSE, generation, order_id):
            return None
        return order_id, int(generation)
    # Links sent before key ids (``<order id>.<signature>``) stay valid, checked against
    # every key of the ring, as generation 0: revoking the order's links ends them too.
    order_id, _, signature = token.rpartition(".")
    if not order_id:
        return None
    valid = [tokens.same(signature, _legacy_signature(order_id, k)) for k in keys.keys.values()]
    return (order_id, 0) if any(valid) else None


def order_for_token(token: str, deps: Deps) -> Order:
    """The order a valid, unrevoked token names; ``NotFound`` for anything else (no
    oracle: forged, revoked and unknown answer alike)."""
    signed = _signed_order(token, deps.secrets.tracking_keys())
    if signed is None or signed[1] != deps.access.tracking_generation(signed[0]):
        raise NotFound("no such tracking link", field="token")
    return deps.store.get_order(signed[0])


def revoke_tracking_links(order_id: str, deps: Deps) -> str:
    """Revoke every tracking link of the order; returns the new link, which the customer
    is sent (probe 199: every link they held was dead, and the page of a dead link sends
    them to their latest email)."""
    deps.store.get_order(order_id)  # 404 for an unknown order
    generation = deps.access.revoke_tracking(order_id)
    deps.events.publish(LinkRenewed.of(order_id, generation, deps.clock()).message())
    return tracking_url(order_id, deps, generation)


def tracking_view(
    order: Order, now: datetime | None = None, locations: Sequence[Location] = ()
) -> dict[str, Any]:
    """What the customer sees: status, timeline and shipments; no internal fields. What
    the HTML page tells, the JSON tells as codes (probe 194: an app drawing the page from
    it had no pick-up code, no deadline, no return's lines or refund): ``locations`` name
    where a pick-up waits and where a return by post goes."""
    places = {location.location_id: location for location in locations}
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "status_reason": order.status_reason.value if order.status_reason else None,
        "placed_at": order.placed_at.isoformat(),
        "total": order.total.model_dump(mode="json"),
        # The breakdown the HTML page shows, so that a storefront drawing the page from
        # this JSON can too (probe 168: only the total was here).
        **_price_breakdown(order),
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price.model_dump(mode="json"),
                "line_total": line.line_total.model_dump(mode="json"),
                **line.discount_shown(),
            }
            for line in order.lines
        ],
        # Staff's notes (a cancel's reason) stay with staff.
        "timeline": [entry.model_dump(mode="json", exclude={"note"}) for entry in order.history],
        "fulfillments": [
            {
                "fulfillment_id": f.fulfillment_id,
                "type": f.type.value,
                "location_id": f.location_id,
                "location": _place(places.get(f.location_id)),
                "status": f.status.value,
                "status_reason": f.status_reason.value if f.status_reason else None,
                "lines": [line.model_dump(mode="json") for line in f.lines],
                **_pickup_shown(f),
                "shipment": None
                if f.shipment is None
                else {
                    "carrier": f.shipment.carrier,
                    "tracking_number": f.shipment.tracking_number,
                    "tracking_url": f.shipment.tracking_url,
                    "promised_by": f.shipment.shown_promise.isoformat(),
                    "sla": f.shipment.sla(now),
                    # What the HTML page tells from it (a problem, out for delivery),
                    # as codes: a storefront drawing the page from this reads it too.
                    "last_event": _carrier_said(f.shipment),
                },
            }
            for f in order.fulfillments
        ],
        "returns": [_return_shown(order, r, locations) for r in order.returns],
        # What the card saw besides the total, as the page's last rows say it.
        "not_charged": _money_or_none(order.payment.released()),
        "refunded": _money_or_none(order.payment.refunded),
    }


def _place(location: Location | None) -> dict[str, str] | None:
    """A location as a customer finds it: its name and street."""
    if location is None:
        return None
    return {"name": location.name, "address": location.street_address()}


def _pickup_shown(fulfillment: Fulfillment) -> dict[str, Any]:
    """A pick-up's code and deadline while it waits, as the page shows them."""
    if fulfillment.type is not FulfillmentType.PICKUP:
        return {}
    ready = fulfillment.status is FulfillmentStatus.READY_FOR_PICKUP
    deadline, opens = fulfillment.pickup_deadline, fulfillment.collect_from
    return {
        "pickup_code": fulfillment.pickup_code if ready else None,
        "pickup_deadline": deadline.isoformat() if ready and deadline else None,
        "collect_from": opens.isoformat() if ready and opens else None,
    }


def _return_shown(
    order: Order, returned: OrderReturn, locations: Sequence[Location]
) -> dict[str, Any]:
    """A return as the page lists it: what goes back, how, where, and its refund once the
    gateway made it (``refund_status`` ``pending`` while it is owed)."""
    refund_status = return_refund_status(order, returned.return_id)
    refunded = returned.refund if refund_status == "refunded" else None
    send_to = order.mail_return_address(returned, locations)
    return {
        "return_id": returned.return_id,
        "status": returned.status.value,
        "channel": returned.channel,
        "lines": [line.model_dump(mode="json") for line in returned.lines],
        "location_id": returned.location_id,
        "requested_at": returned.requested_at.isoformat(),
        "received_at": returned.received_at.isoformat() if returned.received_at else None,
        "refund": refunded.model_dump(mode="json") if refunded else None,
        "refund_status": refund_status,
        # By post, until received: where to send it (the return id goes inside).
        "send_to": (
            {"location_id": send_to.location_id, **(_place(send_to) or {})} if send_to else None
        ),
    }


def _money_or_none(money: Money | None) -> dict[str, str] | None:
    return money.model_dump(mode="json") if money is not None and money.amount > 0 else None


def _carrier_said(shipment: Shipment) -> dict[str, str] | None:
    last = shipment.last_event()
    return None if last is None else {"type": last["type"], "occurred_at": last["occurred_at"]}


def _price_breakdown(order: Order) -> dict[str, Any]:
    """Subtotal, discount, shipping and every tax as ``GET /orders/{id}`` shows them, with
    the promotions' names and what each took off; nothing for an order priced before the
    breakdown was kept."""
    if order.pricing is None:
        return {}
    shown = order.pricing.shown()
    return {
        "subtotal": shown["subtotal"],
        "discount": shown["discount"],
        "shipping": shown["shipping"],
        "tax": order.pricing.tax.shown(),
        "taxes": shown["taxes"],
        "promotions": [{"name": p["name"], "amount": p["amount"]} for p in shown["promotions"]],
    }


_FORM_PURPOSE = "track-form"


def form_token(token: str, keys: Keyring) -> str:
    """The tracking page's form token, ``<kid>.<HMAC of the tracking token>``: the page
    puts it in each form, and a form posted without it (from another site) is refused."""
    kid, signature = tokens.sign(keys, _FORM_PURPOSE, token)
    return f"{kid}.{signature}"


def form_token_valid(token: str, given: str, keys: Keyring) -> bool:
    """Whether ``given`` is the form token of the page of ``token`` (under any key of the
    ring: a page rendered before a key rotation still posts)."""
    kid, _, signature = given.partition(".")
    return tokens.verify(keys, kid, signature, _FORM_PURPOSE, token)
