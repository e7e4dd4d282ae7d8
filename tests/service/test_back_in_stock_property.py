"""A property of back-in-stock notices, on fakes: whatever the stock movements (receipts,
sales, returns, adjustments, at shipping and non-shipping locations) and however often an
availability change is delivered again, a subscription gets exactly one email when web
availability crossed from 0 after it subscribed, or at once when the web had the product
as it subscribed (probe 224), and none otherwise (so never two)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from chalicelib.deps import Deps
from chalicelib.domain.catalog import Product
from chalicelib.domain.errors import Conflict
from chalicelib.domain.inventory import available_to_promise
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import OpportunityStatus
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import inventory, opportunities
from infra.local.demo_data import load_demo_data
from tests.fakes import Outgoing, fake_deps

# Three locations that ship to web orders and one that does not.
LOCATIONS = ("WH-GETAFE", "ST-MADRID", "ST-BARCELONA", "ST-VALENCIA")
PRODUCT = "Chaqueta vuelve"

quantities = st.integers(min_value=1, max_value=4)
movement = st.tuples(
    st.just("move"),
    st.sampled_from(LOCATIONS),
    st.sampled_from(("receipt", "sale", "return", "adjustment")),
    quantities,
    st.booleans(),  # an adjustment's sign: True takes stock away
)
subscribe = st.tuples(st.just("subscribe"))
# The availability change of an earlier movement delivered again (index into those seen).
redeliver = st.tuples(st.just("redeliver"), st.integers(min_value=0, max_value=30))
steps = st.lists(st.one_of(movement, movement, subscribe, redeliver), max_size=30)


@dataclass
class Model:
    """What happened, in order: each subscription's address, the step it subscribed at
    and whether the web had the product then, and each availability change handed to the
    notifier (before, after, step)."""

    subscribed: dict[str, tuple[str, int, bool]] = field(default_factory=dict)
    changes: list[tuple[int, int]] = field(default_factory=list)
    crossings_at: list[int] = field(default_factory=list)

    def handed(self, before: int, after: int, step: int) -> None:
        self.changes.append((before, after))
        if before == 0 < after:
            self.crossings_at.append(step)

    def due(self, subscription_id: str) -> int:
        """Emails owed: one if the web had the product as it subscribed (told at once), or
        availability crossed from 0 after."""
        _, since, on_the_web = self.subscribed[subscription_id]
        return int(on_the_web or any(step > since for step in self.crossings_at))


def _move(deps: Deps, sku: str, location: str, kind: str, quantity: int, take: bool) -> None:
    signed = -quantity if kind == "adjustment" and take else quantity
    request = RecordMovementRequest.model_validate(
        {"sku": sku, "location_id": location, "type": kind, "quantity": signed}
    )
    # More than the location holds (or none there) is refused: nothing moved.
    with contextlib.suppress(Conflict):
        inventory.record_movement(request, deps)


def _web_availability(deps: Deps, sku: str) -> int:
    return available_to_promise(deps.store.stock_levels(sku))


def _run(deps: Deps, sku: str, plan: list[tuple[Any, ...]]) -> Model:
    model = Model()
    for step, action in enumerate(plan):
        if action[0] == "move":
            _, location, kind, quantity, take = action
            before = _web_availability(deps, sku)
            _move(deps, sku, location, kind, quantity, take)
            model.handed(before, _web_availability(deps, sku), step)
        elif action[0] == "subscribe":
            address = f"s{step}-{uuid.uuid4().hex[:6]}@example.com"
            on_the_web = _web_availability(deps, sku) > 0
            made = opportunities.subscribe_back_in_stock(sku, address, deps)
            model.subscribed[made.subscription_id] = (address, step, on_the_web)
        elif model.changes:
            before, after = model.changes[action[1] % len(model.changes)]
            opportunities.on_availability(sku, before, after, deps)
            model.handed(before, after, step)
    return model


@settings(max_examples=150)
@given(plan=steps)
# Found by this test: an old change (1 to 2) delivered again once the stock had sold out
# told a wish asked while out "back in stock".
@example(
    plan=[
        ("move", "WH-GETAFE", "receipt", 1, False),
        ("move", "WH-GETAFE", "receipt", 1, False),
        ("move", "WH-GETAFE", "sale", 2, False),
        ("subscribe",),
        ("redeliver", 1),
    ]
)
def test_a_subscription_is_emailed_once_per_crossing_from_zero_and_never_twice(
    plan: list[tuple[Any, ...]],
) -> None:
    deps = fake_deps()
    load_demo_data(deps.store)
    sku = f"BACK-{uuid.uuid4().hex[:8].upper()}"
    deps.store.put_product(Product(sku=sku, name=PRODUCT, price=Money.of("30.00")))
    assert isinstance(deps.mailer, Outgoing)

    model = _run(deps, sku, plan)

    still_open = {s.subscription_id for s in deps.opportunities.open_subscriptions(sku)}
    for subscription_id, (address, _, _) in model.subscribed.items():
        emails = [m for m in deps.mailer.sent if m["to"] == address]
        assert all(PRODUCT in m["parts"] for m in emails)
        assert len(emails) == model.due(subscription_id), (subscription_id, model)
        assert (subscription_id in still_open) == (not emails)
        opportunity = deps.opportunities.opportunity(f"opp_{subscription_id}")
        assert opportunity is not None
        assert opportunity.status is (
            OpportunityStatus.NOTIFIED if emails else OpportunityStatus.OPEN
        )
    event("a subscriber emailed" if deps.mailer.sent else "nobody emailed")
    event(f"{len(model.crossings_at)} crossings from 0 handed to the notifier")
    # Nobody but the subscribers was written to.
    addresses = {address for address, _, _ in model.subscribed.values()}
    assert {m["to"] for m in deps.mailer.sent} <= addresses
