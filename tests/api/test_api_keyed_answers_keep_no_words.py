"""What a person wrote is not kept in an Idempotency-Key's record (probe 162). The record
lives 48 h and an erasure cannot find it, so a ticket's subject and description, an
interaction's summary and a survey's comment survived the erasure there, read raw. The
record keeps the answer without them, and a replay reads them again from the ticket,
the interaction or the survey the request made (an erased customer's replay is 409)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

from tests.support import JSON, OPS, STORE, assert_problem, idempotency_key, order_body
from tests.support.api import place_order
from tests.support.died import key_records
from tests.support.flow import post_carrier_event, tracking_number
from tests.support.orders import wait_for_status


def _records_holding(deps: Any, marker: str) -> list[str]:
    """The Idempotency-Key records whose stored answer holds ``marker``."""
    return [item["sk"]["S"] for item in key_records(deps) if marker in json.dumps(item)]


def _twice(client: Any, path: str, body: dict[str, Any], auth: dict[str, str]) -> list[Any]:
    key = idempotency_key()
    return [
        client.http.post(path, headers=auth | JSON | key, body=json.dumps(body)) for _ in (1, 2)
    ]


def test_a_keyed_ticket_and_interaction_keep_no_words_in_the_keys_record(
    client: Any, deps: Any
) -> None:
    marker = f"zq{uuid.uuid4().hex[:10]}"
    customer_id = place_order(client, order_body())["customer_id"]
    ticket = {
        "subject": f"Talla {marker}",
        "description": f"Vive en {marker}",
        "shipment": f"dejar con {marker}",
        "channel": "phone",
    }
    visit = {"type": "store_visit", "channel": "store", "summary": f"probó {marker}"}

    opened = _twice(client, f"/customers/{customer_id}/tickets", ticket, OPS)
    noted = _twice(client, f"/customers/{customer_id}/interactions", visit, STORE)

    for first, again in (opened, noted):
        assert first.status_code == again.status_code == 201, first.body
        assert again.body == first.body  # the replay reads the words again, byte for byte
    shown = opened[0].json_body
    assert (shown["subject"], shown["shipment"], noted[0].json_body["summary"]) == (
        ticket["subject"],
        ticket["shipment"],
        visit["summary"],
    )
    assert _records_holding(deps, marker) == []


def test_a_keyed_survey_comment_is_not_kept_in_the_keys_record(client: Any, deps: Any) -> None:
    marker = f"zq{uuid.uuid4().hex[:10]}"
    placed = place_order(client, order_body())
    wait_for_status(client, placed["order_id"], "SHIPPED")
    post_carrier_event(client, tracking_number(deps.store.get_order(placed["order_id"])))
    wait_for_status(client, placed["order_id"], "DELIVERED")
    track = urlparse(placed["tracking_url"]).path
    view = client.http.get(track, headers={"Accept": "application/json"}).json_body
    path = urlparse(str(view["survey_url"])).path

    first, again = _twice(client, path, {"score": 4, "comment": f"bien {marker}"}, {})

    assert first.status_code == again.status_code == 201, first.body
    assert again.body == first.body
    assert first.json_body["comment"] == f"bien {marker}"
    assert _records_holding(deps, marker) == []


def test_an_erased_customers_keyed_ticket_replayed_is_409_and_holds_no_words(
    client: Any, deps: Any
) -> None:
    marker = f"zq{uuid.uuid4().hex[:10]}"
    customer_id = place_order(client, order_body())["customer_id"]
    ticket = {"subject": f"Talla {marker}", "description": "M", "channel": "phone"}
    key = idempotency_key()
    path = f"/customers/{customer_id}/tickets"
    first = client.http.post(path, headers=OPS | JSON | key, body=json.dumps(ticket))
    assert first.status_code == 201, first.body
    erased = client.http.post(
        f"/customers/{customer_id}/erase", headers=OPS | JSON, body=json.dumps({})
    )
    assert erased.status_code == 200, erased.body

    replayed = client.http.post(path, headers=OPS | JSON | key, body=json.dumps(ticket))

    assert_problem(replayed, 409)
    assert marker not in replayed.body.decode()
    assert _records_holding(deps, marker) == []
