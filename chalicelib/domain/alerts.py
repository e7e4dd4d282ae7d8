"""Ops alerts: what needed a person, about which order, and whether someone dealt with it."""

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel


def new_alert_id(at: datetime) -> str:
    """``alr_<UTC time to the microsecond>_<random>``: unique, and sorted by time."""
    return f"alr_{at.strftime('%Y%m%dT%H%M%S%f')}_{secrets.token_hex(4)}"


class AlertStatus(StrEnum):
    """Whether an alert still needs attention."""

    OPEN = "open"
    RESOLVED = "resolved"


class OpsAlert(DeferredModel):
    """One alert as ops see it; ``facts`` is the message published to the ops topic."""

    alert_id: str
    kind: str
    order_id: str | None = None
    at: datetime
    detail: str
    status: AlertStatus = AlertStatus.OPEN
    facts: dict[str, Any] = Field(default_factory=dict)
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None

    @classmethod
    def from_message(
        cls, alert_id: str, subject: str, message: dict[str, Any], at: datetime
    ) -> "OpsAlert":
        """The alert an ``alert_ops(subject, message)`` call stands for."""
        order_id = message.get("order_id")
        return cls(
            alert_id=alert_id,
            kind=str(message.get("kind") or "unspecified"),
            order_id=str(order_id) if order_id else None,
            at=at,
            detail=subject,
            facts=message,
        )

    def resolve(self, by: str, note: str | None, at: datetime) -> bool:
        """Mark it dealt with; False when it already was (the first resolution stands)."""
        if self.status is AlertStatus.RESOLVED:
            return False
        self.status = AlertStatus.RESOLVED
        self.resolved_at = at
        self.resolved_by = by
        self.resolution_note = note
        return True
