"""Waiting for an order to reach a status, however the test reads it: through the app's
``chalice.test.Client``, through the stack's store (``deps``), or over HTTP from outside
the stack process (``Shop``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.test import Client

from chalicelib.domain.orders import Order
from tests.support import STORE, eventually, signed_event
from tests.support.api import get_order
from tests.support.shop import Shop

DEFAULT_TIMEOUT = 60.0  # long enough for a loaded machine; a healthy stack needs a fraction


def wait_for_status(
    source: Client | Shop | Any,
    order_id: str,
    *statuses: str,
    settled: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """The order once its status is one of ``statuses`` (and, when ``settled``, once the
    money that status calls for, a capture at hand-over or a void, is settled with the
    gateway). Read as ``source`` reads it: a ``GET /orders/{id}`` body from a client or a
    shop, the domain ``Order`` from the app's deps."""
    read = _reader(source)

    def probe() -> Any:
        order = read(order_id)
        reached = _status(order) in statuses and not (settled and _owes(order))
        return order if reached else None

    try:
        return eventually(probe, timeout=timeout, every=0.1)
    except AssertionError as exc:
        order = read(order_id)
        owing = " and still owes the gateway" if _owes(order) else ""
        raise AssertionError(
            f"order {order_id} never reached {statuses}{' settled' if settled else ''}; "
            f"it is {_status(order)}{owing}; {_history(order)}"
        ) from exc


def delivered_by_its_carrier(shop: Shop, order_id: str) -> dict[str, Any]:
    """A one-parcel web order placed on ``shop``: once shipped, its carrier's signed
    ``delivered`` event posted; the order once DELIVERED and settled."""
    order = wait_for_status(shop, order_id, "SHIPPED", settled=True)
    shipment = order["fulfillments"][0]["shipment"]
    event, headers = signed_event(shipment["tracking_number"], "delivered")
    delivered = shop.post(f"/carriers/{shipment['carrier']}/events", event, headers)
    assert delivered.status_code == 200, delivered.text
    found: dict[str, Any] = wait_for_status(shop, order_id, "DELIVERED", settled=True)
    return found


def wait_until_dispatched(client: Client, order_id: str, timeout: float = 30) -> dict[str, Any]:
    """A mixed order, as a store reads it, once its pick-up waits in the store and its
    parcel is on its way."""
    ready = {"pickup": "READY_FOR_PICKUP", "ship": "SHIPPED"}

    def both_dispatched() -> dict[str, Any] | None:
        view: dict[str, Any] = get_order(client, order_id, STORE)
        statuses = {f["type"]: f["status"] for f in view["fulfillments"]}
        return view if statuses == ready else None

    found: dict[str, Any] = eventually(both_dispatched, timeout=timeout)
    return found


def _reader(source: Client | Shop | Any) -> Callable[[str], Any]:
    if isinstance(source, Shop):
        return source.order
    if isinstance(source, Client):
        return lambda order_id: get_order(source, order_id)
    store = source.store
    return lambda order_id: store.get_order(order_id)


def _status(order: dict[str, Any] | Order) -> str:
    return str(order["status"]) if isinstance(order, dict) else order.status.value


def _owes(order: dict[str, Any] | Order) -> bool:
    if isinstance(order, dict):
        return bool(order["payment"].get("owed"))
    return bool(order.payment.owed())


def _history(order: dict[str, Any] | Order) -> str:
    if isinstance(order, dict):
        return f"reason {order.get('status_reason')}, history {order.get('history')}"
    return f"reason {order.status_reason}, history {order.history}"
