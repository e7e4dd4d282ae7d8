"""The opportunity store, on the fake and on DynamoDB alike: subscriptions found by SKU
while open, each notified once, opportunities moved only from the status expected."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import (
    OpportunityStatus,
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


def test_open_subscriptions_are_found_by_sku_and_created_once(opportunity_store: Any) -> None:
    sku, other = new_id("SKU"), new_id("SKU")
    first, opportunity = _subscription(opportunity_store, sku)
    _subscription(opportunity_store, other)
    assert not opportunity_store.create_subscription(first, opportunity)
    assert [s.subscription_id for s in opportunity_store.open_subscriptions(sku)] == [
        first.subscription_id
    ]
    assert opportunity_store.opportunity(opportunity.opportunity_id) == opportunity


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


def test_an_opportunity_is_created_once_and_listed(opportunity_store: Any) -> None:
    order_id = new_id("ord")
    retry = payment_retry_opportunity(order_id, None, Money.of("30.00"), NOW)
    assert opportunity_store.create_opportunity(retry)
    assert not opportunity_store.create_opportunity(retry)
    assert retry.opportunity_id in {o.opportunity_id for o in opportunity_store.opportunities()}
    assert opportunity_store.opportunity(new_id("opp")) is None
