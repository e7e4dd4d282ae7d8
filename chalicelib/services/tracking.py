"""Signed tracking links: the customer's only credential for the tracking page."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.orders import Order

if TYPE_CHECKING:
    from chalicelib.composition import Deps

_SIGNATURE_CHARS = 32


def _signature(order_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"track:{order_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:_SIGNATURE_CHARS]


def tracking_token(order_id: str, secret: str) -> str:
    """``<order id>.<signature>``: unguessable, and verifiable without a look-up."""
    return f"{order_id}.{_signature(order_id, secret)}"


def tracking_url(order_id: str, deps: Deps) -> str:
    """The link every customer email carries."""
    token = tracking_token(order_id, deps.secrets.tracking_secret())
    return f"{deps.settings.public_base_url.rstrip('/')}/track/{token}"


def order_for_token(token: str, deps: Deps) -> Order:
    """The order a valid token names; ``NotFound`` for anything else (no oracle)."""
    order_id, _, signature = token.rpartition(".")
    expected = _signature(order_id, deps.secrets.tracking_secret())
    if not order_id or not hmac.compare_digest(
        signature.encode("utf-8", "replace"), expected.encode()
    ):
        raise NotFound("no such tracking link", field="token")
    return deps.store.get_order(order_id)


def tracking_view(order: Order, now: datetime | None = None) -> dict[str, Any]:
    """What the customer sees: status, timeline and shipments; no internal fields."""
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "status_reason": order.status_reason.value if order.status_reason else None,
        "placed_at": order.placed_at.isoformat(),
        "total": order.total.model_dump(mode="json"),
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": line.quantity} for line in order.lines
        ],
        "timeline": [entry.model_dump(mode="json") for entry in order.history],
        "fulfillments": [
            {
                "fulfillment_id": f.fulfillment_id,
                "type": f.type.value,
                "location_id": f.location_id,
                "status": f.status.value,
                "shipment": None
                if f.shipment is None
                else {
                    "carrier": f.shipment.carrier,
                    "tracking_number": f.shipment.tracking_number,
                    "tracking_url": f.shipment.tracking_url,
                    "promised_by": f.shipment.promised_by.isoformat(),
                    "sla": f.shipment.sla(now),
                },
            }
            for f in order.fulfillments
        ],
        "returns": [{"return_id": r.return_id, "status": r.status.value} for r in order.returns],
    }
