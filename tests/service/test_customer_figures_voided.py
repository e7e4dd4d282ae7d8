"""A customer's lifetime value is what they paid and kept: a part released from the
authorisation (a pick-up never collected) was never charged. A probe found it counted."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import PaymentGatewayUnavailable
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.services import customer_projection, customer_view, fulfillment_steps, settlement
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes import FakeGateway, RecordingEvents
from tests.service import flows
from tests.support.pricing_bodies import D, _pickup, _ship, _sku


def _project_everything(deps: Deps, order_id: str, since: int = 0) -> int:
    """Project the order's events published from index ``since``; the next index."""
    events = deps.events
    assert isinstance(events, RecordingEvents)
    published = list(events.published)
    for message in [m for m in published[since:] if m.get("order_id") == order_id]:
        customer_projection.project_order_event(message, deps)
    return len(published)


def _figures(deps: Deps, customer_id: str) -> dict[str, Any]:
    metrics: dict[str, Any] = customer_view.customer_view(customer_id, deps)["metrics"]
    return metrics


def test_an_uncollected_pick_up_is_not_in_the_lifetime_value(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.shipped(deps, lines=[_ship(sku, 1), _pickup(sku, 1)])
    assert order.customer_id is not None
    _project_everything(deps, order.order_id)
    assert _figures(deps, order.customer_id)["lifetime_value"]["amount"] == str(order.total.amount)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)

    fulfillment_steps.handle_fulfillment_timeout(
        FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id), deps
    )
    _project_everything(deps, order.order_id)

    settled = deps.store.get_order(order.order_id).payment
    assert settled.voided is not None and settled.voided.amount == D("10.00")
    assert settled.captured is not None
    figures = _figures(deps, order.customer_id)
    assert figures["lifetime_value"]["amount"] == str(settled.captured.amount)
    assert figures["order_count"] == 1


def test_a_void_the_gateway_refused_at_first_leaves_the_lifetime_value_once_done(
    deps: Deps,
) -> None:
    # The re-probe (tok_void_flaky): the void was settled by the sweeper after every order
    # event had been projected, and no event projected it again.
    sku = _sku(deps, "10.00")
    order = flows.shipped(deps, lines=[_ship(sku, 1), _pickup(sku, 1)])
    assert order.customer_id is not None
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    gateway.unavailable = 10
    with pytest.raises(PaymentGatewayUnavailable):  # the step's retries are the sweeper's
        fulfillment_steps.handle_fulfillment_timeout(
            FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id), deps
        )
    seen = _project_everything(deps, order.order_id)
    owed = deps.store.get_order(order.order_id).payment
    assert owed.voided is None or owed.voided.amount == 0
    gateway.unavailable = 0

    settlement.sweep(deps)
    _project_everything(deps, order.order_id, since=seen)  # only what the sweep published

    settled = deps.store.get_order(order.order_id).payment
    assert settled.voided is not None and settled.voided.amount == D("10.00")
    assert settled.captured is not None
    figures = _figures(deps, order.customer_id)
    assert figures["lifetime_value"]["amount"] == str(settled.captured.amount)
