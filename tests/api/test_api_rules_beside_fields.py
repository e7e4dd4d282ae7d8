"""A rule spanning fields is named beside every other refused field, in one 422 (API.md:
"every offending field named"). Probe 201: a sale of -1 was named only once its location
was right, a promotion's missing value only once its name was, a return in store without
its store only once its reason was; a client fixing one field was refused again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_api_actions_by_state import delivered
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, error_fields
from tests.support.movements import MADRID, movement


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (movement("TSHIRT-BLK-M", 5, "sale", -1), {"location_id", "quantity"}),
        (movement("", MADRID, "adjustment", 0), {"sku", "quantity"}),
        (
            movement("TSHIRT-BLK-M", MADRID, "receipt", 0) | {"reference": 7},
            {"reference", "quantity"},
        ),
    ],
)
def test_a_movement_names_its_quantity_beside_its_other_fields(
    client: Any, body: dict[str, Any], named: set[str]
) -> None:
    refused = client.http.post("/inventory/movements", headers=STORE | JSON, body=json.dumps(body))

    assert_problem(refused, 422, *named)
    assert error_fields(refused) == named


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "", "kind": "amount"}, {"name", "value"}),
        ({"name": "", "kind": "free_shipping", "value": "5.00"}, {"name", "value"}),
        (
            {
                "name": "",
                "kind": "percent",
                "value": "10",
                "starts_at": "2026-12-10T00:00:00Z",
                "ends_at": "2026-12-01T00:00:00Z",
            },
            {"name", "ends_at"},
        ),
        # A kind of no JSON type the rules read is the kind's own refusal (probe 201: a
        # list or an object was a 500 once the rules were read beside the fields).
        ({"name": "x", "kind": []}, {"kind"}),
        ({"name": "x", "kind": {"a": 1}, "value": "5"}, {"kind"}),
    ],
)
def test_a_promotion_names_its_rules_beside_its_other_fields(
    client: Any, body: dict[str, Any], named: set[str]
) -> None:
    refused = client.http.post("/promotions", headers=OPS | JSON, body=json.dumps(body))

    assert_problem(refused, 422, *named)
    assert error_fields(refused) == named


def test_a_return_in_store_names_its_store_beside_its_reason(
    client: Any, deps: Any, settings: Any
) -> None:
    order_id, _ = delivered(client, deps, settings)
    body = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "", "channel": "store"}

    refused = client.http.post(
        f"/orders/{order_id}/returns", headers=STOREFRONT | JSON, body=json.dumps(body)
    )

    assert_problem(refused, 422, "reason", "location_id")
    assert error_fields(refused) == {"reason", "location_id"}
    assert deps.store.get_order(order_id).returns == []
