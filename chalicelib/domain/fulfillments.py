"""Fulfilments: the lines that leave one location together (shipped, with the carrier's
booking) or wait together in one store (picked up)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from chalicelib.domain.money import Money
from chalicelib.domain.status_reasons import StatusReason


class FulfillmentType(StrEnum):
    """Shipped to the customer or collected in a store."""

    SHIP = "ship"
    PICKUP = "pickup"


class FulfillmentStatus(StrEnum):
    """One fulfilment's progress."""

    PENDING = "PENDING"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"
    # Shipped and never confirmed, 30 days past the promise: not kept, its capture refunded.
    LOST = "LOST"


FULFILLMENT_RANK = {
    "PENDING": 0,
    "SHIPPED": 1,
    "READY_FOR_PICKUP": 1,
    "DELIVERED": 2,
    "RETURNED": 3,
}


# Fulfilments that ended without reaching the customer: they no longer move the order.
CLOSED_UNDELIVERED = frozenset({FulfillmentStatus.CANCELLED, FulfillmentStatus.LOST})


class Shipment(BaseModel):
    """A carrier's booking for one fulfilment."""

    carrier: str
    service_level: str
    tracking_number: str
    tracking_url: str
    promised_by: datetime
    shipped_at: datetime
    delivered_at: datetime | None = None
    sla_status: str = "on_time"
    breached_at: datetime | None = None
    # Declared lost: the carrier never confirmed it (a delivery reported later stays LOST).
    lost_at: datetime | None = None
    events: list[dict[str, str]] = Field(default_factory=list)

    def sla(self, now: datetime | None = None) -> dict[str, str | None]:
        """The SLA block of the API. While the parcel is out, the status is read against
        ``now``: ``at_risk`` in the last fifth of the promised time, ``breached`` once
        past it (even before the workflow has recorded the breach)."""
        status = self.sla_status
        breached_at = self.breached_at
        if now is not None and self.delivered_at is None and status == "on_time":
            if now > self.promised_by:
                status, breached_at = "breached", self.promised_by
            elif now > self.promised_by - (self.promised_by - self.shipped_at) / 5:
                status = "at_risk"
        return {
            "promised_by": self.promised_by.isoformat(),
            "status": status,
            "breached_at": breached_at.isoformat() if breached_at else None,
        }


class FulfillmentLine(BaseModel):
    """Units of a SKU that one fulfilment carries."""

    sku: str
    quantity: int


class Fulfillment(BaseModel):
    """The lines that leave one location together, or wait together in one store."""

    fulfillment_id: str
    type: FulfillmentType
    location_id: str
    status: FulfillmentStatus = FulfillmentStatus.PENDING
    lines: list[FulfillmentLine]
    shipment: Shipment | None = None
    pickup_code: str | None = None
    pickup_deadline: datetime | None = None
    status_reason: StatusReason | None = None
    # What was given back for this fulfilment when it was lost (recorded once).
    refunded: Money | None = None
    # The execution's wait for this fulfilment; internal, never in the API.
    task_token: str | None = None
