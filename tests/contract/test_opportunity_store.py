"""The opportunity store, on the fake and on DynamoDB alike: subscriptions found by SKU
while open, each notified once, opportunities moved only from the status expected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import (
    OpportunityStatus,
    OwedNotices,
    SubscriptionStatus,
    back_in_stock_opportunity,
    payment_retry_opportunity,
    subscribe,
)
from tests.support.builders import NOW, new_id


def _subscription(store: Any, sku: str) -> tuple[Any, Any]:
    subscription = subscribe(new_id("sub"), sku, f"{new_id('s')}@example.com", NOW)
    opportunity = back_in_stock_opportunity(subscription, Money.of("19.95"))
    assert store.create_subscription(subscription, opportunity)
    return subscription, opportunity


def _opportunity_of(subscription: Any) -> Any:
    opportunity = back_in_stock_opportunity(subscription, Money.of("19.95"))
    opportunity.notify(NOW)
    return opportunity


def _converted_wish(store: Any) -> tuple[str, str]:
    """A back-in-stock wish notified, then converted by an order: its SKU and the order."""
    sku = new_id("SKU")
    subscription, opportunity = _subscription(store, sku)
    subscription.notify(NOW)
    opportunity.notify(NOW)
    assert store.notify_subscription(subscription, opportunity)
    (waiting,) = store.notified_back_in_stock(sku)
    order_id = new_id("ord")
    waiting.convert(order_id, NOW)
    assert store.save_opportunity(waiting, OpportunityStatus.NOTIFIED)
    return sku, order_id


def test_open_subscriptions_are_found_by_sku_and_created_once(opportunity_store: Any) -> None:
    sku, other = new_id("SKU"), new_id("SKU")
    first, opportunity = _subscription(opportunity_store, sku)
    _subscription(opportunity_store, other)
    assert not opportunity_store.create_subscription(first, opportunity)
    assert [s.subscription_id for s in opportunity_store.open_subscriptions(sku)] == [
        first.subscription_id
    ]
    assert opportunity_store.opportunity(opportunity.opportunity_id) == opportunity


def _another_wish(subscription: Any) -> tuple[Any, Any]:
    again = subscribe(new_id("sub"), subscription.sku, subscription.email, NOW)
    return again, back_in_stock_opportunity(again, Money.of("19.95"))


def test_an_address_has_one_open_subscription_to_a_sku_until_it_closes(
    opportunity_store: Any,
) -> None:
    """Ten clicks at once on "tell me" made three subscriptions, three emails and three
    opportunities (a probe): the store keeps one open per address and SKU."""
    sku = new_id("SKU")
    first, _ = _subscription(opportunity_store, sku)
    twin = _another_wish(first)
    elsewhere = subscribe(new_id("sub"), new_id("SKU"), first.email, NOW)

    assert not opportunity_store.create_subscription(*twin)
    assert opportunity_store.create_subscription(
        elsewhere, back_in_stock_opportunity(elsewhere, Money.of("19.95"))
    )
    assert opportunity_store.opportunity(twin[1].opportunity_id) is None
    assert [s.subscription_id for s in opportunity_store.open_subscriptions(sku)] == [
        first.subscription_id
    ]

    first.notify(NOW)
    assert opportunity_store.notify_subscription(first, _opportunity_of(first))
    after_notice = _another_wish(first)
    assert opportunity_store.create_subscription(*after_notice)  # out of stock again
    erased = after_notice[0].model_copy(
        update={"email": "[erased]", "status": SubscriptionStatus.ERASED}
    )
    assert opportunity_store.erase_subscription(after_notice[0], erased)
    assert opportunity_store.create_subscription(*_another_wish(first))


def test_a_subscription_is_notified_once_and_its_opportunity_waits_to_convert(
    opportunity_store: Any,
) -> None:
    sku = new_id("SKU")
    subscription, opportunity = _subscription(opportunity_store, sku)
    subscription.notify(NOW)
    opportunity.notify(NOW)
    assert opportunity_store.notify_subscription(subscription, opportunity)
    assert not opportunity_store.notify_subscription(subscription, opportunity)
    assert opportunity_store.open_subscriptions(sku) == []
    (waiting,) = opportunity_store.notified_back_in_stock(sku)
    assert waiting.status is OpportunityStatus.NOTIFIED

    waiting.convert("ord_1", NOW)
    assert opportunity_store.save_opportunity(waiting, OpportunityStatus.NOTIFIED)
    assert not opportunity_store.save_opportunity(waiting, OpportunityStatus.NOTIFIED)
    assert opportunity_store.notified_back_in_stock(sku) == []
    stored = opportunity_store.opportunity(opportunity.opportunity_id)
    assert (stored.status, stored.converted_by) == (OpportunityStatus.CONVERTED, "ord_1")


def test_a_conversion_is_found_by_its_order_and_undone_once(opportunity_store: Any) -> None:
    sku, order_id = _converted_wish(opportunity_store)
    assert opportunity_store.converted_by_order(new_id("ord")) == []

    (converted,) = opportunity_store.converted_by_order(order_id)
    assert converted.converted_by == order_id
    assert converted.undo_conversion(NOW) == order_id
    assert opportunity_store.undo_conversion(converted, order_id)

    assert not opportunity_store.undo_conversion(converted, order_id)  # not converted now
    assert opportunity_store.converted_by_order(order_id) == []
    (again,) = opportunity_store.notified_back_in_stock(sku)  # waits for an order again
    assert (again.status, again.converted_by) == (OpportunityStatus.NOTIFIED, None)


def test_a_conversion_is_stored_worth_its_sale_and_its_undo_worth_the_wish_again(
    opportunity_store: Any,
) -> None:
    sku = new_id("SKU")
    subscription, opportunity = _subscription(opportunity_store, sku)
    subscription.notify(NOW)
    opportunity.notify(NOW)
    assert opportunity_store.notify_subscription(subscription, opportunity)
    (waiting,) = opportunity_store.notified_back_in_stock(sku)
    order_id = new_id("ord")
    waiting.convert(order_id, NOW, Money.of("7.50"))
    assert opportunity_store.save_opportunity(waiting, OpportunityStatus.NOTIFIED)

    (converted,) = opportunity_store.converted_by_order(order_id)
    assert (converted.value, converted.currency) == ("7.50", "EUR")
    converted.undo_conversion(NOW)
    assert opportunity_store.undo_conversion(converted, order_id)

    (again,) = opportunity_store.notified_back_in_stock(sku)
    assert (again.status, again.value) == (OpportunityStatus.NOTIFIED, "19.95")


def test_an_opportunity_is_created_once_and_listed(opportunity_store: Any) -> None:
    order_id = new_id("ord")
    retry = payment_retry_opportunity(order_id, None, Money.of("30.00"), NOW)
    assert opportunity_store.create_opportunity(retry)
    assert not opportunity_store.create_opportunity(retry)
    assert retry.opportunity_id in {o.opportunity_id for o in opportunity_store.opportunities()}
    assert opportunity_store.opportunity(new_id("opp")) is None


def test_a_persons_opportunities_are_found_by_customer_or_bare_address_and_only_theirs(
    opportunity_store: Any,
) -> None:
    customer, address = new_id("cus"), f"{new_id('p')}@example.com"
    bare = subscribe(new_id("sub"), new_id("SKU"), address, NOW)
    wish = back_in_stock_opportunity(bare, Money.of("19.95"))
    assert opportunity_store.create_subscription(bare, wish)
    retry = payment_retry_opportunity(new_id("ord"), customer, Money.of("30.00"), NOW)
    assert opportunity_store.create_opportunity(retry)
    # Someone else's, under the same address: a customer's is theirs by id alone.
    known = subscribe(new_id("sub"), new_id("SKU"), address, NOW, customer_id=new_id("cus"))
    assert opportunity_store.create_subscription(
        known, back_in_stock_opportunity(known, Money.of("5.00"))
    )
    _subscription(opportunity_store, new_id("SKU"))  # nobody's of theirs

    found = opportunity_store.held_by([customer, new_id("cus")], [address])
    assert sorted(o.opportunity_id for o in found) == sorted(
        [wish.opportunity_id, retry.opportunity_id]
    )
    assert opportunity_store.held_by([], []) == []

    # An erased one, its address taken off, leads back to nobody.
    erased = wish.model_copy(update={"email": None})
    assert opportunity_store.replace_opportunity(erased)
    assert [o.opportunity_id for o in opportunity_store.held_by([customer], [address])] == [
        retry.opportunity_id
    ]
    # A move keeps it found.
    retry.lose(NOW + timedelta(days=31))
    assert opportunity_store.save_opportunity(retry, OpportunityStatus.OPEN)
    (moved,) = opportunity_store.held_by([customer], [])
    assert moved.status is OpportunityStatus.LOST


def test_an_erased_subscription_is_read_back_closed_and_no_longer_found_by_its_sku(
    opportunity_store: Any,
) -> None:
    sku = new_id("SKU")
    subscription, _ = _subscription(opportunity_store, sku)
    assert opportunity_store.subscription(subscription.subscription_id) == subscription
    erased = subscription.model_copy(
        update={"email": "[erased]", "status": SubscriptionStatus.ERASED}
    )

    assert opportunity_store.erase_subscription(subscription, erased)
    # asking again changes nothing
    assert opportunity_store.erase_subscription(subscription, erased)

    assert opportunity_store.subscription(subscription.subscription_id) == erased
    assert opportunity_store.open_subscriptions(sku) == []
    # A notice read before the erasure writes nothing back once the open copy is gone.
    subscription.notify(NOW)
    assert not opportunity_store.notify_subscription(subscription, _opportunity_of(subscription))
    assert opportunity_store.subscription(subscription.subscription_id) == erased
    unknown = erased.model_copy(update={"subscription_id": new_id("sub")})
    assert not opportunity_store.erase_subscription(unknown, unknown)
    assert opportunity_store.subscription(new_id("sub")) is None


def test_an_opportunity_is_written_over_only_in_the_status_it_was_read(
    opportunity_store: Any,
) -> None:
    _, opportunity = _subscription(opportunity_store, new_id("SKU"))
    without_email = opportunity.model_copy(update={"email": None})

    assert opportunity_store.replace_opportunity(without_email)
    assert opportunity_store.opportunity(opportunity.opportunity_id) == without_email
    moved = without_email.model_copy(update={"status": OpportunityStatus.LOST})
    assert not opportunity_store.replace_opportunity(moved)
    assert opportunity_store.opportunity(opportunity.opportunity_id) == without_email
    unknown = without_email.model_copy(update={"opportunity_id": new_id("opp")})
    assert not opportunity_store.replace_opportunity(unknown)


def test_a_conversion_undone_for_another_order_is_found_by_that_order(
    opportunity_store: Any,
) -> None:
    sku, first = _converted_wish(opportunity_store)
    second = new_id("ord")

    (converted,) = opportunity_store.converted_by_order(first)
    converted.undo_conversion(NOW)
    converted.convert(second, NOW)
    assert opportunity_store.undo_conversion(converted, first)

    assert opportunity_store.converted_by_order(first) == []
    (now_by,) = opportunity_store.converted_by_order(second)
    assert (now_by.status, now_by.converted_by) == (OpportunityStatus.CONVERTED, second)
    assert opportunity_store.notified_back_in_stock(sku) == []


def test_a_subscription_whose_opportunity_was_lost_is_closed_alone(opportunity_store: Any) -> None:
    sku = new_id("SKU")
    subscription, opportunity = _subscription(opportunity_store, sku)
    subscription.notify(NOW)

    assert opportunity_store.notify_subscription(subscription, None)
    assert not opportunity_store.notify_subscription(subscription, None)

    assert opportunity_store.open_subscriptions(sku) == []
    closed = opportunity_store.subscription(subscription.subscription_id)
    assert closed.status is SubscriptionStatus.NOTIFIED
    assert opportunity_store.opportunity(opportunity.opportunity_id) == opportunity
    assert opportunity_store.notified_back_in_stock(sku) == []


def test_a_wish_lost_while_it_waited_is_notified_on_the_condition_it_is_still_lost(
    opportunity_store: Any,
) -> None:
    # Probe 191: told at last, a wish lost after 30 days of waiting may still convert.
    sku = new_id("SKU")
    subscription, opportunity = _subscription(opportunity_store, sku)
    opportunity.lose(NOW + timedelta(days=31))
    assert opportunity_store.save_opportunity(opportunity, OpportunityStatus.OPEN)
    subscription.notify(NOW + timedelta(days=40))
    opportunity.notify(NOW + timedelta(days=40))

    # Read as open, it moved meanwhile: nothing is written.
    assert not opportunity_store.notify_subscription(subscription, opportunity)
    assert opportunity_store.notify_subscription(subscription, opportunity, OpportunityStatus.LOST)

    assert opportunity_store.open_subscriptions(sku) == []
    (waiting,) = opportunity_store.notified_back_in_stock(sku)
    assert waiting.notified_at == NOW + timedelta(days=40)
    due = opportunity_store.active_created_by(NOW + timedelta(days=41))
    assert opportunity.opportunity_id in {o.opportunity_id for o in due}


def test_owed_notices_are_kept_once_listed_oldest_first_and_forgotten(
    opportunity_store: Any,
) -> None:
    sku, other = new_id("SKU"), new_id("SKU")
    later = OwedNotices(sku=sku, moment=NOW + timedelta(minutes=5))
    first = OwedNotices(sku=other, moment=NOW)
    opportunity_store.owe_notices(later)
    opportunity_store.owe_notices(first)
    opportunity_store.owe_notices(later)  # kept twice: once

    assert opportunity_store.owed_notices(10) == [first, later]
    assert opportunity_store.owed_notices(1) == [first]
    opportunity_store.notices_told(first)
    assert opportunity_store.owed_notices(10) == [later]


def test_owed_notices_count_their_failed_sweeps_kept_again_or_not(
    opportunity_store: Any,
) -> None:
    # A failed sweep keeps what it owes again: a put set the count back to 0, and ops
    # were never alerted about an address the provider always refuses.
    owed = OwedNotices(sku=new_id("SKU"), moment=NOW)
    opportunity_store.owe_notices(owed)

    assert opportunity_store.notices_failed(owed, NOW).attempts == 1
    opportunity_store.owe_notices(owed)
    later = NOW + timedelta(minutes=5)
    assert opportunity_store.notices_failed(owed, later).attempts == 2
    (listed,) = [o for o in opportunity_store.owed_notices(100) if o.sku == owed.sku]
    assert listed == owed.model_copy(update={"attempts": 2, "last_failed_at": later})

    opportunity_store.notices_told(listed)
    assert opportunity_store.notices_failed(owed, later) is None  # not brought back
    assert [o for o in opportunity_store.owed_notices(100) if o.sku == owed.sku] == []


def _wishes(store: Any, count: int) -> list[Any]:
    """``count`` open back-in-stock opportunities, a minute apart, oldest first."""
    made = []
    for minute in range(count):
        subscription = subscribe(
            new_id("sub"),
            new_id("SKU"),
            f"{new_id('s')}@example.com",
            NOW + timedelta(minutes=minute),
        )
        opportunity = back_in_stock_opportunity(subscription, Money.of("19.95"))
        assert store.create_subscription(subscription, opportunity)
        made.append(opportunity)
    return made


def _walk(store: Any, status: Any, limit: int) -> list[list[str]]:
    """Every page of the list, as the ids on each."""
    pages, before = [], None
    while True:
        page = store.opportunities_page(status, before, limit)
        pages.append([o.opportunity_id for o in page.opportunities])
        if page.last_listed is None:
            return pages
        assert page.last_listed == page.opportunities[-1].listed_at
        before = page.last_listed


def test_the_list_pages_newest_first_across_statuses_each_once(opportunity_store: Any) -> None:
    made = _wishes(opportunity_store, 5)
    # Two of them move on: the list follows them to their new status.
    notified = made[1].model_copy(deep=True)
    notified.notify(NOW + timedelta(hours=1))
    assert opportunity_store.save_opportunity(notified, OpportunityStatus.OPEN)
    lost = made[3].model_copy(deep=True)
    lost.lose(NOW + timedelta(days=40))
    assert opportunity_store.save_opportunity(lost, OpportunityStatus.OPEN)
    newest_first = [o.opportunity_id for o in reversed(made)]

    assert _walk(opportunity_store, None, 2) == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert _walk(opportunity_store, None, 5) == [newest_first]
    assert _walk(opportunity_store, OpportunityStatus.OPEN, 10) == [
        [made[4].opportunity_id, made[2].opportunity_id, made[0].opportunity_id]
    ]
    assert _walk(opportunity_store, OpportunityStatus.NOTIFIED, 10) == [[made[1].opportunity_id]]
    (page,) = [opportunity_store.opportunities_page(OpportunityStatus.LOST, None, 10)]
    assert [(o.opportunity_id, o.status) for o in page.opportunities] == [
        (made[3].opportunity_id, OpportunityStatus.LOST)
    ]


def test_the_review_reads_the_open_and_notified_created_by_its_moment(
    opportunity_store: Any,
) -> None:
    made = _wishes(opportunity_store, 4)
    converted = made[0].model_copy(deep=True)
    converted.notify(NOW)
    converted.convert("ord_1", NOW)
    assert opportunity_store.save_opportunity(converted, OpportunityStatus.OPEN)
    notified = made[1].model_copy(deep=True)
    notified.notify(NOW + timedelta(days=1))
    assert opportunity_store.save_opportunity(notified, OpportunityStatus.OPEN)

    found = opportunity_store.active_created_by(made[2].created_at)

    assert sorted(o.opportunity_id for o in found) == sorted(
        [made[1].opportunity_id, made[2].opportunity_id]
    )
