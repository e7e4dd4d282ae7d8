"""The local stack's start-up banner lists the bearer keys in effect: the demo keys, or
the ones ``ORQUESTA_API_KEYS`` replaces them with (role, client_id, location_id)."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from chalicelib.adapters.secrets import parse_api_keys
from chalicelib.config import DEMO_API_KEYS
from infra.local.__main__ import banner, key_lines
from tests.support import eventually
from tests.support.stack_process import start_stack, stop_stack

OVERRIDE = {
    "shop-key-1": {"role": "storefront", "client_id": "acme-shop"},
    "till-madrid": {"role": "store", "location_id": "ST-MADRID"},
    "ops-key": "ops",
}
DEMO_KEYS = ("demo-storefront", "demo-store", "demo-ops", "demo-storefront-2", "demo-store-madrid")


class _Stack:
    url = "http://localhost:8000"
    outbox = Path("var/outbox")


def test_the_demo_keys_are_listed_with_their_client_and_store() -> None:
    lines = key_lines(parse_api_keys(DEMO_API_KEYS))

    assert [line.split()[1] for line in lines] == [
        "demo-storefront",
        "demo-storefront-2",
        "demo-store",
        "demo-store-madrid",
        "demo-ops",
    ]
    assert "client_id demo-shop-2" in lines[1]
    assert "location_id ST-MADRID" in lines[3]


def test_keys_given_in_orquesta_api_keys_replace_the_demo_ones_in_the_banner() -> None:
    shown = banner(_Stack(), 5000, parse_api_keys(OVERRIDE))

    assert not [key for key in DEMO_KEYS if key in shown]
    assert "storefront: shop-key-1  client_id acme-shop" in shown
    assert "store:      till-madrid  (its own client)  location_id ST-MADRID" in shown
    assert "ops:        ops-key  (its own client)" in shown
    # The examples use a key that works.
    assert "Authorization: Bearer shop-key-1" in shown


def test_the_running_stack_prints_the_keys_it_accepts(tmp_path: Path) -> None:
    stack = start_stack(tmp_path, 21600, 0, 120.0, {"ORQUESTA_API_KEYS": json.dumps(OVERRIDE)})
    try:
        # /health answers as soon as the server is up; the banner follows start-up.
        printed = eventually(lambda: stack.stdout() if "Coupon" in stack.stdout() else None)
        assert "ops:        ops-key  (its own client)" in printed
        assert not [key for key in DEMO_KEYS if key in printed]
        answered = {
            key: requests.get(
                f"{stack.url}/ops/alerts", headers={"Authorization": f"Bearer {key}"}, timeout=10
            ).status_code
            for key in ("ops-key", "demo-ops")
        }
        assert answered == {"ops-key": 200, "demo-ops": 401}
    finally:
        assert stop_stack(stack, 60.0) == 0
