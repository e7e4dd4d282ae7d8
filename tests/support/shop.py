"""What the acceptance tests use to talk to the running stack: plain HTTP with ``requests``,
as a storefront, a store, a carrier or ops would, plus reading the outbox directory."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from tests.support import JSON, OPS, STOREFRONT, eventually, idempotency_key

HTTP_TIMEOUT = 30.0
# Long enough for a loaded machine; a healthy stack needs a fraction of it.
SETTLE_TIMEOUT = 60.0
# Statuses an order does not stay in: the workflow moves it on by itself.
TRANSIENT = {"ACCEPTED", "PAID"}


@dataclass
class RunningStack:
    """The stack process and what a client needs to reach it."""

    process: subprocess.Popen[bytes]
    url: str
    moto_port: int
    outbox: Path
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        """Everything the process printed so far."""
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr_tail(self, chars: int = 4000) -> str:
        """The end of the process's log (for failure messages)."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-chars:]


@dataclass
class Shop:
    """The stack's API and outbox, seen from outside the process."""

    url: str
    outbox: Path

    # HTTP ----------------------------------------------------------------------------------
    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        """GET a path (absolute URLs are used as they are)."""
        target = path if path.startswith("http") else f"{self.url}{path}"
        return requests.get(target, headers=headers or {}, timeout=HTTP_TIMEOUT)

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """POST a JSON body (bytes and str are sent as they are)."""
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return requests.post(
            f"{self.url}{path}", data=data, headers=JSON | (headers or {}), timeout=HTTP_TIMEOUT
        )

    def place(
        self,
        body: dict[str, Any],
        key: dict[str, str] | None = None,
        headers: dict[str, str] = STOREFRONT,
    ) -> requests.Response:
        """``POST /orders`` with an Idempotency-Key (a fresh one unless given)."""
        return self.post("/orders", body, headers | (key or idempotency_key()))

    def place_ok(self, body: dict[str, Any]) -> dict[str, Any]:
        """Place an order that must be accepted; the 202 body."""
        response = self.place(body)
        assert response.status_code == 202, response.text
        placed: dict[str, Any] = response.json()
        return placed

    def order(self, order_id: str, headers: dict[str, str] = STOREFRONT) -> dict[str, Any]:
        """``GET /orders/{id}``, which must answer."""
        response = self.get(f"/orders/{order_id}", headers)
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()
        return order

    def settled(self, order_id: str, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        """The order once the workflow has decided it (past ACCEPTED and PAID) and its
        money is settled with the gateway."""

        def probe() -> dict[str, Any] | None:
            order = self.order(order_id)
            decided = order["status"] not in TRANSIENT and not order["payment"].get("owed")
            return order if decided else None

        return eventually(probe, timeout=timeout, every=0.1)

    def execution(self, order_id: str) -> dict[str, Any]:
        """``GET /ops/orders/{id}/execution`` as ops."""
        response = self.get(f"/ops/orders/{order_id}/execution", OPS)
        assert response.status_code == 200, response.text
        described: dict[str, Any] = response.json()
        return described

    def wait_for_execution_end(self, order_id: str) -> dict[str, Any]:
        """The execution once it is no longer running."""
        return eventually(
            lambda: (e := self.execution(order_id))["status"] != "RUNNING" and e,
            timeout=SETTLE_TIMEOUT,
            every=0.2,
        )

    def inventory(self, sku: str) -> dict[str, Any]:
        """``GET /inventory/{sku}``."""
        response = self.get(f"/inventory/{sku}", STOREFRONT)
        assert response.status_code == 200, response.text
        inventory: dict[str, Any] = response.json()
        return inventory

    def stock(self, sku: str) -> dict[str, dict[str, int]]:
        """Per location: on_hand, reserved, available and safety_stock."""
        return {
            loc["location_id"]: {
                "on_hand": loc["on_hand"],
                "reserved": loc["reserved"],
                "available": loc["available"],
                "safety_stock": loc.get("safety_stock", 0),
            }
            for loc in self.inventory(sku)["locations"]
        }

    def price(self, sku: str) -> Decimal:
        """The catalogue price of a SKU, in EUR."""
        response = self.get("/catalog", STOREFRONT)
        assert response.status_code == 200, response.text
        product = next(p for p in response.json()["products"] if p["sku"] == sku)
        assert product["price"]["currency"] == "EUR"
        return Decimal(product["price"]["amount"])

    # Outbox --------------------------------------------------------------------------------
    def emails_to(self, address: str) -> list[EmailMessage]:
        """Every email written to the outbox for ``address`` so far."""
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if message["To"] == address:
                found.append(message)
        return found

    def wait_for_emails(
        self, address: str, subjects: list[str], timeout: float = SETTLE_TIMEOUT
    ) -> list[EmailMessage]:
        """All emails to ``address`` once there is one whose subject ends with each of
        ``subjects``."""

        def probe() -> list[EmailMessage] | None:
            messages = self.emails_to(address)
            seen = [str(m["Subject"]) for m in messages]
            return messages if all(any(s.endswith(w) for s in seen) for w in subjects) else None

        try:
            return eventually(probe, timeout=timeout, every=0.2)
        except AssertionError as exc:
            seen = [str(m["Subject"]) for m in self.emails_to(address)]
            raise AssertionError(f"wanted {subjects}; {address} got {seen}") from exc


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, message
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, message
    return str(part.get_content())
