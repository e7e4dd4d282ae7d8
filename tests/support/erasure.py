"""Helpers of the erasure tests (``tests/api/test_customers_erasure*.py``): a ``Person``
whose every personal value carries one random marker (the phone its own digits), ``leaks``
to walk a response for the marker, ``everything_shown`` to gather every response that could
show the person, and the HTTP calls the tests share."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from tests.support import JSON, OPS, STORE, eventually


@dataclass
class Person:
    """A customer's personal data, every value marked with ``mark``."""

    mark: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    phone_digits: str = field(
        default_factory=lambda: f"6{random.Random(uuid.uuid4().int).randrange(10**8):08d}"
    )

    @property
    def name(self) -> str:
        return f"Zoraida Olvido {self.mark}"

    @property
    def email(self) -> str:
        return f"olvido-{self.mark}@example.com"

    @property
    def phone(self) -> str:
        return f"+34{self.phone_digits}"

    @property
    def loyalty_id(self) -> str:
        return f"LOY{self.mark.upper()}"

    @property
    def address(self) -> dict[str, str]:
        return {
            "name": self.name,
            "line1": f"Calle del Olvido {self.mark} 7",
            "city": f"Olvidaville {self.mark}",
            "postal_code": "28013",
            "country": "ES",
        }

    def text(self, what: str) -> str:
        """Free text the customer wrote, naming themselves."""
        return f"{what} ({self.name}, {self.phone_digits})"

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.mark.lower(), self.phone_digits)


def leaks(value: Any, needles: tuple[str, ...], path: str = "$") -> list[str]:
    """Where, in a decoded JSON document (or a text), any needle occurs (ignoring case)."""
    if isinstance(value, str):
        lowered = value.lower()
        return [f"{path}: {value[:120]!r}" for needle in needles if needle in lowered]
    if isinstance(value, dict):
        found: list[str] = []
        for key, inner in value.items():
            found += leaks(str(key), needles, f"{path}.<key>")
            found += leaks(inner, needles, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [
            hit for i, inner in enumerate(value) for hit in leaks(inner, needles, f"{path}[{i}]")
        ]
    return []


def _get(client: Any, path: str, headers: dict[str, str] = OPS) -> Any:
    response = client.http.get(path, headers=headers)
    assert response.status_code == 200, (path, response.body)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        return response.body.decode() if isinstance(response.body, bytes) else response.body
    return json.loads(response.body)


def _track_path(tracking_url: str) -> str:
    return urlparse(tracking_url).path


def everything_shown(
    client: Any,
    customers: list[str],
    orders: dict[str, str],
    tickets: list[str],
) -> dict[str, Any]:
    """Every response that could show these customers: their 360 views and exports (by
    every id they had), each order as ops and as store staff, its ops timeline and
    tracking page (JSON and HTML), each ticket, and the ops console's outbox."""
    shown: dict[str, Any] = {"outbox": _get(client, "/ops/outbox?limit=1000")}
    for customer_id in customers:
        shown[f"view {customer_id}"] = _get(client, f"/customers/{customer_id}")
        shown[f"export {customer_id}"] = _get(client, f"/customers/{customer_id}/export")
    for order_id, tracking_url in orders.items():
        shown[f"order {order_id} (ops)"] = _get(client, f"/orders/{order_id}")
        shown[f"order {order_id} (store)"] = _get(client, f"/orders/{order_id}", STORE)
        shown[f"timeline {order_id}"] = _get(client, f"/ops/orders/{order_id}/timeline")
        track = _track_path(tracking_url)
        shown[f"tracking {order_id}"] = _get(client, track, {"Accept": "application/json"})
        shown[f"tracking page {order_id}"] = _get(client, track, {"Accept": "text/html"})
    for ticket_id in tickets:
        shown[f"ticket {ticket_id}"] = _get(client, f"/tickets/{ticket_id}")
    return shown


def assert_nothing_of(person: Person, shown: dict[str, Any]) -> None:
    """No response holds any of the person's values."""
    found = {name: hits for name, body in shown.items() if (hits := leaks(body, person.needles))}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def _post(client: Any, path: str, body: dict[str, Any], auth: dict[str, str] = OPS) -> Any:
    response = client.http.post(path, headers=auth | JSON, body=json.dumps(body))
    assert response.status_code in (200, 201), (path, response.body)
    return response.json_body


def _erase(client: Any, customer_id: str) -> Any:
    return client.http.post(f"/customers/{customer_id}/erase", headers=OPS)


def _projected(client: Any, customer_id: str, statuses: dict[str, str]) -> dict[str, Any]:
    """The 360 view once it shows these orders in these statuses."""

    last: dict[str, Any] = {}

    def seen() -> dict[str, Any] | None:
        view: dict[str, Any] = _get(client, f"/customers/{customer_id}")
        shown = {o["order_id"]: o["status"] for o in view["orders"]}
        last["shown"] = shown
        return view if all(shown.get(k) == v for k, v in statuses.items()) else None

    try:
        return eventually(seen)
    except AssertionError as exc:
        # Which order the 360 did not show as expected (a rare miss under load in CI).
        raise AssertionError(f"wanted {statuses}, the 360 showed {last.get('shown')}") from exc


def _other_person(client: Any) -> tuple[str, dict[str, str]]:
    """Somebody else, who must come out of the erasure untouched."""
    other = {
        "email": f"bystander-{uuid.uuid4().hex[:10]}@example.com",
        "phone": f"+346{random.Random(uuid.uuid4().int).randrange(10**8):08d}",
        "name": "Bystander Persona",
    }
    return _post(client, "/customers", other)["customer_id"], other
