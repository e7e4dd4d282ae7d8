"""``POST /inventory/movements``, keys and refusals: a repeated Idempotency-Key replays or
conflicts, a malformed one is refused, and a movement sent without one is applied each
time; bad input (unknown location or SKU, a quantity that is zero, negative, not an
integer or beyond what is on hand or unreserved, an unknown field, the wrong API key or
none) is a problem naming the field, and nothing changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.ports import StockChange
from tests.support import JSON, STORE, STOREFRONT, assert_problem, idempotency_key
from tests.support.died import Killed, answer_never_kept, in_progress_time_passes
from tests.support.movements import (
    MADRID,
    WAREHOUSE,
    at,
    fresh_sku,
    inventory,
    movement,
    post_movement,
    record,
)


def snapshot(deps: Any, sku: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything a movement could change for ``sku``: its stock items and its ledger."""
    levels = sorted(
        (level.model_dump(mode="json") for level in deps.store.stock_levels(sku)),
        key=lambda level: level["location_id"],
    )
    return levels, deps.store.movements(sku)


# Idempotency ---------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response_and_applies_once(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    key = idempotency_key()
    body = movement(sku, MADRID, "sale", 2)

    first = post_movement(client, body, key=key)
    second = post_movement(client, body, key=key)

    assert first.status_code == 201, first.body
    assert second.status_code == 201, second.body
    assert second.json_body == first.json_body
    assert at(inventory(client, sku), MADRID)["on_hand"] == 8
    assert len(deps.store.movements(sku)) == 1


def test_a_sale_whose_request_died_before_its_answer_was_kept_is_applied_once_when_asked_again(
    client: Any, deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the till's request took the stock, then its Lambda ran out of time before
    # Powertools stored the answer. Once the key's in-progress time passed, the till's
    # retry ran the movement again: the sale counted twice, the shelf two units short.
    sku = fresh_sku(deps, {MADRID: 10})
    key = idempotency_key()
    body = movement(sku, MADRID, "sale", 2)
    with answer_never_kept(monkeypatch), pytest.raises(Killed):
        post_movement(client, body, key=key)
    assert at(inventory(client, sku), MADRID)["on_hand"] == 8
    in_progress_time_passes(deps)

    again = post_movement(client, body, key=key)
    third = post_movement(client, body, key=key)

    assert again.status_code == third.status_code == 201, again.body
    assert at(inventory(client, sku), MADRID)["on_hand"] == 8
    (recorded,) = deps.store.movements(sku)
    assert again.json_body["movement_id"] == recorded["movement_id"]
    assert again.json_body["on_hand"] == 8
    assert third.json_body == again.json_body


def test_same_key_with_a_different_body_is_422_and_applies_nothing_more(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    key = idempotency_key()
    assert post_movement(client, movement(sku, MADRID, "sale", 2), key=key).status_code == 201
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 3), key=key)

    assert_problem(response, 422, "Idempotency-Key")
    assert snapshot(deps, sku) == before


def test_a_movement_without_a_key_is_applied_as_often_as_it_is_sent(client: Any, deps: Any) -> None:
    # API.md requires the key on POST /orders only; a till posting a sale as API.md shows
    # it was refused 422 (probe 175). Without a key there is nothing to know a retry by.
    sku = fresh_sku(deps, {MADRID: 10})

    answers = [
        client.http.post(
            "/inventory/movements",
            headers=STORE | JSON,
            body=json.dumps(movement(sku, MADRID, "sale", 1)),
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [201, 201], answers[0].body
    assert [a.json_body["on_hand"] for a in answers] == [9, 8]
    assert answers[0].json_body["movement_id"] != answers[1].json_body["movement_id"]
    assert at(inventory(client, sku), MADRID)["on_hand"] == 8
    assert len(deps.store.movements(sku)) == 2


def test_a_malformed_key_is_422_naming_it_and_applies_nothing(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = client.http.post(
        "/inventory/movements",
        headers=STORE | JSON | {"Idempotency-Key": " padded "},
        body=json.dumps(movement(sku, MADRID, "sale", 1)),
    )

    assert_problem(response, 422, "Idempotency-Key")
    assert snapshot(deps, sku) == before


# Bad input: a problem naming the field, nothing changed --------------------------------------


def test_unknown_location_is_404_naming_location_id(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, "ST-NOWHERE", "receipt", 3))

    assert_problem(response, 404, "location_id")
    assert snapshot(deps, sku) == before


def test_unknown_sku_is_404_naming_sku_and_creates_no_stock(client: Any, deps: Any) -> None:
    sku = f"NOPE-{uuid.uuid4().hex[:10].upper()}"

    response = post_movement(client, movement(sku, MADRID, "receipt", 3))

    assert_problem(response, 404, "sku")
    assert deps.store.stock_levels(sku) == []
    assert deps.store.movements(sku) == []


@pytest.mark.parametrize(
    ("kind", "quantity"),
    [("sale", 0), ("sale", -1), ("receipt", 0), ("receipt", -4), ("return", 0), ("return", -2)],
)
def test_zero_or_negative_quantity_is_422_naming_quantity(
    client: Any, deps: Any, kind: str, quantity: int
) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, kind, quantity))

    assert_problem(response, 422, "quantity")
    assert snapshot(deps, sku) == before


def test_zero_adjustment_is_422_naming_quantity(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "adjustment", 0))

    assert_problem(response, 422, "quantity")
    assert snapshot(deps, sku) == before


def test_quantity_that_is_not_an_integer_is_422_naming_quantity(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", "2"))

    assert_problem(response, 422, "quantity")
    assert snapshot(deps, sku) == before


def test_sale_beyond_on_hand_is_409_naming_quantity(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 3, WAREHOUSE: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 4))

    assert_problem(response, 409, "quantity")
    assert snapshot(deps, sku) == before


def test_negative_adjustment_beyond_on_hand_is_409_naming_quantity(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 3})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "adjustment", -4))

    assert_problem(response, 409, "quantity")
    assert snapshot(deps, sku) == before


def test_sale_that_would_take_units_reserved_for_orders_is_409_naming_quantity(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 5})
    deps.store.apply_stock([StockChange(sku=sku, location_id=MADRID, reserved=3)])
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 3))

    assert_problem(response, 409, "quantity")
    assert snapshot(deps, sku) == before
    # What is not promised can still be sold.
    result = record(client, movement(sku, MADRID, "sale", 2))
    assert (result["on_hand"], result["reserved"], result["available"]) == (3, 3, 0)


def test_unknown_field_is_422_and_changes_nothing(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 1, discount="50%"))

    assert_problem(response, 422, "discount")
    assert snapshot(deps, sku) == before


def test_a_reference_of_two_lines_is_422_and_changes_nothing(client: Any, deps: Any) -> None:
    # A reference names one document (a delivery note, a till receipt): one line.
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 1, reference="T-1\nT-2"))

    assert_problem(response, 422, "reference")
    assert snapshot(deps, sku) == before


def test_storefront_key_is_403(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 1), auth=STOREFRONT)

    assert_problem(response, 403)
    assert snapshot(deps, sku) == before


def test_no_api_key_is_401(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 1), auth={})

    assert_problem(response, 401)
    assert snapshot(deps, sku) == before


def test_a_receipt_run_again_after_dying_before_telling_tells_the_subscriber_once(
    client: Any, deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A review: the keyed receipt was applied, then its Lambda died before the SKU's
    # subscribers were told; the retry found the movement recorded, saw the SKU on the web
    # already (no crossing from 0) and told nobody, ever.
    from chalicelib.services import inventory as inventory_service

    sku = fresh_sku(deps, {MADRID: 0})
    address = f"back-{uuid.uuid4().hex[:10]}@example.com"
    subscribed = client.http.post(
        f"/inventory/{sku}/subscriptions",
        headers=STOREFRONT | JSON,
        body=json.dumps({"email": address}),
    )
    assert subscribed.status_code == 201, subscribed.body
    key, body = idempotency_key(), movement(sku, MADRID, "receipt", 3)

    def dying(*args: Any) -> int:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(inventory_service, "on_availability", dying)
        with pytest.raises(Killed):
            post_movement(client, body, key=key)
    in_progress_time_passes(deps)

    again = post_movement(client, body, key=key)

    assert again.status_code == 201, again.body
    assert at(inventory(client, sku), MADRID)["on_hand"] == 3
    mails = [p for p in stack.outbox.glob("*.eml") if address in p.read_text(encoding="utf-8")]
    assert len(mails) == 1
