"""Text in any header, path segment, query or body, non-ASCII included, never causes a
5xx: thrown at every registered route's path parameters, Authorization, X-Customer-Token,
Idempotency-Key, the carrier signature, the query and every body field (pick-up, receipt
and verification codes among them)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import pytest

import chalicelib.api
from chalicelib.api.http import ROUTE_DOCS, RouteDoc
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, order_body
from tests.support.api import place_order, verify_customer

for _module in pkgutil.iter_modules(chalicelib.api.__path__):
    importlib.import_module(f"chalicelib.api.{_module.name}")

TEXTS = ["ñandú€", "😀²١٢٣", "e\u0301\u202e\udce9"]
KEYS = {"storefront": STOREFRONT, "store": STORE, "ops": OPS}


def _auth(doc: RouteDoc) -> dict[str, str]:
    return KEYS[doc.roles[0]] if doc.roles else {}


def _body(doc: RouteDoc, text: str) -> str:
    if doc.request is None:
        return json.dumps({"x": text}, ensure_ascii=False)
    return json.dumps({name: text for name in doc.request.model_fields}, ensure_ascii=False)


def _headers(text: str) -> dict[str, str]:
    return {
        "X-Customer-Token": text,
        "Idempotency-Key": text,
        "X-Orquesta-Signature": f"t={text},v1={text}",
        "Accept": text,
    }


def _send(client: Any, doc: RouteDoc, path: str, headers: dict[str, str], body: str) -> Any:
    return client.http.request(
        doc.method, path, headers=headers | JSON, body=body.encode("utf-8", "surrogatepass")
    )


_placed: dict[str, Any] = {}


@pytest.mark.parametrize("doc", ROUTE_DOCS, ids=lambda d: f"{d.method} {d.path}")
def test_non_ascii_anywhere_in_a_request_is_never_a_5xx(client: Any, doc: RouteDoc) -> None:
    # One order of the caller's own, so that ownership checks pass and the text gets further.
    if "order" not in _placed:
        _placed["order"] = place_order(client, order_body())
    placed = _placed["order"]
    answers: list[tuple[str, int]] = []
    for text in TEXTS:
        raw_path = re.sub(r"\{[^}]+\}", text, doc.path)
        encoded = re.sub(r"\{[^}]+\}", quote(text.encode("utf-8", "surrogatepass")), doc.path)
        own = re.sub(r"\{order_id\}", placed["order_id"], doc.path)
        own = re.sub(r"\{[^}]+\}", quote(text.encode("utf-8", "surrogatepass")), own)
        query = ""
        if doc.query is not None:
            query = "?" + urlencode(
                {n: text for n in doc.query.model_fields}, encoding="utf-8", errors="surrogatepass"
            )
        for path in (raw_path, encoded + query, own + query):
            response = _send(client, doc, path, _auth(doc) | _headers(text), _body(doc, text))
            answers.append((f"{path} as key", response.status_code))
        for authorization in (f"Bearer {text}", f"{text} {text}", text):
            response = _send(
                client, doc, encoded, {"Authorization": authorization}, _body(doc, text)
            )
            answers.append((f"{path} with Authorization {authorization!r}", response.status_code))

    assert [a for a in answers if a[1] >= 500] == []


def test_a_non_ascii_idempotency_key_is_refused_by_its_rule_and_places_nothing(
    client: Any,
) -> None:
    # The documented rule is 1 to 255 printable ASCII characters: a 422 naming the header,
    # never a 5xx, and no order (the same body under a good key is the first order).
    body, key = order_body(), {"Idempotency-Key": "pedido-ñandú-😀"}
    refused = client.http.post("/orders", headers=STOREFRONT | JSON | key, body=json.dumps(body))
    assert_problem(refused, 422, "Idempotency-Key")
    good = {"Idempotency-Key": f"pedido-{uuid.uuid4().hex}"}
    placed = client.http.post("/orders", headers=STOREFRONT | JSON | good, body=json.dumps(body))
    assert placed.status_code == 202, placed.body


def test_a_non_ascii_customer_token_or_customer_id_is_refused_not_a_5xx(
    client: Any, stack: Any
) -> None:
    verified = verify_customer(client, stack.outbox)
    customer_id = verified["customer_id"]
    token = verified["customer_token"]
    for path, presented in (
        (f"/customers/{customer_id}/export", "c1.k0.9999999999.ñ." + "é" * 32),
        (f"/customers/{customer_id}/export", token[:-1] + "é"),
        (f"/customers/{customer_id}/export", token.replace(customer_id, customer_id + "ñ")),
        (f"/customers/{quote(customer_id + 'ñ')}/export", token),
        (f"/customers/{customer_id}ñ/export", token),
    ):
        response = client.http.get(path, headers=STOREFRONT | {"X-Customer-Token": presented})
        assert_problem(response, 403, "X-Customer-Token")
