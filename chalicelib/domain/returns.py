"""Returns: units of a delivered order the customer sends back, received at a location
and refunded."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from chalicelib.domain.money import Money


class ReturnStatus(StrEnum):
    """A return's progress."""

    REQUESTED = "REQUESTED"
    RECEIVED = "RECEIVED"


class ReturnLine(BaseModel):
    """Units of a SKU the customer sends back."""

    sku: str
    quantity: int


class OrderReturn(BaseModel):
    """A customer's return of some or all lines."""

    return_id: str
    status: ReturnStatus = ReturnStatus.REQUESTED
    lines: list[ReturnLine]
    reason: str
    channel: str
    location_id: str | None = None
    requested_at: datetime
    received_at: datetime | None = None
    refund: Money | None = None
