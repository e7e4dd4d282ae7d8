"""Pick-ups in store: store staff confirm the collection with the customer's code."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from chalicelib.domain.errors import Conflict, NotFound, Unprocessable
from chalicelib.domain.orders import FulfillmentStatus, FulfillmentType, Order
from chalicelib.ports import StockChange
from chalicelib.services import settlement
from chalicelib.services.unit_of_work import Change, mutate

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def order_id_of_fulfillment(fulfillment_id: str) -> str:
    """Fulfilment ids are ``<order id>-F<n>``."""
    order_id, separator, number = fulfillment_id.rpartition("-F")
    if not separator or not number.isdigit():
        raise NotFound(f"no fulfilment {fulfillment_id}", field="fulfillment_id")
    return order_id


def collect(fulfillment_id: str, pickup_code: str, deps: Deps) -> Order:
    """Hand the goods over: the units leave the store's stock and the fulfilment is
    DELIVERED; a wrong code is 422, a fulfilment not ready is 409."""
    order_id = order_id_of_fulfillment(fulfillment_id)
    now = deps.clock()
    token: str | None = None

    def decide(order: Order) -> Change | None:
        nonlocal token
        try:
            fulfillment = order.fulfillment(fulfillment_id)
        except Unprocessable as exc:
            raise NotFound(f"no fulfilment {fulfillment_id}", field="fulfillment_id") from exc
        if fulfillment.type is not FulfillmentType.PICKUP:
            raise Conflict(f"{fulfillment_id} is shipped, not picked up", field="fulfillment_id")
        if fulfillment.status is not FulfillmentStatus.READY_FOR_PICKUP:
            raise Conflict(
                f"{fulfillment_id} is {fulfillment.status}, not ready for pick-up",
                field="fulfillment_id",
            )
        if not hmac.compare_digest(fulfillment.pickup_code or "", pickup_code):
            raise Unprocessable("wrong pick-up code", field="pickup_code")
        entry = order.deliver(fulfillment_id, now)
        token, fulfillment.task_token = fulfillment.task_token, None
        taken = [
            StockChange(
                sku=line.sku,
                location_id=fulfillment.location_id,
                on_hand=-line.quantity,
                reserved=-line.quantity,
            )
            for line in fulfillment.lines
        ]
        return Change(entry=entry, stock=taken)

    mutate(deps, order_id, decide)
    # Handed over: the pick-up's share is captured (recorded as owed with the collection;
    # a gateway failure leaves it owed for the sweeper, the goods are with the customer).
    order = settlement.settle(order_id, deps).order or deps.store.get_order(order_id)
    if token:
        deps.workflow.resume(token, {"collected": fulfillment_id})
    return order
