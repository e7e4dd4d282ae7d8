"""Carrier webhooks, authenticated by signature."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.models import CarrierEventResponse
from chalicelib.domain.requests import CarrierEventRequest
from chalicelib.services.carrier_events import SIGNATURE_HEADER, handle_carrier_event

carriers = Blueprint(__name__)


@endpoint(
    carriers,
    "/carriers/{carrier}/events",
    "POST",
    summary="A carrier's signed tracking event (HMAC-SHA256, 300 s tolerance, deduplicated)",
    request=CarrierEventRequest,
    response=CarrierEventResponse,
    tag="carriers",
    headers=(SIGNATURE_HEADER,),
    access=Access.SIGNED,
    errors=(401, 429),
)
def carrier_event(call: Call, carrier: str) -> dict[str, Any]:
    """Verify and apply once."""
    return handle_carrier_event(carrier, call.raw_body(), call.header(SIGNATURE_HEADER), call.deps)
