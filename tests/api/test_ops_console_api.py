"""The ops console's JSON routes (executions, timeline, state machine, outbox) and its page:
ops keys only, and what each shows about an order you place."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.support import (
    JSON,
    OPS,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    order_body,
    signed_event,
)
from tests.support.api import get_order, place_order
from tests.support.orders import wait_for_status

UNKNOWN_ORDER = "ord_00000000000000000000"
OPS_JSON_ROUTES = [
    "/ops/executions",
    "/ops/executions?status=RUNNING&limit=5",
    f"/ops/orders/{UNKNOWN_ORDER}/timeline",
    f"/ops/orders/{UNKNOWN_ORDER}/execution",
    "/ops/statemachine",
    "/ops/outbox",
    "/ops/sla",
]


@pytest.mark.parametrize("path", OPS_JSON_ROUTES)
@pytest.mark.parametrize("auth", [STOREFRONT, STORE], ids=["storefront", "store"])
def test_every_ops_route_refuses_other_roles_with_403(
    client: Any, path: str, auth: dict[str, str]
) -> None:
    response = client.http.get(path, headers=auth)

    assert_problem(response, 403, "Authorization")


@pytest.mark.parametrize("path", OPS_JSON_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "demo-ops"}],
    ids=["no-key", "unknown-key", "no-scheme"],
)
def test_every_ops_route_refuses_unauthenticated_callers_with_401(
    client: Any, path: str, headers: dict[str, str]
) -> None:
    response = client.http.get(path, headers=headers)

    assert_problem(response, 401, "Authorization")
    assert response.headers.get("WWW-Authenticate") == "Bearer"


def test_the_page_is_a_sign_in_form_that_holds_no_data_and_no_key(client: Any) -> None:
    response = client.http.get("/ops")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert 'id="signin-form"' in page
    assert 'type="password"' in page
    assert "sessionStorage" in page
    assert "Authorization: `Bearer ${token}`" in page
    assert "demo-ops" not in page
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    # Each response gets its own script nonce.
    assert client.http.get("/ops").headers["Content-Security-Policy"] != policy


def _executions(client: Any, query: str = "") -> dict[str, Any]:
    response = client.http.get(f"/ops/executions{query}", headers=OPS)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def test_executions_count_and_list_an_order_you_place(client: Any) -> None:
    placed = place_order(client, order_body())
    order_id = placed["order_id"]
    wait_for_status(client, order_id, "SHIPPED")

    body = _executions(client, "?status=RUNNING&limit=1000")

    assert set(body["counts"]) == {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
    assert body["counts"]["RUNNING"] >= 1
    assert body["status"] == "RUNNING"
    mine = [row for row in body["executions"] if row["order_id"] == order_id]
    assert len(mine) == 1, body["executions"][:5]
    assert mine[0]["execution_arn"] == placed["execution_arn"]
    assert mine[0]["status"] == "RUNNING"
    assert mine[0]["started_at"] and mine[0]["stopped_at"] is None
    assert all(row["status"] == "RUNNING" for row in body["executions"])
    # The count and the list are two reads while other tests' executions start and end,
    # so they may differ by a few; a list cut at a page would differ by far more.
    assert abs(len(body["executions"]) - min(body["counts"]["RUNNING"], 1000)) <= 5


def test_executions_list_is_newest_first_and_limited(client: Any) -> None:
    first = place_order(client, order_body())
    second = place_order(client, order_body())

    body = _executions(client, "?limit=2")

    assert len(body["executions"]) == 2
    assert body["status"] is None
    assert [row["order_id"] for row in body["executions"]] == [
        second["order_id"],
        first["order_id"],
    ]


def test_a_declined_order_counts_as_succeeded_not_failed(client: Any) -> None:
    # A rejection is a business outcome: the execution ends through OrderRejected.
    placed = place_order(client, order_body(payment={"method": "card", "token": "tok_declined"}))

    def finished() -> dict[str, Any] | None:
        rows = _executions(client, "?status=SUCCEEDED&limit=1000")["executions"]
        return next((row for row in rows if row["order_id"] == placed["order_id"]), None)

    row = eventually(finished)
    assert row["stopped_at"] is not None
    assert datetime.fromisoformat(row["stopped_at"]) >= datetime.fromisoformat(row["started_at"])


@pytest.mark.parametrize(
    "query", ["?status=running", "?status=DONE", "?limit=0", "?limit=1001", "?limit=ten"]
)
def test_executions_refuse_a_bad_filter_with_422(client: Any, query: str) -> None:
    response = client.http.get(f"/ops/executions{query}", headers=OPS)

    field = "status" if "status" in query else "limit"
    assert_problem(response, 422, field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?days=0", "days"),
        ("?days=a-month", "days"),
        ("?from=yesterday", "from"),
        ("?to=2026-13-01", "to"),
        # Not dates: a Unix timestamp, a time without its zone, a bare number.
        ("?to=0.5", "to"),
        ("?from=1764500000", "from"),
        ("?to=2026-11-01T10:00:00", "to"),
        ("?to=2026-11-01%2010:00:00Z", "to"),
        ("?days=3&color=red", "color"),
    ],
)
def test_the_sla_scorecard_refuses_a_bad_period_naming_the_parameter(
    client: Any, query: str, field: str
) -> None:
    assert_problem(client.http.get(f"/ops/sla{query}", headers=OPS), 422, field)


def test_the_scorecard_takes_its_period_by_the_documented_names_only(client: Any) -> None:
    # A re-probe: "start" (the field's own name) was read, past the document and the
    # repeat check, the last of two values winning.
    response = client.http.get("/ops/sla?start=2026-01-01&start=2026-11-01", headers=OPS)

    assert_problem(response, 422, "start")


@pytest.mark.parametrize(
    "query",
    ["?from=2026-11-02&to=2026-11-01", "?from=2026-11-01&to=2026-11-01", "?from=9999-12-31"],
)
def test_a_period_that_does_not_end_after_it_starts_is_422_naming_from(
    client: Any, query: str
) -> None:
    # Two probes: a period typed backwards answered an empty scorecard, "no shipments".
    assert_problem(client.http.get(f"/ops/sla{query}", headers=OPS), 422, "from")


def test_the_sla_scorecard_reads_offsets_and_the_edges_of_time(client: Any) -> None:
    offset = client.http.get("/ops/sla?to=2026-11-08T12:00:00%2B02:00&days=1", headers=OPS)
    edge = client.http.get("/ops/sla?to=0001-01-01T00:00:00%2B01:00", headers=OPS)

    assert offset.status_code == 200, offset.body
    assert offset.json_body["end"] == "2026-11-08T10:00:00+00:00"
    assert edge.status_code == 200, edge.body


def test_the_sla_scorecard_takes_a_period_by_dates(client: Any) -> None:
    response = client.http.get("/ops/sla?from=2026-11-01&to=2026-11-08T12:00:00Z", headers=OPS)

    assert response.status_code == 200, response.body
    assert response.json_body["start"] == "2026-11-01T00:00:00+00:00"
    assert response.json_body["end"] == "2026-11-08T12:00:00+00:00"


def _timeline(client: Any, order_id: str) -> dict[str, Any]:
    response = client.http.get(f"/ops/orders/{order_id}/timeline", headers=OPS)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def test_timeline_has_the_statuses_emails_and_webhooks_in_time_order(client: Any) -> None:
    request = order_body()
    placed = place_order(client, request)
    order_id = placed["order_id"]
    order = wait_for_status(client, order_id, "SHIPPED")
    shipment = order["fulfillments"][0]["shipment"]
    body, headers = signed_event(shipment["tracking_number"], "in_transit")
    posted = client.http.post(f"/carriers/{shipment['carrier']}/events", headers=headers, body=body)
    assert posted.status_code == 200, posted.body

    def complete() -> dict[str, Any] | None:
        timeline = _timeline(client, order_id)
        kinds = {entry["kind"] for entry in timeline["entries"]}
        emailed = {e["title"] for e in timeline["entries"] if e["kind"] == "email"}
        return (
            timeline
            if {"status", "email", "webhook"} <= kinds and "email: shipment sent" in emailed
            else None
        )

    timeline = eventually(complete)

    assert timeline["order_id"] == order_id
    assert timeline["execution_arn"] == placed["execution_arn"]
    entries = timeline["entries"]
    statuses = [e["title"] for e in entries if e["kind"] == "status"]
    assert statuses[:4] == ["ACCEPTED", "PAID", "RESERVED", "SHIPPED"]
    assert statuses == [h["status"] for h in get_order(client, order_id, OPS)["history"]]
    times = [datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in entries]
    assert times == sorted(times)
    emails = [e for e in entries if e["kind"] == "email"]
    # The confirmation goes out once the stock is reserved (domain/email_policy.py).
    # The confirmation is said as what the customer read, not as the status that sent it.
    assert {"email: order confirmed", "email: shipment sent"} <= {e["title"] for e in emails}
    assert all(e["detail"].startswith(f"to {request['customer']['email']}") for e in emails)
    webhook = next(e for e in entries if e["kind"] == "webhook")
    assert webhook["title"] == "carrier: in_transit"
    assert shipment["tracking_number"] in webhook["detail"]


def test_timeline_shows_a_ticket_opened_about_the_order(client: Any) -> None:
    placed = place_order(client, order_body())
    order_id = placed["order_id"]
    wait_for_status(client, order_id, "SHIPPED")
    ticket = {
        "type": "complaint",
        "subject": "Wrong size",
        "description": "The customer says the T-shirts are too small.",
        "order_id": order_id,
        "channel": "phone",
    }
    opened = client.http.post(
        f"/customers/{placed['customer_id']}/tickets",
        headers=OPS | JSON,
        body=json.dumps(ticket),
    )
    assert opened.status_code == 201, opened.body
    ticket_id = opened.json_body["ticket_id"]

    entries = _timeline(client, order_id)["entries"]

    tickets = [e for e in entries if e["kind"] == "ticket"]
    assert [t["title"] for t in tickets] == ["ticket opened: complaint"]
    assert ticket_id in tickets[0]["detail"] and "Wrong size" in tickets[0]["detail"]
    assert entries.index(tickets[0]) > max(
        i for i, e in enumerate(entries) if e["kind"] == "status"
    )


def test_timeline_of_an_unknown_order_is_404(client: Any) -> None:
    response = client.http.get(f"/ops/orders/{UNKNOWN_ORDER}/timeline", headers=OPS)

    assert_problem(response, 404, "order_id")


def test_state_machine_definition_is_the_deployed_asl(client: Any, deps: Any) -> None:
    response = client.http.get("/ops/statemachine", headers=OPS)

    assert response.status_code == 200, response.body
    body = response.json_body
    assert body["state_machine_arn"] == deps.settings.state_machine_arn
    definition = body["definition"]
    assert definition["StartAt"] == "AuthorizePayment"
    fulfil = definition["States"]["FulfilEach"]
    assert fulfil["Type"] == "Map"
    assert {"AwaitHandover", "AwaitCompletion", "HandleTimeout"} <= set(
        fulfil["ItemProcessor"]["States"]
    )


def test_outbox_lists_the_emails_the_local_stack_sent(client: Any) -> None:
    body = order_body()
    address = body["customer"]["email"]
    place_order(client, body)

    def sent() -> list[dict[str, Any]] | None:
        response = client.http.get("/ops/outbox?limit=200", headers=OPS)
        assert response.status_code == 200, response.body
        outbox = response.json_body
        assert outbox["available"] is True
        return [e for e in outbox["emails"] if e["to"] == address] or None

    emails = eventually(sent)
    assert all(e["subject"] and e["sent_at"] and e["message_id"] for e in emails)
    assert any(e["preview"] for e in emails)


def test_outbox_where_there_is_none_is_empty_with_a_note(client: Any, deps: Any) -> None:
    saved = deps.outbox
    deps.outbox = None  # as on AWS: nothing wires an outbox
    try:
        response = client.http.get("/ops/outbox", headers=OPS)
    finally:
        deps.outbox = saved

    assert response.status_code == 200, response.body
    assert response.json_body["available"] is False
    assert response.json_body["emails"] == []
    assert "SES" in response.json_body["note"]


def test_timeline_shows_the_texts_sent_to_a_customer_with_only_a_phone(client: Any) -> None:
    body = order_body(customer={"phone": "+34 611 222 333"})
    order_id = place_order(client, body)["order_id"]
    wait_for_status(client, order_id, "SHIPPED")

    def texted() -> list[str] | None:
        entries = _timeline(client, order_id)["entries"]
        titles = [e["title"] for e in entries if e["title"].startswith("text: ")]
        return titles or None

    assert eventually(texted) == ["text: order RESERVED"]
