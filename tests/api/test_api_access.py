"""Who may do what (API.md part two), tried as an attacker first: another client's
storefront key, a store key bound to another store, a key of the same client after a
rotation; and a test that walks every registered route so that none can forget its
access rule."""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
import uuid
from typing import Any

import pytest

import chalicelib.api
from chalicelib.api.http import ROUTE_DOCS, Access
from chalicelib.domain.errors import NotFound
from tests.api.test_api_actions_by_state import delivered
from tests.support import (
    JSON,
    OPS,
    OTHER_STOREFRONT,
    STORE,
    STOREFRONT,
    assert_problem,
    eventually,
    idempotency_key,
    order_body,
    pickup_order_body,
)
from tests.support.api import expected_order_id, get_order, place_order, post_order
from tests.support.flow import fresh_sku

# Every blueprint registers its routes on import: load them all to walk the registry.
for _module in pkgutil.iter_modules(chalicelib.api.__path__):
    importlib.import_module(f"chalicelib.api.{_module.name}")

# Demo keys (chalicelib/config.py): a second storefront client, a store key bound to Madrid.
MADRID_STORE = {"Authorization": "Bearer demo-store-madrid"}
UNKNOWN_ORDER = "ord_00000000000000000000"
RETURN_BODY = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": "x", "channel": "mail"}


def _store_order(deps: Any, store_id: str = "ST-MADRID", **overrides: Any) -> dict[str, Any]:
    """An anonymous in-store order at ``store_id``, collected there: of a product of the
    test's own, since the demo stock in a store is shared by every test on the stack."""
    sku = fresh_sku(deps, {store_id: 1})
    body = order_body(
        channel="store",
        store_id=store_id,
        lines=[{"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": store_id}],
        **overrides,
    )
    del body["customer"]
    del body["shipping_address"]
    return body


def _request(client: Any, method: str, path: str, auth: dict[str, str], body: Any) -> Any:
    raw = json.dumps(body) if body is not None else ""
    return client.http.request(method, path, headers=auth | JSON, body=raw)


def _same_as_unknown(
    client: Any, method: str, path: str, auth: dict[str, str], body: Any, order_id: str
) -> None:
    """The answer for ``order_id`` is exactly the answer for an id nobody has."""
    theirs = _request(client, method, path.format(order_id=order_id), auth, body)
    unknown = _request(client, method, path.format(order_id=UNKNOWN_ORDER), auth, body)
    assert_problem(theirs, 404, "order_id")
    assert json.loads(theirs.body) == json.loads(
        unknown.body.decode().replace(UNKNOWN_ORDER, order_id)
    )
    assert theirs.headers.get("Content-Type") == unknown.headers.get("Content-Type")


OWN_ORDER_ROUTES = [doc for doc in ROUTE_DOCS if doc.access is Access.OWN_ORDER]


# Orders belong to their client ---------------------------------------------------------------
@pytest.mark.parametrize("doc", OWN_ORDER_ROUTES, ids=lambda d: f"{d.method} {d.path}")
def test_another_clients_storefront_gets_404_like_an_unknown_id_on_every_order_route(
    client: Any, doc: Any
) -> None:
    placed = place_order(client, order_body())
    body = RETURN_BODY if doc.path.endswith("/returns") else ({} if doc.method != "GET" else None)
    assert "storefront" in doc.roles, "every own-order route is open to storefronts"

    _same_as_unknown(client, doc.method, doc.path, OTHER_STOREFRONT, body, placed["order_id"])

    order = get_order(client, placed["order_id"], OPS)
    assert order["status"] != "CANCELLED" and order["returns"] == []


def test_the_owning_client_reads_and_cancels_its_own_order(client: Any) -> None:
    placed = place_order(client, order_body())

    assert get_order(client, placed["order_id"])["order_id"] == placed["order_id"]
    cancelled = _request(client, "POST", f"/orders/{placed['order_id']}/cancel", STOREFRONT, {})
    assert cancelled.status_code in (200, 409), cancelled.body


def test_two_keys_of_one_client_act_as_one_client(client: Any, settings: Any) -> None:
    settings.api_keys = dict(settings.api_keys) | {
        "shop-a-2025": {"role": "storefront", "client_id": "shop-a"},
        "shop-a-2026": {"role": "storefront", "client_id": "shop-a"},
    }
    old, new = {"Authorization": "Bearer shop-a-2025"}, {"Authorization": "Bearer shop-a-2026"}
    body, key = order_body(), idempotency_key()
    first, _ = post_order(client, body, old, key)
    assert first.status_code == 202, first.body

    # The rotated key reads the order, and the same Idempotency-Key finds the same order.
    again, _ = post_order(client, body, new, key)
    assert again.status_code == 202 and again.json_body["order_id"] == first.json_body["order_id"]
    assert get_order(client, first.json_body["order_id"], new)["order_id"]
    # A key without a client_id is a client of its own.
    _same_as_unknown(
        client, "GET", "/orders/{order_id}", STOREFRONT, None, first.json_body["order_id"]
    )


def test_two_clients_using_one_idempotency_key_get_two_orders(client: Any) -> None:
    key = idempotency_key()
    mine, _ = post_order(client, order_body(), STOREFRONT, key)
    theirs, _ = post_order(client, order_body(), OTHER_STOREFRONT, key)

    assert mine.status_code == theirs.status_code == 202, (mine.body, theirs.body)
    assert mine.json_body["order_id"] != theirs.json_body["order_id"]
    assert get_order(client, theirs.json_body["order_id"], OTHER_STOREFRONT)
    _same_as_unknown(
        client, "GET", "/orders/{order_id}", STOREFRONT, None, theirs.json_body["order_id"]
    )


def test_claiming_an_anonymous_store_order_stays_open_to_any_storefront(
    client: Any, deps: Any
) -> None:
    sale = place_order(client, _store_order(deps), STORE)
    claimed = client.http.post(
        f"/orders/{sale['order_id']}/claim",
        headers=OTHER_STOREFRONT | JSON,
        body=json.dumps({"receipt_code": sale["receipt_code"], "email": "claim@example.com"}),
    )
    assert claimed.status_code == 200, claimed.body
    assert "customer_token" not in claimed.json_body


def test_claiming_tells_nothing_about_an_order_but_to_the_right_receipt_code(
    client: Any,
    deps: Any,
) -> None:
    """Found by a probe: claiming another client's web order answered 409 "not an anonymous
    store order" (404 for an unknown id), and a claimed sale answered 409 to any code
    without counting it. Now another client's order is exactly an unknown id; a wrong
    code on a claimed sale is 422 and counts towards the lock; only the right code hears
    that it was claimed."""
    theirs = place_order(client, order_body())
    body = {"receipt_code": "ABCDEFGH", "email": "claim@example.com"}
    _same_as_unknown(
        client, "POST", "/orders/{order_id}/claim", OTHER_STOREFRONT, body, theirs["order_id"]
    )
    # The client that placed it, and ops, may read it: they are told why.
    own = _request(client, "POST", f"/orders/{theirs['order_id']}/claim", STOREFRONT, body)
    assert_problem(own, 409, "order_id")

    sale = place_order(client, _store_order(deps), STORE)
    path = f"/orders/{sale['order_id']}/claim"
    first = {"receipt_code": sale["receipt_code"], "email": "first@example.com"}
    assert _request(client, "POST", path, STOREFRONT, first).status_code == 200
    for _ in range(5):
        wrong = _request(client, "POST", path, OTHER_STOREFRONT, body)
        assert_problem(wrong, 422, "receipt_code")
    right = {"receipt_code": sale["receipt_code"], "email": "second@example.com"}
    locked = _request(client, "POST", path, OTHER_STOREFRONT, right)
    assert_problem(locked, 429)


# Store keys bound to a store ---------------------------------------------------------------
def test_a_bound_store_key_places_store_orders_only_for_its_store(client: Any, deps: Any) -> None:
    elsewhere, key = post_order(client, _store_order(deps, "ST-BARCELONA"), MADRID_STORE)
    assert_problem(elsewhere, 403, "store_id")
    with pytest.raises(NotFound):
        deps.store.get_order(expected_order_id(MADRID_STORE, key))

    placed = place_order(client, _store_order(deps, "ST-MADRID"), MADRID_STORE)
    assert get_order(client, placed["order_id"], MADRID_STORE)["store_id"] == "ST-MADRID"


def test_a_bound_store_key_reads_only_orders_at_its_store(client: Any, deps: Any) -> None:
    web = place_order(client, order_body())
    barcelona = place_order(client, _store_order(deps, "ST-BARCELONA"), STORE)
    # A web order naming Madrid as its store_id was not placed there (found by a probe).
    web_naming_madrid = place_order(client, order_body(store_id="ST-MADRID"))
    madrid_pickup = place_order(
        client,
        order_body(
            lines=[
                {
                    "sku": "CAP-NAVY",
                    "quantity": 1,
                    "fulfillment": "pickup",
                    "location_id": "ST-MADRID",
                }
            ]
        ),
    )

    for order_id in (web["order_id"], barcelona["order_id"], web_naming_madrid["order_id"]):
        for method, path, body in (
            ("GET", "/orders/{order_id}", None),
            ("POST", "/orders/{order_id}/cancel", {}),
            ("POST", "/orders/{order_id}/returns", RETURN_BODY),
        ):
            _same_as_unknown(client, method, path, MADRID_STORE, body, order_id)
        assert get_order(client, order_id, STORE)  # an unbound store key acts for every store
    # A pick-up at Madrid is Madrid's once its fulfillment is there.
    eventually(
        lambda: (
            _request(
                client, "GET", f"/orders/{madrid_pickup['order_id']}", MADRID_STORE, None
            ).status_code
            == 200
        )
    )


def test_a_pickup_at_a_bound_store_is_its_order_before_reservation_and_after_a_decline(
    client: Any,
) -> None:
    """Found by a probe: the Madrid key got 404 for good on a declined web order to collect
    at Madrid (no fulfilment is ever made), and until stock was reserved on any other. The
    order's pick-up lines make it the store's; a pick-up elsewhere still does not."""
    declined = {"method": "card", "token": "tok_declined"}
    at_madrid = place_order(
        client, pickup_order_body("CAP-NAVY", store="ST-MADRID", payment=declined)
    )
    at_barcelona = place_order(
        client, pickup_order_body("CAP-NAVY", store="ST-BARCELONA", payment=declined)
    )
    # Right after placement: no fulfilment exists yet, the line alone makes it Madrid's.
    assert (
        get_order(client, at_madrid["order_id"], MADRID_STORE)["order_id"] == at_madrid["order_id"]
    )
    eventually(lambda: get_order(client, at_madrid["order_id"], OPS)["status"] == "REJECTED")
    rejected = get_order(client, at_madrid["order_id"], MADRID_STORE)
    assert (rejected["status"], rejected["fulfillments"]) == ("REJECTED", [])
    _same_as_unknown(
        client, "GET", "/orders/{order_id}", MADRID_STORE, None, at_barcelona["order_id"]
    )


def _at_madrid_and_barcelona(client: Any, sku: str) -> str:
    """A web order of one ``sku`` to collect at Madrid and one at Barcelona."""

    def line(store: str) -> dict[str, Any]:
        return {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": store}

    body = pickup_order_body(sku, store="ST-MADRID")
    body["lines"] = [line("ST-MADRID"), line("ST-BARCELONA")]
    order_id: str = place_order(client, body)["order_id"]
    return order_id


def _ready_parts(client: Any, order_id: str, parts: int) -> dict[str, Any] | None:
    """The order's parts by store once all ``parts`` are ready for pick-up, as ops read
    them (codes included); None before."""
    fulfillments = get_order(client, order_id, OPS)["fulfillments"]
    if len(fulfillments) == parts and all(f["status"] == "READY_FOR_PICKUP" for f in fulfillments):
        return {f["location_id"]: f for f in fulfillments}
    return None


def test_a_bound_store_key_reads_the_pickup_code_of_its_own_store_only(client: Any) -> None:
    """A mixed order collected at Madrid and Barcelona is Madrid's to read, but the code
    that releases the Barcelona parcel is Barcelona's staff's (and ops', and an unbound
    store key's), never the Madrid key's."""

    order_id = _at_madrid_and_barcelona(client, "CAP-NAVY")

    def codes(auth: dict[str, str]) -> dict[str, str | None] | None:
        fulfillments = get_order(client, order_id, auth)["fulfillments"]
        if len(fulfillments) < 2 or any(f["status"] != "READY_FOR_PICKUP" for f in fulfillments):
            return None
        return {f["location_id"]: f["pickup_code"] for f in fulfillments}

    everywhere = eventually(lambda: codes(OPS))
    assert set(everywhere) == {"ST-MADRID", "ST-BARCELONA"} and all(everywhere.values())
    assert codes(STORE) == everywhere
    assert codes(MADRID_STORE) == {"ST-MADRID": everywhere["ST-MADRID"], "ST-BARCELONA": None}
    assert codes(STOREFRONT) == {"ST-MADRID": None, "ST-BARCELONA": None}


def test_a_bound_store_key_gets_no_tracking_link_but_for_its_own_stores_sales(
    client: Any, deps: Any
) -> None:
    # Probe 26A: the link acts as the customer, and through it the Madrid key cancelled a
    # web order waiting at Barcelona and read the Barcelona code it is refused itself.
    web = _at_madrid_and_barcelona(client, "CAP-NAVY")
    sold_here = place_order(client, _store_order(deps, "ST-MADRID"), MADRID_STORE)["order_id"]

    assert get_order(client, web, MADRID_STORE)["tracking_url"] is None
    for auth in (OPS, STORE, STOREFRONT):
        assert "/track/" in get_order(client, web, auth)["tracking_url"]
    assert "/track/" in get_order(client, sold_here, MADRID_STORE)["tracking_url"]


def test_a_bound_store_key_takes_receives_returns_and_moves_stock_only_at_its_store(
    client: Any,
    deps: Any,
) -> None:
    at_madrid = place_order(client, _store_order(deps, "ST-MADRID"), MADRID_STORE)
    elsewhere = RETURN_BODY | {"channel": "store", "location_id": "ST-BARCELONA"}
    taken = _request(
        client, "POST", f"/orders/{at_madrid['order_id']}/returns", MADRID_STORE, elsewhere
    )
    assert_problem(taken, 403, "location_id")
    # Naming no store at all is bad input, as for any key (a probe got the 403 above).
    unnamed = _request(
        client,
        "POST",
        f"/orders/{at_madrid['order_id']}/returns",
        MADRID_STORE,
        RETURN_BODY | {"channel": "store"},
    )
    assert_problem(unnamed, 422, "location_id")
    received = _request(
        client,
        "POST",
        "/returns/ret_0000000000000000/receive",
        MADRID_STORE,
        {"location_id": "ST-BARCELONA"},
    )
    assert_problem(received, 403, "location_id")
    movement = client.http.post(
        "/inventory/movements",
        headers=MADRID_STORE | JSON | idempotency_key(),
        body=json.dumps(
            {"sku": "CAP-NAVY", "location_id": "ST-BARCELONA", "type": "receipt", "quantity": 1}
        ),
    )
    assert_problem(movement, 403, "location_id")
    at_home = client.http.post(
        "/inventory/movements",
        headers=MADRID_STORE | JSON | idempotency_key(),
        body=json.dumps(
            {"sku": "CAP-NAVY", "location_id": "ST-MADRID", "type": "receipt", "quantity": 1}
        ),
    )
    assert at_home.status_code == 201, at_home.body


def test_a_bound_store_key_names_no_other_location_for_a_return_by_post(
    client: Any, deps: Any
) -> None:
    # Probe 194: by post, the Madrid key named Barcelona, whose key then read the sale.
    body = _store_order(deps, "ST-MADRID")
    at_madrid = place_order(client, body, MADRID_STORE)
    path = f"/orders/{at_madrid['order_id']}/returns"
    by_post = RETURN_BODY | {"lines": [{"sku": body["lines"][0]["sku"], "quantity": 1}]}
    for elsewhere in ("ST-BARCELONA", "WH-GETAFE"):
        named = by_post | {"location_id": elsewhere}
        assert_problem(_request(client, "POST", path, MADRID_STORE, named), 403, "location_id")
    # Its own store passes the check (the sale is not delivered yet: 409).
    own = _request(client, "POST", path, MADRID_STORE, by_post | {"location_id": "ST-MADRID"})
    assert_problem(own, 409)


def _ready_pickup(client: Any, order_id: str) -> dict[str, Any]:
    """The order's one pick-up once it is ready, as ops read it (with its code)."""

    def ready() -> dict[str, Any] | None:
        (pickup,) = get_order(client, order_id, OPS)["fulfillments"] or [None]
        return pickup if pickup and pickup["status"] == "READY_FOR_PICKUP" else None

    found: dict[str, Any] = eventually(ready)
    return found


def test_the_warehouse_a_return_by_post_is_sent_to_reads_the_order_and_receives_it(
    client: Any, deps: Any, settings: Any
) -> None:
    # Probe 194: the page told the customer to post a collected pick-up to the warehouse,
    # whose bound key could then neither read the order nor receive the parcel (404).
    settings.api_keys = dict(settings.api_keys) | {
        "wh-getafe": {"role": "store", "location_id": "WH-GETAFE"}
    }
    warehouse = {"Authorization": "Bearer wh-getafe"}
    sku = fresh_sku(deps, {"ST-MADRID": 1})
    placed = place_order(client, pickup_order_body(sku, store="ST-MADRID"))
    order_id = placed["order_id"]
    pickup = _ready_pickup(client, order_id)
    collected = client.http.post(
        f"/fulfillments/{pickup['fulfillment_id']}/collect",
        headers=STORE | JSON,
        body=json.dumps({"pickup_code": pickup["pickup_code"]}),
    )
    assert collected.status_code == 200, collected.body
    _same_as_unknown(client, "GET", "/orders/{order_id}", warehouse, None, order_id)
    path = placed["tracking_url"].split("/track/", 1)[1]
    body = {"lines": [{"sku": sku, "quantity": 1}], "reason": "Talla", "channel": "mail"}
    opened = client.http.post(f"/track/{path}/returns", headers=JSON, body=json.dumps(body))
    assert opened.status_code == 201, opened.body

    (asked,) = get_order(client, order_id, warehouse)["returns"]

    assert asked["requested_location_id"] == "WH-GETAFE"
    received = client.http.post(
        f"/returns/{asked['return_id']}/receive",
        headers=warehouse | JSON,
        body=json.dumps({"location_id": "WH-GETAFE"}),
    )
    assert received.status_code == 200, received.body


def test_a_collection_replayed_by_a_key_of_the_same_client_bound_elsewhere_is_unknown_to_it(
    client: Any, deps: Any, settings: Any
) -> None:
    # Probe 194: the Barcelona till replayed the Madrid till's key and read the Madrid
    # order, tracking link included; without the key it was 403.
    settings.api_keys = dict(settings.api_keys) | {
        "chain-madrid": {"role": "store", "client_id": "chain", "location_id": "ST-MADRID"},
        "chain-barcelona": {"role": "store", "client_id": "chain", "location_id": "ST-BARCELONA"},
    }
    madrid = {"Authorization": "Bearer chain-madrid"}
    barcelona = {"Authorization": "Bearer chain-barcelona"}
    order_id = place_order(client, _store_order(deps, "ST-MADRID"), madrid)["order_id"]
    pickup = _ready_pickup(client, order_id)
    path = f"/fulfillments/{pickup['fulfillment_id']}/collect"
    body = json.dumps({"pickup_code": pickup["pickup_code"]})
    till = idempotency_key()
    collected = client.http.post(path, headers=madrid | JSON | till, body=body)
    assert collected.status_code == 200, collected.body

    replayed = client.http.post(path, headers=barcelona | JSON | till, body=body)

    # Not Barcelona's to read: unknown to it, as without the key (probe 225).
    assert_problem(replayed, 404, "fulfillment_id")
    assert "tracking_url" not in replayed.body.decode()
    again = client.http.post(path, headers=madrid | JSON | till, body=body)
    assert again.status_code == 200 and again.json_body["order_id"] == order_id


def test_a_bound_store_key_cancels_only_an_order_that_is_its_store_alone(
    client: Any, deps: Any
) -> None:
    """Probe 225: the Madrid key read a web order for its pick-up there, and so cancelled
    it whole, the pick-up waiting at Barcelona included (voided, the customer told "at the
    store"). It cancels an order sold at Madrid or served there alone; an unbound store
    key and ops cancel any."""
    sku = fresh_sku(deps, {"ST-MADRID": 2, "ST-BARCELONA": 1})
    both = _at_madrid_and_barcelona(client, sku)
    madrid_alone = place_order(client, pickup_order_body(sku, store="ST-MADRID"))["order_id"]
    eventually(lambda: _ready_parts(client, both, 2) and _ready_parts(client, madrid_alone, 1))

    refused = _request(client, "POST", f"/orders/{both}/cancel", MADRID_STORE, {})

    assert_problem(refused, 403, "order_id")
    untouched = get_order(client, both, OPS)
    assert untouched["status"] != "CANCELLED"
    assert {f["status"] for f in untouched["fulfillments"]} == {"READY_FOR_PICKUP"}
    assert untouched["payment"]["status"] == "AUTHORIZED"
    stock = client.http.get(f"/inventory/{sku}", headers=OPS).json_body["locations"]
    assert {s["location_id"]: s["reserved"] for s in stock if s["reserved"]} == {
        "ST-MADRID": 2,
        "ST-BARCELONA": 1,
    }

    own = _request(client, "POST", f"/orders/{madrid_alone}/cancel", MADRID_STORE, {})
    assert own.status_code == 200, own.body
    assert own.json_body["status"] == "CANCELLED"
    unbound = _request(client, "POST", f"/orders/{both}/cancel", STORE, {})
    assert unbound.status_code == 200, unbound.body
    assert unbound.json_body["status"] == "CANCELLED"


def test_a_bound_store_key_is_told_why_an_order_with_a_part_collected_elsewhere_stays(
    client: Any, deps: Any
) -> None:
    """Probe 231: the Barcelona part collected, the Madrid part waiting, the Madrid key
    read 403 ("not your store's") where every key is told the 409 (a part was handed
    over): a part handed over takes no part in whose the order is to cancel."""
    sku = fresh_sku(deps, {"ST-MADRID": 1, "ST-BARCELONA": 1})
    order_id = _at_madrid_and_barcelona(client, sku)
    barcelona = eventually(lambda: _ready_parts(client, order_id, 2))["ST-BARCELONA"]
    collected = _request(
        client,
        "POST",
        f"/fulfillments/{barcelona['fulfillment_id']}/collect",
        STORE,
        {"pickup_code": barcelona["pickup_code"]},
    )
    assert collected.status_code == 200, collected.body

    refused = _request(client, "POST", f"/orders/{order_id}/cancel", MADRID_STORE, {})

    assert_problem(refused, 409)
    assert get_order(client, order_id, OPS)["status"] != "CANCELLED"


def test_a_bound_store_key_learns_nothing_of_an_order_it_does_not_read_by_collecting(
    client: Any, deps: Any
) -> None:
    """Probe 225: the Madrid key's 403 on another order's part told that the order existed
    and how many parts it had, where an unknown one was 404. Of an order it may not read,
    every part is unknown to it; a part elsewhere of an order it reads stays 403."""
    barcelona = place_order(client, _store_order(deps, "ST-BARCELONA"), STORE)["order_id"]
    pickup = _ready_pickup(client, barcelona)
    body = {"pickup_code": pickup["pickup_code"]}

    def collect(fulfillment_id: str) -> Any:
        return _request(
            client, "POST", f"/fulfillments/{fulfillment_id}/collect", MADRID_STORE, body
        )

    theirs = collect(pickup["fulfillment_id"])
    unknown = collect(f"{UNKNOWN_ORDER}-F1")

    assert_problem(theirs, 404, "fulfillment_id")
    assert json.loads(theirs.body) == json.loads(
        unknown.body.decode().replace(UNKNOWN_ORDER, barcelona)
    )
    assert get_order(client, barcelona, OPS)["fulfillments"][0]["status"] == "READY_FOR_PICKUP"


# The route registry ------------------------------------------------------------------------
def test_every_registered_route_declares_who_may_call_it(stack: Any) -> None:
    """A route added without an access rule fails here: each route checks ownership, is for
    ops (or staff) only, or is explicitly public or signed."""
    app = stack.app_module.app
    registered = {(method, path) for path, entries in app.routes.items() for method in entries}
    documented = {(doc.method, doc.path) for doc in ROUTE_DOCS}
    assert registered == documented, "every route goes through endpoint(), with its access"
    for doc in ROUTE_DOCS:
        where = f"{doc.method} {doc.path}"
        assert doc.access is not None, f"{where} declares no access rule"
        if doc.access in (Access.PUBLIC, Access.SIGNED):
            assert doc.roles == (), f"{where}: public and signed routes take no key"
        else:
            assert doc.roles, f"{where}: only public and signed routes go without a key"
            # API.md part two: "ops keys see and do everything".
            assert "ops" in doc.roles, f"{where} refuses the ops key"
        if doc.access is Access.OPS:
            assert doc.roles == ("ops",), where
        if doc.access is Access.STAFF:
            assert "storefront" not in doc.roles, where
        if doc.access is Access.CUSTOMER:
            assert "{customer_id}" in doc.path or "{ticket_id}" in doc.path, where
        if "{order_id}" in doc.path:
            assert doc.access in (Access.OWN_ORDER, Access.OPS, Access.CODE), where
        if doc.access is Access.PUBLIC:
            assert doc.path in ("/health", "/openapi.json", "/ops"), f"{where} is public?"


CUSTOMER_ROUTES = [
    doc for doc in ROUTE_DOCS if doc.access is Access.CUSTOMER and "storefront" in doc.roles
]


@pytest.mark.parametrize("doc", CUSTOMER_ROUTES, ids=lambda d: f"{d.method} {d.path}")
def test_every_customer_route_refuses_a_storefront_without_that_customers_token(
    client: Any, doc: Any
) -> None:
    placed = place_order(client, order_body())
    customer_id = placed["customer_id"]
    ticket = client.http.post(
        f"/customers/{customer_id}/tickets",
        headers=OPS | JSON,
        body=json.dumps({"subject": "s", "description": "d", "channel": "phone"}),
    ).json_body["ticket_id"]
    path = doc.path.format(customer_id=customer_id, ticket_id=ticket)

    response = _request(client, doc.method, path, OTHER_STOREFRONT, None)

    assert_problem(response, 403, "X-Customer-Token")
    assert _request(client, doc.method, path, OPS, None).status_code == 200


def test_an_unknown_role_or_field_in_a_key_object_is_refused() -> None:
    from pydantic import ValidationError

    from chalicelib.adapters.secrets import parse_api_keys

    keys = parse_api_keys({"a": "ops", "b": {"role": "store", "location_id": "ST-MADRID"}})
    assert keys["a"].role == "ops" and keys["a"].client_id is None
    assert keys["b"].location_id == "ST-MADRID"
    for bad in ({"a": "admin"}, {"a": {"role": "ops", "tenant": "x"}}, {"a": {"client_id": "x"}}):
        with pytest.raises(ValidationError):
            parse_api_keys(bad)


def test_an_ops_key_does_what_storefronts_and_stores_do(client: Any, deps: Any) -> None:
    """API.md part two: "ops keys see and do everything", the routes part one lists for
    storefronts and stores included: place, quote, ask availability, collect a pick-up,
    open a return, send a verification code, subscribe to a SKU."""
    sku = fresh_sku(deps, {"ST-VALENCIA": 3})
    placed = place_order(client, pickup_order_body(sku, 2), OPS)
    order_id = placed["order_id"]
    ready = eventually(
        lambda: (o := get_order(client, order_id, OPS))["status"] == "READY_FOR_PICKUP" and o
    )
    fulfillment = ready["fulfillments"][0]
    collected = _request(
        client,
        "POST",
        f"/fulfillments/{fulfillment['fulfillment_id']}/collect",
        OPS,
        {"pickup_code": fulfillment["pickup_code"]},
    )
    assert collected.status_code == 200, collected.body
    assert collected.json_body["status"] == "DELIVERED"
    returned = _request(
        client,
        "POST",
        f"/orders/{order_id}/returns",
        OPS | idempotency_key(),
        {"lines": [{"sku": sku, "quantity": 1}], "reason": "x", "channel": "mail"},
    )
    assert returned.status_code == 201, returned.body
    assert returned.json_body["status"] == "REQUESTED"
    quoted = _request(
        client,
        "POST",
        "/quotes",
        OPS,
        {
            "channel": "web",
            "lines": [
                {"sku": sku, "quantity": 1, "fulfillment": "pickup", "location_id": "ST-VALENCIA"}
            ],
        },
    )
    assert quoted.status_code == 200, quoted.body
    available = client.http.get(f"/availability/{sku}?postal_code=46004", headers=OPS)
    assert available.status_code == 200, available.body
    sent = _request(
        client,
        "POST",
        "/customers/verifications",
        OPS | idempotency_key(),
        {"email": "ops@example.com"},
    )
    assert sent.status_code == 202, sent.body
    subscribed = _request(
        client,
        "POST",
        f"/inventory/{sku}/subscriptions",
        OPS | idempotency_key(),
        {"email": "ops@example.com"},
    )
    assert subscribed.status_code == 201, subscribed.body


def test_a_bound_store_key_learns_nothing_of_an_order_it_does_not_read_by_opening_a_return(
    client: Any, deps: Any, settings: Any
) -> None:
    """Opening a return at its own till for an order Madrid's key does not read answers as
    an unknown id, whatever the body. Letting it open one (tried and reverted: a re-probe)
    answered the order's own refusals first, telling any order's status, SKUs, units left
    and return window, and let the store take the customer's return from them. The walk-in
    customer opens the return on their tracking page, and the till receives it."""
    order_id, _ = delivered(client, deps, settings)
    at_madrid = {"reason": "x", "channel": "store", "location_id": "ST-MADRID"}
    for lines in (
        [{"sku": "TSHIRT-BLK-M", "quantity": 1}],  # returnable
        [{"sku": "TSHIRT-BLK-M", "quantity": 9}],  # more than bought
        [{"sku": "JEANS-32", "quantity": 1}],  # not on the order
    ):
        _same_as_unknown(
            client,
            "POST",
            "/orders/{order_id}/returns",
            MADRID_STORE,
            at_madrid | {"lines": lines},
            order_id,
        )
    assert get_order(client, order_id, OPS)["returns"] == []


def test_a_bound_store_key_receives_at_its_store_a_store_return_and_no_return_by_post(
    client: Any, deps: Any, settings: Any
) -> None:
    """Any order may be returned through any channel: a customer who said Barcelona and
    walks into Madrid is served at the Madrid till with the return's id (an earlier
    probe had made it 404; the letter-of-API.md probe found the customer stuck). A return
    by post of an order the Madrid key may not read stays unknown to it (404), and no
    store key receives anywhere but at its store (403)."""
    order_id, path = delivered(client, deps, settings)
    one = [{"sku": "TSHIRT-BLK-M", "quantity": 1}]
    by_post = client.http.post(
        f"{path}/returns",
        headers=JSON | idempotency_key(),
        body=json.dumps({"lines": one, "reason": "x", "channel": "mail"}),
    )
    assert by_post.status_code == 201, by_post.body
    refused = _request(
        client,
        "POST",
        f"/returns/{by_post.json_body['return_id']}/receive",
        MADRID_STORE,
        {"location_id": "ST-MADRID"},
    )
    assert_problem(refused, 404, "return_id")
    at_barcelona = RETURN_BODY | {"channel": "store", "location_id": "ST-BARCELONA", "lines": one}
    opened = _request(client, "POST", f"/orders/{order_id}/returns", STOREFRONT, at_barcelona)
    assert opened.status_code == 201, opened.body
    return_id = opened.json_body["return_id"]
    assert _request(client, "GET", f"/orders/{order_id}", MADRID_STORE, None).status_code == 404
    elsewhere = _request(
        client,
        "POST",
        f"/returns/{return_id}/receive",
        MADRID_STORE,
        {"location_id": "ST-BARCELONA"},
    )
    assert_problem(elsewhere, 403, "location_id")

    taken = _request(
        client, "POST", f"/returns/{return_id}/receive", MADRID_STORE, {"location_id": "ST-MADRID"}
    )

    assert taken.status_code == 200, taken.body
    assert taken.json_body["status"] == "RECEIVED"
    kept = get_order(client, order_id, OPS)
    assert [
        (r["return_id"], r["status"], r["requested_location_id"], r["location_id"])
        for r in kept["returns"]
    ] == [
        # By post: where the customer was told to send it, the parcel's origin (probe 194).
        (by_post.json_body["return_id"], "REQUESTED", "WH-GETAFE", "WH-GETAFE"),
        (return_id, "RECEIVED", "ST-BARCELONA", "ST-MADRID"),
    ]


def test_the_store_a_return_was_named_for_still_reads_it_once_received_elsewhere(
    client: Any, deps: Any, settings: Any
) -> None:
    """A probe: receiving a return recorded only where it was received, so the store the
    customer named was lost from the order, and that store's key could no longer read the
    order it had been expecting the goods of."""
    order_id, _path = delivered(client, deps, settings)
    to_madrid = RETURN_BODY | {"channel": "store", "location_id": "ST-MADRID"}
    opened = _request(client, "POST", f"/orders/{order_id}/returns", STOREFRONT, to_madrid)
    assert opened.status_code == 201, opened.body
    return_id = opened.json_body["return_id"]
    assert _request(client, "GET", f"/orders/{order_id}", MADRID_STORE, None).status_code == 200

    taken = _request(
        client, "POST", f"/returns/{return_id}/receive", STORE, {"location_id": "ST-BARCELONA"}
    )

    assert taken.status_code == 200, taken.body
    read = _request(client, "GET", f"/orders/{order_id}", MADRID_STORE, None)
    assert read.status_code == 200, read.body
    (received,) = read.json_body["returns"]
    assert (received["status"], received["requested_location_id"], received["location_id"]) == (
        "RECEIVED",
        "ST-MADRID",
        "ST-BARCELONA",
    )


def test_a_bound_store_key_opens_no_ticket_about_an_order_it_cannot_read(client: Any) -> None:
    # Otherwise a ticket would tell a Madrid till which order ids exist elsewhere.
    web = place_order(client, order_body())
    path = f"/customers/{web['customer_id']}/tickets"

    def ticket(order_id: str) -> dict[str, Any]:
        return {
            "type": "question",
            "subject": "Dónde está",
            "description": "Pregunta en tienda",
            "order_id": order_id,
            "channel": "store",
        }

    theirs = _request(client, "POST", path, MADRID_STORE, ticket(web["order_id"]))
    unknown = _request(client, "POST", path, MADRID_STORE, ticket(UNKNOWN_ORDER))

    assert_problem(theirs, 404, "order_id")
    assert json.loads(theirs.body) == json.loads(
        unknown.body.decode().replace(UNKNOWN_ORDER, web["order_id"])
    )
    view = client.http.get(f"/customers/{web['customer_id']}", headers=OPS).json_body
    assert view["tickets"] == []
    # An unbound store key acts for every store.
    opened = _request(client, "POST", path, STORE, ticket(web["order_id"]))
    assert opened.status_code == 201, opened.body


def test_a_bound_store_key_neither_reads_nor_moves_a_ticket_about_an_order_it_cannot_read(
    client: Any,
    deps: Any,
) -> None:
    # Found by a probe: the ticket showed and resolved (emailing the customer) what the
    # order's 404 hides from a Madrid till.
    web = place_order(client, order_body())
    opened = _request(
        client,
        "POST",
        f"/customers/{web['customer_id']}/tickets",
        OPS,
        {
            "type": "question",
            "subject": "Dónde está",
            "description": "Texto privado",
            "order_id": web["order_id"],
            "channel": "phone",
        },
    )
    assert opened.status_code == 201, opened.body
    ticket_id = opened.json_body["ticket_id"]
    unknown_id = "tkt_0000000000000000"
    for method, body in (("GET", None), ("PATCH", {"status": "resolved", "note": "hecho"})):
        theirs = _request(client, method, f"/tickets/{ticket_id}", MADRID_STORE, body)
        unknown = _request(client, method, f"/tickets/{unknown_id}", MADRID_STORE, body)
        assert_problem(theirs, 404, "ticket_id")
        assert json.loads(theirs.body) == json.loads(
            unknown.body.decode().replace(unknown_id, ticket_id)
        )
    still = client.http.get(f"/tickets/{ticket_id}", headers=OPS).json_body
    assert still["status"] == "open" and still["notes"] == []
    # An unbound store key acts for every store; a Madrid order's ticket is Madrid's.
    assert _request(client, "GET", f"/tickets/{ticket_id}", STORE, None).status_code == 200
    madrid = place_order(client, _store_order(deps) | {"customer": {"email": "m@example.com"}})
    at_madrid = _request(
        client,
        "POST",
        f"/customers/{madrid['customer_id']}/tickets",
        MADRID_STORE,
        {
            "type": "question",
            "subject": "Ticket",
            "description": "En tienda",
            "order_id": madrid["order_id"],
            "channel": "store",
        },
    )
    assert at_madrid.status_code == 201, at_madrid.body
    moved = _request(
        client,
        "PATCH",
        f"/tickets/{at_madrid.json_body['ticket_id']}",
        MADRID_STORE,
        {"status": "pending"},
    )
    assert moved.status_code == 200, moved.body


def test_a_bound_store_key_reads_in_the_360_only_what_it_reads_elsewhere(
    client: Any, deps: Any
) -> None:
    """A probe: the Madrid key got 404 for a Valencia order and its ticket, and read both,
    the ticket's subject included, in the customer's 360."""
    email = f"v-{uuid.uuid4().hex[:10]}@example.com"
    web = place_order(client, order_body(customer={"email": email}))
    madrid = place_order(client, _store_order(deps) | {"customer": {"email": email}})
    customer_id = web["customer_id"]
    assert madrid["customer_id"] == customer_id
    for order_id, subject in ((web["order_id"], "Secreto web"), (madrid["order_id"], "Madrid")):
        opened = _request(
            client,
            "POST",
            f"/customers/{customer_id}/tickets",
            OPS,
            {
                "type": "question",
                "subject": subject,
                "description": "d",
                "order_id": order_id,
                "channel": "phone",
            },
        )
        assert opened.status_code == 201, opened.body
    visit = {"type": "store_visit", "channel": "store", "summary": "Vino a la tienda"}
    assert (
        _request(client, "POST", f"/customers/{customer_id}/interactions", STORE, visit).status_code
        == 201
    )

    def read(auth: dict[str, str]) -> dict[str, Any]:
        answer = _request(client, "GET", f"/customers/{customer_id}", auth, None)
        assert answer.status_code == 200, answer.body
        body: dict[str, Any] = answer.json_body
        return body

    both = {web["order_id"], madrid["order_id"]}
    # The 360's order list is projected from the orders' events: wait for both.
    eventually(lambda: {o["order_id"] for o in read(OPS)["orders"]} == both)
    seen = read(MADRID_STORE)

    assert [o["order_id"] for o in seen["orders"]] == [madrid["order_id"]]
    assert [t["subject"] for t in seen["tickets"]] == ["Madrid"]
    assert web["order_id"] not in json.dumps(seen) and "Secreto" not in json.dumps(seen)
    assert "Vino a la tienda" in [i["summary"] for i in seen["interactions"]]
    unbound = {o["order_id"] for o in read(STORE)["orders"]}  # every store's
    assert unbound == both


def test_a_bound_store_key_pages_the_360_over_the_orders_it_reads_and_counts_only_those(
    client: Any, deps: Any
) -> None:
    """A re-probe: paged one order at a time, the Madrid key got empty pages, cursors that
    decoded to a web order's id and time, and figures that counted the web orders and
    dated the last purchase by one of them."""
    email = f"p-{uuid.uuid4().hex[:10]}@example.com"
    placed = []
    for channel in ("web", "store", "web", "store", "web"):
        body = (
            order_body(customer={"email": email})
            if channel == "web"
            else _store_order(deps) | {"customer": {"email": email}}
        )
        placed.append((channel, place_order(client, body)))
    customer_id = placed[0][1]["customer_id"]
    web = {o["order_id"] for channel, o in placed if channel == "web"}
    madrid = [o["order_id"] for channel, o in reversed(placed) if channel == "store"]

    def read(auth: dict[str, str], query: str = "") -> dict[str, Any]:
        answer = _request(client, "GET", f"/customers/{customer_id}{query}", auth, None)
        assert answer.status_code == 200, answer.body
        body: dict[str, Any] = answer.json_body
        return body

    # The 360 is projected from the orders' events: wait for every order and its payment.
    eventually(lambda: read(OPS)["metrics"]["order_count"] == len(placed))
    everyone = {o["order_id"]: o for o in read(OPS)["orders"]}
    listed: list[str] = []
    query = "?limit=1"
    for _ in range(len(placed) + 1):
        page = read(MADRID_STORE, query)
        assert len(page["orders"]) == 1, page  # never an empty page before the last
        listed += [o["order_id"] for o in page["orders"]]
        cursor = page["orders_next_cursor"]
        if cursor is None:
            break
        for order_id in web:
            assert order_id not in json.dumps(page)
            assert order_id not in base64.urlsafe_b64decode(cursor).decode()
            assert everyone[order_id]["placed_at"] not in base64.urlsafe_b64decode(cursor).decode()
        query = f"?limit=1&cursor={cursor}"
    assert listed == madrid

    figures = read(MADRID_STORE)["metrics"]
    assert figures["order_count"] == len(madrid)
    assert figures["last_purchase"] == everyone[madrid[0]]["placed_at"]
    assert figures["first_purchase"] == everyone[madrid[-1]]["placed_at"]
