"""Opportunities followed up: back-in-stock subscriptions and declined cards, from open to
notified, converted or lost."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain.errors import InvalidOpportunityTransition, Unprocessable
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import (
    LOST_AFTER,
    UNTOLD_ALERT_AFTER_SWEEPS,
    UNTOLD_RETRY_EVERY,
    BackInStockSubscription,
    Opportunity,
    OpportunityKind,
    OpportunityStatus,
    OwedNotices,
    PlacedOrder,
    SubscriptionSource,
    SubscriptionStatus,
    back_in_stock_opportunity,
    convert_on_order,
    convert_on_payment,
    crossed_from_zero,
    due_notifications,
    find_open,
    next_to_tell,
    payment_retry_opportunity,
    shortage_subscriptions,
    subscribe,
    waiting_at,
)
from tests.support.builders import NOW, line, order, pickup

OPEN, NOTIFIED, CONVERTED, LOST = (
    OpportunityStatus.OPEN,
    OpportunityStatus.NOTIFIED,
    OpportunityStatus.CONVERTED,
    OpportunityStatus.LOST,
)
LATER = NOW + timedelta(days=2)


def wish(
    sku: str = "MUG-WHT",
    email: str = "Ana@Example.com",
    customer: str | None = "cus_1",
    quantity: int = 1,
) -> BackInStockSubscription:
    return subscribe(f"sub_{sku}_{email}", sku, email, NOW, customer_id=customer, quantity=quantity)


def wished_while(
    out: bool | None, quantity: int = 1, email: str = "ana@x.es"
) -> BackInStockSubscription:
    """A wish for ``quantity`` asked while the web had none (``out``), some, or before
    that was kept (None)."""
    made = wish(email=email, quantity=quantity)
    made.asked_while_out = out
    return made


def back_in_stock(customer: str | None = "cus_1", quantity: int = 1) -> Opportunity:
    subscription = wish(customer=customer).model_copy(update={"quantity": quantity})
    return back_in_stock_opportunity(subscription, Money.of("8.50"))


def retry() -> Opportunity:
    return payment_retry_opportunity("ord_1", "cus_1", Money.of("59"), NOW)


def placed(
    skus: set[str],
    at: datetime = LATER,
    customer: str | None = "cus_1",
    email: str | None = None,
    sold: dict[str, str] | None = None,
) -> PlacedOrder:
    return PlacedOrder(
        order_id="ord_new",
        customer_id=customer,
        email=email,
        skus=frozenset(skus),
        placed_at=at,
        sold={sku: Money.of(amount) for sku, amount in (sold or {}).items()},
    )


# --- the model ------------------------------------------------------------------------


def test_a_declined_card_is_an_open_opportunity_worth_the_order() -> None:
    opportunity = retry()
    assert opportunity.view() == {
        "opportunity_id": "opp_retry_ord_1",
        "kind": "payment_retry",
        "customer_id": "cus_1",
        "order_id": "ord_1",
        "sku": None,
        "status": "open",
        "value": "59.00",
        "currency": "EUR",
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def test_a_subscription_is_an_opportunity_worth_the_units_wanted() -> None:
    opportunity = back_in_stock(quantity=3)
    assert (opportunity.kind, opportunity.sku, opportunity.value) == (
        OpportunityKind.BACK_IN_STOCK,
        "MUG-WHT",
        "25.50",
    )
    assert opportunity.opportunity_id == "opp_sub_MUG-WHT_Ana@Example.com"
    assert "email" not in opportunity.view()  # the address stays internal


def test_a_bare_email_opportunity_has_no_customer() -> None:
    assert back_in_stock(customer=None).view()["customer_id"] is None


def test_value_is_a_two_decimal_string() -> None:
    for wrong in ("59.0", "59", "-1.00", "5,90"):
        with pytest.raises(ValidationError, match="value"):
            Opportunity.model_validate(retry().model_dump() | {"value": wrong})


# --- transitions ----------------------------------------------------------------------


def test_open_notified_converted() -> None:
    opportunity = back_in_stock()
    opportunity.notify(NOW + timedelta(days=1))
    assert opportunity.status is NOTIFIED and opportunity.notified_at == NOW + timedelta(days=1)
    opportunity.convert("ord_2", LATER)
    assert opportunity.status is CONVERTED and opportunity.converted_by == "ord_2"
    assert opportunity.updated_at == LATER


def test_a_payment_retry_converts_straight_from_open() -> None:
    opportunity = retry()
    opportunity.convert("ord_1", LATER)
    assert opportunity.status is CONVERTED


def test_a_back_in_stock_opportunity_cannot_convert_before_its_notice() -> None:
    with pytest.raises(InvalidOpportunityTransition) as refused:
        back_in_stock().convert("ord_2", LATER)
    assert refused.value.status == 409 and refused.value.field == "status"


@pytest.mark.parametrize("end", ["convert", "lose"])
def test_converted_and_lost_are_final(end: str) -> None:
    opportunity = retry()
    if end == "convert":
        opportunity.convert("ord_1", LATER)
    else:
        opportunity.lose(NOW + LOST_AFTER)
    for attempt in (
        lambda: opportunity.notify(LATER),
        lambda: opportunity.convert("ord_1", LATER),
        lambda: opportunity.lose(NOW + 2 * LOST_AFTER),
    ):
        with pytest.raises(InvalidOpportunityTransition):
            attempt()


def test_notified_twice_is_refused() -> None:
    opportunity = back_in_stock()
    opportunity.notify(NOW)
    with pytest.raises(InvalidOpportunityTransition):
        opportunity.notify(LATER)


@pytest.mark.parametrize("kind", ["back_in_stock", "retry"])
def test_lost_30_days_after_creation_and_not_a_moment_before(kind: str) -> None:
    opportunity = back_in_stock() if kind == "back_in_stock" else retry()
    just_before = NOW + LOST_AFTER - timedelta(microseconds=1)
    assert not opportunity.due_to_lose(just_before)
    with pytest.raises(InvalidOpportunityTransition):
        opportunity.lose(just_before)
    assert opportunity.due_to_lose(NOW + LOST_AFTER)
    opportunity.lose(NOW + LOST_AFTER)
    assert opportunity.status is LOST


def test_a_notified_back_in_stock_wish_has_30_days_from_its_notice() -> None:
    # The shopper could buy only once told: stock back on day 29 leaves them 30 days more.
    opportunity = back_in_stock()
    told = NOW + timedelta(days=29)
    opportunity.notify(told)
    assert not opportunity.due_to_lose(NOW + LOST_AFTER)
    with pytest.raises(InvalidOpportunityTransition):
        opportunity.lose(told + LOST_AFTER - timedelta(microseconds=1))
    opportunity.lose(told + LOST_AFTER)
    assert opportunity.status is LOST


def test_a_scaled_loss_is_passed_in() -> None:
    scaled = LOST_AFTER / 1000  # 43.2 minutes
    opportunity = retry()
    assert opportunity.due_to_lose(NOW + timedelta(minutes=44), scaled)
    assert not opportunity.due_to_lose(NOW + timedelta(minutes=43), scaled)


def test_a_converted_opportunity_is_never_due_to_lose() -> None:
    opportunity = retry()
    opportunity.convert("ord_1", LATER)
    assert not opportunity.due_to_lose(NOW + 10 * LOST_AFTER)


# --- conversion from order events -------------------------------------------------------


def test_an_order_of_the_sku_after_the_notice_converts_it() -> None:
    opportunity = back_in_stock()
    opportunity.notify(NOW + timedelta(days=1))
    assert convert_on_order([opportunity], placed({"MUG-WHT", "CAP-RED"}), LATER) == [opportunity]
    assert opportunity.status is CONVERTED and opportunity.converted_by == "ord_new"


def test_orders_before_the_notice_of_other_skus_or_by_others_do_not_convert() -> None:
    opportunity = back_in_stock()
    opportunity.notify(NOW + timedelta(days=1))
    assert convert_on_order([opportunity], placed({"MUG-WHT"}, at=NOW), LATER) == []
    assert convert_on_order([opportunity], placed({"CAP-RED"}), LATER) == []
    assert convert_on_order([opportunity], placed({"MUG-WHT"}, customer="cus_2"), LATER) == []
    never_told = back_in_stock()
    assert convert_on_order([never_told], placed({"MUG-WHT"}), LATER) == []
    assert opportunity.status is NOTIFIED and never_told.status is OPEN


def test_a_bare_email_converts_on_an_order_with_that_email() -> None:
    opportunity = back_in_stock(customer=None)
    opportunity.notify(NOW)
    order = placed({"MUG-WHT"}, customer="cus_new", email="ANA@example.com")
    assert convert_on_order([opportunity], order, LATER) == [opportunity]
    other = back_in_stock(customer=None)
    other.notify(NOW)
    assert convert_on_order([other], placed({"MUG-WHT"}, email="not an email"), LATER) == []


def test_a_retried_order_paid_converts_its_opportunity_and_only_its_own() -> None:
    opportunity = retry()
    assert convert_on_payment([opportunity], "ord_other", LATER) == []
    assert convert_on_payment([opportunity], "ord_1", LATER) == [opportunity]
    assert opportunity.status is CONVERTED
    assert convert_on_payment([opportunity], "ord_1", LATER) == []  # paid event redelivered


def test_a_converted_wish_is_worth_what_its_order_sold_of_the_sku_and_the_wish_once_undone() -> (
    None
):
    # Probe 215: a wish for 2 bought 1 unit, and ops' list still counted both as sold.
    opportunity = back_in_stock(quantity=2)
    assert opportunity.value == "17.00"
    opportunity.notify(NOW)
    bought = placed({"MUG-WHT", "CAP-RED"}, sold={"MUG-WHT": "7.65", "CAP-RED": "12.00"})

    assert convert_on_order([opportunity], bought, LATER) == [opportunity]
    assert (opportunity.status, opportunity.value, opportunity.currency) == (
        CONVERTED,
        "7.65",
        "EUR",
    )
    assert opportunity.view()["value"] == "7.65"

    assert opportunity.undo_conversion(LATER) == "ord_new"
    assert (opportunity.status, opportunity.value) == (NOTIFIED, "17.00")
    # Bought again by another order: that order's sale, and the wish again once undone.
    opportunity.convert("ord_later", LATER, Money.of("25.50"))
    assert opportunity.value == "25.50"
    opportunity.undo_conversion(LATER)
    assert opportunity.value == "17.00"


def test_what_an_order_sold_of_a_sku_is_its_lines_charged_after_discount_without_shipping() -> None:
    discounted = line("MUG-WHT", 2).model_copy(
        update={"discount": Money.of("1.70"), "charged": Money.of("15.30")}
    )
    collected = pickup("MUG-WHT", 1)  # priced before the engine: its line total
    cap = line("CAP-RED", 1).model_copy(update={"charged": Money.of("10.59")})
    bought = order(discounted, collected, cap)
    bought.total = Money.of("30.84")  # with a shipping fee, which is no SKU's

    sold = PlacedOrder.of(bought, customer_id="cus_1", email=None).sold

    assert sold == {"MUG-WHT": Money.of("23.80"), "CAP-RED": Money.of("10.59")}


def test_an_opportunity_stored_before_sales_were_kept_still_reads_converts_and_undoes() -> None:
    # As the code before wrote them: no record of the wish's value beside a conversion.
    wish_doc = back_in_stock(quantity=2).model_dump(mode="json", exclude={"wished"})
    notified = Opportunity.model_validate_json(
        json.dumps(wish_doc | {"status": "notified", "notified_at": NOW.isoformat()})
    )
    converted_before = Opportunity.model_validate_json(
        json.dumps(wish_doc | {"status": "converted", "converted_by": "ord_old"})
    )

    convert_on_order([notified], placed({"MUG-WHT"}, sold={"MUG-WHT": "8.50"}), LATER)
    assert notified.value == "8.50"
    notified.undo_conversion(LATER)
    assert notified.value == "17.00"
    # Converted before its sale was kept: its value was the wish's all along.
    assert converted_before.undo_conversion(LATER) == "ord_old"
    assert converted_before.value == "17.00"


# --- erasure ----------------------------------------------------------------------------


def test_an_erased_persons_payment_retry_is_lost_at_once_and_only_while_it_waits() -> None:
    # Probe 215: paying again is refused once the customer is erased, and the retry stayed
    # open until the 30-day review.
    waiting, paid = retry(), retry()
    paid.convert("ord_1", NOW)

    assert waiting.withdraw(LATER)
    assert (waiting.status, waiting.updated_at) == (LOST, LATER)
    assert not waiting.withdraw(LATER + timedelta(hours=1))  # erased again: nothing moves
    assert waiting.updated_at == LATER
    assert not paid.withdraw(LATER)
    assert paid.status is CONVERTED


# --- subscriptions --------------------------------------------------------------------


def test_a_subscription_validates_and_normalises_the_email() -> None:
    subscription = wish(email="Ana@Example.COM")
    assert subscription.email == "ana@example.com"
    assert subscription.status is SubscriptionStatus.OPEN
    with pytest.raises(Unprocessable) as refused:
        wish(email="ana@")
    assert refused.value.field == "email" and refused.value.status == 422


def test_asking_twice_before_the_product_is_back_is_one_wish() -> None:
    first = wish()
    assert find_open([first], "MUG-WHT", "ana@example.com") is first
    assert find_open([first], "CAP-RED", "ana@example.com") is None
    first.notify(NOW)
    assert find_open([first], "MUG-WHT", "ana@example.com") is None


def test_a_stock_shortage_subscribes_the_customer_to_each_missing_sku_once() -> None:
    made = shortage_subscriptions(
        "ord_9", {"MUG-WHT": 2, "CAP-RED": 1}, "ana@example.com", NOW, "cus_1", "ord_9"
    )
    assert [(s.sku, s.quantity, s.source) for s in made] == [
        ("CAP-RED", 1, SubscriptionSource.OUT_OF_STOCK),
        ("MUG-WHT", 2, SubscriptionSource.OUT_OF_STOCK),
    ]
    again = shortage_subscriptions("ord_9", {"MUG-WHT": 2, "CAP-RED": 1}, "ana@example.com", NOW)
    assert [s.subscription_id for s in again] == [s.subscription_id for s in made]
    other = shortage_subscriptions("ord_10", {"MUG-WHT": 2}, "ana@example.com", NOW)
    assert other[0].subscription_id not in {s.subscription_id for s in made}
    assert shortage_subscriptions("ord_11", {"MUG-WHT": 1}, None, NOW) == []


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [(0, 1, True), (0, 5, True), (-2, 1, True), (0, 0, False), (1, 2, False), (3, 0, False)],
)
def test_only_a_crossing_from_zero_tells_subscribers(
    before: int, after: int, crossed: bool
) -> None:
    # A wish for more than the web ever has here: only the contract's crossing tells it.
    waiting = [wished_while(out=False, quantity=9)]
    assert crossed_from_zero(before, after) is crossed
    assert bool(due_notifications(waiting, "MUG-WHT", before, after)) is crossed


def test_a_notified_subscription_is_closed_and_refuses_a_second_notice() -> None:
    subscription = wish()
    (due,) = due_notifications([subscription, wish("CAP-RED")], "MUG-WHT", 0, 3)
    due.notify(NOW)
    assert due_notifications([subscription], "MUG-WHT", 0, 3) == []  # the crossing redelivered
    with pytest.raises(InvalidOpportunityTransition):
        subscription.notify(LATER)


# Availability moves (a level per step) and shoppers wish for 1 to 3 units between the
# moves.
steps = st.lists(
    st.tuples(st.integers(-1, 3), st.integers(0, 2), st.integers(1, 3), st.booleans()),
    min_size=1,
    max_size=30,
)


@given(steps)
def test_property_a_subscription_is_notified_at_most_once_per_crossing(
    moves: list[tuple[int, int, int, bool]],
) -> None:
    """Whatever the availability does, however many shoppers subscribe and whether each
    change is delivered twice, every subscription gets one email at the first change
    after it was made that crosses from 0, or (one asked while the web had some: probe
    224) leaves the web all the units it wanted; and never another."""
    subscriptions: list[BackInStockSubscription] = []
    emails: dict[str, int] = {}
    level = 0
    expected: dict[str, int] = {}
    for step, (new_level, new_subscribers, wanted, redelivered) in enumerate(moves):
        for n in range(new_subscribers):
            made = wished_while(level <= 0, wanted, email=f"s{step}n{n}@example.com")
            subscriptions.append(made)
            expected[made.subscription_id] = 0
        crossed = crossed_from_zero(level, new_level)
        for _ in range(2 if redelivered else 1):
            for subscription in due_notifications(subscriptions, "MUG-WHT", level, new_level):
                emails[subscription.subscription_id] = (
                    emails.get(subscription.subscription_id, 0) + 1
                )
                subscription.notify(NOW)
        for made in subscriptions:
            if crossed or (made.asked_while_out is False and new_level >= made.quantity):
                expected[made.subscription_id] = 1
        level = new_level
    assert all(count == 1 for count in emails.values())
    assert {sid for sid, n in expected.items() if n} == set(emails)


def test_owed_notices_are_tried_every_sweep_until_alerted_then_once_per_interval() -> None:
    every = timedelta(minutes=10)
    failing = OwedNotices(sku="SKU-1", moment=NOW, last_failed_at=NOW)
    for attempts in range(UNTOLD_ALERT_AFTER_SWEEPS):
        assert failing.model_copy(update={"attempts": attempts}).due(NOW, every)
    alerted = failing.model_copy(update={"attempts": UNTOLD_ALERT_AFTER_SWEEPS})
    assert not alerted.due(NOW + every - timedelta(microseconds=1), every)
    assert alerted.due(NOW + every, every)


def test_a_sweep_tries_the_least_tried_first_then_the_oldest_and_no_more_than_its_limit() -> None:
    oldest = OwedNotices(sku="SKU-A", moment=NOW, attempts=2, last_failed_at=NOW)
    newer = OwedNotices(sku="SKU-B", moment=NOW + timedelta(minutes=1))
    newest = OwedNotices(sku="SKU-C", moment=NOW + timedelta(minutes=2))
    resting = OwedNotices(
        sku="SKU-D", moment=NOW, attempts=UNTOLD_ALERT_AFTER_SWEEPS, last_failed_at=NOW
    )
    owed = [resting, oldest, newest, newer]

    assert next_to_tell(owed, NOW, 10) == [newer, newest, oldest]
    assert next_to_tell(owed, NOW, 2) == [newer, newest]
    assert next_to_tell(owed, NOW + UNTOLD_RETRY_EVERY, 10)[-1] == resting


def test_a_wish_made_while_none_was_on_the_web_is_told_once_some_is_whoever_saw_it() -> None:
    # Probe 208: two cancels at once each counted the other's units as there before, so
    # neither saw the crossing from 0, and the wish stayed open for good. One asked while
    # there was none, still open while some is on the web, missed its crossing; one for 3
    # asked while some was there, or before that was kept, waits for the 3.
    out = wished_while(True, quantity=3, email="out@x.es")
    stocked = wished_while(False, quantity=3, email="in@x.es")
    unknown = wished_while(None, quantity=3, email="old@x.es")
    waiting = [out, stocked, unknown]

    assert due_notifications(waiting, "MUG-WHT", 1, 2) == [out]
    assert due_notifications(waiting, "MUG-WHT", 2, 0) == []
    assert due_notifications(waiting, "MUG-WHT", 0, 2) == waiting  # a crossing: everyone


def test_a_write_run_again_tells_no_wish_made_while_some_was_on_the_web() -> None:
    # Probe 208: a cancel sent twice told "back in stock" to a wish made while the web
    # had 2 (it wanted more): the run again cannot know its first run crossed from 0.
    out = wished_while(True, quantity=3, email="out@x.es")
    stocked = wished_while(False, quantity=3, email="in@x.es")
    unknown = wished_while(None, quantity=3, email="old@x.es")

    assert waiting_at([out, stocked, unknown], "MUG-WHT", LATER, 2) == [out]
    assert waiting_at([out, stocked, unknown], "MUG-WHT", LATER, 0) == []


def test_a_wish_asked_while_the_web_had_too_few_is_told_once_it_has_them_all() -> None:
    # Probe 224: a refused order of 3 at 1 on the web made a wish for 3 that waited for the
    # web to sell out and come back; a receipt of 50 told nobody, and it was lost.
    short = wished_while(False, quantity=3, email="short@x.es")
    old = wished_while(None, quantity=3, email="old@x.es")  # kept before this: the same
    explicit = wished_while(False, email="page@x.es")  # asked on the page while there

    assert due_notifications([short, old], "MUG-WHT", 1, 2) == []
    assert due_notifications([short, old], "MUG-WHT", 1, 51) == [short, old]
    assert due_notifications([explicit], "MUG-WHT", 1, 2) == [explicit]
    # A write run again, and the sweep, tell it as soon as the web covers it.
    assert waiting_at([short, old], "MUG-WHT", LATER, 3) == [short, old]
    assert (short.covered_by(2), short.covered_by(3), explicit.covered_by(1)) == (
        False,
        True,
        True,
    )
