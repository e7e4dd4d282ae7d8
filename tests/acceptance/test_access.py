"""Who may do what, over HTTP against ``python -m infra.local``: another storefront client
cannot see or cancel an order, a customer proves their email with the code in the outbox
to read their own data, codes lock out, tracking links are revoked by ops, and bytes that
are not ASCII in headers and paths never give a 5xx."""

from __future__ import annotations

import re
import socket
import uuid
from urllib.parse import urlparse

import pytest

from tests.support import OPS, OTHER_STOREFRONT, STOREFRONT, assert_problem, order_body
from tests.support.shop import Shop

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]


def _code_for(shop: Shop, address: str) -> str:
    messages = shop.wait_for_emails(address, ["Your code"])
    [subject] = [str(m["Subject"]) for m in messages if "Your code" in str(m["Subject"])]
    found = re.search(r"\b(\d{6})\b", subject)
    assert found, subject
    return found.group(1)


def test_another_storefront_client_cannot_read_or_cancel_an_order(shop: Shop) -> None:
    placed = shop.place_ok(order_body())
    order_id = placed["order_id"]

    read = shop.get(f"/orders/{order_id}", OTHER_STOREFRONT)
    cancel = shop.post(f"/orders/{order_id}/cancel", {}, OTHER_STOREFRONT)
    unknown = shop.get("/orders/ord_00000000000000000000", OTHER_STOREFRONT)

    assert_problem(read, 404)
    assert_problem(cancel, 404)
    assert read.json() == {
        **unknown.json(),
        "detail": f"no order {order_id}",
        "errors": [{"field": "order_id", "message": f"no order {order_id}"}],
    }
    assert shop.order(order_id)["status"] != "CANCELLED"


def test_a_customer_proves_their_email_and_reads_their_own_export(shop: Shop) -> None:
    body = order_body()
    address = body["customer"]["email"]
    placed = shop.place_ok(body)
    assert "customer_token" not in placed
    export = f"/customers/{placed['customer_id']}/export"
    assert_problem(shop.get(export, STOREFRONT), 403)

    sent = shop.post("/customers/verifications", {"email": address}, STOREFRONT)
    assert sent.status_code == 202 and sent.json() == {"status": "sent"}
    confirmed = shop.post(
        "/customers/verifications/confirm",
        {"email": address, "code": _code_for(shop, address)},
        STOREFRONT,
    )

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["customer_id"] == placed["customer_id"]
    token = {"X-Customer-Token": confirmed.json()["customer_token"]}
    assert shop.get(export, STOREFRONT | token).status_code == 200


def test_five_wrong_verification_codes_lock_the_address_with_retry_after(shop: Shop) -> None:
    address = f"lock-{uuid.uuid4().hex[:10]}@example.com"
    shop.post("/customers/verifications", {"email": address}, STOREFRONT)
    code = _code_for(shop, address)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(5):
        reply = shop.post(
            "/customers/verifications/confirm", {"email": address, "code": wrong}, STOREFRONT
        )
        assert_problem(reply, 422)
    locked = shop.post(
        "/customers/verifications/confirm", {"email": address, "code": code}, STOREFRONT
    )

    assert_problem(locked, 429)
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60


def test_ops_revoke_a_tracking_link(shop: Shop) -> None:
    placed = shop.place_ok(order_body())
    old = placed["tracking_url"]
    assert shop.get(old).status_code == 200

    revoked = shop.post(f"/ops/orders/{placed['order_id']}/tracking-token/revoke", b"", OPS)

    assert revoked.status_code == 200, revoked.text
    assert shop.get(old).status_code == 404
    assert shop.get(revoked.json()["tracking_url"]).status_code == 200


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/orders/ord_%C3%B1%F0%9F%98%80", {b"Authorization": b"Bearer demo-storefront"}),
        ("/orders/ord_\xc3\xb1", {b"Authorization": b"Bearer demo-storefront"}),
        ("/orders/x", {b"Authorization": "Bearer ñandú".encode()}),
        ("/orders/x", {b"Authorization": b"Bearer \xff\xfe"}),
        (
            "/customers/cus_%C3%B1/export",
            {
                b"Authorization": b"Bearer demo-storefront",
                b"X-Customer-Token": "c1.k0.99.ñ.é".encode(),
            },
        ),
        ("/track/%C3%B1.%F0%9F%98%80", {}),
        ("/track/v1.k0.0.ord_%C3%B1.%C3%A9", {b"Accept": "ñ".encode()}),
    ],
)
def test_non_ascii_bytes_in_paths_and_headers_are_never_a_5xx(
    shop: Shop, path: str, headers: dict[bytes, bytes]
) -> None:
    # Raw bytes on the wire: HTTP clients refuse to send most of these.
    target = urlparse(shop.url)
    lines = [b"GET " + path.encode("latin-1") + b" HTTP/1.1", b"Host: " + target.netloc.encode()]
    lines += [name + b": " + value for name, value in headers.items()]
    lines += [b"Connection: close", b"", b""]
    with socket.create_connection((target.hostname or "", target.port or 80), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines))
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])

    assert 400 <= status < 500, status
