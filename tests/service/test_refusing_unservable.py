"""Refusing up front what the stock cannot serve: 409 out-of-stock naming each short
line, nothing stored, no execution, no customer created."""

from __future__ import annotations

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import NotFound, UnservableLines
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import customer_export, opportunities, ordering
from tests.service import flows

SKU = "TSHIRT-BLK-M"


def _shippable(deps: Deps, sku: str = SKU) -> int:
    return sum(max(0, lv.available) for lv in deps.store.stock_levels(sku) if lv.ships)


def _at(deps: Deps, location_id: str, sku: str = SKU) -> int:
    return next(
        lv.available for lv in deps.store.stock_levels(sku) if lv.location_id == location_id
    )


def _refused(deps: Deps, lines: list[dict[str, object]], **overrides: object) -> UnservableLines:
    request = PlaceOrderRequest.model_validate(flows.body(lines=lines, **overrides))
    with pytest.raises(UnservableLines) as refused:
        ordering.place_order(request, "ord_refused", deps, "demo-shop")
    with pytest.raises(NotFound):
        deps.store.get_order("ord_refused")
    assert "ord_refused" not in deps.workflow.started  # type: ignore[attr-defined]
    return refused.value


def test_more_than_every_shipping_location_holds_is_refused_naming_the_line(deps: Deps) -> None:
    lines = [
        {"sku": "SOCKS-3P", "quantity": 1, "fulfillment": "ship"},
        {"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"},
    ]
    refused = _refused(deps, lines)
    assert refused.status == 409
    assert refused.title == "Out of stock"
    assert [field for field, _ in refused.field_errors()] == ["lines.1"]


def test_a_refused_order_creates_no_customer(deps: Deps) -> None:
    email = "nobody-yet@example.com"
    lines = [{"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"}]
    _refused(deps, lines, customer={"email": email, "name": "Ana"})
    assert (
        deps.customers.find_identifier(Identifier(type=IdentifierType.EMAIL, value=email)) is None
    )


def test_a_pickup_line_counts_only_its_own_store(deps: Deps) -> None:
    # Plenty in the warehouse does not help a pick-up at Madrid.
    wanted = _at(deps, "ST-MADRID") + 1
    lines = [{"sku": SKU, "quantity": wanted, "fulfillment": "pickup", "location_id": "ST-MADRID"}]
    refused = _refused(deps, lines, shipping_address=None)
    assert [field for field, _ in refused.field_errors()] == ["lines.0"]


def test_lines_for_the_same_sku_are_judged_together(deps: Deps) -> None:
    half = _shippable(deps) // 2 + 1
    lines = [{"sku": SKU, "quantity": half, "fulfillment": "ship"}] * 2
    refused = _refused(deps, lines)
    assert [field for field, _ in refused.field_errors()] == ["lines.0", "lines.1"]
    # Said together too (probe 210: each read "not enough ... for" its own half, which
    # the stock could serve).
    together = (
        f"not enough {SKU} at any location that ships for {2 * half} (lines.0, lines.1 together)"
    )
    assert [words for _, words in refused.field_errors()] == [together, together]


def test_a_ship_line_short_beside_a_pick_up_of_the_same_sku_names_the_pick_up(
    deps: Deps,
) -> None:
    # Probe 213: 4 to ship beside 2 to collect at Madrid, 5 in all, read "for 4" alone,
    # though 5 could be shipped.
    madrid = _at(deps, "ST-MADRID")
    shipped = _shippable(deps) - madrid + 1
    lines = [
        {"sku": SKU, "quantity": shipped, "fulfillment": "ship"},
        {"sku": SKU, "quantity": madrid, "fulfillment": "pickup", "location_id": "ST-MADRID"},
    ]
    refused = _refused(deps, lines)
    assert refused.field_errors() == [
        (
            "lines.0",
            f"not enough {SKU} at any location that ships for {shipped} "
            f"beside {madrid} to collect at ST-MADRID (lines.1)",
        )
    ]


def test_a_short_line_beside_another_sku_s_speaks_of_its_own_quantity(deps: Deps) -> None:
    wanted = _at(deps, "ST-MADRID") + 1
    lines = [
        {"sku": SKU, "quantity": 1, "fulfillment": "ship"},
        {"sku": SKU, "quantity": wanted, "fulfillment": "pickup", "location_id": "ST-MADRID"},
    ]
    refused = _refused(deps, lines)
    assert refused.field_errors() == [("lines.1", f"not enough {SKU} at ST-MADRID for {wanted}")]


def test_units_promised_to_orders_are_not_promised_again(deps: Deps) -> None:
    flows.reserved(deps, lines=[{"sku": SKU, "quantity": 3, "fulfillment": "ship"}])
    lines = [{"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"}]
    _refused(deps, lines)
    everything_left = [{"sku": SKU, "quantity": _shippable(deps), "fulfillment": "ship"}]
    assert flows.place(deps, lines=everything_left).lines[0].quantity == _shippable(deps)


def test_a_retried_request_finds_its_order_even_once_the_stock_is_gone(deps: Deps) -> None:
    request = PlaceOrderRequest.model_validate(flows.body())
    first = ordering.place_order(request, "ord_retry", deps, "demo-shop")
    flows.sell_out(deps, SKU)
    again = ordering.place_order(request, "ord_retry", deps, "demo-shop")
    assert again.order_id == first.order_id


def test_a_refused_customer_is_subscribed_to_what_was_short_once(deps: Deps) -> None:
    email = "waiting-for-it@example.com"
    lines = [
        {"sku": "SOCKS-3P", "quantity": 1, "fulfillment": "ship"},
        {"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"},
    ]
    _refused(deps, lines, customer={"email": email, "name": "Ana"})
    # The same request retried (same order id) subscribes nobody twice.
    _refused(deps, lines, customer={"email": email, "name": "Ana"})
    waiting = [s for s in deps.opportunities.open_subscriptions(SKU) if s.email == email]
    assert len(waiting) == 1
    # Only the short line's SKU: the socks could be served.
    assert not [s for s in deps.opportunities.open_subscriptions("SOCKS-3P") if s.email == email]


def test_a_refused_known_customer_s_back_in_stock_opportunity_is_theirs(deps: Deps) -> None:
    email = "known-already@example.com"
    known = flows.place(deps, customer={"email": email, "name": "Ana"})
    assert known.customer_id is not None
    lines = [{"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"}]

    _refused(deps, lines, customer={"email": email.upper(), "name": "Ana"})

    (waiting,) = [s for s in deps.opportunities.open_subscriptions(SKU) if s.email == email]
    assert waiting.customer_id == known.customer_id
    rows = [
        row
        for row in opportunities.listing(deps)[0]
        if row["kind"] == "back_in_stock" and row.get("sku") == SKU
    ]
    assert [row["customer_id"] for row in rows] == [known.customer_id]
    exported = customer_export.export_customer(known.customer_id, deps)
    assert [o["sku"] for o in exported["opportunities"]] == [SKU]
    assert [s["sku"] for s in exported["subscriptions"]] == [SKU]


def test_a_refused_unknown_email_s_opportunity_has_no_customer(deps: Deps) -> None:
    email = "nobody-known@example.com"
    lines = [{"sku": SKU, "quantity": _shippable(deps) + 1, "fulfillment": "ship"}]

    _refused(deps, lines, customer={"email": email, "name": "Ana"})

    (waiting,) = [s for s in deps.opportunities.open_subscriptions(SKU) if s.email == email]
    assert waiting.customer_id is None
