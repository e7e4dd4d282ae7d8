"""Twenty shoppers race for a coupon with five redemptions, through the real placing
service on the local stack's DynamoDB: exactly five orders are accepted, the fifteen
others are 409 naming ``coupon`` with nothing stored, and the counter says five."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.errors import Conflict, CouponUsedUp, NotFound
from chalicelib.domain.promotions import Promotion, PromotionTerms
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import ordering, promotions
from tests.support import order_body

RACERS = 20
LIMIT = 5


def test_twenty_racers_for_five_redemptions_get_exactly_five_orders(deps: Any) -> None:
    code = f"RACE{uuid.uuid4().hex[:8].upper()}"
    terms = PromotionTerms(
        name="Carrera", code=code, kind="percent", value=Decimal("10"), max_redemptions=LIMIT
    )
    promotion_id = promotions.create_promotion(terms, deps).promotion.promotion_id
    start = threading.Barrier(RACERS)
    order_ids = [f"ord_race_{uuid.uuid4().hex[:12]}" for _ in range(RACERS)]

    def place(order_id: str) -> str:
        request = PlaceOrderRequest.model_validate(order_body(coupon=code))
        start.wait()
        try:
            ordering.place_order(request, order_id, deps, "race-client")
        except CouponUsedUp as exc:
            assert exc.field == "coupon"
            return "used up"
        return "accepted"

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(place, order_ids))

    assert outcomes.count("accepted") == LIMIT
    assert outcomes.count("used up") == RACERS - LIMIT
    accepted = [
        oid for oid, outcome in zip(order_ids, outcomes, strict=True) if outcome == "accepted"
    ]
    assert promotions.promotion(promotion_id, deps).redemptions == LIMIT
    assert sorted(deps.store.redeeming_orders(promotion_id)) == sorted(accepted)
    for order_id, outcome in zip(order_ids, outcomes, strict=True):
        if outcome == "accepted":
            assert deps.store.get_order(order_id).pricing.redemptions_held
        else:
            with pytest.raises(NotFound):
                deps.store.get_order(order_id)


def test_ten_promotions_taking_over_an_ended_ones_code_leave_exactly_one_holding_it(
    deps: Any,
) -> None:
    # Each racer found the ended holder before any took the code over: the claim's
    # condition on its holder is all that stands between them.
    code = f"BACK{uuid.uuid4().hex[:8].upper()}"
    ended = promotions.create_promotion(
        PromotionTerms(name="Antes", code=code, kind="free_shipping"), deps
    )
    promotions.end_promotion(ended.promotion.promotion_id, deps)
    racers = 10
    start = threading.Barrier(racers)

    def create(_: int) -> str:
        terms = PromotionTerms(name="Después", code=code, kind="free_shipping")
        promotion = Promotion(
            **terms.model_dump(), promotion_id=promotions.new_promotion_id(deps.clock())
        )
        start.wait()
        try:
            return deps.store.create_promotion(promotion, replaces=ended.promotion.promotion_id)
        except Conflict as exc:
            assert exc.field == "code"
            return "taken"

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = list(pool.map(create, range(racers)))

    (winner,) = [outcome for outcome in outcomes if outcome != "taken"]
    holder = deps.store.promotion_by_code(code)
    assert holder is not None and holder.promotion.promotion_id == winner
