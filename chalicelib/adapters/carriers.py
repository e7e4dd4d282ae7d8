"""Sandbox carriers: they book instantly and promise delivery by their service level on
Spain's business calendar (cut-off times, business days, national holidays)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time

from chalicelib.domain.fulfillments import Shipment
from chalicelib.domain.sla import ServiceLevel


@dataclass(frozen=True)
class SandboxCarrier:
    """``Carrier`` with one service level; tracking numbers derive from the fulfillment id,
    so a retried booking gets the same number."""

    level: ServiceLevel

    @property
    def name(self) -> str:
        """The carrier's id in webhook paths."""
        return self.level.carrier

    @property
    def service_level(self) -> str:
        """The service booked."""
        return self.level.service_level

    @property
    def sla_hours(self) -> int:
        """Business hours from hand-over to the promise."""
        return self.level.sla_hours

    def book(self, order_id: str, fulfillment_id: str, now: datetime) -> Shipment:
        """Book a parcel; the promise comes from the business calendar."""
        digest = hashlib.sha256(f"{self.name}:{fulfillment_id}".encode()).hexdigest()
        tracking_number = f"{self.name[:3].upper()}{int(digest[:12], 16) % 10**10:010d}"
        return Shipment(
            carrier=self.name,
            service_level=self.service_level,
            tracking_number=tracking_number,
            tracking_url=f"{self.level.tracking_base_url}{tracking_number}",
            promised_by=self.level.promised_by(now),
            shipped_at=now,
        )


SERVICE_LEVELS = (
    ServiceLevel(
        carrier="rapido",
        service_level="express",
        sla_hours=24,
        cutoff=time(18, 0),
        tracking_base_url="https://track.rapido.example/",
    ),
    ServiceLevel(
        carrier="veloz",
        service_level="islands",
        sla_hours=48,
        cutoff=time(16, 0),
        tracking_base_url="https://veloz.example/seguimiento/",
    ),
    ServiceLevel(
        carrier="tortuga",
        service_level="international",
        sla_hours=72,
        cutoff=time(14, 0),
        tracking_base_url="https://track.tortuga.example/",
    ),
)

SANDBOX_CARRIERS: dict[str, SandboxCarrier] = {
    level.carrier: SandboxCarrier(level) for level in SERVICE_LEVELS
}

# Balearic (07), Las Palmas (35), Santa Cruz de Tenerife (38), Ceuta (51), Melilla (52).
_ISLANDS_AND_CITIES = ("07", "35", "38", "51", "52")


def carrier_for(country: str, postal_code: str) -> str:
    """Mainland Spain goes express; islands and the autonomous cities take two days; the
    rest of the world the international service."""
    if country.upper() != "ES":
        return "tortuga"
    return "veloz" if postal_code.strip()[:2] in _ISLANDS_AND_CITIES else "rapido"
