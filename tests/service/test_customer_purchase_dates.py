"""A customer's first and last purchase are those of the orders they paid and kept: a paid
order later cancelled or rejected is no purchase (a probe: a cancelled order's moment was
the 360's ``last_purchase``, and the recency its segment is scored by)."""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.domain.orders import Order
from chalicelib.services import customer_projection, customer_view, ordering
from tests.fakes import RecordingEvents
from tests.fakes.outside import Clock
from tests.service import flows


def _project_everything(deps: Deps) -> None:
    events = deps.events
    assert isinstance(events, RecordingEvents)
    for message in list(events.published):
        customer_projection.project_order_event(message, deps)


def _figures(deps: Deps, customer_id: str) -> dict[str, Any]:
    metrics: dict[str, Any] = customer_view.customer_view(customer_id, deps)["metrics"]
    return metrics


def _cancelled(deps: Deps, order: Order) -> dict[str, Any]:
    """Cancel the paid ``order`` (projected with its last purchase at its moment); its
    customer's figures once the cancel is projected."""
    assert order.customer_id is not None
    _project_everything(deps)
    assert _figures(deps, order.customer_id)["last_purchase"] == order.placed_at.isoformat()
    ordering.cancel_order(order.order_id, deps)
    _project_everything(deps)
    return _figures(deps, order.customer_id)


def test_a_paid_order_then_cancelled_leaves_no_purchase_date(deps: Deps) -> None:
    figures = _cancelled(deps, flows.reserved(deps))

    assert figures["order_count"] == 0
    assert (figures["first_purchase"], figures["last_purchase"]) == (None, None)


def test_a_later_order_cancelled_gives_the_last_purchase_back_to_the_one_kept(
    deps: Deps,
) -> None:
    customer = flows.body()["customer"]
    kept = flows.delivered(deps, customer=customer)
    assert kept.customer_id is not None
    clock = deps.clock
    assert isinstance(clock, Clock)
    clock.advance(days=3)
    later = flows.reserved(deps, customer=customer)
    assert later.customer_id == kept.customer_id

    figures = _cancelled(deps, later)

    assert figures["order_count"] == 1
    assert figures["first_purchase"] == figures["last_purchase"] == kept.placed_at.isoformat()
