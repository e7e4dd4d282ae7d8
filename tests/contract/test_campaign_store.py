"""Campaign counters on the fake and on DynamoDB alike: each event adds once, and each
customer counts once per campaign, at their first order in it (a probe counted a customer
new and returning in one campaign, and new + returning always equalled the orders)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.domain.campaigns import CampaignIncrement, CustomerKind


def _placed(
    campaign: str, customer_id: str | None, new: bool = True, at: datetime | None = None
) -> CampaignIncrement:
    known = customer_id is not None  # an anonymous order counts no customer
    return CampaignIncrement(
        campaign=campaign,
        orders=1,
        new_customers=int(known and new),
        returning_customers=int(known and not new),
        by_channel={"web": 1},
        customer_id=customer_id,
        placed_at=at,
    )


def _counters(store: Any, campaign: str) -> Any:
    (found,) = [c for c in store.campaign_counters() if c.campaign == campaign]
    return found


def test_a_customer_counts_once_per_campaign_and_every_order_counts(store: Any) -> None:
    campaign, other = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    ana, bea = "cus_ana", "cus_bea"

    assert store.apply_campaign_increment("e1", _placed(campaign, ana), 0)
    assert store.apply_campaign_increment("e2", _placed(campaign, ana, new=False), 0)
    assert store.apply_campaign_increment("e3", _placed(campaign, bea, new=False), 0)
    assert store.apply_campaign_increment("e4", _placed(campaign, None, new=False), 0)
    assert store.apply_campaign_increment("e5", _placed(other, ana, new=False), 0)
    assert not store.apply_campaign_increment("e2", _placed(campaign, ana, new=False), 0)

    counted = _counters(store, campaign)
    assert (counted.orders, counted.new_customers, counted.returning_customers) == (4, 1, 1)
    assert counted.by_channel == {"web": 4}
    elsewhere = _counters(store, other)
    assert (elsewhere.orders, elsewhere.new_customers, elsewhere.returning_customers) == (1, 0, 1)


def test_an_order_s_revenue_share_moves_its_campaign_by_the_difference_once(store: Any) -> None:
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    order_id, other = f"ord_{uuid.uuid4().hex[:8]}", f"ord_{uuid.uuid4().hex[:8]}"
    assert store.campaign_order_revenue(order_id) is None

    assert store.set_campaign_order_revenue(campaign, order_id, Decimal("40.00"), None)
    assert store.set_campaign_order_revenue(campaign, other, Decimal("10.00"), None)
    # Another delivery's read of the share, now stale: refused, nothing moves.
    assert not store.set_campaign_order_revenue(campaign, order_id, Decimal("40.00"), None)
    assert store.set_campaign_order_revenue(campaign, order_id, Decimal("25.00"), Decimal("40"))
    assert not store.set_campaign_order_revenue(
        campaign, order_id, Decimal("0.00"), Decimal("40.00")
    )

    assert store.campaign_order_revenue(order_id) == Decimal("25.00")
    assert _counters(store, campaign).revenue == Decimal("35.00")


def test_a_merge_counts_one_person_once_per_campaign_keeping_their_first_order_s_count(
    store: Any,
) -> None:
    # A probe: after ops merged two records, one person counted as two new customers.
    both, only_merged = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    survivor, merged = f"cus_{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"
    first = datetime(2026, 11, 2, 10, tzinfo=UTC)
    # The merged record's order came first (new); the survivor's later (returning).
    assert store.apply_campaign_increment(f"{both}-1", _placed(both, merged, True, first), 0)
    later = first + timedelta(days=1)
    assert store.apply_campaign_increment(f"{both}-2", _placed(both, survivor, False, later), 0)
    assert store.apply_campaign_increment(f"{only_merged}-1", _placed(only_merged, merged), 0)

    assert store.merge_campaign_customers(survivor, merged) == 2
    assert store.merge_campaign_customers(survivor, merged) == 0  # run again: nothing

    counted = _counters(store, both)
    assert (counted.orders, counted.new_customers, counted.returning_customers) == (2, 1, 0)
    moved = _counters(store, only_merged)
    assert (moved.new_customers, moved.returning_customers) == (1, 0)
    # The survivor now holds the merged record's count there: a later order adds none.
    assert store.apply_campaign_increment(
        f"{only_merged}-2", _placed(only_merged, survivor, False, later), 0
    )
    moved = _counters(store, only_merged)
    assert (moved.orders, moved.new_customers, moved.returning_customers) == (2, 1, 0)


def test_a_count_is_listed_by_its_customer_and_recounted_once(store: Any) -> None:
    campaign, customer = f"c-{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert store.apply_campaign_increment(f"{campaign}-1", _placed(campaign, customer, True, at), 0)

    (counted,) = store.campaign_counts(customer)
    assert (counted.campaign, counted.kind.value, counted.placed_at) == (campaign, "new", at)
    assert store.campaign_counts(f"cus_{uuid.uuid4().hex[:8]}") == []
    assert store.recount_campaign_customer(customer, counted, CustomerKind.RETURNING)
    # The count read before is stale now: refused, nothing moves.
    assert not store.recount_campaign_customer(customer, counted, CustomerKind.RETURNING)

    figures = _counters(store, campaign)
    assert (figures.new_customers, figures.returning_customers) == (0, 1)
    (now,) = store.campaign_counts(customer)
    assert now.kind is CustomerKind.RETURNING


def _paid(
    campaign: str, customer_id: str, order_id: str, at: datetime, new: bool = True
) -> CampaignIncrement:
    """What an order's PAID event adds: its customer, counted by it."""
    return CampaignIncrement(
        campaign=campaign,
        new_customers=int(new),
        returning_customers=int(not new),
        customer_id=customer_id,
        placed_at=at,
        order_id=order_id,
    )


def test_a_counted_customer_s_other_orders_are_listed_once_and_a_stale_write_is_refused(
    store: Any,
) -> None:
    # Probe 215: the count must pass to another order of the customer's in the campaign
    # when the one counting them ends; two orders ending at once must not both win.
    campaign, customer = f"c-{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    first, second, third = (f"ord_{uuid.uuid4().hex[:8]}" for _ in range(3))
    assert store.apply_campaign_increment(f"{first}:PAID", _paid(campaign, customer, first, at), 0)
    later = _paid(campaign, customer, second, at + timedelta(hours=1), new=False)
    # Listed, the figures unmoved; again (a redelivery): listed once.
    assert not store.apply_campaign_increment(f"{second}:PAID", later, 0)
    assert not store.apply_campaign_increment(f"{second}:PAID", later, 0)
    # The counting order's own event again lists nothing.
    again = _paid(campaign, customer, first, at)
    assert not store.apply_campaign_increment(f"{first}:PAID-again", again, 0)
    stored = store.campaign_count(customer, campaign)
    assert (stored.order_id, [o.order_id for o in stored.others]) == (first, [second])
    assert store.campaign_count(customer, f"c-{uuid.uuid4().hex[:8]}") is None

    # A third order listed after that read: a write made from it is refused.
    latest = _paid(campaign, customer, third, at + timedelta(hours=2), new=False)
    assert not store.apply_campaign_increment(f"{third}:PAID", latest, 0)
    passed = stored.passed_to(stored.others[0], CustomerKind.RETURNING)
    assert not store.replace_campaign_count(customer, stored, passed)
    assert not store.replace_campaign_count(customer, stored, None)
    figures = _counters(store, campaign)
    assert (figures.orders, figures.new_customers, figures.returning_customers) == (0, 1, 0)

    fresh = store.campaign_count(customer, campaign)
    assert store.replace_campaign_count(
        customer, fresh, fresh.passed_to(fresh.others[0], CustomerKind.RETURNING)
    )
    now = store.campaign_count(customer, campaign)
    assert (now.order_id, now.kind, now.placed_at) == (
        second,
        CustomerKind.RETURNING,
        at + timedelta(hours=1),
    )
    assert [o.order_id for o in now.others] == [third]
    figures = _counters(store, campaign)
    assert (figures.new_customers, figures.returning_customers) == (0, 1)

    # The third ends (unlisted: the figures unmoved), and the second at once, from its
    # read before that: refused, then made from a fresh read.
    assert store.replace_campaign_count(customer, now, now.without({third}))
    assert not store.replace_campaign_count(customer, now, None)
    figures = _counters(store, campaign)
    assert (figures.new_customers, figures.returning_customers) == (0, 1)
    alone = store.campaign_count(customer, campaign)
    assert alone.others == ()
    assert store.replace_campaign_count(customer, alone, None)
    assert store.campaign_count(customer, campaign) is None
    figures = _counters(store, campaign)
    assert (figures.new_customers, figures.returning_customers) == (0, 0)


def test_a_merge_lists_the_dropped_count_s_order_among_the_kept_one_s_others(store: Any) -> None:
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    survivor, merged = f"cus_{uuid.uuid4().hex[:8]}", f"cus_{uuid.uuid4().hex[:8]}"
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    early, late, listed = (f"ord_{uuid.uuid4().hex[:8]}" for _ in range(3))
    assert store.apply_campaign_increment(early, _paid(campaign, merged, early, at), 0)
    assert store.apply_campaign_increment(
        late, _paid(campaign, survivor, late, at + timedelta(hours=1), new=False), 0
    )
    listed_at = at + timedelta(hours=2)
    assert not store.apply_campaign_increment(
        listed, _paid(campaign, survivor, listed, listed_at, new=False), 0
    )

    assert store.merge_campaign_customers(survivor, merged) == 1
    assert store.merge_campaign_customers(survivor, merged) == 0

    (kept,) = store.campaign_counts(survivor)
    assert (kept.order_id, kept.kind) == (early, CustomerKind.NEW)
    assert [o.order_id for o in kept.others] == [late, listed]
    figures = _counters(store, campaign)
    assert (figures.new_customers, figures.returning_customers) == (1, 0)
