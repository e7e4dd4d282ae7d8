"""An order reserves all its stock in one DynamoDB transaction, which holds at most
``MAX_RESERVED_LINES`` (SKU, location) places. A basket of lines each in stock, whose
units are spread over more places than that, is refused when it is asked for (a quote,
an order: 409 naming ``lines``, as any out-of-stock refusal), not accepted and then
rejected "out of stock" (a probe: 98 lines in stock, split between the warehouse and a
store, got the customer an email saying there was not enough stock)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import SpreadTooThin, UnservableLines
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import MAX_RESERVED_LINES
from chalicelib.services import quoting
from tests.service import flows
from tests.support.catalogue import fresh_sku


def _split_lines(deps: Deps, count: int) -> list[dict[str, Any]]:
    """``count`` lines of 2 units, each SKU with one unit at the warehouse and one at
    Madrid (both ship): every line is in stock, and takes two places."""
    return [
        {
            "sku": fresh_sku(deps, {"WH-GETAFE": 1, "ST-MADRID": 1}),
            "quantity": 2,
            "fulfillment": "ship",
        }
        for _ in range(count)
    ]


def test_an_order_whose_stock_takes_more_places_than_one_transaction_is_refused_up_front(
    deps: Deps,
) -> None:
    lines = _split_lines(deps, MAX_RESERVED_LINES // 2 + 1)  # one place too many, or two
    places = 2 * len(lines)
    email = f"thin-{uuid.uuid4().hex[:8]}@example.com"

    # The out-of-stock refusal, made up front: every caller handles it as one.
    with pytest.raises(UnservableLines) as refused:
        flows.place(deps, lines=lines, customer={"email": email})

    assert refused.value.field == "lines"
    assert isinstance(refused.value, SpreadTooThin) and refused.value.title == "Too many places"
    assert str(places) in refused.value.detail and str(MAX_RESERVED_LINES) in refused.value.detail
    for line in lines:
        assert all(level.reserved == 0 for level in deps.store.stock_levels(line["sku"]))
    with pytest.raises(UnservableLines):
        quoting.create_quote(
            QuoteRequest.model_validate(
                {
                    "lines": lines,
                    "channel": "web",
                    "shipping_address": flows.body()["shipping_address"],
                }
            ),
            "demo-shop",
            deps,
        )


def test_an_order_whose_stock_just_fits_one_transaction_is_accepted_and_reserved(
    deps: Deps,
) -> None:
    lines = _split_lines(deps, MAX_RESERVED_LINES // 2)  # as many places as fit, or one less

    order = flows.reserved(deps, lines=lines)

    assert order.status is OrderStatus.RESERVED
    for line in lines:
        assert sum(level.reserved for level in deps.store.stock_levels(line["sku"])) == 2


def test_a_declined_orders_page_says_paying_again_is_out_of_stock_once_its_stock_spread(
    deps: Deps,
) -> None:
    # Re-probe 177: the refusal was a bare Conflict, which the page's check of whether
    # paying again would work did not expect: the rejected order's page answered 409
    # instead of itself, and so did its question form.
    from chalicelib.domain.customer_actions import CustomerAction, PayWithdrawn
    from chalicelib.services import payment_steps, self_service
    from chalicelib.services.step_models import OrderStep, RejectOrderInput
    from tests.support.builders import stock as stock_level

    last = fresh_sku(deps, {"WH-GETAFE": 3})
    lines = [
        *_split_lines(deps, (MAX_RESERVED_LINES - 1) // 2),  # at most MAX - 1 places
        {"sku": last, "quantity": 3, "fulfillment": "ship"},  # and 1: it fits
    ]
    order = flows.place(deps, lines=lines, payment={"method": "card", "token": "tok_declined"})
    with pytest.raises(Exception, match="declined"):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=order.order_id, error="PaymentDeclined"), deps
    )
    for location_id in ("WH-GETAFE", "ST-MADRID", "ST-BARCELONA"):  # 3 places now: too many
        deps.store.put_stock(stock_level(last, location_id, 1))

    actions = self_service.actions_shown(deps.store.get_order(order.order_id), deps)

    assert not actions.allows(CustomerAction.PAY)
    assert actions.pay_withdrawn is PayWithdrawn.OUT_OF_STOCK
    assert actions.allows(CustomerAction.TICKET)
