"""``POST /inventory/movements``: POS sales, receipts, adjustments and returns, what the web
sees of them, the ledger they write, and the low-stock alert they can raise. Idempotency
keys and refused movements are in ``test_api_inventory_movements_refused.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.stack import ACCOUNT_ID, REGION
from tests.support import OPS
from tests.support.movements import (
    MADRID,
    VALENCIA,
    WAREHOUSE,
    at,
    fresh_sku,
    inventory,
    movement,
    post_movement,
    record,
)


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


def test_a_sku_sent_with_blanks_around_it_is_the_sku_trimmed_as_every_body_string_is(
    client: Any, deps: Any
) -> None:
    # A probe: " SKU " was accepted here but 404 at GET /inventory/{sku}. The body trims
    # its strings as every request body does (OrderLineRequest's SKU too), so the movement
    # is the catalogue SKU's, answered and recorded under it: the one GET knows.
    sku = fresh_sku(deps, {MADRID: 2})

    result = record(client, movement(f" \t{sku}\u00a0", MADRID, "receipt", 3))

    assert result["sku"] == sku
    assert at(inventory(client, sku), MADRID)["on_hand"] == 5
    assert [entry["sku"] for entry in deps.store.movements(sku)] == [sku]


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
    # What ops read in the console, where the alert has no order to open (probe 224).
    listed = client.http.get("/ops/alerts?status=open&limit=100", headers=OPS).json_body
    (detail,) = [a["detail"] for a in listed["alerts"] if sku in a["detail"]]
    assert detail == (
        f"low stock {sku} (Test {sku}): fell to 4 for the web, below its threshold of 5"
    )

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
