"""Read an order, let the domain decide, write it back: with optimistic retries and the
status event published once the write has succeeded."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import ConcurrentModification
from chalicelib.domain.orders import Fulfillment, HistoryEntry, Order
from chalicelib.domain.settlement import record_owed
from chalicelib.ports import StockChange

if TYPE_CHECKING:
    from chalicelib.composition import Deps

MAX_ATTEMPTS = 5
# Its own generator: jitter must not move the process-wide random state others rely on.
_JITTER = random.Random()


def jittered_pause(ceiling: float = 0.05) -> None:
    """Full jitter before trying again after losing a race to another writer."""
    time.sleep(_JITTER.uniform(0, ceiling))


@dataclass
class Change:
    """What a decision wrote: the status entry (if any), stock deltas, lookup pointers and
    further events to publish."""

    entry: HistoryEntry | None = None
    stock: list[StockChange] = field(default_factory=list)
    pointers: list[tuple[str, str]] = field(default_factory=list)
    shipments: list[Fulfillment] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None


def status_event(order: Order, entry: HistoryEntry) -> dict[str, Any]:
    """The order event published for a status change; its id is the history item's key,
    so subscribers can count it once however often it is delivered."""
    index = order.history.index(entry) + 1
    return {
        "type": "order.status_changed",
        "event_id": f"{order.order_id}:{index:03d}:{entry.status.value}",
        "order_id": order.order_id,
        "status": entry.status.value,
        "status_reason": order.status_reason.value if order.status_reason else None,
        "detail": entry.detail,
        "at": entry.at.isoformat(),
        "customer_id": order.customer_id,
        "channel": order.channel.value,
        "total": order.total.model_dump(mode="json"),
    }


def mutate(
    deps: Deps, order_id: str, decide: Callable[[Order], Change | None], announce: bool = True
) -> Order:
    """Apply ``decide`` to the current order and save it; re-read and decide again if
    someone else wrote in between. ``decide`` returning None writes nothing. With
    ``announce=False`` the caller publishes the saved change itself (``publish``), when
    what the events lead to (the customer's email) should see a later write too."""
    for attempt in range(MAX_ATTEMPTS):
        order = deps.store.get_order(order_id)
        change = decide(order)
        if change is None:
            return order
        # Money the change calls for (a void, a capture, a refund) is recorded as owed in
        # this same conditional write, before anyone attempts it (services.settlement).
        record_owed(order, deps.clock())
        try:
            deps.store.save_order(
                order, change.entry, change.stock, change.pointers, change.shipments
            )
        except ConcurrentModification:
            if attempt == MAX_ATTEMPTS - 1:
                raise
            continue
        if announce:
            publish(deps, order, change)
        return order
    raise AssertionError("unreachable")  # pragma: no cover


def publish(deps: Deps, order: Order, change: Change) -> None:
    """Publish what a saved change announced."""
    if change.entry is not None:
        deps.events.publish(status_event(order, change.entry))
    for event in change.events:
        deps.events.publish(event)
