"""The models the workflow's steps take in and hand back: one model in, one out."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.fulfillments import FulfillmentType


class OrderStep(DeferredModel):
    """Input of steps that act on a whole order."""

    order_id: str


class RejectOrderInput(DeferredModel):
    """Input of the rejection step: the business error the workflow caught."""

    order_id: str
    error: str


class FulfillmentStep(DeferredModel):
    """Input of steps that act on one fulfillment."""

    order_id: str
    fulfillment_id: str


class DispatchInput(DeferredModel):
    """Input of the dispatch that parks the wait's token: the wait's length and when its
    state was entered, so no deadline set here comes after the wait runs out."""

    order_id: str
    fulfillment_id: str
    task_token: str
    wait_seconds: int
    entered_at: datetime


class AwaitInput(DeferredModel):
    """Input of a wait's registration: the task token to park for the order."""

    order_id: str
    task_token: str
    fulfillment_id: str | None = None


class FulfillmentRef(DeferredModel):
    """A fulfillment the Map state iterates over, with the first wait's length: from the
    start of its dispatch, how long until the promise (ship) or for the pick-up window."""

    fulfillment_id: str
    type: FulfillmentType
    wait_seconds: int = 1


class ReservationOutput(DeferredModel):
    """What ReserveStock hands to the Map state."""

    fulfillments: list[FulfillmentRef]


class DispatchOutput(DeferredModel):
    """How long the workflow waits for this fulfillment, and whether to keep waiting."""

    wait_seconds: int = 1
    keep_waiting: bool = False


class Empty(DeferredModel):
    """Steps with nothing to report."""
