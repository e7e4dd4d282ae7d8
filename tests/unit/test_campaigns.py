"""Campaign attribution and the projection's increments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.campaigns import (
    Attribution,
    CampaignCounters,
    CampaignOrderEvent,
    CustomerKind,
    OrderEventKind,
    campaign_of,
    increments,
)

D = Decimal


def event(kind: str, **fields: Any) -> CampaignOrderEvent:
    defaults: dict[str, Any] = {
        "order_id": "ord-1",
        "channel": "web",
        "total": D("40.00"),
        "attribution": Attribution(campaign="black-friday", source="newsletter"),
    }
    return CampaignOrderEvent(kind=kind, **{**defaults, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"campaign": "x" * 101},
        {"source": "y" * 101},
        {"medium": "z" * 101},
        {"term": "a"},
        {"campaign": "  "},
    ],
)
def test_bad_attribution_is_refused_naming_the_field(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError) as refused:
        Attribution.model_validate(fields)

    assert refused.value.errors()[0]["loc"] == (next(iter(fields)),)  # type: ignore[attr-defined]


def test_attribution_takes_up_to_100_characters_trimmed() -> None:
    tags = Attribution(campaign=" " + "c" * 100 + " ", source="instagram", medium="social")

    assert tags.campaign == "c" * 100


def test_a_coupons_campaign_wins_over_the_attribution() -> None:
    tags = Attribution(campaign="google-ads")

    assert campaign_of(tags, "flyer-nov") == "flyer-nov"
    assert campaign_of(tags, None) == "google-ads"
    assert campaign_of(Attribution(source="direct"), None) is None
    assert campaign_of(None, None) is None


def test_a_placed_order_counts_once_by_channel_and_customer() -> None:
    placed = increments(event("placed", channel="app", customer=CustomerKind.NEW))

    assert placed is not None
    assert (placed.campaign, placed.orders, placed.revenue) == ("black-friday", 1, D(0))
    assert (placed.new_customers, placed.returning_customers) == (1, 0)
    assert placed.by_channel == {"app": 1}
    returning = increments(event("placed", customer=CustomerKind.RETURNING))
    anonymous = increments(event("placed", customer=None))
    assert returning is not None and anonymous is not None
    assert (returning.new_customers, returning.returning_customers) == (0, 1)
    assert (anonymous.new_customers, anonymous.returning_customers) == (0, 0)


def test_a_flyer_coupon_at_the_store_till_counts_for_the_flyer() -> None:
    placed = increments(
        event("placed", channel="store", attribution=None, coupon_campaign="flyer-nov")
    )

    assert placed is not None and placed.campaign == "flyer-nov"
    assert placed.by_channel == {"store": 1}


def test_revenue_comes_with_payment_and_goes_with_rejection_or_cancellation() -> None:
    paid = increments(event("paid"))
    rejected_after_payment = increments(event("rejected", was_paid=True))
    cancelled_after_payment = increments(event("cancelled", was_paid=True))

    assert paid is not None and paid.revenue == D("40.00") and paid.orders == 0
    assert rejected_after_payment is not None and rejected_after_payment.revenue == D("-40.00")
    assert cancelled_after_payment is not None and cancelled_after_payment.revenue == D("-40.00")
    assert increments(event("rejected", was_paid=False)) is None  # payment declined


def test_an_order_of_no_campaign_changes_nothing() -> None:
    assert increments(event("placed", attribution=None)) is None


def test_counters_refuse_another_campaigns_increment() -> None:
    other = increments(event("paid"))
    assert other is not None

    with pytest.raises(ValueError):
        CampaignCounters(campaign="summer").plus(other)


# An order's life as the campaign projection sees it; ``was_paid`` follows from the path.
LIVES = [
    ["placed"],
    ["placed", "paid"],
    ["placed", "paid", "cancelled"],
    ["placed", "paid", "rejected"],  # out of stock after payment
    ["placed", "rejected"],  # payment declined
    ["placed", "rejected", "paid"],  # declined, then paid again from the tracking page
    ["placed", "cancelled"],
]
orders = st.lists(
    st.tuples(
        st.sampled_from(LIVES),
        st.sampled_from(["web", "app", "store", "kiosk", "phone"]),
        st.integers(0, 100_000).map(lambda c: D(c).scaleb(-2)),
        st.sampled_from([CustomerKind.NEW, CustomerKind.RETURNING, None]),
    ),
    max_size=20,
)


@given(orders)
def test_the_projection_counts_placed_orders_and_the_revenue_of_those_paid_and_kept(
    lives: list[tuple[list[str], str, Decimal, CustomerKind | None]],
) -> None:
    counters = CampaignCounters(campaign="c")
    for index, (path, channel, total, customer) in enumerate(lives):
        paid = False
        for kind in path:
            change = increments(
                CampaignOrderEvent(
                    kind=OrderEventKind(kind),
                    order_id=f"ord-{index}",
                    channel=channel,  # type: ignore[arg-type]
                    total=total,
                    customer=customer,
                    coupon_campaign="c",
                    was_paid=paid,
                )
            )
            paid = kind == "paid"
            if change is not None:
                counters = counters.plus(change)

    kept = [total for path, _, total, _ in lives if path[-1] == "paid"]
    assert counters.orders == len(lives) == sum(counters.by_channel.values())
    assert counters.revenue == sum(kept, D(0))
    assert counters.new_customers == sum(1 for *_, who in lives if who is CustomerKind.NEW)
    assert counters.returning_customers == sum(
        1 for *_, who in lives if who is CustomerKind.RETURNING
    )
    for channel, count in counters.by_channel.items():
        assert count == sum(1 for _, c, _, _ in lives if c == channel)
