"""Promotions on fakes: coupons and automatic promotions priced into quotes and orders,
every bad coupon refused naming ``coupon`` with nothing stored, and redemptions taken
with the order and given back, once, when it is rejected or cancelled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.api.models import OrderResponse
from chalicelib.deps import Deps
from chalicelib.domain.customer_actions import CustomerAction, PayWithdrawn
from chalicelib.domain.errors import (
    ActionNotAvailable,
    Conflict,
    CouponUsedUp,
    InvalidCoupon,
    NotFound,
    OrquestaError,
    PaymentDeclined,
)
from chalicelib.domain.money import Money
from chalicelib.domain.promotions import CountedPromotion, PromotionTerms
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import PlaceOrderRequest
from chalicelib.services import (
    customer_records,
    ordering,
    payment_steps,
    promotions,
    quoting,
    self_service,
    tracking,
)
from chalicelib.services.step_models import OrderStep, RejectOrderInput
from tests.fakes import Clock
from tests.service import flows
from tests.support.pricing_bodies import _ship, _sku


def _promotion(deps: Deps, **terms: Any) -> CountedPromotion:
    values: dict[str, Any] = {"name": "Diez", "kind": "percent", "value": Decimal("10")}
    return promotions.create_promotion(PromotionTerms(**(values | terms)), deps)


def _count(deps: Deps, created: CountedPromotion) -> int:
    return promotions.promotion(created.promotion.promotion_id, deps).redemptions


def _quote(deps: Deps, **overrides: Any) -> Any:
    body = {k: v for k, v in flows.body(**overrides).items() if k not in ("payment", "consent")}
    return quoting.create_quote(QuoteRequest.model_validate(body), "demo-shop", deps)


def _refused(deps: Deps, error: type[OrquestaError], **overrides: Any) -> OrquestaError:
    request = PlaceOrderRequest.model_validate(flows.body(**overrides))
    with pytest.raises(error) as refused:
        ordering.place_order(request, "ord_refused", deps, "demo-shop")
    with pytest.raises(NotFound):
        deps.store.get_order("ord_refused")
    return refused.value


def test_a_second_promotion_with_the_same_code_in_any_case_is_409_naming_code(
    deps: Deps,
) -> None:
    before = len(promotions.listing(deps))
    _promotion(deps, code="VERANO")
    with pytest.raises(Conflict) as refused:
        _promotion(deps, code="verano")
    assert refused.value.field == "code"
    assert len(promotions.listing(deps)) == before + 1


def test_an_ended_promotions_code_is_taken_by_the_next_and_its_orders_keep_theirs(
    deps: Deps,
) -> None:
    # Probe 190 left: last summer's VERANO could never be this summer's.
    clock = deps.clock
    assert isinstance(clock, Clock)
    summer = _promotion(deps, code="VERANO", ends_at=clock.now + timedelta(days=1))
    last_year = flows.place(deps, coupon="VERANO")
    with pytest.raises(Conflict) as running:  # not ended yet: still its code
        _promotion(deps, code="verano")
    assert running.value.field == "code"
    assert f"{summer.promotion.promotion_id} has the code VERANO until it ends" in str(
        running.value
    )
    clock.advance(days=1)

    again = _promotion(deps, code="verano", kind="amount", value=Decimal("5.00"))

    this_year = flows.place(deps, coupon="VERANO")
    assert this_year.pricing is not None
    assert [taken.promotion_id for taken in this_year.pricing.redemptions] == [
        again.promotion.promotion_id
    ]
    assert this_year.pricing.discount == Decimal("5.00")
    # Last year's order still holds last year's redemption; cancelled, it gives it back
    # there, not to the promotion that took the code over.
    ordering.cancel_order(last_year.order_id, deps)
    assert (_count(deps, summer), _count(deps, again)) == (0, 1)
    with pytest.raises(Conflict):  # the new holder has not ended
        _promotion(deps, code="VERANO")


def test_an_unknown_promotion_is_404_naming_promotion_id(deps: Deps) -> None:
    with pytest.raises(NotFound) as refused:
        promotions.promotion("pr_nope", deps)
    assert refused.value.field == "promotion_id"


def test_a_quote_with_a_coupon_shows_the_promotion_and_each_lines_discount(deps: Deps) -> None:
    created = _promotion(deps, code="DIEZ")
    quote = _quote(deps, coupon="diez")
    breakdown = quote.breakdown
    # 2 x 19.95 = 39.90; 10 % is 3.99, all on the one line.
    assert breakdown.subtotal == Decimal("39.90")
    assert breakdown.discount == Decimal("3.99")
    assert [line.discount for line in breakdown.lines] == [Decimal("3.99")]
    [applied] = breakdown.promotions
    assert applied.promotion_id == created.promotion.promotion_id
    assert applied.amount == Decimal("3.99")
    assert breakdown.total == Decimal("39.90") - Decimal("3.99") + breakdown.shipping


def test_an_order_keeps_each_lines_share_of_the_discount_as_its_quote_showed_it(
    deps: Deps,
) -> None:
    # Probe 190 left: the order's lines had no ``discount``, the quote's did; an
    # integrator matching lines to refund or print a receipt could not.
    _promotion(deps, code="PARTES")
    dear, cheap = _sku(deps, "30.00"), _sku(deps, "9.99")
    lines = [_ship(dear, 1), _ship(cheap, 2)]
    quote = _quote(deps, coupon="PARTES", lines=lines)
    order = flows.place(deps, coupon="PARTES", lines=lines)

    quoted = [Money.of(line.discount) for line in quote.breakdown.lines]
    assert quoted == [Money.of("3.00"), Money.of("2.00")]
    assert [line.discount for line in order.lines] == quoted
    view = OrderResponse.from_order(order, "https://example.test/track/x")
    shown = view.model_dump(mode="json")["lines"]
    assert [line["discount"]["amount"] for line in shown] == ["3.00", "2.00"]
    tracked = tracking.tracking_view(order)["lines"]
    assert [line["discount"]["amount"] for line in tracked] == ["3.00", "2.00"]


def test_a_line_without_a_discount_shows_zero_and_stores_none(deps: Deps) -> None:
    order = flows.place(deps)
    assert [line.discount for line in order.lines] == [None]
    view = OrderResponse.from_order(order, "https://example.test/track/x")
    shown = view.model_dump(mode="json")["lines"]
    assert [line["discount"]["amount"] for line in shown] == ["0.00"]


BAD_COUPONS = [
    ({"code": "OLD", "ends_at": "2020-01-01T00:00:00Z"}, {}),
    ({"code": "SOON", "starts_at": "2999-01-01T00:00:00Z"}, {}),
    ({"code": "TILL", "channels": ["store"]}, {}),
    ({"code": "BIG", "min_subtotal": Decimal("100.00")}, {}),
    ({"code": "ONCE", "once_per_customer": True}, {"customer": None, "channel": "store"}),
]


@pytest.mark.parametrize(("terms", "order"), BAD_COUPONS, ids=[t["code"] for t, _ in BAD_COUPONS])
def test_a_coupon_that_does_not_apply_is_422_naming_coupon_and_stores_nothing(
    deps: Deps, terms: dict[str, Any], order: dict[str, Any]
) -> None:
    _promotion(deps, **terms)
    if order.get("channel") == "store":
        order["store_id"] = "ST-MADRID"
    assert _refused(deps, InvalidCoupon, coupon=terms["code"], **order).field == "coupon"
    with pytest.raises(InvalidCoupon):
        _quote(deps, coupon=terms["code"], **order)


def test_an_unknown_coupon_is_422_naming_coupon(deps: Deps) -> None:
    assert _refused(deps, InvalidCoupon, coupon="NOPE").field == "coupon"


def test_a_used_up_coupon_is_409_naming_coupon_and_stores_nothing(deps: Deps) -> None:
    created = _promotion(deps, code="DOS", max_redemptions=2)
    flows.place(deps, coupon="DOS")
    flows.place(deps, coupon="dos")
    assert _refused(deps, CouponUsedUp, coupon="DOS").field == "coupon"
    with pytest.raises(CouponUsedUp):
        _quote(deps, coupon="DOS")
    assert _count(deps, created) == 2


def test_a_once_per_customer_coupon_is_409_for_the_same_customer_only(deps: Deps) -> None:
    created = _promotion(deps, code="HOLA", once_per_customer=True)
    customer = {"email": "once@example.com", "name": "Ana"}
    flows.place(deps, coupon="HOLA", customer=customer)
    assert _refused(deps, CouponUsedUp, coupon="HOLA", customer=customer).field == "coupon"
    flows.place(deps, coupon="HOLA", customer={"email": "other@example.com"})
    assert _count(deps, created) == 2


@pytest.mark.parametrize("by", ["email-and-phone", "phone-and-email", "customer-id"])
def test_a_once_per_customer_coupon_is_409_when_any_identifier_named_used_it(
    deps: Deps, by: str
) -> None:
    # Probe 190: the phone that used the welcome coupon, sent beside an email with a record
    # of its own (or another record's id), got it again: only the first owner was asked.
    created = _promotion(deps, code="HOLA", once_per_customer=True)
    used = flows.place(deps, coupon="HOLA", customer={"phone": "+34 600 111 222"})
    other = flows.place(deps, customer={"email": "own.record@example.com"})
    assert other.customer_id is not None and other.customer_id != used.customer_id
    shopper = {
        "email-and-phone": {"email": "own.record@example.com", "phone": "+34600111222"},
        "phone-and-email": {"phone": "+34600111222", "email": "own.record@example.com"},
        "customer-id": {"customer_id": other.customer_id, "phone": "+34600111222"},
    }[by]

    assert _refused(deps, CouponUsedUp, coupon="HOLA", customer=shopper).field == "coupon"
    assert _count(deps, created) == 1
    # Each record alone is as before: the one that never used it still may.
    flows.place(deps, coupon="HOLA", customer={"email": "own.record@example.com"})
    assert _count(deps, created) == 2


def test_a_once_per_customer_coupon_used_under_a_merged_record_is_409_for_the_survivor(
    deps: Deps,
) -> None:
    # Two records, one person (ops merged them): the coupon used under the merged record
    # is used for the survivor too; a probe got it twice, once under each email.
    created = _promotion(deps, code="HOLA", once_per_customer=True)
    merged_email = {"email": "merged@example.com"}
    used = flows.place(deps, coupon="HOLA", customer=merged_email)
    survivor = flows.place(deps, customer={"email": "survivor@example.com"})
    assert used.customer_id is not None and survivor.customer_id is not None
    customer_records.merge_customers(survivor.customer_id, used.customer_id, "ops", "ops", deps)
    for shopper in (merged_email, {"email": "survivor@example.com"}):
        assert _refused(deps, CouponUsedUp, coupon="HOLA", customer=shopper).field == "coupon"
    # A quote priced for a newcomer, ordered under the merged person, is refused too.
    quote = _quote(deps, coupon="HOLA", customer={"email": "newcomer@example.com"})
    on_quote = _refused(
        deps, CouponUsedUp, coupon="HOLA", customer=merged_email, quote_id=quote.quote_id
    )
    assert on_quote.field == "coupon"
    assert _count(deps, created) == 1


def test_an_order_with_a_coupon_is_charged_the_discounted_total_and_redeems_once(
    deps: Deps,
) -> None:
    created = _promotion(deps, code="DIEZ", campaign="newsletter")
    request = PlaceOrderRequest.model_validate(flows.body(coupon="DIEZ"))
    order = ordering.place_order(request, "ord_coupon", deps, "demo-shop")
    again = ordering.place_order(request, "ord_coupon", deps, "demo-shop")
    assert order.pricing is not None and again.pricing is not None
    assert order.pricing.discount == Decimal("3.99")
    assert again.total == order.total
    assert _count(deps, created) == 1
    assert promotions.promotion(created.promotion.promotion_id, deps).redemptions == 1
    assert deps.store.redeeming_orders(created.promotion.promotion_id) == ["ord_coupon"]


def test_an_order_on_a_quote_keeps_its_coupon_and_redeems_it(deps: Deps) -> None:
    created = _promotion(deps, code="DIEZ")
    quote = _quote(deps, coupon="DIEZ")
    order = flows.place(deps, coupon="DIEZ", quote_id=quote.quote_id)
    assert order.pricing is not None and order.pricing.coupon == "DIEZ"
    assert order.total.amount == quote.breakdown.total
    assert _count(deps, created) == 1


def test_a_quote_whose_coupon_was_used_up_meanwhile_is_409_naming_coupon(deps: Deps) -> None:
    created = _promotion(deps, code="UNO", max_redemptions=1)
    quote = _quote(deps, coupon="UNO")
    flows.place(deps, coupon="UNO")
    assert _refused(deps, CouponUsedUp, coupon="UNO", quote_id=quote.quote_id).field == "coupon"
    assert _count(deps, created) == 1


def test_a_once_per_customer_quote_is_409_for_a_customer_who_used_the_coupon(
    deps: Deps,
) -> None:
    # The quote was for a newcomer; the order on it names a customer who used the coupon:
    # the redemption is taken for the order's own customer, so it is refused.
    created = _promotion(deps, code="HOLA", once_per_customer=True)
    used = {"email": "used@example.com"}
    flows.place(deps, coupon="HOLA", customer=used)
    quote = _quote(deps, coupon="HOLA", customer={"email": "newcomer@example.com"})
    refused = _refused(deps, CouponUsedUp, coupon="HOLA", customer=used, quote_id=quote.quote_id)
    assert refused.field == "coupon"
    assert _count(deps, created) == 1


def test_an_order_on_a_quote_through_another_channel_is_409_naming_channel(deps: Deps) -> None:
    quote = _quote(deps)
    refused = _refused(deps, Conflict, channel="app", quote_id=quote.quote_id)
    assert refused.field_errors() == [
        ("channel", f"quote {quote.quote_id} was for web orders"),
        ("quote_id", f"quote {quote.quote_id} was for web orders"),
    ]


def test_an_automatic_promotion_gives_the_same_price_in_every_channel(deps: Deps) -> None:
    _promotion(deps, name="Black Friday", kind="amount", value=Decimal("5.00"))
    web = _quote(deps)
    store = _quote(deps, channel="store", store_id="ST-MADRID")
    assert web.breakdown.discount == store.breakdown.discount == Decimal("5.00")
    assert web.breakdown.total == store.breakdown.total
    order = flows.place(deps, channel="store", store_id="ST-MADRID")
    assert order.pricing is not None and order.pricing.discount == Decimal("5.00")


def test_an_automatic_promotion_used_up_is_simply_not_applied(deps: Deps) -> None:
    created = _promotion(deps, name="Primeros", kind="amount", value=Decimal("5.00"))
    limited = _promotion(deps, name="Uno", kind="amount", value=Decimal("7.00"), max_redemptions=1)
    first = flows.place(deps)
    second = flows.place(deps)
    assert first.pricing is not None and second.pricing is not None
    assert [p.name for p in first.pricing.promotions] == ["Uno"]
    assert [p.name for p in second.pricing.promotions] == ["Primeros"]
    assert _count(deps, limited) == 1 and _count(deps, created) == 1


def test_a_cancelled_order_gives_its_redemption_back_once(deps: Deps) -> None:
    created = _promotion(deps, code="UNO", max_redemptions=1)
    order = flows.place(deps, coupon="UNO")
    ordering.cancel_order(order.order_id, deps)
    ordering.cancel_order(order.order_id, deps)
    assert _count(deps, created) == 0
    assert deps.store.redeeming_orders(created.promotion.promotion_id) == []
    flows.place(deps, coupon="UNO")  # the coupon can be used again
    assert _count(deps, created) == 1


def test_a_declined_order_gives_its_redemption_back_and_paying_again_takes_it(
    deps: Deps,
) -> None:
    created = _promotion(deps, code="HOLA", once_per_customer=True, max_redemptions=1)
    customer = {"email": "declined@example.com"}
    order = flows.place(
        deps, coupon="HOLA", customer=customer, payment={"method": "card", "token": "tok_declined"}
    )
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    reject = RejectOrderInput(order_id=order.order_id, error="PaymentDeclined")
    payment_steps.reject_order(reject, deps)
    payment_steps.reject_order(reject, deps)  # a retried step gives nothing back twice
    assert _count(deps, created) == 0
    self_service.pay_again(order.order_id, "tok_visa", deps)
    assert _count(deps, created) == 1
    assert deps.store.redeeming_orders(created.promotion.promotion_id) == [order.order_id]


def _declined_on(deps: Deps, **overrides: Any) -> Any:
    order = flows.place(deps, payment={"method": "card", "token": "tok_declined"}, **overrides)
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=order.order_id, error="PaymentDeclined"), deps
    )
    return deps.store.get_order(order.order_id)


def test_paying_again_after_the_coupon_went_to_someone_else_is_refused_and_not_offered(
    deps: Deps,
) -> None:
    # A probe: the tracking page offered ``pay``, and paying got 409 naming ``coupon``, a
    # field the request does not have.
    created = _promotion(deps, code="UNO", max_redemptions=1)
    order = _declined_on(deps, coupon="UNO")
    assert CustomerAction.PAY in self_service.actions_now(order, deps).actions
    flows.place(deps, coupon="UNO")

    now = self_service.actions_now(order, deps)
    assert CustomerAction.PAY not in now.actions
    assert now.pay_withdrawn is PayWithdrawn.PRICE_GONE  # the page says why
    with pytest.raises(ActionNotAvailable, match="coupon UNO has been used up") as refused:
        self_service.pay_again(order.order_id, "tok_visa", deps)
    assert refused.value.field == "payment"
    assert _count(deps, created) == 1
    assert deps.store.get_order(order.order_id).status.value == "REJECTED"


def test_paying_again_once_the_customer_used_the_coupon_elsewhere_is_not_offered(
    deps: Deps,
) -> None:
    _promotion(deps, code="HOLA", once_per_customer=True)
    customer = {"email": "twice@example.com"}
    order = _declined_on(deps, coupon="HOLA", customer=customer)
    assert CustomerAction.PAY in self_service.actions_now(order, deps).actions
    flows.place(deps, coupon="HOLA", customer=customer)  # the same person, another order

    assert CustomerAction.PAY not in self_service.actions_now(order, deps).actions
    with pytest.raises(ActionNotAvailable) as refused:
        self_service.pay_again(order.order_id, "tok_visa", deps)
    assert refused.value.field == "payment"


def test_paying_again_after_the_automatic_promotion_went_to_others_is_409_naming_payment(
    deps: Deps,
) -> None:
    """A probe: the refusal named ``quote_id``, for an order placed without a quote."""
    created = _promotion(deps, max_redemptions=1)  # automatic: no code
    order = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    assert order.pricing is not None and order.pricing.discount > 0
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=order.order_id, error="PaymentDeclined"), deps
    )
    flows.place(deps)  # the last redemption goes to another order

    with pytest.raises(ActionNotAvailable) as refused:
        self_service.pay_again(order.order_id, "tok_visa", deps)

    assert refused.value.field == "payment"
    assert _count(deps, created) == 1
    assert deps.store.get_order(order.order_id).status.value == "REJECTED"


def test_the_demo_welcome_coupon_takes_10_percent_once_per_customer(deps: Deps) -> None:
    customer = {"email": "welcome@example.com"}
    order = flows.place(deps, coupon="bienvenida10", customer=customer)
    assert order.pricing is not None and order.pricing.discount == Decimal("3.99")
    assert _refused(deps, CouponUsedUp, coupon="BIENVENIDA10", customer=customer).field == "coupon"


def test_an_expired_automatic_promotion_no_longer_applies(deps: Deps) -> None:
    assert isinstance(deps.clock, Clock)
    ends = deps.clock() + timedelta(hours=1)
    _promotion(deps, name="Flash", kind="amount", value=Decimal("5.00"), ends_at=ends)
    assert _quote(deps).breakdown.discount == Decimal("5.00")
    deps.clock.advance(hours=2)
    assert _quote(deps).breakdown.discount == Decimal("0.00")


def test_ops_end_an_automatic_promotion_now_and_an_earlier_end_stands(deps: Deps) -> None:
    assert isinstance(deps.clock, Clock)
    ends = deps.clock() + timedelta(days=7)
    created = _promotion(deps, name="Flash", kind="amount", value=Decimal("5.00"), ends_at=ends)
    assert _quote(deps).breakdown.discount == Decimal("5.00")

    ended = promotions.end_promotion(created.promotion.promotion_id, deps)

    assert ended.promotion.ends_at == deps.clock()
    assert _quote(deps).breakdown.discount == Decimal("0.00")
    deps.clock.advance(hours=1)
    again = promotions.end_promotion(created.promotion.promotion_id, deps)
    assert again.promotion.ends_at == ended.promotion.ends_at
    assert promotions.promotion(created.promotion.promotion_id, deps).promotion == ended.promotion
