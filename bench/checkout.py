"""Checkout latency: ``POST /quotes`` and ``GET /availability/{sku}`` as a storefront calls
them while a shopper waits (sequential requests on one session; p50 and p99)."""

from __future__ import annotations

import time
from typing import Any

from bench.order_figures import percentile

REQUESTS = 200
SKUS = ("TSHIRT-BLK-M", "JEANS-34", "SNEAKER-42", "BAG-TOTE")
POSTAL_CODES = ("28013", "08012", "46004", "35001", "07001")


def _timed(calls: list[Any]) -> dict[str, float]:
    seconds: list[float] = []
    for call in calls:
        started = time.perf_counter()
        response = call()
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
    }


def run_checkout(url: str) -> dict[str, dict[str, float]]:
    """``REQUESTS`` quotes (two lines, shipped to a different region each time) and as
    many availability look-ups."""
    import requests

    from tests.support import STOREFRONT

    def quote(i: int) -> Any:
        lines = [
            {"sku": SKUS[i % len(SKUS)], "quantity": 1, "fulfillment": "ship"},
            {"sku": SKUS[(i + 1) % len(SKUS)], "quantity": 1, "fulfillment": "ship"},
        ]
        address = {
            "name": "Bench",
            "line1": "Calle 1",
            "city": "X",
            "postal_code": POSTAL_CODES[i % len(POSTAL_CODES)],
            "country": "ES",
        }
        body = {"channel": "web", "lines": lines, "shipping_address": address}
        return session.post(f"{url}/quotes", json=body, headers=STOREFRONT, timeout=60)

    def availability(i: int) -> Any:
        sku, postal_code = SKUS[i % len(SKUS)], POSTAL_CODES[i % len(POSTAL_CODES)]
        path = f"{url}/availability/{sku}?postal_code={postal_code}&quantity=1"
        return session.get(path, headers=STOREFRONT, timeout=60)

    with requests.Session() as session:
        return {
            "quote": _timed([lambda i=i: quote(i) for i in range(REQUESTS)]),
            "availability": _timed([lambda i=i: availability(i) for i in range(REQUESTS)]),
        }
