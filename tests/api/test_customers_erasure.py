"""Erasure (GDPR art. 17) over HTTP on the local stack, what is shown afterwards: after
``POST /customers/{id}/erase`` no response that could show the person holds their name,
email, phone, loyalty id, address or anything they wrote, whatever they left with us (a
claimed store sale, a phone and a card, only a ticket); their orders keep their amounts and
statuses. Races and later writes are in ``test_customers_erasure_afterwards.py``.

Every personal value a test seeds carries one random marker (the phone its own digits), so
a recursive walk of each response for the marker finds any leak, wherever it hides
(``tests/support/erasure.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.domain.order_status import OrderStatus
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import get_order, merge, place_order, verify_customer
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
    assert merge(client, customer_id, second_id).status_code == 200
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


def _rated_store_sale_claimed(client: Any, person: Person) -> tuple[str, dict[str, str], list[str]]:
    """An anonymous pick-up sold at the store, collected, rated 2 with a comment (a
    complaint on no record yet), then claimed with its receipt code (a probe read the
    comment back from the complaint after the erasure)."""
    body = order_body(
        channel="store",
        store_id="ST-MADRID",
        lines=[
            {
                "sku": "TSHIRT-BLK-M",
                "quantity": 1,
                "fulfillment": "pickup",
                "location_id": "ST-MADRID",
            }
        ],
    )
    for anonymous in ("customer", "shipping_address"):
        body.pop(anonymous)
    sale = place_order(client, body, auth=STORE)
    ready = _wait_order(client, sale["order_id"], "READY_FOR_PICKUP")
    pickup = _order_view(client, sale["order_id"], STORE)["fulfillments"][0]
    _post(
        client,
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        {"pickup_code": pickup["pickup_code"]},
        STORE,
    )
    assert ready["customer_id"] is None
    _wait_order(client, sale["order_id"], "DELIVERED")
    track = "/" + sale["tracking_url"].split("/", 3)[3]
    survey = _get(client, track, {"Accept": "application/json"})["survey_url"]
    _post(client, "/" + survey.split("/", 3)[3], {"score": 2, "comment": person.text("Rota")}, {})
    claimed = _post(
        client,
        f"/orders/{sale['order_id']}/claim",
        {"receipt_code": sale["receipt_code"], "email": person.email, "name": person.name},
        STOREFRONT,
    )
    customer_id = claimed["customer_id"]
    # The complaint joins the claimant's record with the order.
    eventually(
        lambda: (
            [t["ticket_id"] for t in _get(client, f"/customers/{customer_id}")["tickets"]]
            == [f"tkt_survey_{sale['order_id']}"]
        )
    )
    return customer_id, {sale["order_id"]: sale["tracking_url"]}, [f"tkt_survey_{sale['order_id']}"]


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
    [_claimed_store_sale, _rated_store_sale_claimed, _known_by_phone_and_card, _only_a_ticket],
    ids=[
        "claimed-store-sale",
        "rated-then-claimed",
        "phone-and-loyalty-card-only",
        "only-a-ticket",
    ],
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


def test_erasure_names_the_record_split_off_the_persons_one_and_ops_erase_it_too(
    client: Any, stack: Any, parked: list[str]
) -> None:
    # The person ordered with their email and phone (the phone attached, unproven), then
    # proved the phone (a record of its own, split off theirs) and ordered with it. Whoever
    # proved the phone may be someone else (a probe: erasing one person took another's
    # record), so the erasure leaves the split record and names it; ops, knowing it is the
    # same person, erase it too, and then nothing of the person is left.
    person = Person()
    bystander_id, bystander = _other_person(client)
    first = place_order(
        client,
        order_body(
            customer={"email": person.email, "phone": person.phone, "name": person.name},
            shipping_address=person.address,
        ),
    )
    customer_id = first["customer_id"]
    split = verify_customer(client, stack.outbox, person.phone)["customer_id"]
    assert split != customer_id
    later = place_order(
        client,
        order_body(
            customer={"phone": person.phone, "name": person.name},
            shipping_address=person.address,
        ),
    )
    assert later["customer_id"] == split
    orders = {o["order_id"]: o["tracking_url"] for o in (first, later)}
    parked.extend(orders)
    eventually(  # in the split record's 360, whatever status it has reached by then
        lambda: (
            later["order_id"]
            in {o["order_id"] for o in _get(client, f"/customers/{split}")["orders"]}
        )
    )

    erased = _erase(client, customer_id)

    assert erased.status_code == 200, erased.body
    assert erased.json_body["erased_records"] == [customer_id]
    assert erased.json_body["split_records"] == [split]
    assert_problem(client.http.get(f"/customers?email={quote(person.email)}", headers=OPS), 404)
    assert _get(client, f"/customers?phone={quote(person.phone)}")["customer_id"] == split
    assert _get(client, f"/customers/{split}")["profile"]["state"] == "active"
    assert get_order(client, later["order_id"], OPS)["status"] != "CANCELLED"

    also = _erase(client, split)

    assert also.status_code == 200, also.body
    assert also.json_body["erased_records"] == [split]
    for query in (f"phone={quote(person.phone)}", f"email={quote(person.email)}"):
        assert_problem(client.http.get(f"/customers?{query}", headers=OPS), 404)
    assert_nothing_of(person, everything_shown(client, [customer_id, split], orders, []))
    again = _erase(client, customer_id)
    assert again.status_code == 200, again.body
    assert again.json_body["erased_records"] == [customer_id]
    assert _get(client, f"/customers?phone={quote(bystander['phone'])}")["customer_id"] == (
        bystander_id
    )
