"""``POST /inventory/movements``: POS sales, receipts, adjustments and returns, what the web
sees of them, and the low-stock alert they can raise."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.ports import StockChange
from infra.local.stack import ACCOUNT_ID, REGION
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, idempotency_key
from tests.support.flow import fresh_sku as workflow_fresh_sku

MADRID = "ST-MADRID"  # ships: counted in web availability
VALENCIA = "ST-VALENCIA"  # does not ship: pick-up only
WAREHOUSE = "WH-GETAFE"


def fresh_sku(deps: Any, stock: dict[str, int], threshold: int = 3) -> str:
    """A product of this test's own with ``stock`` on hand at Madrid, Valencia and Getafe
    (zero where not given), nothing reserved and no safety stock."""
    return workflow_fresh_sku(
        deps, {MADRID: 0, VALENCIA: 0, WAREHOUSE: 0} | stock, threshold=threshold
    )


def movement(sku: str, location_id: str, kind: str, quantity: Any, **extra: Any) -> dict[str, Any]:
    """A movement body."""
    return {"sku": sku, "location_id": location_id, "type": kind, "quantity": quantity} | extra


def post_movement(
    client: Any,
    body: Any,
    auth: dict[str, str] = STORE,
    key: dict[str, str] | None = None,
) -> Any:
    """``POST /inventory/movements`` with a fresh Idempotency-Key unless one is given."""
    key = key if key is not None else idempotency_key()
    return client.http.post(
        "/inventory/movements", headers=auth | JSON | key, body=json.dumps(body)
    )


def record(client: Any, body: dict[str, Any], auth: dict[str, str] = STORE) -> dict[str, Any]:
    """A movement that must be accepted; its response body."""
    response = post_movement(client, body, auth)
    assert response.status_code == 201, response.body
    result: dict[str, Any] = response.json_body
    return result


def inventory(client: Any, sku: str) -> dict[str, Any]:
    """``GET /inventory/{sku}``, which must succeed."""
    response = client.http.get(f"/inventory/{sku}", headers=STOREFRONT)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def at(body: dict[str, Any], location_id: str) -> dict[str, Any]:
    """One location's row of a ``GET /inventory/{sku}`` body."""
    row: dict[str, Any] = next(
        loc for loc in body["locations"] if loc["location_id"] == location_id
    )
    return row


def snapshot(deps: Any, sku: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything a movement could change for ``sku``: its stock items and its ledger."""
    levels = sorted(
        (level.model_dump(mode="json") for level in deps.store.stock_levels(sku)),
        key=lambda level: level["location_id"],
    )
    return levels, deps.store.movements(sku)


def low_stock_alerts(sku: str, deps: Any) -> list[dict[str, Any]]:
    """Every ``low_stock`` alert published to the ops alerts topic for ``sku``."""
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT_ID][REGION].topics[deps.settings.ops_alerts_topic_arn]
    messages = [json.loads(message) for _, message, *_ in list(topic.sent_notifications)]
    return [m for m in messages if m.get("kind") == "low_stock" and m.get("sku") == sku]


# Sales and what the web sees ---------------------------------------------------------------


def test_pos_sale_at_a_shipping_store_lowers_its_stock_and_web_availability_at_once(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 8, VALENCIA: 6, WAREHOUSE: 20})
    before = inventory(client, sku)
    assert before["available_to_promise"] == 28

    result = record(client, movement(sku, MADRID, "sale", 3, reference="ticket-0001"))

    assert result["sku"] == sku
    assert result["location_id"] == MADRID
    assert result["type"] == "sale"
    assert result["quantity"] == 3
    assert result["on_hand_delta"] == -3
    assert result["reference"] == "ticket-0001"
    assert (result["on_hand"], result["reserved"], result["available"]) == (5, 0, 5)
    assert result["available_to_promise"] == 25
    after = inventory(client, sku)
    assert after["available_to_promise"] == 25
    assert at(after, MADRID)["on_hand"] == 5
    assert at(after, MADRID)["available"] == 5
    assert at(after, VALENCIA) == at(before, VALENCIA)
    assert at(after, WAREHOUSE) == at(before, WAREHOUSE)


def test_pos_sale_at_a_store_that_does_not_ship_leaves_web_availability_alone(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 8, VALENCIA: 6, WAREHOUSE: 20})

    result = record(client, movement(sku, VALENCIA, "sale", 4))

    assert (result["on_hand"], result["available"]) == (2, 2)
    assert result["available_to_promise"] == 28
    after = inventory(client, sku)
    assert after["available_to_promise"] == 28
    assert at(after, VALENCIA)["on_hand"] == 2
    assert at(after, VALENCIA)["available"] == 2
    assert at(after, VALENCIA)["pickup"] is True
    assert at(after, VALENCIA)["ships"] is False
    assert after["on_hand"] == 30


# Receipts, returns and adjustments ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["receipt", "return"])
def test_receipt_and_return_add_to_on_hand(client: Any, deps: Any, kind: str) -> None:
    sku = fresh_sku(deps, {MADRID: 2, WAREHOUSE: 10})

    result = record(client, movement(sku, MADRID, kind, 5), auth=OPS)

    assert result["on_hand_delta"] == 5
    assert (result["on_hand"], result["available"]) == (7, 7)
    after = inventory(client, sku)
    assert at(after, MADRID)["on_hand"] == 7
    assert after["available_to_promise"] == 17


def test_adjustment_takes_a_signed_delta(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 5})

    up = record(client, movement(sku, MADRID, "adjustment", 3))
    down = record(client, movement(sku, MADRID, "adjustment", -6))

    assert (up["on_hand_delta"], up["on_hand"]) == (3, 8)
    assert (down["on_hand_delta"], down["on_hand"]) == (-6, 2)
    assert at(inventory(client, sku), MADRID)["on_hand"] == 2


def test_ledger_records_each_accepted_movement_once_with_its_delta(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 4, VALENCIA: 3})
    accepted = [
        record(client, movement(sku, MADRID, "receipt", 6)),
        record(client, movement(sku, MADRID, "sale", 2)),
        record(client, movement(sku, VALENCIA, "return", 1)),
        record(client, movement(sku, MADRID, "adjustment", -1)),
    ]
    refused = post_movement(client, movement(sku, VALENCIA, "sale", 99))
    assert refused.status_code == 409

    ledger = deps.store.movements(sku)

    assert len(ledger) == len(accepted)
    by_id = {entry["movement_id"]: entry for entry in ledger}
    assert set(by_id) == {result["movement_id"] for result in accepted}
    for result in accepted:
        entry = by_id[result["movement_id"]]
        assert entry["sku"] == sku
        assert entry["location_id"] == result["location_id"]
        assert entry["type"] == result["type"]
        assert entry["quantity"] == result["quantity"]
        assert entry["on_hand_delta"] == result["on_hand_delta"]
    assert sorted(e["on_hand_delta"] for e in ledger) == [-2, -1, 1, 6]
    # Stock and ledger add up per location.
    stock = {level.location_id: level.on_hand for level in deps.store.stock_levels(sku)}
    assert stock[MADRID] == 4 + sum(
        e["on_hand_delta"] for e in ledger if e["location_id"] == MADRID
    )
    assert stock[VALENCIA] == 3 + sum(
        e["on_hand_delta"] for e in ledger if e["location_id"] == VALENCIA
    )


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


def test_same_key_with_a_different_body_is_409_and_applies_nothing_more(
    client: Any, deps: Any
) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    key = idempotency_key()
    assert post_movement(client, movement(sku, MADRID, "sale", 2), key=key).status_code == 201
    before = snapshot(deps, sku)

    response = post_movement(client, movement(sku, MADRID, "sale", 3), key=key)

    assert_problem(response, 409, "Idempotency-Key")
    assert snapshot(deps, sku) == before


def test_missing_idempotency_key_is_422_naming_it(client: Any, deps: Any) -> None:
    sku = fresh_sku(deps, {MADRID: 10})
    before = snapshot(deps, sku)

    response = client.http.post(
        "/inventory/movements",
        headers=STORE | JSON,
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


# Low stock -----------------------------------------------------------------------------------


def test_low_stock_alerts_once_per_crossing_and_rearms_on_recovery(client: Any, deps: Any) -> None:
    # Web availability is Madrid only (the warehouse is empty, Valencia does not ship).
    sku = fresh_sku(deps, {MADRID: 7, VALENCIA: 20}, threshold=5)
    marker = f"lowstock:{sku}"

    record(client, movement(sku, MADRID, "sale", 2))  # ATP 5: not below the threshold
    assert low_stock_alerts(sku, deps) == []
    assert not deps.store.has_marker(marker)

    crossing = record(client, movement(sku, MADRID, "sale", 1))  # ATP 4: below
    assert crossing["available_to_promise"] == 4
    alerts = low_stock_alerts(sku, deps)
    assert len(alerts) == 1
    assert alerts[0]["available_to_promise"] == 4
    assert alerts[0]["threshold"] == 5
    assert deps.store.has_marker(marker)

    record(client, movement(sku, MADRID, "sale", 1))  # still low: no new alert
    record(client, movement(sku, VALENCIA, "sale", 1))
    assert len(low_stock_alerts(sku, deps)) == 1

    recovered = record(client, movement(sku, MADRID, "receipt", 3))  # ATP 6: re-armed
    assert recovered["available_to_promise"] == 6
    assert not deps.store.has_marker(marker)
    assert len(low_stock_alerts(sku, deps)) == 1

    record(client, movement(sku, MADRID, "sale", 2))  # ATP 4: a new crossing
    alerts = low_stock_alerts(sku, deps)
    assert len(alerts) == 2
    assert alerts[1]["available_to_promise"] == 4
    assert deps.store.has_marker(marker)
