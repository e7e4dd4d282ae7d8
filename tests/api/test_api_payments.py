"""The payment as GET /orders/{id} shows it, and the sandbox gateway's own ledger
(GET /sandbox/payments/{payment_id}, ops, local stack only)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import get_order, place_order

ZERO = {"amount": "0.00", "currency": "EUR"}
LEDGER_KEYS = {"payment_id", "authorized", "captured", "refunded", "voided", "operations"}


def _settled_view(client: Any, order_id: str, *statuses: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        view = get_order(client, order_id)
        done = view["status"] in statuses and not view["payment"]["owed"]
        return view if done else None

    result: dict[str, Any] = eventually(probe, timeout=30)
    return result


def test_a_shipped_order_shows_what_was_authorised_and_captured_as_the_ledger_does(
    client: Any,
) -> None:
    placed = place_order(client, order_body())
    view = _settled_view(client, placed["order_id"], "SHIPPED")
    payment = view["payment"]
    assert {"status", "payment_id", "authorized", "captured", "refunded"} <= set(payment)
    assert payment["status"] == "CAPTURED"
    assert payment["authorized"] == payment["captured"] == view["total"]
    assert payment["refunded"] == ZERO
    assert view["attention"] is None

    response = client.http.get(f"/sandbox/payments/{payment['payment_id']}", headers=OPS)
    assert response.status_code == 200, response.body
    ledger = response.json_body
    assert set(ledger) == LEDGER_KEYS
    assert ledger["payment_id"] == payment["payment_id"]
    assert ledger["authorized"] == ledger["captured"] == view["total"]
    assert ledger["refunded"] == ledger["voided"] == ZERO
    # Authorised for the total; captured at hand-over: the goods, then the shipping fee
    # that goes with the first shipment (39.90 of T-shirts to Madrid pay the 4.95 fee).
    operations = [(op["type"], op["amount"]["amount"]) for op in ledger["operations"]]
    assert operations == [
        ("authorize", view["total"]["amount"]),
        ("capture", "39.90"),
        ("capture", "4.95"),
    ]
    assert view["total"]["amount"] == "44.85"
    for op in ledger["operations"]:
        assert {"type", "amount", "at"} <= set(op)


def test_a_declined_authorisation_keeps_the_gateways_payment_id_and_zero_amounts(
    client: Any,
) -> None:
    body = order_body(payment={"method": "card", "token": "tok_declined"})
    placed = place_order(client, body)
    view = _settled_view(client, placed["order_id"], "REJECTED")
    payment = view["payment"]
    assert payment["status"] == "DECLINED"
    assert payment["payment_id"]
    assert payment["authorized"] == payment["captured"] == payment["refunded"] == ZERO
    ledger = client.http.get(f"/sandbox/payments/{payment['payment_id']}", headers=OPS)
    assert ledger.status_code == 200, ledger.body
    assert ledger.json_body["authorized"] == ZERO
    assert ledger.json_body["operations"] == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer not-a-key"}, 401), (STOREFRONT, 403), (STORE, 403)],
)
def test_the_sandbox_ledger_is_for_ops_only(
    client: Any, headers: dict[str, str], status: int
) -> None:
    response = client.http.get("/sandbox/payments/pay_0123456789abcdef", headers=headers)
    assert_problem(response, status)


def test_an_unknown_payment_is_404(client: Any) -> None:
    response = client.http.get("/sandbox/payments/pay_doesnotexist", headers=OPS)
    assert_problem(response, 404, "payment_id")
    odd = client.http.get("/sandbox/payments/pago-%C3%B1%E2%82%AC", headers=OPS)
    assert_problem(odd, 404, "payment_id")


def test_without_the_sandbox_gateway_the_ledger_route_is_404(client: Any, deps: Any) -> None:
    placed = place_order(client, order_body())
    view = _settled_view(client, placed["order_id"], "SHIPPED")
    saved, deps.sandbox_ledger = deps.sandbox_ledger, None
    try:
        response = client.http.get(
            f"/sandbox/payments/{view['payment']['payment_id']}", headers=OPS
        )
    finally:
        deps.sandbox_ledger = saved
    assert_problem(response, 404, "payment_id")


def test_a_free_order_s_ledger_holds_nothing_and_an_unknown_one_is_404(client: Any) -> None:
    # Probe 203: a 0.00 order's payment id (it never asked the gateway) was 404 here, so
    # a reconciliation over every order's payment id broke on it.
    import json
    import uuid

    code = f"FREE{uuid.uuid4().hex[:8].upper()}"
    created = client.http.post(
        "/promotions",
        headers=OPS | {"Content-Type": "application/json"},
        body=json.dumps({"name": "Gratis", "code": code, "kind": "percent", "value": "100"}),
    )
    assert created.status_code == 201, created.body
    pickup = {
        "sku": "TSHIRT-BLK-M",
        "quantity": 1,
        "fulfillment": "pickup",
        "location_id": "ST-MADRID",
    }
    body = order_body(coupon=code, lines=[pickup], shipping_address=None)
    placed = place_order(client, body)
    view = _settled_view(client, placed["order_id"], "READY_FOR_PICKUP")
    assert view["total"] == ZERO

    ledger = client.http.get(f"/sandbox/payments/{view['payment']['payment_id']}", headers=OPS)

    assert ledger.status_code == 200, ledger.body
    assert ledger.json_body == {
        "payment_id": view["payment"]["payment_id"],
        "authorized": ZERO,
        "captured": ZERO,
        "refunded": ZERO,
        "voided": ZERO,
        "operations": [],
    }
    made_up = client.http.get("/sandbox/payments/free_ord_00000000000000000000", headers=OPS)
    assert_problem(made_up, 404, "payment_id")
    # Probe 206: a paid order's id made into a free payment's read an empty ledger.
    paid = place_order(client, order_body())
    paid_view = _settled_view(client, paid["order_id"], "SHIPPED")
    assert paid_view["payment"]["payment_id"].startswith("pay_")
    as_free = client.http.get(f"/sandbox/payments/free_{paid['order_id']}", headers=OPS)
    assert_problem(as_free, 404, "payment_id")
