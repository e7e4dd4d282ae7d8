"""The promotions port, on the fake and on DynamoDB alike: unique codes in any case, the
automatic ones not ended found by key, and redemptions taken with the order's creation
and given back by the write that rejects or cancels it, never past the limit, never
twice, never half-way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.customer_actions import reopen_for_payment
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    CouponUsedUp,
    NotFound,
    PromotionUsedUp,
    QuotePriceTaken,
)
from chalicelib.domain.inventory import StockChange
from chalicelib.domain.order_pricing import OrderPricing
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.pricing import TaxBreakdown
from chalicelib.domain.promotions import Promotion, Redemption, refusal
from chalicelib.domain.regions import TaxName
from chalicelib.domain.requests import MAX_RESERVED_LINES
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import NOW, line, new_id, order, stock


def _promotion(**terms: Any) -> Promotion:
    values: dict[str, Any] = {
        "promotion_id": new_id("pr"),
        "name": "Diez",
        "kind": "percent",
        "value": Decimal("10"),
    }
    return Promotion(**(values | terms))


def _redeeming(*taken: Redemption, customer_id: str | None = None) -> Order:
    placed = order(line("TSHIRT-BLK-M", 1))
    placed.customer_id = customer_id
    placed.pricing = OrderPricing(
        subtotal=Decimal("19.95"),
        discount=Decimal("0.00"),
        shipping=Decimal("0.00"),
        tax=TaxBreakdown(
            name=TaxName.IVA, rate=Decimal("0.21"), amount=Decimal("3.46"), included=True
        ),
        total=Decimal("19.95"),
        redemptions=list(taken),
    )
    return placed


def test_a_promotion_reads_back_with_no_redemption(store: Any) -> None:
    created = _promotion(code="HOLA", max_redemptions=3, channels=frozenset({"web"}))
    store.create_promotion(created)
    found = store.promotion(created.promotion_id)
    assert found.promotion == created
    assert found.redemptions == 0
    assert store.promotion_by_code(" hola ").promotion == created
    assert store.promotion_by_code("ADIOS") is None
    assert created.promotion_id in [c.promotion.promotion_id for c in store.promotions()]
    with pytest.raises(NotFound):
        store.promotion("pr_nope")


@pytest.mark.parametrize("code", [None, "ONCE"])
def test_a_creation_run_again_under_its_requests_key_keeps_the_first_promotion(
    store: Any, code: str | None
) -> None:
    # The request's first run died after its write, before its answer was stored; run again
    # (a new id, a new moment), it must find the first, not add a second (a review: an
    # automatic promotion's max_redemptions doubled), nor be told its own code is taken.
    if code is not None:
        code = new_id(code).upper().replace("_", "")
    once = new_id("promotions\ncli\nkey")
    first = _promotion(code=code, max_redemptions=100)
    again = _promotion(code=code, max_redemptions=100)

    assert store.create_promotion(first, once) == first.promotion_id
    assert store.create_promotion(again, once) == first.promotion_id

    kept = [c.promotion.promotion_id for c in store.promotions()]
    assert first.promotion_id in kept and again.promotion_id not in kept
    with pytest.raises(NotFound):
        store.promotion(again.promotion_id)
    other = _promotion(code=None if code is None else f"{code}X")
    assert store.create_promotion(other, new_id("promotions\ncli\nkey")) == other.promotion_id


def test_a_code_is_unique_in_any_case_and_a_refused_promotion_leaves_nothing(store: Any) -> None:
    code = new_id("C").upper().replace("_", "")
    store.create_promotion(_promotion(code=code))
    second = _promotion(code=code.lower())
    with pytest.raises(Conflict) as refused:
        store.create_promotion(second)
    assert refused.value.field == "code"
    with pytest.raises(NotFound):
        store.promotion(second.promotion_id)
    assert second.promotion_id not in [c.promotion.promotion_id for c in store.promotions()]


def test_automatic_promotions_are_those_without_a_code_not_ended(store: Any) -> None:
    running = _promotion(ends_at=NOW + timedelta(days=1))
    forever = _promotion()
    ended = _promotion(ends_at=NOW - timedelta(seconds=1))
    coded = _promotion(code=new_id("C").upper().replace("_", ""))
    for promotion in (running, forever, ended, coded):
        store.create_promotion(promotion)
    found = {c.promotion.promotion_id for c in store.automatic_promotions(NOW)}
    assert {running.promotion_id, forever.promotion_id} <= found
    assert ended.promotion_id not in found and coded.promotion_id not in found


@pytest.mark.parametrize("ends_at", [None, NOW + timedelta(days=7)])
def test_an_automatic_promotion_ended_early_leaves_the_listing_of_those_running(
    store: Any, ends_at: datetime | None
) -> None:
    # Several channels: a set's order must not change between writing and reading.
    running = _promotion(ends_at=ends_at, channels=frozenset({"web", "app", "store", "kiosk"}))
    store.create_promotion(running)
    ended = running.ended(NOW - timedelta(seconds=1))
    assert ended is not None

    store.replace_promotion(running, ended)

    assert store.promotion(running.promotion_id).promotion == ended
    assert running.promotion_id not in {
        c.promotion.promotion_id for c in store.automatic_promotions(NOW)
    }
    listed = {c.promotion.promotion_id: c.promotion for c in store.promotions()}
    assert listed[running.promotion_id] == ended
    # Terms that changed meanwhile are not overwritten.
    with pytest.raises(ConcurrentModification):
        store.replace_promotion(running, ended)


def test_a_promotion_ended_before_it_began_reads_back_and_never_applies(store: Any) -> None:
    # Found by a re-probe: its end, before its start, could not be read back (a 500 on
    # every promotion read). It ends now, its window empty from now (probe 204).
    future = _promotion(starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=7))
    store.create_promotion(future)
    ended = future.ended(NOW)
    assert ended is not None and ended.starts_at == ended.ends_at == NOW
    assert ended.has_ended(NOW)

    store.replace_promotion(future, ended)

    assert store.promotion(future.promotion_id).promotion == ended
    assert future.promotion_id in {c.promotion.promotion_id for c in store.promotions()}
    for moment in (NOW, NOW + timedelta(days=3), NOW + timedelta(days=5)):
        assert refusal(ended, "web", Decimal("100"), moment) == (
            f"expired at {ended.ends_at.isoformat()}"
        )


def test_an_automatic_promotion_ending_at_the_last_moment_is_stored_and_found(
    store: Any,
) -> None:
    last = _promotion(ends_at=datetime.max.replace(tzinfo=UTC))
    store.create_promotion(last)
    assert store.promotion(last.promotion_id).promotion == last
    found = {c.promotion.promotion_id for c in store.automatic_promotions(NOW)}
    assert last.promotion_id in found


def test_redemptions_stop_at_the_limit_and_a_refused_order_is_not_stored(store: Any) -> None:
    limited = _promotion(code=new_id("C").upper().replace("_", ""), max_redemptions=2)
    store.create_promotion(limited)
    taken = Redemption(promotion_id=limited.promotion_id, code=limited.code)
    first, second, third = (_redeeming(taken) for _ in range(3))
    store.create_order(first)
    store.create_order(second)
    with pytest.raises(CouponUsedUp) as refused:
        store.create_order(third)
    assert refused.value.field == "coupon"
    with pytest.raises(NotFound):
        store.get_order(third.order_id)
    assert store.promotion(limited.promotion_id).redemptions == 2
    assert sorted(store.redeeming_orders(limited.promotion_id)) == sorted(
        [first.order_id, second.order_id]
    )
    assert store.get_order(first.order_id).pricing.redemptions_held


def test_an_automatic_promotion_used_up_is_promotion_used_up(store: Any) -> None:
    limited = _promotion(max_redemptions=1)
    store.create_promotion(limited)
    taken = Redemption(promotion_id=limited.promotion_id)
    store.create_order(_redeeming(taken))
    with pytest.raises(PromotionUsedUp):
        store.create_order(_redeeming(taken))


def test_an_existing_order_is_conflict_and_redeems_nothing_more(store: Any) -> None:
    promotion = _promotion()
    store.create_promotion(promotion)
    placed = _redeeming(Redemption(promotion_id=promotion.promotion_id))
    store.create_order(placed.model_copy(deep=True))
    with pytest.raises(Conflict) as refused:
        store.create_order(placed.model_copy(deep=True))
    assert refused.value.field == "order_id"
    assert store.promotion(promotion.promotion_id).redemptions == 1


def test_once_per_customer_is_one_live_order_per_customer(store: Any) -> None:
    once = _promotion(code=new_id("C").upper().replace("_", ""), once_per_customer=True)
    store.create_promotion(once)
    customer = new_id("cus")
    taken = Redemption(promotion_id=once.promotion_id, customer_id=customer, code=once.code)
    first = _redeeming(taken, customer_id=customer)
    store.create_order(first)
    assert store.redeemed_by(customer, [once.promotion_id]) == {once.promotion_id}
    assert store.redeemed_by(new_id("cus"), [once.promotion_id]) == set()
    with pytest.raises(CouponUsedUp):
        store.create_order(_redeeming(taken, customer_id=customer))
    assert store.promotion(once.promotion_id).redemptions == 1


@pytest.mark.parametrize("ending", ["cancel", "reject"])
def test_the_write_that_ends_an_order_gives_its_redemptions_back_once(
    store: Any, ending: str
) -> None:
    once = _promotion(once_per_customer=True, max_redemptions=1)
    store.create_promotion(once)
    customer = new_id("cus")
    placed = _redeeming(Redemption(promotion_id=once.promotion_id, customer_id=customer))
    store.create_order(placed)
    current = store.get_order(placed.order_id)
    if ending == "cancel":
        entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")
    else:
        entry = current.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
    store.save_order(current, entry)
    assert store.promotion(once.promotion_id).redemptions == 0
    assert store.redeemed_by(customer, [once.promotion_id]) == set()
    assert store.redeeming_orders(once.promotion_id) == []
    ended = store.get_order(placed.order_id)
    assert ended.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
    assert not ended.pricing.redemptions_held
    ended.attention = None
    store.save_order(ended)  # a later write of the ended order gives nothing back again
    assert store.promotion(once.promotion_id).redemptions == 0
    store.create_order(_redeeming(Redemption(promotion_id=once.promotion_id, customer_id=customer)))
    assert store.promotion(once.promotion_id).redemptions == 1


def _placed_with_a_welcome_coupon(store: Any, founder: str) -> tuple[Promotion, Redemption, Order]:
    """A once-per-customer coupon, and an order of ``founder``'s stored redeeming it."""
    once = _promotion(code=new_id("W").upper().replace("_", ""), once_per_customer=True)
    store.create_promotion(once)
    taken = Redemption(promotion_id=once.promotion_id, customer_id=founder, code=once.code)
    placed = _redeeming(taken, customer_id=founder)
    store.create_order(placed)
    return once, taken, placed


def test_handing_an_orders_redemption_over_moves_its_marker_and_names_the_new_customer(
    store: Any,
) -> None:
    founder, split = new_id("cus"), new_id("cus")
    once, taken, placed = _placed_with_a_welcome_coupon(store, founder)

    store.hand_redemptions_to(store.get_order(placed.order_id), split)

    assert store.redeemed_by(founder, [once.promotion_id]) == set()
    assert store.redeemed_by(split, [once.promotion_id]) == {once.promotion_id}
    handed = store.get_order(placed.order_id)
    assert [t.customer_id for t in handed.pricing.redemptions] == [split]
    assert store.promotion(once.promotion_id).redemptions == 1
    # The founder may redeem it now; the write that ends the order gives back the new one.
    store.create_order(_redeeming(taken, customer_id=founder))
    handed.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")
    store.save_order(handed)
    assert store.redeemed_by(split, [once.promotion_id]) == set()
    assert store.redeemed_by(founder, [once.promotion_id]) == {once.promotion_id}
    assert store.promotion(once.promotion_id).redemptions == 1


def test_a_handover_to_a_customer_holding_the_promotion_already_changes_nothing(
    store: Any,
) -> None:
    founder, split = new_id("cus"), new_id("cus")
    once, _, placed = _placed_with_a_welcome_coupon(store, founder)
    theirs = Redemption(promotion_id=once.promotion_id, customer_id=split, code=once.code)
    store.create_order(_redeeming(theirs, customer_id=split))

    with pytest.raises(CouponUsedUp):
        store.hand_redemptions_to(store.get_order(placed.order_id), split)

    kept = store.get_order(placed.order_id)
    assert [t.customer_id for t in kept.pricing.redemptions] == [founder]
    assert store.redeemed_by(founder, [once.promotion_id]) == {once.promotion_id}
    kept.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")
    store.save_order(kept)  # still gives back the founder's marker, and only it
    assert store.redeemed_by(founder, [once.promotion_id]) == set()
    assert store.redeemed_by(split, [once.promotion_id]) == {once.promotion_id}


def test_a_handover_of_an_order_changed_since_it_was_read_is_a_lost_race(store: Any) -> None:
    founder = new_id("cus")
    once, _, placed = _placed_with_a_welcome_coupon(store, founder)
    stale = store.get_order(placed.order_id)
    store.save_order(store.get_order(placed.order_id))  # any write moves the version

    with pytest.raises(ConcurrentModification):
        store.hand_redemptions_to(stale, new_id("cus"))

    assert store.redeemed_by(founder, [once.promotion_id]) == {once.promotion_id}


def test_an_ended_orders_handover_names_the_new_customer_for_when_it_is_taken_again(
    store: Any,
) -> None:
    founder, split = new_id("cus"), new_id("cus")
    once, _, placed = _placed_with_a_welcome_coupon(store, founder)
    declined = store.get_order(placed.order_id)
    declined.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
    store.save_order(declined)

    store.hand_redemptions_to(store.get_order(placed.order_id), split)

    handed = store.get_order(placed.order_id)
    assert [t.customer_id for t in handed.pricing.redemptions] == [split]
    assert store.redeemed_by(split, [once.promotion_id]) == set()
    assert store.redeemed_by(founder, [once.promotion_id]) == set()


def test_an_order_reserved_in_as_many_places_as_fit_is_cancelled_with_its_two_redemptions(
    store: Any,
) -> None:
    # Probe 245: 96 places and a welcome coupon made the cancel's one write 106 items, past
    # DynamoDB's 100: a 500, and an erasure's compensation failed, the stock held.
    coupon = _promotion(code=f"C{new_id('x')[-8:].upper()}", once_per_customer=True)
    automatic = _promotion(once_per_customer=True)
    store.create_promotion(coupon)
    store.create_promotion(automatic)
    customer = new_id("cus")
    # On a quote too: each redemption gives back its quote's marker besides (4 items).
    quote_id = new_id("qt")
    placed = _redeeming(
        Redemption(
            promotion_id=coupon.promotion_id,
            customer_id=customer,
            code=coupon.code,
            quote_id=quote_id,
        ),
        Redemption(promotion_id=automatic.promotion_id, customer_id=customer, quote_id=quote_id),
        customer_id=customer,
    )
    store.create_order(placed)
    places = [(f"SPREAD-{new_id('s')[-10:]}", "WH-GETAFE") for _ in range(MAX_RESERVED_LINES)]
    for sku, location_id in places:
        store.put_stock(stock(sku, location_id, 1, reserved=1))
    current = store.get_order(placed.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")

    store.save_order(
        current,
        entry,
        [StockChange(sku=sku, location_id=location_id, reserved=-1) for sku, location_id in places],
    )

    assert store.get_order(placed.order_id).status is OrderStatus.CANCELLED
    assert all(store.stock_levels(sku)[0].reserved == 0 for sku, _ in places)
    assert store.promotion(coupon.promotion_id).redemptions == 0
    assert store.redeemed_by(customer, [coupon.promotion_id, automatic.promotion_id]) == set()
    assert store.quote_redeemed_by(coupon.promotion_id, quote_id) is None


@pytest.mark.parametrize("code", [None, "QUOTED"])
def test_a_quotes_price_goes_to_one_live_order_and_its_end_gives_it_back(
    store: Any, code: str | None
) -> None:
    # Probe 250: one quote bought any number of orders at an uncapped promotion's price.
    if code is not None:
        code = new_id(code).upper().replace("_", "")
    uncapped = _promotion(code=code)
    store.create_promotion(uncapped)
    quote_id = new_id("qt")
    taken = Redemption(promotion_id=uncapped.promotion_id, code=code, quote_id=quote_id)
    first = _redeeming(taken)
    store.create_order(first)
    assert store.quote_redeemed_by(uncapped.promotion_id, quote_id) == first.order_id

    second = _redeeming(taken)
    with pytest.raises(QuotePriceTaken) as refused:
        store.create_order(second)
    assert refused.value.field == "quote_id"
    assert quote_id in refused.value.detail
    with pytest.raises(NotFound):
        store.get_order(second.order_id)
    assert store.promotion(uncapped.promotion_id).redemptions == 1
    # Another quote's order, and an order without a quote, are not held back by it.
    other = Redemption(promotion_id=uncapped.promotion_id, code=code, quote_id=new_id("qt"))
    store.create_order(_redeeming(other))
    store.create_order(_redeeming(Redemption(promotion_id=uncapped.promotion_id, code=code)))
    assert store.promotion(uncapped.promotion_id).redemptions == 3

    current = store.get_order(first.order_id)
    entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")
    store.save_order(current, entry)
    assert store.quote_redeemed_by(uncapped.promotion_id, quote_id) is None
    third = _redeeming(taken)
    store.create_order(third)  # the quote's price is free for the next order
    assert store.quote_redeemed_by(uncapped.promotion_id, quote_id) == third.order_id
    assert store.promotion(uncapped.promotion_id).redemptions == 3


def test_a_declined_order_on_a_quote_taken_again_is_refused_once_another_holds_the_quote(
    store: Any,
) -> None:
    automatic = _promotion()
    store.create_promotion(automatic)
    quote_id = new_id("qt")
    taken = Redemption(promotion_id=automatic.promotion_id, quote_id=quote_id)
    declined = _redeeming(taken)
    store.create_order(declined)
    current = store.get_order(declined.order_id)
    current.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
    store.save_order(current)
    assert store.quote_redeemed_by(automatic.promotion_id, quote_id) is None
    retried = _redeeming(taken)
    store.create_order(retried)

    again = store.get_order(declined.order_id)
    entry = reopen_for_payment(again, "tok_visa", NOW)  # live again: it takes them again
    with pytest.raises(QuotePriceTaken):
        store.save_order(again, entry)
    assert store.get_order(declined.order_id).status is OrderStatus.REJECTED
    assert store.quote_redeemed_by(automatic.promotion_id, quote_id) == retried.order_id
    assert store.promotion(automatic.promotion_id).redemptions == 1
