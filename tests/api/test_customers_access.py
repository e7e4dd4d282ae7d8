"""BOLA: a storefront key cannot read or change another customer's data on any customer
route; a customer's data only with the token that customer got by proving an identifier."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from tests.support import (
    JSON,
    OPS,
    OTHER_STOREFRONT,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    order_body,
)
from tests.support.api import (
    customer_360,
    get_order,
    merge,
    open_ticket,
    place_order,
    verify_customer,
)


def _customer(client: Any, stack: Any) -> dict[str, Any]:
    return verify_customer(client, stack.outbox, f"bola-{uuid.uuid4().hex[:10]}@example.com")


def test_storefront_reads_its_own_customer_with_the_token(client: Any, stack: Any) -> None:
    mine = _customer(client, stack)

    response = client.http.get(
        f"/customers/{mine['customer_id']}",
        headers=STOREFRONT | {"X-Customer-Token": mine["customer_token"]},
    )

    assert response.status_code == 200, response.body
    assert response.json_body["customer_id"] == mine["customer_id"]


def test_knowing_an_email_gives_no_token_only_proving_it_does(client: Any, stack: Any) -> None:
    body = order_body()
    address = body["customer"]["email"]
    placed = place_order(client, body)
    identified = client.http.post(
        "/customers", headers=STOREFRONT | JSON, body=json.dumps({"email": address})
    ).json_body
    assert "customer_token" not in placed and "customer_token" not in identified
    assert_problem(client.http.get(f"/customers/{placed['customer_id']}", headers=STOREFRONT), 403)

    proven = verify_customer(client, stack.outbox, address)

    assert proven["customer_id"] == placed["customer_id"]
    response = client.http.get(
        f"/customers/{placed['customer_id']}",
        headers=STOREFRONT | {"X-Customer-Token": proven["customer_token"]},
    )
    assert response.status_code == 200, response.body


def _attacker_proves_own_phone_next_to_victims_email(
    client: Any, stack: Any
) -> tuple[dict[str, Any], str, str, dict[str, Any]]:
    """Repro A: the victim orders by email; the attacker names that email with its own
    phone (attached to the victim's record, unproven), then proves the phone. Returns the
    victim's order body and customer id, the attacker's phone and what its proof answered."""
    body = order_body()
    victim = place_order(client, body)["customer_id"]
    attacker_phone = f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    named = client.http.post(
        "/customers",
        headers=STOREFRONT | JSON,
        body=json.dumps({"email": body["customer"]["email"], "phone": attacker_phone}),
    )
    assert named.status_code == 200, named.body
    assert named.json_body["customer_id"] == victim
    return body, victim, attacker_phone, verify_customer(client, stack.outbox, attacker_phone)


def test_naming_someones_email_with_ones_own_phone_opens_none_of_their_data(
    client: Any, stack: Any
) -> None:
    body, victim, _, attacker = _attacker_proves_own_phone_next_to_victims_email(client, stack)
    victim_email = body["customer"]["email"]

    assert attacker["customer_id"] != victim
    token = {"X-Customer-Token": attacker["customer_token"]}
    assert_problem(client.http.get(f"/customers/{victim}/export", headers=STOREFRONT | token), 403)
    own = client.http.get(
        f"/customers/{attacker['customer_id']}/export", headers=STOREFRONT | token
    )
    assert own.status_code == 200, own.body
    assert victim_email not in own.body.decode() and body["shipping_address"]["line1"] not in (
        own.body.decode()
    )
    # The victim's own proof still opens the victim's record, without the attacker's phone.
    proven = verify_customer(client, stack.outbox, victim_email)
    assert proven["customer_id"] == victim
    mine = client.http.get(
        f"/customers/{victim}/export",
        headers=STOREFRONT | {"X-Customer-Token": proven["customer_token"]},
    )
    assert mine.status_code == 200, mine.body
    assert {i["value"] for i in mine.json_body["identifiers"]} == {victim_email}


def _founded_with_an_unused_phone(client: Any, name: str) -> tuple[str, str, str]:
    """An attacker's record, founded by ``POST /customers`` with its own email and a phone
    nobody has used yet: (the email, the phone, the record's id)."""
    attacker_email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
    victim_phone = f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    founded = client.http.post(
        "/customers",
        headers=STOREFRONT | JSON,
        body=json.dumps({"email": attacker_email, "phone": victim_phone}),
    )
    assert founded.status_code == 200, founded.body
    return attacker_email, victim_phone, str(founded.json_body["customer_id"])


def _ticket_about(client: Any, record: str, order_id: str, subject: str) -> Any:
    """A ticket ops open on ``record`` about ``order_id`` (the response, 201)."""
    ticket = client.http.post(
        f"/customers/{record}/tickets",
        headers=OPS | JSON,
        body=json.dumps(
            {"subject": subject, "description": "d", "channel": "phone", "order_id": order_id}
        ),
    )
    assert ticket.status_code == 201, ticket.body
    return ticket


def test_a_phone_named_at_founding_opens_none_of_its_owners_orders(client: Any, stack: Any) -> None:
    # Repro E: the attacker founds a record with its own email and a phone nobody has used
    # yet; the phone's owner then orders by phone alone, and the order joins that record
    # (the retailer's 360 is one record). The attacker's proof of its email opens the
    # record, not that order, nor the ticket about it.
    attacker_email, victim_phone, record = _founded_with_an_unused_phone(client, "founder")
    victims_body = order_body(customer={"phone": victim_phone, "name": "Vera Victima"})
    victims_body["shipping_address"]["line1"] = "Calle del Secreto 7"
    victims = place_order(client, victims_body)
    own = place_order(client, order_body(customer={"email": attacker_email}))
    assert victims["customer_id"] == own["customer_id"] == record
    ticket = _ticket_about(client, record, victims["order_id"], "Llego roto")
    # Staff serving the victim by the attached phone note things about no order.
    staff_ticket = client.http.post(
        f"/customers/{record}/tickets",
        headers=OPS | JSON,
        body=json.dumps({"subject": "Nueva direccion", "description": "d", "channel": "phone"}),
    )
    noted = client.http.post(
        f"/customers/{record}/interactions",
        headers=OPS | JSON,
        body=json.dumps({"type": "call", "channel": "phone", "summary": "Calle del Secreto 7"}),
    )
    assert staff_ticket.status_code == 201 and noted.status_code == 201, noted.body
    # Ops see both orders once projected: a person decides what belongs together. They
    # see which one the token leaves out (a probe found no sign of it).
    eventually(
        lambda: (
            (view := customer_360(client, record))["metrics"]["order_count"] == 2
            and len(view["orders"]) == 2
        )
    )
    marked = {
        o["order_id"]: o["customer_unvouched"] for o in customer_360(client, record)["orders"]
    }
    assert marked == {victims["order_id"]: True, own["order_id"]: False}
    for order_id, unvouched in marked.items():
        assert get_order(client, order_id)["customer_unvouched"] is unvouched

    attacker = verify_customer(client, stack.outbox, attacker_email)

    assert attacker["customer_id"] == record
    token = STOREFRONT | {"X-Customer-Token": attacker["customer_token"]}
    view = client.http.get(f"/customers/{record}", headers=token)
    export = client.http.get(f"/customers/{record}/export", headers=token)
    assert view.status_code == 200 and export.status_code == 200, (view.body, export.body)
    assert [o["order_id"] for o in view.json_body["orders"]] == [own["order_id"]]
    assert [o["order_id"] for o in export.json_body["orders"]] == [own["order_id"]]
    for figures in (view.json_body["metrics"], export.json_body["metrics"]):
        assert figures["order_count"] == 1 and figures["lifetime_value"] == own["total"]
    for body in (view.json_body, export.json_body):  # the victim's phone was only named
        assert body["identifiers"] == [{"type": "email", "value": attacker_email}]
    for body in (view.body.decode(), export.body.decode()):
        assert victims["order_id"] not in body and "Calle del Secreto" not in body
        assert ticket.json_body["ticket_id"] not in body
        assert staff_ticket.json_body["ticket_id"] not in body
        assert noted.json_body["interaction_id"] not in body
    for hidden in (ticket, staff_ticket):
        assert_problem(
            client.http.get(f"/tickets/{hidden.json_body['ticket_id']}", headers=token),
            404,
            "ticket_id",
        )


def test_the_tokens_pages_and_cursors_pass_over_hidden_orders(client: Any, stack: Any) -> None:
    # On DynamoDB: the token's 360 pages are filled from the orders it may see, and no
    # cursor names (base64 of its key) an order hidden from it.
    attacker_email, victim_phone, record = _founded_with_an_unused_phone(client, "pager")
    mine, theirs = [], []
    for _ in range(2):
        theirs.append(place_order(client, order_body(customer={"phone": victim_phone}))["order_id"])
        mine.append(place_order(client, order_body(customer={"email": attacker_email}))["order_id"])
    theirs.append(place_order(client, order_body(customer={"phone": victim_phone}))["order_id"])
    eventually(lambda: len(customer_360(client, record)["orders"]) == 5)
    token = STOREFRONT | {
        "X-Customer-Token": verify_customer(client, stack.outbox, attacker_email)["customer_token"]
    }

    listed: list[str] = []
    cursor = ""
    for _ in range(5):
        page = client.http.get(f"/customers/{record}?limit=1{cursor}", headers=token)
        assert page.status_code == 200, page.body
        assert len(page.json_body["orders"]) == 1, page.body
        listed += [o["order_id"] for o in page.json_body["orders"]]
        next_cursor = page.json_body["orders_next_cursor"]
        if next_cursor is None:
            break
        decoded = base64.b64decode(next_cursor).decode()
        assert not any(order_id in decoded for order_id in theirs), decoded
        cursor = f"&cursor={quote(next_cursor)}"

    assert listed == list(reversed(mine))


def test_an_ops_merge_of_the_suggested_candidate_opens_nothing_to_the_attacker(
    client: Any, stack: Any
) -> None:
    # R1: repro A, then ops merges the merge candidate it left (the attacker's split
    # record into the victim's). The attacker's token named the merged-in record, which
    # every customer route now resolves to the victim: it must open nothing; and proving
    # the phone again splits it off again instead of tokening the victim.
    body, victim, attacker_phone, attacker = _attacker_proves_own_phone_next_to_victims_email(
        client, stack
    )
    victim_email = body["customer"]["email"]
    split = attacker["customer_id"]
    view = client.http.get(f"/customers/{victim}", headers=OPS)
    assert split in str(view.json_body), "ops sees the merge candidate on the victim's 360"

    merged = merge(client, victim, split)

    assert merged.status_code == 200, merged.body
    token = STOREFRONT | {"X-Customer-Token": attacker["customer_token"]}
    for path in (f"/customers/{split}", f"/customers/{split}/export", f"/customers/{victim}"):
        assert_problem(client.http.get(path, headers=token), 403)
    again = verify_customer(client, stack.outbox, attacker_phone)
    assert again["customer_id"] not in (victim, split)
    own = client.http.get(
        f"/customers/{again['customer_id']}/export",
        headers=STOREFRONT | {"X-Customer-Token": again["customer_token"]},
    )
    assert own.status_code == 200, own.body
    assert victim_email not in own.body.decode()
    assert_problem(
        client.http.get(
            f"/customers/{victim}/export",
            headers=STOREFRONT | {"X-Customer-Token": again["customer_token"]},
        ),
        403,
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/customers/{victim}", None),
        ("GET", "/customers/{victim}/export", None),
        (
            "POST",
            "/customers/{victim}/interactions",
            {"type": "call", "channel": "phone", "summary": "x"},
        ),
        (
            "POST",
            "/customers/{victim}/tickets",
            {"subject": "s", "description": "d", "channel": "web"},
        ),
        ("POST", "/customers/{victim}/merge", {"from_customer_id": "{mine}"}),
        ("POST", "/customers/{victim}/erase", None),
        ("PATCH", "/tickets/{ticket}", {"status": "resolved"}),
    ],
)
def test_storefront_cannot_touch_another_customers_data(
    client: Any, stack: Any, method: str, path: str, body: dict[str, Any] | None
) -> None:
    mine, victim = _customer(client, stack), _customer(client, stack)
    ticket = open_ticket(client, victim["customer_id"])
    # The ticket's email is recorded as an interaction asynchronously: let it land first.
    stack.lambdas.drain()
    before = client.http.get(f"/customers/{victim['customer_id']}", headers=OPS).json_body
    url = path.format(victim=victim["customer_id"], ticket=ticket)
    raw = json.dumps(body).replace("{mine}", mine["customer_id"]) if body else ""
    # Presenting its own customer's token does not open another customer's data.
    headers = STOREFRONT | JSON | {"X-Customer-Token": mine["customer_token"]}

    response = client.http.request(method, url, headers=headers, body=raw)

    assert_problem(response, 403)
    stack.lambdas.drain()
    view = client.http.get(f"/customers/{victim['customer_id']}", headers=OPS).json_body
    assert view["profile"]["state"] == "active"
    assert view["interactions"] == before["interactions"] and len(view["tickets"]) == 1
    assert view["tickets"][0]["status"] == "open"


def test_a_storefront_learns_nothing_of_a_ticket_it_may_not_read(client: Any, stack: Any) -> None:
    """Found by a probe: late-delivery and survey-complaint tickets' ids are made from
    their order's id, and any storefront read 403 for those that exist and 404 for the
    rest: which orders of another client had a late parcel or a low score. Without a token
    that proves someone the answer is 403 before anything is read; with one, a ticket it
    does not open answers exactly as an unknown id."""
    mine, victim = _customer(client, stack), _customer(client, stack)
    ticket = open_ticket(client, victim["customer_id"])
    unknown = f"tkt_late_ord_{uuid.uuid4().hex[:20]}"
    own_token = STOREFRONT | {"X-Customer-Token": mine["customer_token"]}
    victim_token = STOREFRONT | {"X-Customer-Token": victim["customer_token"]}
    forged = STOREFRONT | {"X-Customer-Token": victim["customer_token"][:-4] + "0000"}

    for headers, status in (
        (STOREFRONT, 403),
        (forged, 403),
        (OTHER_STOREFRONT, 403),
        (own_token, 404),
    ):
        existing = client.http.get(f"/tickets/{ticket}", headers=headers)
        missing = client.http.get(f"/tickets/{unknown}", headers=headers)

        told = assert_problem(existing, status)
        assert told == json.loads(missing.body.replace(unknown.encode(), ticket.encode()))
        assert _but_correlation(existing.headers) == _but_correlation(missing.headers)
    assert client.http.get(f"/tickets/{ticket}", headers=victim_token).status_code == 200


def test_another_customers_ticket_costs_the_reads_an_unknown_id_costs(
    client: Any, stack: Any, deps: Any, monkeypatch: Any
) -> None:
    """A re-probe timed it: another customer's ticket about an order took 4 ms more to
    refuse than an unknown id (its owner was looked up: the order, the profiles), so the
    404s told which orders had a late parcel or a low score all the same."""
    mine, victim = _customer(client, stack), _customer(client, stack)
    victim_email = customer_360(client, victim["customer_id"])["identifiers"][0]["value"]
    order = place_order(client, order_body(customer={"email": victim_email}))
    assert order["customer_id"] == victim["customer_id"]
    about_order = _ticket_about(client, victim["customer_id"], order["order_id"], "Tarde")
    ticket = about_order.json_body["ticket_id"]
    unknown = f"tkt_late_{order['order_id']}_{order['order_id']}-F9"
    headers = STOREFRONT | {"X-Customer-Token": mine["customer_token"]}
    reads: list[str] = []

    asking = threading.get_ident()  # the handler runs here; the order's steps elsewhere

    def counted(name: str, read: Any) -> Any:
        def reading(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == asking:
                reads.append(name)
            return read(*args, **kwargs)

        return reading

    for port, name in ((deps.store, "get_order"), (deps.customers, "profile")):
        monkeypatch.setattr(port, name, counted(name, getattr(port, name)))
    made = []
    for ticket_id in (ticket, unknown):
        reads.clear()
        assert_problem(client.http.get(f"/tickets/{ticket_id}", headers=headers), 404)
        made.append(list(reads))

    assert "profile" in made[1]  # the token's holder was read: the counting sees the handler
    assert made[0] == made[1]
    assert "get_order" not in made[0]


def test_an_erased_customers_token_opens_nothing(client: Any, stack: Any) -> None:
    """An erasure ends the person's tokens: what they opened holds nothing of them, and a
    token outliving the person proves nobody (a re-probe read the erased 360 with it)."""
    erased = _customer(client, stack)
    ticket = open_ticket(client, erased["customer_id"])
    token = STOREFRONT | {"X-Customer-Token": erased["customer_token"]}
    assert client.http.get(f"/tickets/{ticket}", headers=token).status_code == 200

    done = client.http.post(f"/customers/{erased['customer_id']}/erase", headers=OPS)

    assert done.status_code == 200, done.body
    for path in (
        f"/customers/{erased['customer_id']}",
        f"/customers/{erased['customer_id']}/export",
        f"/tickets/{ticket}",
    ):
        assert_problem(client.http.get(path, headers=token), 403, "X-Customer-Token")


def _but_correlation(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "X-Correlation-Id"}


def test_a_forged_old_style_or_missing_token_is_403(client: Any, stack: Any) -> None:
    victim = _customer(client, stack)
    forged = f"{victim['customer_id']}.{'0' * 32}"
    kid_forged = victim["customer_token"][:-4] + "0000"

    for headers in (
        STOREFRONT,
        STOREFRONT | {"X-Customer-Token": forged},
        STOREFRONT | {"X-Customer-Token": kid_forged},
    ):
        response = client.http.get(f"/customers/{victim['customer_id']}", headers=headers)
        assert_problem(response, 403, "X-Customer-Token")


def test_analytics_are_for_ops_only(client: Any) -> None:
    for path in ("/analytics/segments", "/analytics/channels"):
        assert_problem(client.http.get(path, headers=STOREFRONT), 403)
        assert client.http.get(path, headers=OPS).status_code == 200


def test_after_the_phone_is_proven_every_view_agrees_on_whose_order_it_is(
    client: Any, stack: Any
) -> None:
    # Found by a probe: the founder's 360 and export disagreed on the victim's order, the
    # victim's export listed it while their 360 and page did not, and their token got 403
    # for the ticket their export listed.
    attacker_email, victim_phone, record = _founded_with_an_unused_phone(client, "split")
    victims = place_order(client, order_body(customer={"phone": victim_phone, "name": "Vera"}))
    own = place_order(client, order_body(customer={"email": attacker_email}))
    assert victims["customer_id"] == own["customer_id"] == record
    ticket = _ticket_about(client, record, victims["order_id"], "Roto")
    eventually(lambda: customer_360(client, record)["metrics"]["order_count"] == 2)
    victim = verify_customer(client, stack.outbox, victim_phone)
    founder = verify_customer(client, stack.outbox, attacker_email)
    split = victim["customer_id"]
    assert split != record

    expected = {record: {own["order_id"]}, split: {victims["order_id"]}}
    for customer_id, token in ((record, founder), (split, victim)):
        for auth in (OPS, STOREFRONT | {"X-Customer-Token": token["customer_token"]}):
            view = client.http.get(f"/customers/{customer_id}", headers=auth).json_body
            export = client.http.get(f"/customers/{customer_id}/export", headers=auth).json_body
            for body in (view, export):
                assert {o["order_id"] for o in body["orders"]} == expected[customer_id]
                assert body["metrics"]["order_count"] == 1
            assert view["metrics"] == export["metrics"]
            assert [t["ticket_id"] for t in view["tickets"]] == [
                t["ticket_id"] for t in export["tickets"]
            ]
    ticket_path = f"/tickets/{ticket.json_body['ticket_id']}"
    as_victim = STOREFRONT | {"X-Customer-Token": victim["customer_token"]}
    as_founder = STOREFRONT | {"X-Customer-Token": founder["customer_token"]}
    assert client.http.get(ticket_path, headers=as_victim).status_code == 200
    assert_problem(client.http.get(ticket_path, headers=as_founder), 404, "ticket_id")


def test_a_ticket_s_notes_name_the_writer_s_client_to_ops_alone(client: Any, stack: Any) -> None:
    # A key configured without a client id is its own client, named by a digest of the key:
    # a customer or a store key holding the ops key's digest could try keys against it.
    mine = _customer(client, stack)
    ticket_id = open_ticket(client, mine["customer_id"])
    noted = client.http.request(
        "PATCH",
        f"/tickets/{ticket_id}",
        headers=OPS | JSON,
        body=json.dumps({"note": "called the carrier"}),
    )
    assert noted.status_code == 200, noted.body
    as_ops = noted.json_body["notes"][0]["by"]
    role, _, ops_client = as_ops.partition(":")
    assert role == "ops" and ops_client

    by_store = client.http.request(
        "PATCH", f"/tickets/{ticket_id}", headers=STORE | JSON, body=json.dumps({"note": "seen"})
    )
    by_customer = client.http.get(
        f"/tickets/{ticket_id}",
        headers=STOREFRONT | {"X-Customer-Token": mine["customer_token"]},
    )

    assert by_store.status_code == 200, by_store.body
    assert [n["by"] for n in by_store.json_body["notes"]] == ["ops", "store"]
    assert ops_client not in by_store.body.decode()
    assert by_customer.status_code == 200, by_customer.body
    assert ops_client not in by_customer.body.decode()
    as_ops_again = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert as_ops_again["notes"][0]["by"] == as_ops


def test_the_customer_reads_the_note_they_were_written_and_not_staff_s_working_notes(
    client: Any, stack: Any
) -> None:
    # A review: a storefront showed the customer every note staff wrote on their ticket
    # ("customer sounded drunk"), where the customer is told only the resolution.
    mine = _customer(client, stack)
    ticket_id = open_ticket(client, mine["customer_id"])
    as_customer = STOREFRONT | {"X-Customer-Token": mine["customer_token"]}

    def patch(headers: dict[str, str], change: dict[str, str]) -> None:
        done = client.http.request(
            "PATCH", f"/tickets/{ticket_id}", headers=headers | JSON, body=json.dumps(change)
        )
        assert done.status_code == 200, done.body

    patch(OPS, {"note": "customer sounded drunk"})
    patch(STORE, {"note": "asked the warehouse", "status": "pending"})
    working = client.http.get(f"/tickets/{ticket_id}", headers=as_customer)
    assert working.status_code == 200, working.body
    assert (working.json_body["status"], working.json_body["notes"]) == ("pending", [])
    assert "drunk" not in working.body.decode()

    patch(OPS, {"note": "A new one is on its way.", "status": "resolved"})

    resolved = client.http.get(f"/tickets/{ticket_id}", headers=as_customer).json_body
    assert [(n["by"], n["text"]) for n in resolved["notes"]] == [
        ("ops", "A new one is on its way.")
    ]
    as_ops = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert len(as_ops["notes"]) == 3
