"""Ten clicks at once on "tell me when it is back", through the real service on the local
stack's DynamoDB: one subscription, one opportunity, one email (a probe's ten made three
subscriptions, three emails and three opportunities, two of them later lost)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.domain.catalog import Product
from chalicelib.domain.money import Money
from chalicelib.services import opportunities

CLICKS = 10


def test_ten_subscriptions_at_once_for_one_address_make_one(deps: Any) -> None:
    sku = f"RACE-{uuid.uuid4().hex[:8].upper()}"
    deps.store.put_product(Product(sku=sku, name="Paraguas", price=Money.of("18.50")))
    address = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    start = threading.Barrier(CLICKS)

    def click(shown: str) -> str:
        start.wait()
        return opportunities.subscribe_back_in_stock(sku, shown, deps).subscription_id

    shown_as = [address, address.upper()] * (CLICKS // 2)
    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        made = set(pool.map(click, shown_as))

    assert len(made) == 1
    assert [s.subscription_id for s in deps.opportunities.open_subscriptions(sku)] == list(made)
    wishes = [o for o in deps.opportunities.opportunities() if o.sku == sku]
    assert len(wishes) == 1 and wishes[0].email == address
