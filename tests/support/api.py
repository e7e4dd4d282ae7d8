"""Helpers for the API tests: placing orders, reading problem documents, proving that a
refused request stored nothing."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.adapters.dynamodb.order_document import is_document, unpack
from chalicelib.adapters.dynamodb.table import from_item
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import NotFound
from chalicelib.services import ordering
from tests.support import JSON, OPS, STOREFRONT, idempotency_key


def api_key_of(auth: dict[str, str]) -> str:
    """The bare key of an ``Authorization: Bearer <key>`` header dict."""
    return auth["Authorization"].removeprefix("Bearer ").strip()


def expected_order_id(auth: dict[str, str], key: dict[str, str]) -> str:
    """The order id ``POST /orders`` derives from the caller's API key and Idempotency-Key."""
    client_id = hashlib.sha256(api_key_of(auth).encode()).hexdigest()[:16]
    return ordering.order_id_for(client_id, key["Idempotency-Key"])


def post_order(
    client: Any,
    body: Any,
    auth: dict[str, str] = STOREFRONT,
    key: dict[str, str] | None = None,
    content_type: dict[str, str] = JSON,
) -> tuple[Any, dict[str, str]]:
    """``POST /orders``; returns the response and the Idempotency-Key header used."""
    key = key if key is not None else idempotency_key()
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.http.post("/orders", headers=auth | content_type | key, body=raw)
    return response, key


def place_order(client: Any, body: dict[str, Any], auth: dict[str, str] = STOREFRONT) -> Any:
    """A successfully placed order's ``POST /orders`` reply."""
    response, _ = post_order(client, body, auth)
    assert response.status_code == 202, response.body
    return response.json_body


def orders_placed_by(deps: Any, address: str) -> list[str]:
    """Ids of the orders whose customer email is ``address``: the orders a test placed with
    its own fresh email, whatever other tests store in the shared table meanwhile."""
    dynamodb = boto3.client("dynamodb", region_name=deps.settings.region)
    found: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=deps.settings.table_name,
        FilterExpression="sk = :order AND begins_with(pk, :prefix)",
        ExpressionAttributeValues={":order": {"S": "ORDER"}, ":prefix": {"S": "ORDER#"}},
    ):
        for item in page["Items"]:
            details = from_item(item)  # the order's details item, or its older one item
            doc = unpack(details) if is_document(details) else details
            if (doc.get("contact") or {}).get("email") == address:
                found.append(item["pk"]["S"].removeprefix("ORDER#"))
    return found


def executions_named(deps: Any, name: str) -> list[dict[str, Any]]:
    """The state machine's executions called ``name``."""
    sfn = boto3.client("stepfunctions", region_name=deps.settings.region)
    found: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=deps.settings.state_machine_arn
    ):
        found.extend(e for e in page["executions"] if e["name"] == name)
    return found


def assert_not_stored(
    deps: Any, auth: dict[str, str], key: dict[str, str], email: str | None = None
) -> None:
    """No order under the id this request would have created, and no customer and no order
    for its email."""
    with pytest.raises(NotFound):
        deps.store.get_order(expected_order_id(auth, key))
    if email is not None:
        identifier = Identifier(type=IdentifierType.EMAIL, value=email.strip().lower())
        assert deps.store.find_identifier(identifier) is None
        assert orders_placed_by(deps, email) == []


def open_ticket(client: Any, customer_id: str) -> str:
    """``POST /customers/{customer_id}/tickets`` as ops, which must succeed: the ticket's id."""
    response = client.http.post(
        f"/customers/{customer_id}/tickets",
        headers=OPS | JSON,
        body=json.dumps({"subject": "s", "description": "d", "channel": "phone"}),
    )
    assert response.status_code == 201, response.body
    return str(response.json_body["ticket_id"])


def get_order(client: Any, order_id: str, auth: dict[str, str] = STOREFRONT) -> dict[str, Any]:
    """``GET /orders/{order_id}``, which must succeed."""
    response = client.http.get(f"/orders/{order_id}", headers=auth)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def customer_360(client: Any, customer_id: str, query: str = "") -> dict[str, Any]:
    """``GET /customers/{customer_id}`` as ops (the customer 360), which must succeed."""
    response = client.http.get(f"/customers/{customer_id}{query}", headers=OPS)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def merge(client: Any, into: str, source: str, auth: dict[str, str] = OPS) -> Any:
    """``POST /customers/{into}/merge`` of ``source``: the reply, for the caller to judge."""
    return client.http.post(
        f"/customers/{into}/merge",
        headers=auth | JSON,
        body=json.dumps({"from_customer_id": source}),
    )


def sent_code(outbox: Path, address: str) -> str:
    """The newest one-time code the outbox holds for an email address or a phone."""
    found: list[tuple[float, str]] = []
    for path in outbox.glob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".eml":
            message = email.message_from_string(text, policy=email.policy.default)
            if message["To"] != address:
                continue
        elif not text.startswith(f"To: {address}\n"):
            continue
        # Only the code's own sentence: an order email to the same address may hold other
        # six-digit runs (a signature, a reference) and be newer.
        match = re.search(r"Your Orquesta code is (\d{6})\b", text)
        if match:
            found.append((path.stat().st_mtime_ns, match.group(1)))
    assert found, f"no code was sent to {address}"
    return max(found)[1]


def verify_customer(
    client: Any, outbox: Path, address: str | None = None, auth: dict[str, str] = STOREFRONT
) -> dict[str, Any]:
    """Prove an email (a fresh one unless given) with the code sent to it:
    ``{"customer_id", "customer_token", "expires_at"}``."""
    address = address or f"verified-{uuid.uuid4().hex[:10]}@example.com"
    field = "phone" if address.startswith("+") else "email"
    sent = client.http.post(
        "/customers/verifications", headers=auth | JSON, body=json.dumps({field: address})
    )
    assert sent.status_code == 202, sent.body
    code = sent_code(outbox, address)
    confirmed = client.http.post(
        "/customers/verifications/confirm",
        headers=auth | JSON,
        body=json.dumps({field: address, "code": code}),
    )
    assert confirmed.status_code == 200, confirmed.body
    body: dict[str, Any] = confirmed.json_body
    return body
