"""Tickets over HTTP: opened against a customer's own order, worked forward only, and the
customer emailed when opened and when resolved."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support import JSON, OPS, STORE, assert_problem, eventually, idempotency_key, order_body
from tests.support.api import place_order
from tests.support.died import Killed, answer_never_kept, in_progress_time_passes


def _open(client: Any, customer_id: str, **body: Any) -> Any:
    payload = {"subject": "Wrong size", "description": "Sent M, ordered L", "channel": "phone"}
    return client.http.post(
        f"/customers/{customer_id}/tickets",
        headers=OPS | JSON,
        body=json.dumps(payload | body),
    )


def _patch(client: Any, ticket_id: str, body: dict[str, Any]) -> Any:
    return client.http.request(
        "PATCH", f"/tickets/{ticket_id}", headers=STORE | JSON, body=json.dumps(body)
    )


def _placed(client: Any) -> dict[str, Any]:
    email = f"tkt-{uuid.uuid4().hex[:10]}@example.com"
    return place_order(client, order_body(customer={"email": email, "locale": "en"})) | {
        "email": email
    }


def test_ticket_about_the_customers_order_is_opened_and_listed(client: Any) -> None:
    placed = _placed(client)

    opened = _open(client, placed["customer_id"], order_id=placed["order_id"], type="return")

    assert opened.status_code == 201, opened.body
    assert opened.json_body["status"] == "open"
    ticket_id = opened.json_body["ticket_id"]
    view = client.http.get(f"/customers/{placed['customer_id']}", headers=OPS).json_body
    assert {
        "ticket_id": ticket_id,
        "type": "return",
        "status": "open",
        "order_id": placed["order_id"],
        "subject": "Wrong size",
    } in view["tickets"]


def test_ticket_moves_forward_keeps_notes_and_resolved_is_final(client: Any) -> None:
    placed = _placed(client)
    ticket_id = _open(client, placed["customer_id"]).json_body["ticket_id"]

    pending = _patch(client, ticket_id, {"status": "pending", "note": "called the carrier"})
    back = _patch(client, ticket_id, {"status": "open"})
    resolved = _patch(client, ticket_id, {"status": "resolved", "note": "refund sent"})
    after = _patch(client, ticket_id, {"note": "one more thing"})

    assert pending.status_code == 200, pending.body
    assert_problem(back, 409, "status")
    assert resolved.json_body["status"] == "resolved"
    assert_problem(after, 409)
    ticket = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert [n["text"] for n in ticket["notes"]] == ["called the carrier", "refund sent"]
    assert ticket["resolved_at"] is not None


def test_customer_is_emailed_when_a_ticket_opens_and_resolves(client: Any, stack: Any) -> None:
    placed = _placed(client)
    ticket_id = _open(client, placed["customer_id"]).json_body["ticket_id"]
    _patch(client, ticket_id, {"status": "resolved"})

    def ticket_emails() -> list[dict[str, Any]] | None:
        view = client.http.get(f"/customers/{placed['customer_id']}", headers=OPS).json_body
        found = [i for i in view["interactions"] if "ticket." in i["summary"]]
        return found if len(found) == 2 else None

    emails = eventually(ticket_emails)
    assert {e["summary"] for e in emails} == {
        "email sent: ticket.opened",
        "email sent: ticket.resolved",
    }


def test_ticket_for_another_customers_order_is_404_as_an_unknown_one(client: Any) -> None:
    mine, theirs = _placed(client), _placed(client)

    response = _open(client, mine["customer_id"], order_id=theirs["order_id"])
    unknown = _open(client, mine["customer_id"], order_id="ord_nobody")

    assert_problem(response, 404, "order_id")
    assert_problem(unknown, 404, "order_id")
    view = client.http.get(f"/customers/{mine['customer_id']}", headers=OPS).json_body
    assert view["tickets"] == []


def test_bad_tickets_are_problems(client: Any) -> None:
    placed = _placed(client)

    assert_problem(_open(client, "cus_nobody"), 404)
    assert_problem(_open(client, placed["customer_id"], type="rant"), 422, "type")
    assert_problem(_open(client, placed["customer_id"], subject=""), 422, "subject")
    assert_problem(_open(client, placed["customer_id"], subject="a\nb"), 422, "subject")
    assert_problem(client.http.get("/tickets/tkt_nope", headers=OPS), 404)
    assert_problem(_patch(client, "tkt_nope", {"status": "pending"}), 404)
    ticket_id = _open(client, placed["customer_id"]).json_body["ticket_id"]
    assert_problem(_patch(client, ticket_id, {}), 422)
    assert_problem(_patch(client, ticket_id, {"status": "closed"}), 422, "status")


def test_a_ticket_asked_again_after_its_request_died_is_opened_and_emailed_once(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the ticket was written, then the Lambda died before its answer was stored;
    # once the key's in-progress time passed, the retry opened a second ticket and emailed
    # the customer again.
    placed = _placed(client)
    customer_id = placed["customer_id"]
    key = idempotency_key()
    payload = {"subject": "Wrong size", "description": "Sent M, ordered L", "channel": "phone"}
    path = f"/customers/{customer_id}/tickets"
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        client.http.post(path, headers=OPS | JSON | key, body=json.dumps(payload))
    in_progress_time_passes(deps)

    again = client.http.post(path, headers=OPS | JSON | key, body=json.dumps(payload))

    assert again.status_code == 201, again.body
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert [t["ticket_id"] for t in view["tickets"]] == [again.json_body["ticket_id"]]
    stack.lambdas.drain()
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    told = [i for i in view["interactions"] if i["summary"] == "email sent: ticket.opened"]
    assert len(told) == 1
