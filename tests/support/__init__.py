"""Shared test helpers: building requests, signing carrier events, waiting for outcomes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.services.carrier_events import sign

STOREFRONT = {"Authorization": "Bearer demo-storefront"}
STORE = {"Authorization": "Bearer demo-store"}
OPS = {"Authorization": "Bearer demo-ops"}
JSON = {"Content-Type": "application/json"}
CARRIER_SECRET = "demo-carrier-secret"

T = TypeVar("T")


def order_body(**overrides: Any) -> dict[str, Any]:
    """A valid web order for two black T-shirts, shipped to Madrid."""
    body: dict[str, Any] = {
        "channel": "web",
        "customer": {
            "email": f"cliente-{uuid.uuid4().hex[:8]}@example.com",
            "name": "Ana García",
            "locale": "es",
        },
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "fulfillment": "ship"}],
        "shipping_address": {
            "name": "Ana García",
            "line1": "Calle Mayor 1",
            "city": "Madrid",
            "postal_code": "28013",
            "country": "ES",
        },
        "payment": {"method": "card", "token": "tok_visa"},
        "consent": {"terms_version": "2026-01", "privacy_version": "2026-01", "accepted": True},
    }
    body.update(overrides)
    return body


def idempotency_key() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def signed_event(
    tracking_number: str,
    kind: str = "delivered",
    event_id: str | None = None,
    secret: str = CARRIER_SECRET,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A carrier event body and its headers, signed as API.md says."""
    body = json.dumps(
        {
            "event_id": event_id or f"evt_{uuid.uuid4().hex[:12]}",
            "tracking_number": tracking_number,
            "type": kind,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    ).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return body, {"X-Orquesta-Signature": sign(secret, stamp, body), **JSON}


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, every: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")
