"""Pick-ups against guessing and against the wrong store: a store key bound to another
store is 403, 5 wrong codes lock the pick-up (429 with Retry-After, real minutes), and a
non-ASCII code is a wrong code, not a 500. Under an Idempotency-Key a till's retry is
answered as the first request was, and hands nothing over again."""

from __future__ import annotations

import json
from typing import Any

from tests.support import (
    JSON,
    STORE,
    assert_problem,
    eventually,
    idempotency_key,
    order_body,
)
from tests.support.api import get_order
from tests.support.flow import amounts, fresh_sku, ledger_of, place, stock_of

MADRID_STORE = {"Authorization": "Bearer demo-store-madrid"}


def _ready_pickup(
    client: Any, deps: Any, parked: list[str], settings: Any, store: str
) -> dict[str, Any]:
    """A pick-up of one unit ready at ``store``, with an 80 s pick-up window: nothing times
    out while a test works it, even on a busy machine."""
    settings.time_scale = settings.time_scale / 10
    sku = fresh_sku(deps, {store: 3})
    body = order_body(
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": store}]
    )
    order_id = place(client, body)
    parked.append(order_id)

    def ready() -> dict[str, Any] | None:
        view = get_order(client, order_id, STORE)
        pickups = [f for f in view["fulfillments"] if f["status"] == "READY_FOR_PICKUP"]
        return pickups[0] | {"sku": sku, "order_id": order_id} if pickups else None

    return eventually(ready, timeout=30)


def _collect(
    client: Any,
    pickup: dict[str, Any],
    code: str,
    auth: dict[str, str],
    key: dict[str, str] | None = None,
) -> Any:
    return client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=auth | JSON | (key or {}),
        body=json.dumps({"pickup_code": code}, ensure_ascii=False),
    )


def test_a_store_key_bound_to_another_store_cannot_confirm_the_pickup(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    pickup = _ready_pickup(client, deps, parked, settings, "ST-VALENCIA")

    refused = _collect(client, pickup, pickup["pickup_code"], MADRID_STORE)

    # Not an order the Madrid key reads: unknown to it, as an unknown id (probe 225).
    assert_problem(refused, 404, "fulfillment_id")
    assert stock_of(deps, pickup["sku"]) == {"ST-VALENCIA": (3, 1)}
    # The refused store's try is no guess: the right store still has every attempt.
    assert _collect(client, pickup, pickup["pickup_code"], STORE).status_code == 200


def test_after_five_wrong_pickup_codes_even_the_right_one_is_429(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    pickup = _ready_pickup(client, deps, parked, settings, "ST-MADRID")
    code = pickup["pickup_code"]
    # Text that is no code at all is refused by the schema (422) and never counts as a guess.
    for malformed in ("١٢٣٤٥٦", "ñandú", "😀", "²²²²²²"):
        assert_problem(_collect(client, pickup, malformed, MADRID_STORE), 422, "pickup_code")
    wrongs = [_another_code(code, shift) for shift in range(1, 6)]

    answers = [_collect(client, pickup, wrong, MADRID_STORE) for wrong in wrongs]
    locked = _collect(client, pickup, code, MADRID_STORE)

    for answer in answers:
        assert_problem(answer, 422, "pickup_code")
    assert_problem(locked, 429)
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert get_order(client, pickup["order_id"], STORE)["status"] == "READY_FOR_PICKUP"
    assert stock_of(deps, pickup["sku"]) == {"ST-MADRID": (3, 1)}


def _another_code(code: str, shift: int) -> str:
    """A well-formed code that is not ``code``: each digit moved by ``shift``."""
    return "".join(str((int(digit) + shift) % 10) if digit.isdigit() else digit for digit in code)


def test_a_collection_retried_under_its_key_is_answered_as_the_first(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    # The till's request timed out after the goods were handed over: without a key its
    # retry is 409, and the till cannot tell its own hand-over from someone else's.
    pickup = _ready_pickup(client, deps, parked, settings, "ST-MADRID")
    code, key = pickup["pickup_code"], idempotency_key()

    answers = [_collect(client, pickup, code, STORE, key) for _ in range(3)]
    other_body = _collect(client, pickup, _another_code(code, 1), STORE, key)
    new_key = _collect(client, pickup, code, STORE, idempotency_key())
    unkeyed = _collect(client, pickup, code, STORE)

    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].body
    collected = [f["status"] for a in answers for f in a.json_body["fulfillments"]]
    assert collected == ["DELIVERED"] * 3
    assert_problem(other_body, 422, "Idempotency-Key")
    assert_problem(new_key, 409)
    assert_problem(unkeyed, 409)
    assert stock_of(deps, pickup["sku"]) == {"ST-MADRID": (2, 0)}
    order = deps.store.get_order(pickup["order_id"])
    captures = [op for op in ledger_of(deps, order)["operations"] if op["type"] == "capture"]
    assert len(captures) == 1
    assert amounts(ledger_of(deps, order))["captured"] == str(order.total.amount)


def test_a_wrong_code_under_a_key_leaves_the_key_free_for_the_right_one(
    client: Any, deps: Any, parked: list[str], settings: Any
) -> None:
    pickup = _ready_pickup(client, deps, parked, settings, "ST-MADRID")
    code, key = pickup["pickup_code"], idempotency_key()

    wrong = _collect(client, pickup, _another_code(code, 3), STORE, key)
    right = _collect(client, pickup, code, STORE, key)

    assert_problem(wrong, 422, "pickup_code")
    assert right.status_code == 200, right.body
    assert stock_of(deps, pickup["sku"]) == {"ST-MADRID": (2, 0)}
