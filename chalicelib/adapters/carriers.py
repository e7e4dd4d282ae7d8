"""Sandbox carriers: they book instantly and promise delivery within their SLA."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.orders import Shipment


@dataclass(frozen=True)
class SandboxCarrier:
    """``Carrier`` with a fixed SLA; tracking numbers derive from the fulfilment id, so a
    retried booking gets the same number."""

    name: str
    service_level: str
    sla_hours: int
    tracking_base_url: str

    def book(self, order_id: str, fulfillment_id: str, now: datetime) -> Shipment:
        """Book a parcel; the promise is now plus the SLA."""
        digest = hashlib.sha256(f"{self.name}:{fulfillment_id}".encode()).hexdigest()
        tracking_number = f"{self.name[:3].upper()}{int(digest[:12], 16) % 10**10:010d}"
        return Shipment(
            carrier=self.name,
            service_level=self.service_level,
            tracking_number=tracking_number,
            tracking_url=f"{self.tracking_base_url}{tracking_number}",
            promised_by=now + timedelta(hours=self.sla_hours),
            shipped_at=now,
        )


SANDBOX_CARRIERS: dict[str, SandboxCarrier] = {
    carrier.name: carrier
    for carrier in (
        SandboxCarrier("rapido", "express", 24, "https://track.rapido.example/"),
        SandboxCarrier("tortuga", "standard", 72, "https://track.tortuga.example/"),
    )
}
