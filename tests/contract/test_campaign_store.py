"""Campaign counters on the fake and on DynamoDB alike: each event adds once, and each
customer counts once per campaign, at their first order in it (a probe counted a customer
new and returning in one campaign, and new + returning always equalled the orders)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from chalicelib.domain.campaigns import CampaignIncrement


def _placed(campaign: str, customer_id: str | None, new: bool = True) -> CampaignIncrement:
    known = customer_id is not None  # an anonymous order counts no customer
    return CampaignIncrement(
        campaign=campaign,
        orders=1,
        new_customers=int(known and new),
        returning_customers=int(known and not new),
        by_channel={"web": 1},
        customer_id=customer_id,
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
