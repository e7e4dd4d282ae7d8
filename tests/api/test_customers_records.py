"""Merging two records of one person, claiming anonymous store orders, export, erasure and
the segment and channel aggregates, over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.store import CustomerStore
from tests.support import JSON, OPS, STORE, STOREFRONT, assert_problem, eventually, order_body
from tests.support.api import customer_360, get_order, merge, place_order


def _email() -> str:
    return f"rec-{uuid.uuid4().hex[:10]}@example.com"


def _counted(client: Any, customer_id: str, orders: int) -> dict[str, Any]:
    return eventually(
        lambda: (v := customer_360(client, customer_id))["metrics"]["order_count"] == orders and v
    )


def _store_sale(client: Any) -> dict[str, Any]:
    body = order_body(
        channel="store",
        store_id="ST-MADRID",
        customer=None,
        lines=[{"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"}],
    )
    body.pop("customer")
    return place_order(client, body, auth=STORE)


def test_merge_moves_history_and_the_old_id_points_at_the_survivor(client: Any) -> None:
    email, other = _email(), _email()
    kept = place_order(client, order_body(customer={"email": email}))
    gone = place_order(client, order_body(customer={"email": other}))
    _counted(client, kept["customer_id"], 1)
    _counted(client, gone["customer_id"], 1)

    merged = merge(client, kept["customer_id"], gone["customer_id"])

    assert merged.status_code == 200, merged.body
    assert merged.json_body["by_role"] == "ops"
    assert merged.json_body["from_customer_id"] == gone["customer_id"]
    view = customer_360(client, kept["customer_id"])
    assert {o["order_id"] for o in view["orders"]} == {kept["order_id"], gone["order_id"]}
    assert {"type": "email", "value": other} in view["identifiers"]
    assert view["metrics"]["order_count"] == 2
    assert len(view["consents"]) == 2
    old = customer_360(client, gone["customer_id"])
    assert old["customer_id"] == kept["customer_id"]
    assert old["merged_into"] == kept["customer_id"]
    found = client.http.get(f"/customers?email={other}", headers=OPS).json_body
    assert found["customer_id"] == kept["customer_id"]


def test_refused_merges_change_nothing(client: Any) -> None:
    one = place_order(client, order_body(customer={"email": _email()}))["customer_id"]
    two = place_order(client, order_body(customer={"email": _email()}))["customer_id"]
    merge(client, one, two)

    assert_problem(merge(client, one, one), 409, "from_customer_id")
    assert_problem(merge(client, one, "cus_nobody"), 404, "from_customer_id")
    assert_problem(merge(client, "cus_nobody", one), 404, "customer_id")
    assert_problem(merge(client, two, one), 409, "customer_id")
    assert_problem(merge(client, one, two, auth=STORE), 403)
    assert_problem(
        client.http.post(
            f"/customers/{one}/merge", headers=OPS | JSON, body=json.dumps({"from": two})
        ),
        422,
        "from_customer_id",
        "from",
    )


def test_asking_again_for_a_merge_answers_with_it_and_finishes_an_interrupted_one(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = place_order(client, order_body(customer={"email": _email()}))
    gone = place_order(client, order_body(customer={"email": _email()}))
    _counted(client, kept["customer_id"], 1)
    _counted(client, gone["customer_id"], 1)

    # The merge is made, then the process dies before the history has moved.
    def dies(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("Lambda timed out")

    with monkeypatch.context() as patched:
        patched.setattr(CustomerStore, "move_items", dies)
        died = merge(client, kept["customer_id"], gone["customer_id"])
    assert died.status_code == 500
    assert customer_360(client, gone["customer_id"])["merged_into"] == kept["customer_id"]
    assert [o["order_id"] for o in customer_360(client, kept["customer_id"])["orders"]] == [
        kept["order_id"]
    ]

    again = merge(client, kept["customer_id"], gone["customer_id"])
    once_more = merge(client, kept["customer_id"], gone["customer_id"])

    assert again.status_code == once_more.status_code == 200, again.body
    assert again.json_body == once_more.json_body
    assert again.json_body["from_customer_id"] == gone["customer_id"]
    view = customer_360(client, kept["customer_id"])
    assert {o["order_id"] for o in view["orders"]} == {kept["order_id"], gone["order_id"]}
    assert view["metrics"]["order_count"] == 2  # the figures added once, not per call


def test_merging_into_an_erased_customer_is_refused(client: Any) -> None:
    erased = place_order(client, order_body(customer={"email": _email()}))["customer_id"]
    other = place_order(client, order_body(customer={"email": _email()}))["customer_id"]
    assert client.http.post(f"/customers/{erased}/erase", headers=OPS).status_code == 200

    assert_problem(merge(client, erased, other), 409, "customer_id")
    assert_problem(merge(client, other, erased), 409, "from_customer_id")
    assert customer_360(client, other)["profile"]["state"] == "active"


def test_anonymous_store_sale_is_claimed_with_its_receipt_code(client: Any) -> None:
    sale = _store_sale(client)
    email = _email()
    assert sale["customer_id"] is None and sale["receipt_code"]

    claimed = client.http.post(
        f"/orders/{sale['order_id']}/claim",
        headers=STOREFRONT | JSON,
        body=json.dumps({"receipt_code": sale["receipt_code"].lower(), "email": email}),
    )

    assert claimed.status_code == 200, claimed.body
    customer_id = claimed.json_body["customer_id"]
    view = eventually(lambda: (v := customer_360(client, customer_id))["orders"] and v)
    assert view["orders"][0]["order_id"] == sale["order_id"]
    assert view["orders"][0]["channel"] == "store"
    assert get_order(client, sale["order_id"], auth=OPS)["customer_id"] == customer_id
    again = client.http.post(
        f"/orders/{sale['order_id']}/claim",
        headers=STOREFRONT | JSON,
        body=json.dumps({"receipt_code": sale["receipt_code"], "email": _email()}),
    )
    assert_problem(again, 409, "order_id")


def test_after_five_wrong_receipt_codes_even_the_right_one_is_429_for_15_minutes(
    client: Any,
) -> None:
    sale = _store_sale(client)

    def claim(code: str) -> Any:
        return client.http.post(
            f"/orders/{sale['order_id']}/claim",
            headers=STOREFRONT | JSON,
            body=json.dumps({"receipt_code": code, "email": _email()}),
        )

    wrong = [claim("WRANGXYZ") for _ in range(5)]

    for response in wrong:
        assert_problem(response, 422, "receipt_code")
    locked = claim(sale["receipt_code"])
    assert_problem(locked, 429)
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert get_order(client, sale["order_id"], auth=OPS)["customer_id"] is None


def test_export_holds_everything_and_erase_keeps_orders_without_personal_data(
    client: Any,
) -> None:
    email = _email()
    placed = place_order(client, order_body(customer={"email": email, "name": "Eva Ruiz"}))
    customer_id = placed["customer_id"]
    _counted(client, customer_id, 1)

    export = client.http.get(f"/customers/{customer_id}/export", headers=OPS).json_body
    assert export["profile"]["name"] == "Eva Ruiz"
    assert export["orders"][0]["shipping_address"]["line1"] == "Calle Mayor 1"
    assert {"type": "email", "value": email} in export["identifiers"]

    erased = client.http.post(f"/customers/{customer_id}/erase", headers=OPS)

    assert erased.status_code == 200, erased.body
    assert erased.json_body["by_role"] == "ops"
    after = client.http.get(f"/customers/{customer_id}/export", headers=OPS).json_body
    assert after["profile"].get("name") is None
    assert after["identifiers"] == []
    assert after["erasure"][0]["by_role"] == "ops"
    assert after["orders"][0]["total"] == placed["total"]
    assert after["orders"][0]["shipping_address"]["line1"] == "[erased]"
    assert after["orders"][0]["contact"]["email"] is None
    assert_problem(client.http.get(f"/customers?email={email}", headers=OPS), 404)
    again = client.http.post(f"/customers/{customer_id}/erase", headers=OPS)
    assert again.status_code == 200, again.body
    assert again.json_body["at"] == erased.json_body["at"]


def test_segments_and_channels_count_a_customer_who_bought_in_store_then_online(
    client: Any,
) -> None:
    before_segments = client.http.get("/analytics/segments", headers=OPS).json_body
    before = client.http.get("/analytics/channels", headers=OPS).json_body
    sale = _store_sale(client)
    email = _email()
    claimed = client.http.post(
        f"/orders/{sale['order_id']}/claim",
        headers=STORE | JSON,
        body=json.dumps({"receipt_code": sale["receipt_code"], "email": email}),
    ).json_body
    _counted(client, claimed["customer_id"], 1)
    place_order(client, order_body(customer={"email": email}))
    _counted(client, claimed["customer_id"], 2)

    after = client.http.get("/analytics/channels", headers=OPS).json_body
    segments = client.http.get("/analytics/segments", headers=OPS).json_body

    # Other tests run in the same stack: compare the counters' movement for our customer.
    assert after["both"] >= before["both"] + 1
    assert after["store_before_online"] >= before["store_before_online"] + 1
    total_before = sum(s["customers"] for s in before_segments["segments"])
    assert sum(s["customers"] for s in segments["segments"]) >= total_before + 1
    assert all(s["customers"] >= 0 for s in segments["segments"])
    values = [t["lifetime_value"]["amount"] for t in segments["top_customers"]]
    assert values == sorted(values, key=float, reverse=True)
