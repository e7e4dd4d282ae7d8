"""Erasure (GDPR art. 17) over HTTP on the local stack, after and around the erase: a
repeated erase finishes an interrupted one; an order event arriving afterwards writes
nothing back, nor does anything else about the erased customer; a record merged into
another and the history a merge moves are erased with the person; the system's tickets about
their orders stay open. What is shown right after an erase is in
``test_customers_erasure.py``.

Every personal value a test seeds carries one random marker (the phone its own digits), so
a recursive walk of each response for the marker finds any leak (``tests/support/erasure.py``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.placement import CustomerContact
from chalicelib.ports import CustomerRecord
from chalicelib.services import tickets
from tests.support import JSON, OPS, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import merge, place_order, verify_customer
from tests.support.erasure import (
    Person,
    _erase,
    _get,
    _other_person,
    _post,
    _projected,
    assert_nothing_of,
    everything_shown,
    leaks,
)
from tests.support.flow import fresh_sku, receive_at_warehouse


def test_an_interrupted_erasure_is_finished_by_asking_again(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person()
    bystander_id, bystander = _other_person(client)
    known = _post(client, "/customers", {"email": person.email, "name": person.name})
    placed = place_order(
        client,
        order_body(
            customer={"email": person.email, "phone": bystander["phone"], "name": person.name},
            shipping_address=person.address,
        ),
    )
    customer_id, order_id = placed["customer_id"], placed["order_id"]
    assert customer_id == known["customer_id"]
    ticket = _post(
        client,
        f"/customers/{customer_id}/tickets",
        {"subject": person.text("s"), "description": person.text("d"), "channel": "phone"},
    )["ticket_id"]
    _projected(client, customer_id, {order_id: "SHIPPED"})
    stack.lambdas.drain()
    assert customer_id in _get(client, f"/customers/{bystander_id}")["merge_candidates"]
    real = deps.customers.drop_merge_candidates
    failures: list[str] = []

    def fails_once(customer: str) -> int:
        if not failures:
            failures.append(customer)
            raise RuntimeError("the table went away for a moment")
        return int(real(customer))

    monkeypatch.setattr(deps.customers, "drop_merge_candidates", fails_once)
    orders = {order_id: placed["tracking_url"]}

    interrupted = _erase(client, customer_id)

    assert interrupted.status_code == 500, interrupted.body
    # Recorded first: the record is erased and its identifiers resolve no more; the steps
    # before the failure are done, the ones after it are not.
    assert_problem(client.http.get(f"/customers?email={person.email}", headers=OPS), 404)
    export = _get(client, f"/customers/{customer_id}/export")
    assert [e["status"] for e in export["erasure"]] == ["in_progress"]
    assert not leaks(_get(client, f"/tickets/{ticket}"), person.needles)
    assert customer_id in _get(client, f"/customers/{bystander_id}")["merge_candidates"]
    assert leaks(_get(client, "/ops/outbox?limit=1000"), person.needles)

    finished = _erase(client, customer_id)

    assert finished.status_code == 200, finished.body
    assert finished.json_body["status"] == "completed"
    assert finished.json_body["at"] == export["erasure"][0]["at"]
    assert failures == [customer_id]
    assert customer_id not in _get(client, f"/customers/{bystander_id}")["merge_candidates"]
    assert_nothing_of(person, everything_shown(client, [customer_id], orders, [ticket]))
    assert _get(client, f"/customers/{customer_id}/export")["erasure"][0]["status"] == "completed"
    assert _erase(client, customer_id).status_code == 200


def test_an_order_the_erasure_did_not_see_loses_the_data_when_its_event_arrives(
    client: Any, deps: Any, stack: Any
) -> None:
    person = Person()
    placed = place_order(
        client, order_body(customer={"email": person.email}, shipping_address=person.address)
    )
    customer_id = placed["customer_id"]
    _projected(client, customer_id, {placed["order_id"]: "SHIPPED"})
    stack.lambdas.drain()
    assert _erase(client, customer_id).status_code == 200
    # An order accepted for the customer while the erasure ran, whose first event is
    # delivered only now: it still carries what the customer typed.
    late = deps.store.get_order(placed["order_id"]).model_copy(deep=True)
    late.order_id = f"ord_late_{uuid.uuid4().hex[:12]}"
    late.version = 0
    late.contact = CustomerContact(email=person.email, phone=person.phone, name=person.name)
    late.shipping_address = late.shipping_address.model_validate(person.address)  # type: ignore[union-attr]
    late.fulfillments, late.returns = [], []
    entry = HistoryEntry(status=OrderStatus.ACCEPTED, at=late.placed_at, detail="placed via web")
    late.status, late.history = OrderStatus.ACCEPTED, [entry]
    deps.store.create_order(late)
    # The copy of an email sent about it before its event reached the projector.
    mailed = deps.outbox.directory / f"late-{person.mark}.eml"
    mailed.write_text(f"To: {person.name} <{person.email}>\nSubject: Pedido\n\nHola\n")

    deps.events.publish(OrderStatusChanged.of(late, entry).message())
    stack.lambdas.drain()

    # Nothing of it was handed over, and every part needs what was erased: cancelled.
    view = _projected(client, customer_id, {late.order_id: "CANCELLED"})
    stored = deps.store.get_order(late.order_id)
    assert stored.status is OrderStatus.CANCELLED
    assert stored.contact == CustomerContact(locale=late.contact.locale)
    assert leaks(json.loads(stored.model_dump_json()), person.needles) == []
    assert stored.total == late.total
    assert leaks(view, person.needles) == []
    assert not mailed.exists()
    assert (
        deps.store.find_identifier(Identifier(type=IdentifierType.EMAIL, value=person.email))
        is None
    )


def test_erasing_a_record_merged_into_another_erases_the_person_it_was_merged_into(
    client: Any,
) -> None:
    person = Person()
    kept = _post(client, "/customers", {"email": person.email, "name": person.name})["customer_id"]
    old = _post(
        client, "/customers", {"email": f"old-{person.mark}@example.com", "name": person.name}
    )["customer_id"]
    assert merge(client, kept, old).status_code == 200

    erased = _erase(client, old)

    assert erased.status_code == 200, erased.body
    assert erased.json_body["customer_id"] == kept
    assert sorted(erased.json_body["erased_records"]) == sorted([kept, old])
    assert_problem(client.http.get(f"/customers?email={person.email}", headers=OPS), 404)
    shown = {
        f"{what} {i}": _get(client, f"/customers/{i}{suffix}")
        for i in (kept, old)
        for what, suffix in (("view", ""), ("export", "/export"))
    }
    assert_nothing_of(person, shown)


def test_nothing_new_is_written_about_an_erased_customer(client: Any) -> None:
    person = Person()
    customer_id = _post(client, "/customers", {"email": person.email})["customer_id"]
    ticket = _post(
        client,
        f"/customers/{customer_id}/tickets",
        {"subject": "s", "description": "d", "channel": "phone"},
    )["ticket_id"]
    assert _erase(client, customer_id).status_code == 200

    for response, field_name in (
        (
            client.http.post(
                f"/customers/{customer_id}/interactions",
                headers=OPS | JSON,
                body=json.dumps({"type": "call", "channel": "phone", "summary": person.name}),
            ),
            "customer_id",
        ),
        (
            client.http.post(
                f"/customers/{customer_id}/tickets",
                headers=OPS | JSON,
                body=json.dumps({"subject": person.name, "description": "d", "channel": "web"}),
            ),
            "customer_id",
        ),
        (
            client.http.patch(
                f"/tickets/{ticket}", headers=OPS | JSON, body=json.dumps({"note": person.name})
            ),
            "note",
        ),
    ):
        assert_problem(response, 409, field_name)
    placed = client.http.post(
        "/orders",
        headers=STOREFRONT | JSON | {"Idempotency-Key": uuid.uuid4().hex},
        body=json.dumps(order_body(customer={"customer_id": customer_id})),
    )
    assert_problem(placed, 409, "customer.customer_id")
    resolved = client.http.patch(
        f"/tickets/{ticket}", headers=OPS | JSON, body=json.dumps({"status": "resolved"})
    )
    assert resolved.status_code == 200, resolved.body
    assert_nothing_of(person, {"view": _get(client, f"/customers/{customer_id}")})


def test_the_systems_tickets_about_an_erased_customers_orders_still_open(
    client: Any, deps: Any
) -> None:
    customer_id = _post(client, "/customers", {"email": Person().email})["customer_id"]
    assert _erase(client, customer_id).status_code == 200

    # What the SLA check opens when an erased customer's parcel is late: ops must still act.
    opened = tickets.open_ticket(
        customer_id,
        "late_delivery",
        "Late delivery: Rapido RAP0000000001",
        "Promised by 2026-11-30T10:00:00+00:00; not delivered when the promise ran out.",
        None,
        "system",
        deps,
        ticket_id=f"tkt_late_{uuid.uuid4().hex[:12]}",
    )

    shown = _get(client, f"/tickets/{opened.ticket_id}")
    assert (shown["status"], shown["customer_id"]) == ("open", customer_id)


def test_history_a_merge_moves_while_the_person_is_erased_is_erased_too(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person()
    survivor = _post(client, "/customers", {"email": person.email})["customer_id"]
    merged = _post(
        client, "/customers", {"email": f"merged-{person.mark}@example.com", "name": person.name}
    )["customer_id"]
    _post(
        client,
        f"/customers/{merged}/interactions",
        {"type": "call", "channel": "phone", "summary": person.text("Called")},
    )
    real_move = deps.customers.move_items

    def erased_midway(source: str, target: str, kinds: tuple[CustomerRecord, ...]) -> int:
        # The move reads the merged record's items, the erasure runs to the end, then the
        # move writes what it read into the survivor's partition.
        stale, _ = deps.customers.records(source, CustomerRecord.INTERACTIONS)
        assert _erase(client, survivor).status_code == 200
        for item in stale:
            deps.customers.add_interaction(target, item)
            moved = item["interaction_id"]
            deps.customers.rewrite_items(
                source,
                CustomerRecord.INTERACTIONS,
                lambda each, moved=moved: None if each["interaction_id"] == moved else each,
            )
        return int(real_move(source, target, kinds))

    monkeypatch.setattr(deps.customers, "move_items", erased_midway)

    assert merge(client, survivor, merged).status_code == 200

    assert_nothing_of(
        person,
        {
            "view": _get(client, f"/customers/{survivor}"),
            "export": _get(client, f"/customers/{survivor}/export"),
        },
    )


def test_erasing_a_customer_keeps_the_emails_of_someone_whose_address_they_named(
    client: Any, stack: Any
) -> None:
    # Found by a re-probe: erasing A, whose order named B's proven email, deleted every
    # email B had (their own order's, their code); only those about A's order must go.
    phone = f"+3464{uuid.uuid4().int % 10_000_000:07d}"
    someone = f"b-{uuid.uuid4().hex[:10]}@example.com"
    a = verify_customer(client, stack.outbox, phone)["customer_id"]
    b = verify_customer(client, stack.outbox, someone)["customer_id"]
    named = place_order(
        client, order_body(customer={"customer_id": a, "phone": phone, "email": someone})
    )
    own = place_order(client, order_body(customer={"email": someone}))
    assert own["customer_id"] == b

    def mails(order_id: str | None = None) -> list[str]:
        found = [p.read_text(encoding="utf-8") for p in stack.outbox.glob("*.eml")]
        return [m for m in found if someone in m and (order_id is None or order_id in m)]

    eventually(lambda: mails(named["order_id"]) and mails(own["order_id"]))
    erased = client.http.post(f"/customers/{a}/erase", headers=OPS)

    assert erased.status_code == 200, erased.body
    assert mails(named["order_id"]) == []
    assert mails(own["order_id"]) != []
    assert any("code" in m.lower() or "código" in m for m in mails())


def test_a_retried_request_does_not_answer_an_erased_customer_s_words_again(
    client: Any,
) -> None:
    """Found by a probe: replaying a ticket's, an interaction's or a resolution's
    Idempotency-Key after the erasure answered the first 201, the ticket's description and
    the interaction's summary with it, and the erased record's id."""
    person = Person()
    requests = [
        ("/customers", {"email": person.email, "name": person.name}),
        (
            "/tickets",
            {"subject": person.text("s"), "description": person.text("d"), "channel": "phone"},
        ),
        ("/interactions", {"type": "call", "channel": "phone", "summary": person.text("i")}),
    ]
    keys = [uuid.uuid4().hex for _ in requests]

    def send(index: int, customer_id: str = "") -> Any:
        path, body = requests[index]
        return client.http.post(
            f"/customers/{customer_id}{path}" if customer_id else path,
            headers=OPS | JSON | {"Idempotency-Key": keys[index]},
            body=json.dumps(body),
        )

    customer_id = send(0).json_body["customer_id"]
    firsts = [send(1, customer_id), send(2, customer_id)]
    assert [r.status_code for r in firsts] == [201, 201], [r.body for r in firsts]
    # Replayed while the customer is there: the first response, byte for byte.
    assert [send(1, customer_id).body, send(2, customer_id).body] == [r.body for r in firsts]
    assert send(0).json_body["customer_id"] == customer_id

    assert _erase(client, customer_id).status_code == 200

    replays = {
        "resolution": (send(0), "Idempotency-Key"),
        "ticket": (send(1, customer_id), "customer_id"),
        "interaction": (send(2, customer_id), "customer_id"),
    }
    for response, field_name in replays.values():
        assert_problem(response, 409, field_name)
    assert_nothing_of(person, {what: r.json_body for what, (r, _) in replays.items()})
    assert_nothing_of(person, {"view": _get(client, f"/customers/{customer_id}")})


def test_a_merge_landing_as_the_erasure_is_recorded_has_its_records_addresses_erased(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe sent ``POST /customers/{A}/merge`` of B and ``POST /customers/{A}/erase``
    at once: the erasure named both records erased, yet B's bare-email back-in-stock wish
    stayed open (the restock emailed B) and the email about B's ticket stayed in the
    outbox. Here the merge lands after the erasure read the person, before it is written."""
    person = Person()
    sku = fresh_sku(deps, {"WH-GETAFE": 0})
    wish = _post(client, f"/inventory/{sku}/subscriptions", {"email": person.email}, STOREFRONT)
    merged = place_order(client, order_body(customer={"email": person.email}))["customer_id"]
    other_phone = f"+3465{uuid.uuid4().int % 10_000_000:07d}"
    survivor = place_order(client, order_body(customer={"phone": other_phone}))["customer_id"]
    ticket = {"type": "question", "subject": person.text("Q"), "description": "D", "channel": "web"}
    ticket_id = _post(client, f"/customers/{merged}/tickets", ticket)["ticket_id"]

    def mails_to_the_person() -> list[str]:
        found = [p.read_text(encoding="utf-8") for p in stack.outbox.glob("*.eml")]
        return [mail for mail in found if person.email in mail]

    eventually(lambda: [m for m in mails_to_the_person() if ticket_id in m])
    real_begin = deps.customers.begin_erasure
    merges: list[int] = []

    def merged_meanwhile(customer_id: str, identifiers: Any, record: Any) -> None:
        if not merges:
            merges.append(merge(client, survivor, merged).status_code)
        real_begin(customer_id, identifiers, record)

    monkeypatch.setattr(deps.customers, "begin_erasure", merged_meanwhile)

    erased = _erase(client, survivor)

    assert merges == [200]
    assert erased.status_code == 200, erased.body
    assert erased.json_body["erased_records"] == [survivor, merged]
    kept = deps.opportunities.subscription(wish["subscription_id"])
    assert (kept.email, kept.status) == ("[erased]", "erased")
    listed = _get(client, "/ops/opportunities")["opportunities"]
    (row,) = [r for r in listed if r["opportunity_id"] == f"opp_{wish['subscription_id']}"]
    assert row["status"] == "lost"
    assert mails_to_the_person() == []
    assert not leaks(_get(client, "/ops/outbox?limit=1000"), person.needles)
    receive_at_warehouse(client, sku, 3)
    assert mails_to_the_person() == []
