"""Erasure (GDPR art. 17) over HTTP on the local stack: after ``POST /customers/{id}/erase``
no response that could show the person holds their name, email, phone, loyalty id, address
or anything they wrote; their orders keep their amounts and statuses; a repeated erase
finishes an interrupted one; an order event arriving afterwards writes nothing back.

Every personal value a test seeds carries one random marker (the phone its own digits), so
a recursive walk of each response for the marker finds any leak, wherever it hides."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest

from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.placement import CustomerContact
from chalicelib.ports import CustomerRecord
from chalicelib.services import tickets
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import place_order
from tests.support.flow import fresh_sku, post_carrier_event, stop_if_running, tracking_number


@pytest.fixture
def parked(deps: Any) -> Iterator[list[str]]:
    """Orders whose executions may still wait when the test ends: stopped then."""
    order_ids: list[str] = []
    yield order_ids
    for order_id in order_ids:
        stop_if_running(deps, order_id)


@pytest.fixture
def slower(settings: Any) -> None:
    """Waits ten times longer than the suite's default: a 24 h SLA is 40 s, so no parcel
    of these tests breaches or times out while they act on it."""
    settings.time_scale = settings.time_scale / 10


@dataclass
class Person:
    """A customer's personal data, every value marked with ``mark``."""

    mark: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    phone_digits: str = field(
        default_factory=lambda: f"6{random.Random(uuid.uuid4().int).randrange(10**8):08d}"
    )

    @property
    def name(self) -> str:
        return f"Zoraida Olvido {self.mark}"

    @property
    def email(self) -> str:
        return f"olvido-{self.mark}@example.com"

    @property
    def phone(self) -> str:
        return f"+34{self.phone_digits}"

    @property
    def loyalty_id(self) -> str:
        return f"LOY{self.mark.upper()}"

    @property
    def address(self) -> dict[str, str]:
        return {
            "name": self.name,
            "line1": f"Calle del Olvido {self.mark} 7",
            "city": f"Olvidaville {self.mark}",
            "postal_code": "28013",
            "country": "ES",
        }

    def text(self, what: str) -> str:
        """Free text the customer wrote, naming themselves."""
        return f"{what} ({self.name}, {self.phone_digits})"

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.mark.lower(), self.phone_digits)


def leaks(value: Any, needles: tuple[str, ...], path: str = "$") -> list[str]:
    """Where, in a decoded JSON document (or a text), any needle occurs (ignoring case)."""
    if isinstance(value, str):
        lowered = value.lower()
        return [f"{path}: {value[:120]!r}" for needle in needles if needle in lowered]
    if isinstance(value, dict):
        found: list[str] = []
        for key, inner in value.items():
            found += leaks(str(key), needles, f"{path}.<key>")
            found += leaks(inner, needles, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [
            hit for i, inner in enumerate(value) for hit in leaks(inner, needles, f"{path}[{i}]")
        ]
    return []


def _get(client: Any, path: str, headers: dict[str, str] = OPS) -> Any:
    response = client.http.get(path, headers=headers)
    assert response.status_code == 200, (path, response.body)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        return response.body.decode() if isinstance(response.body, bytes) else response.body
    return json.loads(response.body)


def _track_path(tracking_url: str) -> str:
    return urlparse(tracking_url).path


def everything_shown(
    client: Any,
    customers: list[str],
    orders: dict[str, str],
    tickets: list[str],
) -> dict[str, Any]:
    """Every response that could show these customers: their 360 views and exports (by
    every id they had), each order as ops and as store staff, its ops timeline and
    tracking page (JSON and HTML), each ticket, and the ops console's outbox."""
    shown: dict[str, Any] = {"outbox": _get(client, "/ops/outbox?limit=1000")}
    for customer_id in customers:
        shown[f"view {customer_id}"] = _get(client, f"/customers/{customer_id}")
        shown[f"export {customer_id}"] = _get(client, f"/customers/{customer_id}/export")
    for order_id, tracking_url in orders.items():
        shown[f"order {order_id} (ops)"] = _get(client, f"/orders/{order_id}")
        shown[f"order {order_id} (store)"] = _get(client, f"/orders/{order_id}", STORE)
        shown[f"timeline {order_id}"] = _get(client, f"/ops/orders/{order_id}/timeline")
        track = _track_path(tracking_url)
        shown[f"tracking {order_id}"] = _get(client, track, {"Accept": "application/json"})
        shown[f"tracking page {order_id}"] = _get(client, track, {"Accept": "text/html"})
    for ticket_id in tickets:
        shown[f"ticket {ticket_id}"] = _get(client, f"/tickets/{ticket_id}")
    return shown


def assert_nothing_of(person: Person, shown: dict[str, Any]) -> None:
    """No response holds any of the person's values."""
    found = {name: hits for name, body in shown.items() if (hits := leaks(body, person.needles))}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def _post(client: Any, path: str, body: dict[str, Any], auth: dict[str, str] = OPS) -> Any:
    response = client.http.post(path, headers=auth | JSON, body=json.dumps(body))
    assert response.status_code in (200, 201), (path, response.body)
    return response.json_body


def _erase(client: Any, customer_id: str) -> Any:
    return client.http.post(f"/customers/{customer_id}/erase", headers=OPS)


def _ship_order(person: Person, sku: str, **customer: Any) -> dict[str, Any]:
    return order_body(
        customer={"email": person.email, "name": person.name, **customer},
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "ship"}],
        shipping_address=person.address,
    )


def _pickup_order(person: Person, sku: str) -> dict[str, Any]:
    body = order_body(
        customer={"email": person.email, "name": person.name},
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-VALENCIA"}],
    )
    body.pop("shipping_address")
    return body


def _order_view(client: Any, order_id: str, auth: dict[str, str] = OPS) -> dict[str, Any]:
    body: dict[str, Any] = _get(client, f"/orders/{order_id}", auth)
    return body


def _wait_order(client: Any, order_id: str, *statuses: str) -> dict[str, Any]:
    return eventually(lambda: (o := _order_view(client, order_id))["status"] in statuses and o)


def _projected(client: Any, customer_id: str, statuses: dict[str, str]) -> dict[str, Any]:
    """The 360 view once it shows these orders in these statuses."""

    def seen() -> dict[str, Any] | None:
        view: dict[str, Any] = _get(client, f"/customers/{customer_id}")
        shown = {o["order_id"]: o["status"] for o in view["orders"]}
        return view if all(shown.get(k) == v for k, v in statuses.items()) else None

    return eventually(seen)


def _other_person(client: Any) -> tuple[str, dict[str, str]]:
    """Somebody else, who must come out of the erasure untouched."""
    other = {
        "email": f"bystander-{uuid.uuid4().hex[:10]}@example.com",
        "phone": f"+346{random.Random(uuid.uuid4().int).randrange(10**8):08d}",
        "name": "Bystander Persona",
    }
    return _post(client, "/customers", other)["customer_id"], other


def test_after_erasure_nothing_shown_holds_the_persons_data_and_the_books_stay(
    client: Any, deps: Any, stack: Any, parked: list[str], slower: None
) -> None:
    person, merged = Person(), Person()
    merged.mark = person.mark  # one person under two records: one marker finds both
    merged_email = f"second-{person.mark}@example.com"
    bystander_id, bystander = _other_person(client)
    ship_sku = fresh_sku(deps, {"WH-GETAFE": 10})
    pickup_sku = fresh_sku(deps, {"ST-VALENCIA": 5})

    # A shipped order (delivered, then partly returned with the customer's reason), a
    # pick-up waiting in store, an order that also named the bystander's phone (a merge
    # candidate), and a second record of the same person, merged in.
    shipped = place_order(
        client, _ship_order(person, ship_sku, phone=person.phone, loyalty_id=person.loyalty_id)
    )
    customer_id = shipped["customer_id"]
    pickup = place_order(client, _pickup_order(person, pickup_sku))
    candidate = place_order(client, _ship_order(person, ship_sku, phone=bystander["phone"]))
    second = place_order(
        client,
        order_body(
            customer={"email": merged_email, "name": f"Zori {person.mark}"},
            lines=[{"sku": ship_sku, "quantity": 1, "fulfillment": "ship"}],
            shipping_address=merged.address | {"line1": f"Plaza {person.mark} 2"},
        ),
    )
    second_id = second["customer_id"]
    orders = {o["order_id"]: o["tracking_url"] for o in (shipped, pickup, candidate, second)}
    parked.extend(orders)
    assert {pickup["customer_id"], candidate["customer_id"]} == {customer_id}
    assert second_id != customer_id

    order = eventually(
        lambda: (o := deps.store.get_order(shipped["order_id"])).status is OrderStatus.SHIPPED and o
    )
    post_carrier_event(client, tracking_number(order))
    _wait_order(client, shipped["order_id"], "DELIVERED")
    _post(
        client,
        f"/orders/{shipped['order_id']}/returns",
        {
            "lines": [{"sku": ship_sku, "quantity": 1}],
            "reason": person.text("Too small for me"),
            "channel": "mail",
        },
        STOREFRONT,
    )
    complaint = _post(
        client,
        f"/customers/{customer_id}/tickets",
        {
            "type": "complaint",
            "subject": person.text("Complaint"),
            "description": person.text("I wrote this myself"),
            "order_id": shipped["order_id"],
            "channel": "phone",
        },
    )["ticket_id"]
    noted = client.http.patch(
        f"/tickets/{complaint}",
        headers=OPS | JSON,
        body=json.dumps({"note": person.text("Called back")}),
    )
    assert noted.status_code == 200, noted.body
    second_ticket = _post(
        client,
        f"/customers/{second_id}/tickets",
        {"subject": person.text("Old record"), "description": person.text("d"), "channel": "web"},
    )["ticket_id"]
    _post(
        client,
        f"/customers/{customer_id}/interactions",
        {"type": "call", "channel": "phone", "summary": person.text("Called")},
    )
    _post(
        client,
        f"/customers/{second_id}/interactions",
        {"type": "chat", "channel": "chat", "summary": person.text("Chatted")},
    )
    _post(client, f"/customers/{customer_id}/merge", {"from_customer_id": second_id})
    ready = _wait_order(client, pickup["order_id"], "READY_FOR_PICKUP")
    eventually(
        lambda: (
            _order_view(client, second["order_id"])["status"] == "SHIPPED"
            and _order_view(client, candidate["order_id"])["status"] == "SHIPPED"
        )
    )
    before = _projected(
        client,
        customer_id,
        {
            shipped["order_id"]: "DELIVERED",
            pickup["order_id"]: "READY_FOR_PICKUP",
            candidate["order_id"]: "SHIPPED",
            second["order_id"]: "SHIPPED",
        },
    )
    stack.lambdas.drain()
    assert bystander_id in before["merge_candidates"]
    books = {o: _order_view(client, o) for o in orders}
    ids = [customer_id, second_id]
    tickets = [complaint, second_ticket]
    # The walk sees the person everywhere before the erasure (so it would see a leak).
    seen = everything_shown(client, ids, orders, tickets)
    assert all(leaks(seen[name], person.needles) for name in ("outbox", f"view {customer_id}"))
    assert all(leaks(seen[f"export {i}"], person.needles) for i in ids)
    assert all(leaks(seen[f"ticket {t}"], person.needles) for t in tickets)

    erased = _erase(client, customer_id)

    assert erased.status_code == 200, erased.body
    assert erased.json_body["customer_id"] == customer_id
    assert erased.json_body["status"] == "completed"
    assert sorted(erased.json_body["erased_records"]) == sorted(ids)
    assert_nothing_of(person, everything_shown(client, ids, orders, tickets))
    # Their identifiers name nobody; giving them again makes a new customer.
    for query in (
        f"email={person.email}",
        f"email={merged_email}",
        f"phone=%2B34{person.phone_digits}",
        f"loyalty_id={person.loyalty_id}",
    ):
        assert_problem(client.http.get(f"/customers?{query}", headers=OPS), 404)
    again = _post(client, "/customers", {"email": person.email, "loyalty_id": person.loyalty_id})
    assert again["created"] is True
    assert again["customer_id"] not in ids
    assert _get(client, f"/customers/{again['customer_id']}")["orders"] == []
    # The books stay: amounts, payments, statuses, lines; the figures too.
    for order_id, was in books.items():
        now = _order_view(client, order_id)
        for kept in ("total", "payment", "lines", "status", "history", "returns"):
            if kept == "returns":
                assert [r["refund"] for r in now[kept]] == [r["refund"] for r in was[kept]]
            else:
                assert now[kept] == was[kept], kept
    view = _get(client, f"/customers/{customer_id}")
    assert view["metrics"] == before["metrics"]
    assert view["profile"]["state"] == "erased"
    assert view["identifiers"] == [] and view["merge_candidates"] == []
    # The bystander keeps their own data, and no longer points at the erased record.
    other = _get(client, f"/customers/{bystander_id}")
    assert {"type": "email", "value": bystander["email"]} in other["identifiers"]
    assert customer_id not in other["merge_candidates"]
    assert_nothing_of(person, {"bystander": other})

    # An order event after the erasure (the pick-up collected) is projected, and writes
    # none of the person's data back anywhere.
    code = next(
        f["pickup_code"] for f in _order_view(client, pickup["order_id"], STORE)["fulfillments"]
    )
    assert ready["status"] == "READY_FOR_PICKUP"
    fulfillment_id = ready["fulfillments"][0]["fulfillment_id"]
    collected = client.http.post(
        f"/fulfillments/{fulfillment_id}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": code}),
    )
    assert collected.status_code == 200, collected.body
    _projected(client, customer_id, {pickup["order_id"]: "DELIVERED"})
    stack.lambdas.drain()
    assert_nothing_of(person, everything_shown(client, ids, orders, tickets))


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

    view = _projected(client, customer_id, {late.order_id: "ACCEPTED"})
    stored = deps.store.get_order(late.order_id)
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
    _post(client, f"/customers/{kept}/merge", {"from_customer_id": old})

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
        "Late delivery: rapido RAP0000000001",
        "Promised by 2026-11-30T10:00:00+00:00; not delivered when the promise ran out.",
        None,
        "system",
        deps,
        ticket_id=f"tkt_late_{uuid.uuid4().hex[:12]}",
    )

    shown = _get(client, f"/tickets/{opened.ticket_id}")
    assert (shown["status"], shown["customer_id"]) == ("open", customer_id)


def _claimed_store_sale(client: Any, person: Person) -> tuple[str, dict[str, str], list[str]]:
    """An anonymous store sale the person claimed later with their receipt code."""
    body = order_body(
        channel="store",
        store_id="ST-MADRID",
        lines=[{"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"}],
        shipping_address=person.address,
    )
    body.pop("customer")
    sale = place_order(client, body, auth=STORE)
    claimed = _post(
        client,
        f"/orders/{sale['order_id']}/claim",
        {"receipt_code": sale["receipt_code"], "email": person.email, "name": person.name},
        STOREFRONT,
    )
    return claimed["customer_id"], {sale["order_id"]: sale["tracking_url"]}, []


def _known_by_phone_and_card(client: Any, person: Person) -> tuple[str, dict[str, str], list[str]]:
    """No email at all: a phone and a loyalty card, a pick-up order and a staff note."""
    body = order_body(
        customer={"phone": person.phone, "loyalty_id": person.loyalty_id, "name": person.name},
        lines=[
            {
                "sku": "TSHIRT-BLK-M",
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-MADRID",
            }
        ],
    )
    body.pop("shipping_address")
    placed = place_order(client, body)
    _post(
        client,
        f"/customers/{placed['customer_id']}/interactions",
        {"type": "store_visit", "channel": "store", "summary": person.text("Came by")},
    )
    return placed["customer_id"], {placed["order_id"]: placed["tracking_url"]}, []


def _only_a_ticket(client: Any, person: Person) -> tuple[str, dict[str, str], list[str]]:
    """A customer who never ordered, with a resolved ticket full of notes."""
    customer_id = _post(client, "/customers", {"email": person.email, "name": person.name})[
        "customer_id"
    ]
    ticket = _post(
        client,
        f"/customers/{customer_id}/tickets",
        {
            "type": "question",
            "subject": person.text("Q"),
            "description": person.text("D"),
            "channel": "web",
        },
    )["ticket_id"]
    for body in ({"note": person.text("N1")}, {"status": "resolved", "note": person.text("N2")}):
        response = client.http.patch(
            f"/tickets/{ticket}", headers=OPS | JSON, body=json.dumps(body)
        )
        assert response.status_code == 200, response.body
    return customer_id, {}, [ticket]


@pytest.mark.parametrize(
    "scenario",
    [_claimed_store_sale, _known_by_phone_and_card, _only_a_ticket],
    ids=["claimed-store-sale", "phone-and-loyalty-card-only", "only-a-ticket"],
)
def test_erasure_leaves_nothing_of_the_person_whatever_they_left_with_us(
    client: Any, deps: Any, stack: Any, parked: list[str], scenario: Any
) -> None:
    person = Person()
    customer_id, orders, tickets_ = scenario(client, person)
    parked.extend(orders)
    eventually(
        lambda: all(
            o in {s["order_id"] for s in _get(client, f"/customers/{customer_id}")["orders"]}
            for o in orders
        )
    )
    stack.lambdas.drain()
    assert leaks(everything_shown(client, [customer_id], orders, tickets_), person.needles)

    assert _erase(client, customer_id).status_code == 200

    stack.lambdas.drain()
    assert_nothing_of(person, everything_shown(client, [customer_id], orders, tickets_))


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

    _post(client, f"/customers/{survivor}/merge", {"from_customer_id": merged})

    assert_nothing_of(
        person,
        {
            "view": _get(client, f"/customers/{survivor}"),
            "export": _get(client, f"/customers/{survivor}/export"),
        },
    )
