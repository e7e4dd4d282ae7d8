"""``PATCH /tickets/{ticket_id}`` under an Idempotency-Key (probe 161: a retried note was
written once per request, 10 notes for one). The same key and body work the ticket once;
another body under the key is 422 naming it; without a key each request is its own, as
before. The key's record keeps the ticket's id alone, never the note's words."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support import JSON, OPS, STORE, assert_problem, idempotency_key, order_body
from tests.support.api import open_ticket, place_order
from tests.support.died import key_records


def _ticket(client: Any) -> str:
    return open_ticket(client, place_order(client, order_body())["customer_id"])


def _patch(client: Any, ticket_id: str, body: dict[str, Any], key: dict[str, str]) -> Any:
    return client.http.request(
        "PATCH", f"/tickets/{ticket_id}", headers=STORE | JSON | key, body=json.dumps(body)
    )


def test_a_note_sent_again_under_its_key_is_written_once(client: Any, deps: Any) -> None:
    ticket_id = _ticket(client)
    marker = f"zq{uuid.uuid4().hex[:10]}"
    note = {"status": "pending", "note": f"llamó {marker}"}
    key = idempotency_key()

    answers = [_patch(client, ticket_id, note, key) for _ in range(3)]
    other = _patch(client, ticket_id, {"note": "otra cosa"}, key)

    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].body
    assert all(a.json_body == answers[0].json_body for a in answers)
    assert [n["text"] for n in answers[0].json_body["notes"]] == [note["note"]]
    assert answers[0].json_body["status"] == "pending"
    assert_problem(other, 422, "Idempotency-Key")
    shown = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert [n["text"] for n in shown["notes"]] == [note["note"]]
    assert [i["sk"]["S"] for i in key_records(deps) if marker in json.dumps(i)] == []


def test_without_a_key_each_note_is_its_own(client: Any) -> None:
    ticket_id = _ticket(client)

    for _ in range(2):
        assert _patch(client, ticket_id, {"note": "llamó"}, {}).status_code == 200

    shown = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert [n["text"] for n in shown["notes"]] == ["llamó", "llamó"]
