"""Shared test helpers: building requests, signing carrier events, reading problem documents,
waiting for outcomes. The modules beside this one hold what needs more (the app, the stack).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.services.carrier_events import sign

STOREFRONT = {"Authorization": "Bearer demo-storefront"}
OTHER_STOREFRONT = {"Authorization": "Bearer demo-storefront-2"}  # another client
STORE = {"Authorization": "Bearer demo-store"}
OPS = {"Authorization": "Bearer demo-ops"}
JSON = {"Content-Type": "application/json"}
CARRIER_SECRET = "demo-carrier-secret"
PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}

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


def pickup_order_body(
    sku: str, quantity: int = 1, store: str = "ST-VALENCIA", **overrides: Any
) -> dict[str, Any]:
    """A valid web order of ``quantity`` units of one SKU to collect at ``store``."""
    body = order_body(
        lines=[{"sku": sku, "quantity": quantity, "fulfillment": "pickup", "location_id": store}],
        **overrides,
    )
    body.pop("shipping_address")
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
    occurred_at: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A carrier event body and its headers, signed as API.md says; the event happened at
    ``occurred_at`` (epoch seconds), now by default."""
    body = json.dumps(
        {
            "event_id": event_id or f"evt_{uuid.uuid4().hex[:12]}",
            "tracking_number": tracking_number,
            "type": kind,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(occurred_at)),
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


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status`` naming at least ``fields``.

    ``response`` is a ``chalice.test.Client`` reply or a ``requests`` one."""
    body_bytes = response.content if hasattr(response, "content") else response.body
    assert response.status_code == status, body_bytes
    content_type = response.headers.get("Content-Type") or response.headers.get("content-type")
    assert content_type == PROBLEM_JSON, response.headers
    body: dict[str, Any] = json.loads(body_bytes)
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    named = {error["field"] for error in body["errors"]}
    assert all(isinstance(error["message"], str) and error["message"] for error in body["errors"])
    assert set(fields) <= named, f"expected {fields} named, got {body['errors']}"
    return body


def error_fields(response: Any) -> set[str]:
    """The fields a problem document names."""
    return {error["field"] for error in json.loads(response.body)["errors"]}
