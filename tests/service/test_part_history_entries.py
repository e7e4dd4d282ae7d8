"""A part that ends while the order's status stays has its own history entry; everyone who
reads the history reads it as that part's: the compensation that cancels a waiting pick-up,
the ops console's timeline and the customer's export (re-probe 183)."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.order_status import OrderStatus
from chalicelib.services import console, customer_export, fulfillment_steps
from chalicelib.services.compensation import CompensateInput, compensate
from chalicelib.services.step_models import FulfillmentStep
from tests.service import flows


def _pick_up_cancelled_while_the_parcel_travels(deps: Deps) -> tuple[str, str]:
    """A mixed order whose parcel left and whose pick-up, ready at the store, a stopped
    workflow's compensation cancelled: the order's id and the pick-up's."""
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    for part in (parcel, pickup):
        step = FulfillmentStep(order_id=order.order_id, fulfillment_id=part.fulfillment_id)
        fulfillment_steps.dispatch_fulfillment(step, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.SHIPPED
    compensate(CompensateInput(order_id=order.order_id, error={"Error": "States.Runtime"}), deps)
    return order.order_id, pickup.fulfillment_id


def test_a_pick_up_cancelled_by_the_compensation_has_its_own_entry(deps: Deps) -> None:
    order_id, pickup_id = _pick_up_cancelled_while_the_parcel_travels(deps)

    order = deps.store.get_order(order_id)
    assert order.status is OrderStatus.SHIPPED
    last = order.history[-1]
    assert (last.status, last.fulfillment_id, last.detail) == (
        OrderStatus.SHIPPED,
        pickup_id,
        f"{pickup_id} processing_error",
    )
    assert [h.status for h in order.history if h.changes_status].count(OrderStatus.SHIPPED) == 1


def test_the_console_and_the_export_read_a_part_entry_as_the_part_s(deps: Deps) -> None:
    order_id, pickup_id = _pick_up_cancelled_while_the_parcel_travels(deps)
    order = deps.store.get_order(order_id)
    assert order.customer_id is not None

    entries = console.order_timeline(order_id, deps)["entries"]
    statuses = [e["title"] for e in entries if e["kind"] == "status"]
    (part,) = [e for e in entries if e["kind"] == "part"]
    assert statuses.count("SHIPPED") == 1
    # Its suffix, as the parts table names it (probe 242: "part -F2").
    assert pickup_id.startswith(f"{order_id}-")
    assert part["title"] == f"part {pickup_id.removeprefix(f'{order_id}-')}"
    assert part["detail"] == f"{pickup_id} processing_error"

    flows.projected(deps, order)  # the export lists the orders the 360 projected
    exported = customer_export.export_customer(order.customer_id, deps)
    (listed,) = [o for o in exported["orders"] if o["order_id"] == order_id]
    assert [h["fulfillment_id"] for h in listed["history"]] == [
        h.fulfillment_id for h in order.history
    ]
    assert listed["history"][-1]["fulfillment_id"] == pickup_id
