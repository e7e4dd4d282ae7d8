"""Many clients at once: a storefront retrying one checkout, and shoppers racing for the
last units on a store's shelf."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support import STOREFRONT, assert_problem, idempotency_key, order_body
from tests.support.orders import wait_for_status
from tests.support.shop import Shop

pytestmark = [pytest.mark.acceptance, pytest.mark.xdist_group("acceptance")]

RETRIES = 50
PICKUP_STORE = "ST-VALENCIA"
RACE_SKU = "BACKPACK-20"


def test_fifty_concurrent_retries_of_one_checkout_make_one_order(shop: Shop) -> None:
    body = order_body(lines=[{"sku": "BELT-LEA", "quantity": 1, "fulfillment": "ship"}])
    customer_email = body["customer"]["email"]
    key = idempotency_key()

    with ThreadPoolExecutor(max_workers=RETRIES) as pool:
        responses = list(pool.map(lambda _: shop.place(body, key), range(RETRIES)))

    assert [r.status_code for r in responses] == [202] * RETRIES, [
        r.text for r in responses if r.status_code != 202
    ]
    answers = [r.json() for r in responses]
    assert all(answer == answers[0] for answer in answers), answers
    order_id = answers[0]["order_id"]

    # The same key with another body is a client bug, not a new order: 422 naming the key
    # (API.md, Conventions).
    other = order_body(lines=[{"sku": "BELT-LEA", "quantity": 2, "fulfillment": "ship"}])
    problem = assert_problem(shop.place(other, key), 422)
    assert "Idempotency-Key" in [e["field"] for e in problem["errors"]], problem

    # One order, one execution, one charge, one email per step.
    order = wait_for_status(shop, order_id, "RESERVED", "SHIPPED", settled=True)
    statuses = [h["status"] for h in order["history"]]
    assert statuses.count("ACCEPTED") == 1 and statuses.count("PAID") == 1, statuses
    assert order["payment"]["authorized"] == answers[0]["total"]
    execution = shop.execution(order_id)
    assert execution["execution_arn"] == order["execution_arn"]
    states = [row["state"] for row in execution["history"]]
    assert states.count("AuthorizePayment") == 1, states
    assert states.count("ReserveStock") == 1, states
    messages = shop.wait_for_emails(customer_email, [f"{order_id} confirmado"])
    subjects = [str(m["Subject"]) for m in messages]
    assert all(order_id in subject for subject in subjects), subjects
    assert sum(s.endswith(" confirmado") for s in subjects) == 1, subjects


def _pickup_order() -> dict[str, Any]:
    body = order_body(
        lines=[
            {"sku": RACE_SKU, "quantity": 1, "fulfillment": "pickup", "location_id": PICKUP_STORE}
        ]
    )
    del body["shipping_address"]
    return body


def test_shoppers_racing_for_a_stores_last_units_never_oversell(shop: Shop) -> None:
    before = shop.stock(RACE_SKU)
    units = before[PICKUP_STORE]["available"]
    assert units > 0, before
    shoppers = 3 * units

    # Watch the shelf while the race runs: never below zero, never more held than there is.
    seen: list[dict[str, int]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            seen.append(shop.stock(RACE_SKU)[PICKUP_STORE])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=shoppers) as pool:
            answers = list(pool.map(lambda _: shop.place(_pickup_order()), range(shoppers)))
        # A shopper arriving once the shelf is promised away is refused at once (409); one
        # who was accepted but lost the race for the units is rejected after the fact.
        refused = [assert_problem(a, 409) for a in answers if a.status_code != 202]
        assert all(p["type"].endswith("/out-of-stock") for p in refused), refused
        orders = [shop.settled(a.json()["order_id"]) for a in answers if a.status_code == 202]
    finally:
        stop.set()
        watcher.join(timeout=30)

    winners = [o for o in orders if o["status"] in ("RESERVED", "READY_FOR_PICKUP")]
    losers = [o for o in orders if o["status"] == "REJECTED"]
    assert len(winners) == units, [(o["status"], o["status_reason"]) for o in orders]
    assert len(losers) + len(refused) == 2 * units, [
        (o["status"], o["status_reason"]) for o in orders
    ]
    assert all(o["status_reason"] == "out_of_stock" for o in losers), losers
    assert all(o["payment"]["status"] == "VOIDED" for o in losers), losers
    for winner in winners:
        [fulfillment] = winner["fulfillments"]
        assert fulfillment["type"] == "pickup"
        assert fulfillment["location_id"] == PICKUP_STORE

    shelf = shop.stock(RACE_SKU)
    assert shelf[PICKUP_STORE]["available"] == 0, shelf
    assert shelf[PICKUP_STORE]["reserved"] == units, shelf
    assert shelf[PICKUP_STORE]["on_hand"] == before[PICKUP_STORE]["on_hand"], shelf
    assert {k: v for k, v in shelf.items() if k != PICKUP_STORE} == {
        k: v for k, v in before.items() if k != PICKUP_STORE
    }
    assert seen, "the watcher saw nothing"
    for level in seen:
        assert 0 <= level["reserved"] <= level["on_hand"], level
        assert level["available"] == level["on_hand"] - level["reserved"] - level["safety_stock"]
        assert level["available"] >= 0, level

    # The winners change their minds: every unit goes back on the shelf.
    for winner in winners:
        response = shop.post(f"/orders/{winner['order_id']}/cancel", {}, STOREFRONT)
        assert response.status_code == 200, response.text
    assert shop.stock(RACE_SKU) == before
