"""The customer 360's figures, RFM segments and aggregate deltas: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.customers import (
    AggregateDelta,
    AnalyticsState,
    CustomerMetrics,
    analytics_state,
    contribution_of,
    next_segment_review,
    rfm_segment,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _paid(total: str, channel: str = "web", days_ago: int = 1, status: str = "PAID") -> object:
    return contribution_of(
        status, channel, Decimal(total), True, Decimal(0), NOW - timedelta(days=days_ago)
    )


def test_an_unpaid_order_counts_for_nothing() -> None:
    accepted = contribution_of("ACCEPTED", "web", Decimal("30"), False, Decimal(0), NOW)

    metrics = CustomerMetrics().apply(None, accepted)

    assert metrics.order_count == 0 and metrics.lifetime_value == 0


def test_paid_orders_add_up_to_lifetime_value_and_average() -> None:
    metrics = CustomerMetrics().apply(None, _paid("30.00")).apply(None, _paid("50.00", "store"))

    summary = metrics.summary(NOW)

    assert summary["order_count"] == 2
    assert summary["lifetime_value"] == {"amount": "80.00", "currency": "EUR"}
    assert summary["average_order_value"] == {"amount": "40.00", "currency": "EUR"}


def test_the_average_rounds_half_up_as_prices_do() -> None:
    # A probe: (19.95 + 44.90) / 2 = 32.425 showed as 32.42 (half to even).
    metrics = CustomerMetrics().apply(None, _paid("19.95")).apply(None, _paid("44.90"))

    assert metrics.summary(NOW)["average_order_value"]["amount"] == "32.43"


def test_the_same_contribution_applied_again_changes_nothing() -> None:
    once = CustomerMetrics().apply(None, _paid("30.00"))

    twice = once.apply(_paid("30.00"), _paid("30.00"))

    assert twice.order_count == once.order_count == 1
    assert twice.lifetime_value == once.lifetime_value


def test_a_cancelled_order_no_longer_counts() -> None:
    paid = _paid("30.00")
    cancelled = contribution_of("CANCELLED", "web", Decimal("30"), True, Decimal("30"), NOW)

    metrics = CustomerMetrics().apply(None, paid).apply(paid, cancelled)

    assert metrics.order_count == 0
    assert metrics.lifetime_value == 0
    assert metrics.channel_counts == {}


def test_a_returned_order_counts_in_the_return_rate_and_is_refunded() -> None:
    paid = _paid("40.00")
    returned = contribution_of("RETURNED", "web", Decimal("40"), True, Decimal("40"), NOW)
    metrics = CustomerMetrics().apply(None, paid).apply(None, _paid("10.00")).apply(paid, returned)

    summary = metrics.summary(NOW)

    assert summary["return_rate"] == 0.5
    assert summary["lifetime_value"]["amount"] == "10.00"


def test_preferred_channel_is_the_most_used() -> None:
    metrics = CustomerMetrics()
    for channel in ("store", "web", "store"):
        metrics = metrics.apply(None, _paid("10", channel))

    assert metrics.summary(NOW)["preferred_channel"] == "store"


def test_first_and_last_purchase_span_every_order() -> None:
    metrics = (
        CustomerMetrics().apply(None, _paid("10", days_ago=3)).apply(None, _paid("10", days_ago=9))
    )

    assert metrics.first_purchase == NOW - timedelta(days=9)
    assert metrics.last_purchase == NOW - timedelta(days=3)


def test_store_customer_who_later_bought_online_is_counted_as_both() -> None:
    metrics = CustomerMetrics().apply(None, _paid("10", "store", days_ago=20))
    metrics = metrics.apply(None, _paid("10", "web", days_ago=2))

    assert metrics.channel_mix() == "both"
    assert metrics.store_before_online() is True


def test_online_first_then_store_is_not_store_before_online() -> None:
    metrics = CustomerMetrics().apply(None, _paid("10", "web", days_ago=20))
    metrics = metrics.apply(None, _paid("10", "kiosk", days_ago=2))

    assert metrics.store_before_online() is False


def test_merged_figures_add_up() -> None:
    one = CustomerMetrics().apply(None, _paid("10", "web", days_ago=5))
    two = CustomerMetrics().apply(None, _paid("20", "store", days_ago=50))

    merged = one.merged_with(two)

    assert merged.order_count == 2
    assert merged.lifetime_value == Decimal("30")
    assert merged.first_purchase == NOW - timedelta(days=50)
    assert merged.channel_mix() == "both"


def test_rfm_segments() -> None:
    def after(orders: int, total: str, days_ago: int) -> str:
        metrics = CustomerMetrics()
        for _ in range(orders):
            metrics = metrics.apply(None, _paid(total, days_ago=days_ago))
        return rfm_segment(metrics, NOW)

    assert rfm_segment(CustomerMetrics(), NOW) == "prospect"
    assert after(1, "20", 3) == "new"
    assert after(6, "20", 10) == "champions"
    assert after(3, "20", 100) == "loyal"
    assert after(1, "1200", 100) == "big_spenders"
    assert after(1, "20", 100) == "promising"
    assert after(4, "20", 400) == "at_risk"
    assert after(1, "20", 400) == "hibernating"


def test_a_customer_moving_segment_moves_the_counters() -> None:
    old = AnalyticsState(segment="new", value=Decimal("20"), mix="online_only")
    new = AnalyticsState(segment="loyal", value=Decimal("60"), mix="both", store_before_online=True)

    delta = AggregateDelta().add(old, new)

    assert delta.segments == {
        "count_new": -1,
        "value_new": Decimal("-20"),
        "count_loyal": 1,
        "value_loyal": Decimal("60"),
    }
    assert delta.channels == {"online_only": -1, "both": 1, "store_before_online": 1}


def test_a_customer_who_never_bought_is_not_in_the_aggregates() -> None:
    assert analytics_state(CustomerMetrics(), NOW) == AnalyticsState()


def test_the_segment_review_falls_when_the_recency_score_next_drops() -> None:
    bought = CustomerMetrics().apply(None, _paid("30.00", days_ago=10))
    last = NOW - timedelta(days=10)

    assert next_segment_review(bought, NOW) == last + timedelta(days=31)
    assert next_segment_review(bought, last + timedelta(days=31)) == last + timedelta(days=91)
    assert next_segment_review(bought, last + timedelta(days=366)) is None
    assert next_segment_review(CustomerMetrics(), NOW) is None
    assert analytics_state(bought, NOW).review_at == last + timedelta(days=31)


@given(days=st.integers(min_value=0, max_value=400), hours=st.integers(min_value=0, max_value=23))
def test_no_segment_changes_between_a_review_and_the_next(days: int, hours: int) -> None:
    metrics = CustomerMetrics().apply(None, _paid("500.00", days_ago=0)).apply(None, _paid("9"))
    at = NOW + timedelta(days=days, hours=hours)
    review = next_segment_review(metrics, at)
    # Just before the next review, the segment is the one computed now: nothing is missed
    # by reviewing only at those instants.
    later = (review - timedelta(seconds=1)) if review else at + timedelta(days=3650)
    assert rfm_segment(metrics, later) == rfm_segment(metrics, at)
