"""Carrier webhooks: signed, fresh, applied once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentModification
from chalicelib.services.carrier_events import EVENT_WRITE_ATTEMPTS, sign
from tests.support import CARRIER_SECRET, JSON, STOREFRONT, assert_problem, order_body, signed_event
from tests.support.api import get_order, place_order
from tests.support.orders import wait_for_status

CARRIER = "rapido"


def _post(client: Any, carrier: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post(f"/carriers/{carrier}/events", headers=headers, body=body)


def _unknown_parcel() -> str:
    return f"NOPE{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture
def shipped(client: Any) -> dict[str, Any]:
    """A web order that has shipped: its id, carrier and tracking number."""
    placed = place_order(client, order_body())
    order = wait_for_status(client, placed["order_id"], "SHIPPED")
    shipment = order["fulfillments"][0]["shipment"]
    return {
        "order_id": placed["order_id"],
        "carrier": shipment["carrier"],
        "tracking_number": shipment["tracking_number"],
    }


def _shipment_events(client: Any, order_id: str) -> list[dict[str, str]]:
    events: list[dict[str, str]] = get_order(client, order_id)["fulfillments"][0]["shipment"][
        "events"
    ]
    return events


def test_event_without_signature_is_401(client: Any) -> None:
    body, _ = signed_event(_unknown_parcel())

    response = _post(client, CARRIER, body, JSON)

    assert_problem(response, 401, "X-Orquesta-Signature")


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=,v1="])
def test_malformed_signature_is_401(client: Any, header: str) -> None:
    body, _ = signed_event(_unknown_parcel())

    response = _post(client, CARRIER, body, JSON | {"X-Orquesta-Signature": header})

    assert_problem(response, 401, "X-Orquesta-Signature")


def test_event_signed_with_another_secret_is_401(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel(), secret="not-the-carrier-secret")

    assert_problem(_post(client, CARRIER, body, headers), 401, "X-Orquesta-Signature")


def test_signature_of_another_body_is_401(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel())
    tampered = body.replace(b'"delivered"', b'"exception"')
    assert tampered != body

    assert_problem(_post(client, CARRIER, tampered, headers), 401, "X-Orquesta-Signature")


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_signature_more_than_300_seconds_from_now_is_401(client: Any, age: int) -> None:
    body, headers = signed_event(_unknown_parcel(), timestamp=int(time.time()) - age)

    assert_problem(_post(client, CARRIER, body, headers), 401, "X-Orquesta-Signature")


def test_signature_a_little_old_is_accepted(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel(), timestamp=int(time.time()) - 120)

    response = _post(client, CARRIER, body, headers)

    assert response.status_code == 200, response.body


def test_unknown_carrier_is_404(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel())

    assert_problem(_post(client, "paloma", body, headers), 404, "carrier")


def test_event_for_an_unknown_parcel_is_acknowledged_and_ignored(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel(), kind="in_transit")

    response = _post(client, CARRIER, body, headers)

    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "ignored"
    assert response.json_body["event_id"] == json.loads(body)["event_id"]


def test_signed_event_with_an_invalid_body_is_422_naming_the_field(client: Any) -> None:
    body, headers = signed_event(_unknown_parcel(), kind="teleported")

    assert_problem(_post(client, CARRIER, body, headers), 422, "type")


@pytest.mark.parametrize("occurred_at", ["yesterday", "2026-02-30T10:00:00Z"])
def test_signed_event_with_a_bad_timestamp_is_422(client: Any, occurred_at: str) -> None:
    raw = json.dumps(
        {
            "event_id": f"evt_{uuid.uuid4().hex[:12]}",
            "tracking_number": _unknown_parcel(),
            "type": "in_transit",
            "occurred_at": occurred_at,
        }
    ).encode()
    headers = JSON | {"X-Orquesta-Signature": sign(CARRIER_SECRET, int(time.time()), raw)}

    problem = assert_problem(_post(client, CARRIER, raw, headers), 422, "occurred_at")
    # In the API's words, not Python's ("offset must be a timedelta strictly between...")
    # nor the pattern's (a probe read all 558 characters of it).
    said = json.dumps(problem)
    assert "timedelta" not in said and "fromisoformat" not in said
    assert "[0-9]" not in said and len(said) < 600, said


def test_event_is_applied_to_the_shipment(client: Any, shipped: dict[str, Any]) -> None:
    body, headers = signed_event(shipped["tracking_number"], kind="in_transit")

    response = _post(client, shipped["carrier"], body, headers)

    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "applied"
    event_id = json.loads(body)["event_id"]
    assert [e["event_id"] for e in _shipment_events(client, shipped["order_id"])] == [event_id]


def test_same_event_id_twice_is_acknowledged_as_duplicate_and_has_no_effect(
    client: Any, shipped: dict[str, Any]
) -> None:
    carrier, parcel, order_id = shipped["carrier"], shipped["tracking_number"], shipped["order_id"]
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    body, headers = signed_event(parcel, kind="in_transit", event_id=event_id)
    first = _post(client, carrier, body, headers)
    assert first.json_body["status"] == "applied", first.body

    again = _post(client, carrier, body, headers)
    # The same id with different content is still the same event.
    delivered_body, delivered_headers = signed_event(parcel, kind="delivered", event_id=event_id)
    replayed = _post(client, carrier, delivered_body, delivered_headers)

    for response in (again, replayed):
        assert response.status_code == 200, response.body
        assert response.json_body["status"] == "duplicate"
        assert response.json_body["event_id"] == event_id
    assert get_order(client, order_id)["status"] == "SHIPPED"
    assert [e["event_id"] for e in _shipment_events(client, order_id)] == [event_id]

    # A new event id is applied: the duplicate was ignored for its id, not its content.
    fresh_body, fresh_headers = signed_event(parcel, kind="delivered")
    delivered = _post(client, carrier, fresh_body, fresh_headers)
    assert delivered.json_body["status"] == "applied", delivered.body
    assert delivered.json_body["order_status"] == "DELIVERED"
    assert get_order(client, order_id)["status"] == "DELIVERED"


def test_an_event_that_loses_every_race_is_answered_429_and_applied_when_sent_again(
    client: Any, shipped: dict[str, Any], deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """24 events for one parcel at a time: one of 120 lost all its 12 races and was answered
    409, which a webhook sender takes as final (a delivery lost so would have the parcel
    declared lost and refunded). 429 with Retry-After is sent again."""
    carrier, parcel, order_id = shipped["carrier"], shipped["tracking_number"], shipped["order_id"]
    save, asking, tries = deps.store.save_order, threading.get_ident(), [0]

    def always_overtaken(*args: Any, **kwargs: Any) -> None:
        if threading.get_ident() != asking:  # the order's own steps write as usual
            return save(*args, **kwargs)
        tries[0] += 1
        raise ConcurrentModification("the item changed while we worked on it")

    monkeypatch.setattr(deps.store, "save_order", always_overtaken)
    body, headers = signed_event(parcel, kind="delivered")

    refused = _post(client, carrier, body, headers)

    assert_problem(refused, 429, "tracking_number")
    assert int(refused.headers["Retry-After"]) >= 1
    assert tries[0] == EVENT_WRITE_ATTEMPTS
    monkeypatch.setattr(deps.store, "save_order", save)
    assert get_order(client, order_id)["status"] == "SHIPPED"

    again = _post(client, carrier, body, headers)

    assert again.status_code == 200, again.body
    assert again.json_body["status"] == "applied"
    assert get_order(client, order_id)["status"] == "DELIVERED"


def test_another_carriers_event_for_a_real_parcel_is_ignored(
    client: Any, shipped: dict[str, Any]
) -> None:
    other = next(name for name in ("rapido", "tortuga") if name != shipped["carrier"])
    body, headers = signed_event(shipped["tracking_number"], kind="delivered")

    response = _post(client, other, body, headers)

    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "ignored"
    assert get_order(client, shipped["order_id"])["status"] == "SHIPPED"
    assert _shipment_events(client, shipped["order_id"]) == []


def _dated_event(tracking_number: str, occurred_at: str) -> tuple[bytes, dict[str, str]]:
    body, _ = signed_event(tracking_number)
    dated = json.dumps(json.loads(body) | {"occurred_at": occurred_at}).encode()
    return dated, {"X-Orquesta-Signature": sign(CARRIER_SECRET, int(time.time()), dated), **JSON}


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0), text
    return moment


def test_a_delivery_dated_before_the_parcel_left_is_recorded_in_order_and_can_be_returned(
    client: Any, shipped: dict[str, Any]
) -> None:
    body, headers = _dated_event(shipped["tracking_number"], "2001-01-01T00:00:00Z")

    response = _post(client, shipped["carrier"], body, headers)

    assert response.status_code == 200, response.body
    order = get_order(client, shipped["order_id"])
    assert order["status"] == "DELIVERED"
    moments = [_utc(entry["at"]) for entry in order["history"]]
    assert moments == sorted(moments)
    shipment = order["fulfillments"][0]["shipment"]
    assert _utc(shipment["delivered_at"]) == moments[-1]
    assert _utc(shipment["delivered_at"]).year == datetime.now(UTC).year
    (event,) = shipment["events"]
    assert event["reported_at"] == "2001-01-01T00:00:00Z"
    assert _utc(event["occurred_at"]) == moments[-1]
    returned = client.http.post(
        f"/orders/{shipped['order_id']}/returns",
        headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
        body=json.dumps(
            {
                "lines": [{"sku": order["lines"][0]["sku"], "quantity": 1}],
                "reason": "too big",
                "channel": "mail",
            }
        ),
    )
    assert returned.status_code == 201, returned.body


def test_a_delivery_dated_in_the_future_or_with_an_offset_is_shown_now_in_utc(
    client: Any, shipped: dict[str, Any]
) -> None:
    in_madrid = (
        (datetime.now(UTC) + timedelta(days=3650))
        .astimezone(timezone(timedelta(hours=2)))
        .isoformat(timespec="seconds")
    )
    before = datetime.now(UTC).replace(microsecond=0)
    body, headers = _dated_event(shipped["tracking_number"], in_madrid)

    response = _post(client, shipped["carrier"], body, headers)

    assert response.status_code == 200, response.body
    after = datetime.now(UTC)
    order = get_order(client, shipped["order_id"])
    shipment = order["fulfillments"][0]["shipment"]
    assert before <= _utc(shipment["delivered_at"]) <= after
    assert before <= _utc(order["history"][-1]["at"]) <= after
    assert shipment["sla"]["status"] == "met"
    (event,) = shipment["events"]
    assert before <= _utc(event["occurred_at"]) <= after
    assert event["reported_at"] == in_madrid


@pytest.mark.parametrize(
    "written",
    [
        "{day}T{clock}.123456789Z",  # Go's RFC3339Nano, Java's Instant
        "{day}T{clock}.1234567Z",  # .NET's round trip
        " {day}T{clock}Z\t",
        "{day}T{clock} +00:00",
    ],
)
def test_a_delivery_written_as_other_platforms_write_it_is_applied(
    client: Any, shipped: dict[str, Any], written: str
) -> None:
    # A re-probe: declaring occurred_at's shape first refused 7 and 9 fraction digits,
    # which every event of a carrier on .NET or Go carries (its parcels would be lost).
    now = datetime.now(UTC)
    occurred_at = written.format(day=now.date().isoformat(), clock=now.strftime("%H:%M:%S"))
    body, headers = _dated_event(shipped["tracking_number"], occurred_at)

    response = _post(client, shipped["carrier"], body, headers)

    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "applied"
    order = get_order(client, shipped["order_id"])
    assert order["status"] == "DELIVERED"
    (event,) = order["fulfillments"][0]["shipment"]["events"]
    assert event["reported_at"] == occurred_at  # as the carrier wrote it, for audit


def test_an_old_scan_pushed_out_by_later_ones_is_still_a_duplicate_once_stored(
    client: Any, shipped: dict[str, Any]
) -> None:
    # Re-probe 202: the retry of a scan 31 later ones pushed out was applied again. The
    # forgotten ids are kept in the order's item: read back from the table here.
    carrier, tracking = shipped["carrier"], shipped["tracking_number"]

    def send(event_id: str) -> str:
        body, headers = signed_event(tracking, "in_transit", event_id=event_id)
        answer = _post(client, carrier, body, headers)
        assert answer.status_code == 200, answer.body
        return str(answer.json_body["status"])

    assert [send(f"scan-{n}") for n in range(32)] == ["applied"] * 32
    kept = _shipment_events(client, shipped["order_id"])

    assert send("scan-0") == "duplicate"
    assert _shipment_events(client, shipped["order_id"]) == kept
