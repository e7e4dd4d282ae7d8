"""Sandbox carriers: they book instantly and are held to the promise the shopper was
given, computed from their service (cut-off, business days, zones) on the regional
calendars of both ends (domain/promises.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time

from chalicelib.domain.fulfillments import Shipment
from chalicelib.domain.promises import CarrierService
from chalicelib.domain.regions import ShippingZone


@dataclass(frozen=True)
class SandboxCarrier:
    """``Carrier`` with one service; tracking numbers derive from the fulfillment id, so a
    retried booking gets the same number."""

    service: CarrierService
    tracking_base_url: str

    @property
    def name(self) -> str:
        """The carrier's id in webhook paths."""
        return self.service.carrier

    @property
    def service_level(self) -> str:
        """The service booked."""
        return self.service.service_level

    @property
    def sla_hours(self) -> int:
        """The service level in hours, as the SLA scorecard names it."""
        return self.service.sla_hours

    def book(
        self, order_id: str, fulfillment_id: str, now: datetime, promised_by: datetime
    ) -> Shipment:
        """Book a parcel held to ``promised_by``."""
        digest = hashlib.sha256(f"{self.name}:{fulfillment_id}".encode()).hexdigest()
        tracking_number = f"{self.name[:3].upper()}{int(digest[:12], 16) % 10**10:010d}"
        return Shipment(
            carrier=self.name,
            service_level=self.service_level,
            tracking_number=tracking_number,
            tracking_url=f"{self.tracking_base_url}{tracking_number}",
            promised_by=promised_by,
            shipped_at=now,
        )


# In order of preference: the first that serves a destination's zone takes the parcel.
SANDBOX_CARRIERS: dict[str, SandboxCarrier] = {
    carrier.name: carrier
    for carrier in (
        SandboxCarrier(
            CarrierService(
                carrier="rapido",
                service_level="express",
                business_days=1,
                cutoff=time(18, 0),
                zones=frozenset({ShippingZone.PENINSULA}),
            ),
            "https://track.rapido.example/",
        ),
        SandboxCarrier(
            CarrierService(
                carrier="veloz",
                service_level="islands",
                business_days=2,
                cutoff=time(16, 0),
                zones=frozenset(
                    {ShippingZone.BALEARICS, ShippingZone.CANARIES, ShippingZone.CEUTA_MELILLA}
                ),
            ),
            "https://veloz.example/seguimiento/",
        ),
        SandboxCarrier(
            # Abroad: no Spanish zone; its three business days run on the origin's calendar.
            CarrierService(
                carrier="tortuga",
                service_level="international",
                business_days=3,
                cutoff=time(14, 0),
                zones=frozenset(),
            ),
            "https://track.tortuga.example/",
        ),
    )
}

# Balearic (07), Las Palmas (35), Santa Cruz de Tenerife (38), Ceuta (51), Melilla (52).
_ISLANDS_AND_CITIES = ("07", "35", "38", "51", "52")


def carrier_for(country: str, postal_code: str) -> str:
    """Mainland Spain goes express; islands and the autonomous cities take two days; the
    rest of the world the international service."""
    if country.upper() != "ES":
        return "tortuga"
    return "veloz" if postal_code.strip()[:2] in _ISLANDS_AND_CITIES else "rapido"
