"""Free text people write (descriptions, notes, reasons, comments) keeps its tabs and line
breaks and refuses the other control characters, and the names ops and storefronts give
(promotions, campaigns, attribution) are one line: a NUL or an escape sequence would go
verbatim into the customer's email and the ops console. Refused with 422 naming the field,
nothing stored."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from chalicelib.services.carrier_events import sign
from tests.support import (
    CARRIER_SECRET,
    JSON,
    OPS,
    STOREFRONT,
    assert_problem,
    order_body,
    signed_event,
)
from tests.support.api import place_order

CONTROLS = ["\x00", "\x07", "\x1b[2J", "\x7f", "\x85", "\u202e"]


def _customer(client: Any) -> str:
    body = order_body(customer={"email": f"txt-{uuid.uuid4().hex[:10]}@example.com"})
    return str(place_order(client, body)["customer_id"])


def _ticket(client: Any, customer_id: str, **fields: Any) -> Any:
    body = {"subject": "Wrong size", "description": "Sent M", "channel": "phone"} | fields
    return client.http.post(
        f"/customers/{customer_id}/tickets", headers=OPS | JSON, body=json.dumps(body)
    )


def test_a_description_keeps_its_tabs_and_line_breaks(client: Any) -> None:
    customer_id = _customer(client)
    written = "Sent M,\r\n\tordered L.\nPlease call."

    opened = _ticket(client, customer_id, description=written)

    assert opened.status_code == 201, opened.body
    ticket = client.http.get(f"/tickets/{opened.json_body['ticket_id']}", headers=OPS).json_body
    assert ticket["description"] == written


@pytest.mark.parametrize("control", CONTROLS)
def test_control_characters_in_a_description_or_a_note_are_422_and_nothing_is_stored(
    client: Any, control: str
) -> None:
    customer_id = _customer(client)

    refused = _ticket(client, customer_id, description=f"Sent M{control}")
    problem = assert_problem(refused, 422, "description")
    # In words: not pydantic's "Value error, " before them.
    assert problem["errors"][0]["message"] == (
        "text: no control characters other than tabs and line breaks"
    )
    view = client.http.get(f"/customers/{customer_id}", headers=OPS).json_body
    assert view["tickets"] == []

    ticket_id = _ticket(client, customer_id).json_body["ticket_id"]
    noted = client.http.request(
        "PATCH",
        f"/tickets/{ticket_id}",
        headers=OPS | JSON,
        body=json.dumps({"status": "pending", "note": f"called{control}"}),
    )
    assert_problem(noted, 422, "note")
    ticket = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert ticket["status"] == "open"


@pytest.mark.parametrize("tag", ["campaign", "source", "medium"])
def test_attribution_is_one_line(client: Any, tag: str) -> None:
    body = order_body()
    for key in ("payment", "consent"):
        body.pop(key, None)
    body["attribution"] = {tag: "spring\nsale"}

    refused = client.http.post("/quotes", headers=STOREFRONT | JSON, body=json.dumps(body))

    assert_problem(refused, 422, f"attribution.{tag}")


@pytest.mark.parametrize(
    ("campaign", "words"),
    [("", "String should have at least 1 character"), ("x" * 101, "at most 100 characters")],
)
def test_a_campaign_s_length_is_said_in_characters(client: Any, campaign: str, words: str) -> None:
    # Probe 215: an empty campaign read "Value should have at least 1 item after
    # validation, not 0", as if it were a list.
    body = order_body()
    for key in ("payment", "consent"):
        body.pop(key, None)
    body["attribution"] = {"campaign": campaign}

    refused = client.http.post("/quotes", headers=STOREFRONT | JSON, body=json.dumps(body))

    problem = assert_problem(refused, 422, "attribution.campaign")
    (message,) = [e["message"] for e in problem["errors"] if e["field"] == "attribution.campaign"]
    assert words in message and "item" not in message, message


@pytest.mark.parametrize("field", ["name", "campaign"])
def test_a_promotion_s_name_and_campaign_are_one_line_and_nothing_is_stored(
    client: Any, field: str
) -> None:
    marker = uuid.uuid4().hex
    body = {"name": f"Sale {marker}", "kind": "percent", "value": "10"}
    body[field] = f"Sale {marker}\x00"

    refused = client.http.post("/promotions", headers=OPS | JSON, body=json.dumps(body))

    assert_problem(refused, 422, field)
    listed = client.http.get("/promotions", headers=OPS).body.decode()
    assert marker not in listed


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"shipment": "RAP1\x00\x1b[2J"}, "shipment"),
        ({"skus": ["X\x07", "TSHIRT-BLK-M"]}, "skus.0"),
        # Blank ones too (a re-probe: "" was kept, and a blank SKU was 409, not 422).
        ({"shipment": "  "}, "shipment"),
        ({"skus": ["TSHIRT-BLK-M", ""]}, "skus.1"),
    ],
)
def test_a_ticket_s_shipment_and_skus_are_one_line(
    client: Any, fields: dict[str, Any], named: str
) -> None:
    # Found by a re-probe: both were kept with NUL and escape sequences.
    customer_id = _customer(client)

    assert_problem(_ticket(client, customer_id, **fields), 422, named)
    assert client.http.get(f"/customers/{customer_id}", headers=OPS).json_body["tickets"] == []


@pytest.mark.parametrize("field", ["tracking_number", "event_id"])
def test_a_signed_carrier_event_names_its_parcel_on_one_line(client: Any, field: str) -> None:
    # Found by a re-probe: an escape sequence in an unknown tracking number reached ops'
    # alerts as sent.
    body, _ = signed_event(f"ZZ{uuid.uuid4().hex[:8]}")
    raw = json.dumps(json.loads(body) | {field: "ZZ\x1b[31m\u202eX"}).encode()
    signature = sign(CARRIER_SECRET, int(time.time()), raw)

    response = client.http.post(
        "/carriers/rapido/events", headers=JSON | {"X-Orquesta-Signature": signature}, body=raw
    )

    assert_problem(response, 422, field)
