"""What an order or a ticket holds is bounded, so its DynamoDB item (400 KB at most) always
has room for what must still happen to it: probe 201 filled an order with returns of one
unit and long reasons, and a ticket with long notes; every later write of them was a 500,
and goods that came back could not be refunded."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from chalicelib.domain.returns import MAX_RETURNS
from chalicelib.domain.tickets import NOTES_BYTES
from tests.support import JSON, OPS, STOREFRONT, assert_problem, idempotency_key, order_body
from tests.support.api import get_order, open_ticket, place_order
from tests.support.flow import fresh_sku, post_carrier_event, tracking_number
from tests.support.orders import wait_for_status

# The longest reason and note the API takes, of four-byte characters.
LONGEST_REASON = "\U0001f600" * 500
LONGEST_NOTE = "\U0001f600" * 4000


def test_an_order_takes_its_most_returns_and_can_still_receive_and_refund_each(
    client: Any, deps: Any
) -> None:
    units = MAX_RETURNS + 2
    sku = fresh_sku(deps, {"WH-GETAFE": units}, price="5.00")
    body = order_body(lines=[{"sku": sku, "quantity": units, "fulfillment": "ship"}])
    placed = place_order(client, body)
    order_id, page = placed["order_id"], urlparse(placed["tracking_url"]).path
    wait_for_status(client, order_id, "SHIPPED", settled=True)
    post_carrier_event(client, tracking_number(deps.store.get_order(order_id)))
    wait_for_status(client, order_id, "DELIVERED", settled=True)
    one = {"lines": [{"sku": sku, "quantity": 1}], "reason": LONGEST_REASON, "channel": "mail"}

    opened = []
    for _ in range(MAX_RETURNS):
        response = client.http.post(f"{page}/returns", headers=JSON, body=json.dumps(one))
        assert response.status_code == 201, response.body
        opened.append(response.json_body["return_id"])
    one_more = client.http.post(f"{page}/returns", headers=JSON, body=json.dumps(one))
    by_staff = client.http.post(
        f"/orders/{order_id}/returns",
        headers=STOREFRONT | JSON | idempotency_key(),
        body=json.dumps(one),
    )

    # The customer's page offers no more returns (``status``); staff are told why.
    assert_problem(one_more, 409, "status")
    assert_problem(by_staff, 409, "lines")
    # The page offers no return it would refuse, and says what to do (probe 202).
    tracked = client.http.get(page, headers={"Accept": "application/json"}).json_body
    assert "return" not in tracked["actions"] and "ticket" in tracked["actions"]
    html = client.http.get(page, headers={"Accept": "text/html"}).body.decode()
    assert "data-returns-full" in html and 'id="form-return"' not in html
    for return_id in opened:
        received = client.http.post(
            f"/returns/{return_id}/receive",
            headers=OPS | JSON,
            body=json.dumps({"location_id": "WH-GETAFE"}),
        )
        assert received.status_code == 200, received.body
    order = get_order(client, order_id, OPS)
    assert {r["status"] for r in order["returns"]} == {"RECEIVED"}
    paid_per_unit = Decimal(order["lines"][0]["charged"]["amount"]) / units
    refunded = Decimal(order["payment"]["refunded"]["amount"])
    assert refunded == (paid_per_unit * MAX_RETURNS).quantize(Decimal("0.01"))


def test_a_ticket_takes_notes_until_it_is_full_and_can_still_be_resolved(
    client: Any,
) -> None:
    created = client.http.post(
        "/customers",
        headers=OPS | JSON,
        body=json.dumps({"email": f"notes-{idempotency_key()['Idempotency-Key'][:8]}@example.com"}),
    )
    assert created.status_code in (200, 201), created.body
    ticket_id = open_ticket(client, created.json_body["customer_id"])
    path = f"/tickets/{ticket_id}"

    fits = NOTES_BYTES // len(LONGEST_NOTE.encode())
    for _ in range(fits):
        noted = client.http.patch(path, headers=OPS | JSON, body=json.dumps({"note": LONGEST_NOTE}))
        assert noted.status_code == 200, noted.body[:300]
    full = client.http.patch(path, headers=OPS | JSON, body=json.dumps({"note": LONGEST_NOTE}))
    resolved = client.http.patch(path, headers=OPS | JSON, body=json.dumps({"status": "resolved"}))

    assert_problem(full, 409, "note")
    assert resolved.status_code == 200, resolved.body
    shown = client.http.get(path, headers=OPS).json_body
    assert (shown["status"], len(shown["notes"])) == ("resolved", fits)
