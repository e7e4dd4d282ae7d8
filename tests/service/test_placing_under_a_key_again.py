"""``place_order`` run again under an order id it stored (its Idempotency-Key's record ran
out, or a first run died after its write): the same request finds its order, another is
refused naming the key (probe 161), and an order stored before it kept its digest is
found as before."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import IdempotencyKeyReused
from chalicelib.domain.orders import Order
from chalicelib.domain.request_digests import request_digest
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import ordering
from chalicelib.services.order_writes import Change, mutate
from tests.service import flows


def _request(quantity: int = 2) -> PlaceOrderRequest:
    body = flows.body(customer={"email": "ana@example.com", "name": "Ana"})
    body["lines"][0]["quantity"] = quantity
    return PlaceOrderRequest.model_validate(body)


def test_the_same_request_again_finds_its_order(deps: Deps) -> None:
    request = _request()
    first = ordering.place_order(request, "ord_k1", deps, "demo-shop", request_digest(request))

    again = ordering.place_order(request, "ord_k1", deps, "demo-shop", request_digest(request))

    assert again.order_id == first.order_id and again.version == first.version
    assert deps.store.get_order("ord_k1").request_digest == request_digest(request)


def test_another_request_under_the_same_order_id_is_refused_naming_the_key(deps: Deps) -> None:
    placed = _request()
    ordering.place_order(placed, "ord_k2", deps, "demo-shop", request_digest(placed))
    other = _request(quantity=5)

    with pytest.raises(IdempotencyKeyReused) as refused:
        ordering.place_order(other, "ord_k2", deps, "demo-shop", request_digest(other))

    assert refused.value.field == "Idempotency-Key"
    assert [line.quantity for line in deps.store.get_order("ord_k2").lines] == [2]


def test_the_digest_is_of_the_fields_not_of_how_the_json_was_written() -> None:
    body = flows.body()
    reordered = dict(reversed(list(body.items())))

    assert request_digest(PlaceOrderRequest.model_validate(body)) == request_digest(
        PlaceOrderRequest.model_validate(reordered)
    )
    assert request_digest(_request(2)) != request_digest(_request(3))


def test_an_order_stored_before_its_digest_was_kept_is_found_as_before(deps: Deps) -> None:
    placed = _request()
    ordering.place_order(placed, "ord_k3", deps, "demo-shop", request_digest(placed))

    def as_stored_before(current: Order) -> Change:
        current.request_digest = None
        return Change()

    mutate(deps, "ord_k3", as_stored_before)
    other = _request(quantity=5)

    found = ordering.place_order(other, "ord_k3", deps, "demo-shop", request_digest(other))

    assert found.order_id == "ord_k3" and [line.quantity for line in found.lines] == [2]
