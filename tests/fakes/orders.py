"""In-memory ``Orders``, ``Shipments``, ``Catalogue``, ``Stock`` and ``Markers``, with the
semantics services rely on: optimistic versions, stock conditions, once-only markers,
all-or-nothing writes."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.domain.catalog import Location, Product
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    MovementRejected,
    NotFound,
    OutOfStock,
)
from chalicelib.domain.fulfillments import FulfillmentStatus
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.orders import Fulfillment, HistoryEntry, Order
from chalicelib.domain.quotes import Quote
from chalicelib.ports import StockChange
from tests.fakes.customers import FakeIdentities
from tests.fakes.memory import Memory
from tests.fakes.promotions import (
    FakeCampaigns,
    FakePromotions,
    apply_redemptions,
    hand_over_redemptions,
)


# Orders, shipments, catalogue, stock, markers ----------------------------------------------
class FakeOrders:
    """``Orders`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    @property
    def reads(self) -> Counter[str]:
        """How many orders (``"order"``), profiles (``"profile"``), location lists
        (``"locations"``), identifiers, products, markers and stock levels were read, by the
        port method's name."""
        return self._m.reads

    def get_order(self, order_id: str) -> Order:
        self._m.reads["order"] += 1
        stored = self._m.orders.get(order_id)
        if stored is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        return Order.model_validate(copy.deepcopy(stored))

    def create_order(self, order: Order) -> None:
        if order.order_id in self._m.orders:
            raise Conflict(f"order {order.order_id} exists", field="order_id")
        apply_redemptions(self._m, order)
        order.version += 1
        self._m.orders[order.order_id] = order.model_dump(mode="json")

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        return_ids: list[str] | None = None,
    ) -> None:
        stored = self._m.orders.get(order.order_id)
        if stored is None or stored["version"] != order.version:
            raise ConcurrentModification("the item changed while we worked on it")
        applied = _checked_stock(self._m, stock or [])  # raises before anything is written
        apply_redemptions(self._m, order)  # raises before anything is written too
        self._m.stock.update(applied)
        listed_since = self._m.owing.get(order.order_id)
        due_since = order.payment.due_since(
            datetime.fromisoformat(listed_since) if listed_since else None
        )
        order.payment.listed_as_owed = due_since is not None
        if due_since is not None:
            self._m.owing[order.order_id] = due_since.isoformat()
        else:
            self._m.owing.pop(order.order_id, None)
        for return_id in return_ids or []:
            self._m.returns[return_id] = order.order_id
        order.version += 1
        self._m.orders[order.order_id] = order.model_dump(mode="json")

    def hand_redemptions_to(self, order: Order, customer_id: str) -> None:
        stored = self._m.orders.get(order.order_id)
        if stored is None or stored["version"] != order.version:
            raise ConcurrentModification("the item changed while we worked on it")
        hand_over_redemptions(self._m, order, customer_id)  # raises before any write
        order.version += 1
        self._m.orders[order.order_id] = order.model_dump(mode="json")

    def orders_owing(self, limit: int) -> list[str]:
        longest_owed_first = sorted(self._m.owing.items(), key=lambda owing: owing[::-1])
        return [order_id for order_id, _ in longest_owed_first][:limit]

    def order_for_return(self, return_id: str) -> str:
        if return_id not in self._m.returns:
            raise NotFound(f"nothing known as {return_id}")
        return self._m.returns[return_id]

    def park_return_wait(self, order_id: str, task_token: str, until: datetime) -> None:
        self._m.return_waits[order_id] = (task_token, until)

    def return_wait(self, order_id: str) -> str | None:
        parked = self._m.return_waits.get(order_id)
        return None if parked is None else parked[0]


def _shipment_record(order_id: str, fulfillment: Fulfillment, order_version: int) -> dict[str, Any]:
    shipment = fulfillment.shipment
    assert shipment is not None
    return {
        "order_id": order_id,
        "fulfillment_id": fulfillment.fulfillment_id,
        "carrier": shipment.carrier,
        "service_level": shipment.service_level,
        "tracking_number": shipment.tracking_number,
        "shipped_at": shipment.shipped_at.isoformat(),
        "promised_by": shipment.promised_by.isoformat(),
        "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
        "breached_at": shipment.breached_at.isoformat() if shipment.breached_at else None,
        "sla_status": shipment.sla_status,
        "order_version": order_version,
        # In the open-shipments index (the table's open_due_day/open_due_at).
        "open_due": due.isoformat() if (due := fulfillment.watch_due()) else None,
        **({"lost": True} if fulfillment.status is FulfillmentStatus.LOST else {}),
    }


class FakeShipments:
    """``Shipments`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def put_shipment(
        self, order_id: str, fulfillment: Fulfillment, order_version: int, ahead: bool = False
    ) -> bool:
        record = _shipment_record(order_id, fulfillment, order_version) | {"ahead": ahead}
        key = (record["carrier"], record["tracking_number"])
        stored = self._m.shipments.get(key)
        if stored is not None and (
            stored["order_version"] > order_version
            or (stored["order_version"] == order_version and not stored["ahead"])
        ):
            return False
        self._m.shipments[key] = record
        return True

    def drop_shipment(self, carrier: str, tracking_number: str, order_id: str) -> bool:
        stored = self._m.shipments.get((carrier, tracking_number))
        if stored is None or stored["order_id"] != order_id:
            return False
        del self._m.shipments[(carrier, tracking_number)]
        return True

    def order_for_shipment(self, carrier: str, tracking_number: str) -> str:
        record = self._m.shipments.get((carrier, tracking_number))
        if record is None:
            raise NotFound(f"nothing known as {carrier}#{tracking_number}")
        return str(record["order_id"])

    def overdue_shipments(
        self, now: datetime, days_back: int = 2
    ) -> tuple[list[dict[str, Any]], int]:
        earliest = now.date().toordinal() - days_back
        overdue = [
            dict(record)
            for record in self._m.shipments.values()
            if record["open_due"]
            and record["open_due"] < now.isoformat()
            and datetime.fromisoformat(record["open_due"]).date().toordinal() >= earliest
        ]
        return sorted(overdue, key=lambda r: r["open_due"]), days_back + 1

    def shipments_between(
        self, carrier: str, service_level: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        return [
            dict(record)
            for record in self._m.shipments.values()
            if record["carrier"] == carrier
            and record["service_level"] == service_level
            and start.isoformat() <= record["shipped_at"] < end.isoformat()
        ]


class FakeCatalogue:
    """``Catalogue`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def products(self) -> list[Product]:
        return [p.model_copy(deep=True) for _, p in sorted(self._m.products.items())]

    def product(self, sku: str) -> Product | None:
        self._m.reads["product"] += 1
        found = self._m.products.get(sku)
        return found.model_copy(deep=True) if found else None

    def products_of(self, skus: list[str]) -> dict[str, Product]:
        self._m.reads["products_of"] += 1
        found = [self._m.products[sku] for sku in skus if sku in self._m.products]
        return {product.sku: product.model_copy(deep=True) for product in found}

    def put_product(self, product: Product) -> None:
        self._m.products[product.sku] = product.model_copy(deep=True)

    def locations(self) -> list[Location]:
        self._m.reads["locations"] += 1
        return [loc.model_copy(deep=True) for _, loc in sorted(self._m.locations.items())]

    def put_location(self, location: Location) -> None:
        self._m.locations[location.location_id] = location.model_copy(deep=True)


def _checked_stock(memory: Memory, changes: list[StockChange]) -> dict[tuple[str, str], StockLevel]:
    """The stock items as the changes leave them, or ``OutOfStock`` naming the SKUs whose
    condition fails (the same conditions as the DynamoDB update)."""
    after: dict[tuple[str, str], StockLevel] = {}
    short: set[str] = set()
    for change in changes:
        key = (change.sku, change.location_id)
        level = after.get(key) or memory.stock.get(key)
        if level is None or (
            (change.reserved > 0 and level.available < change.reserved)
            or (change.reserved < 0 and level.reserved < -change.reserved)
            or (change.on_hand < 0 and level.on_hand < -change.on_hand)
        ):
            short.add(change.sku)
            continue
        after[key] = level.model_copy(
            update={
                "on_hand": level.on_hand + change.on_hand,
                "reserved": level.reserved + change.reserved,
            }
        )
    if short:
        raise OutOfStock(f"not enough stock for {', '.join(sorted(short))}", field="lines")
    return after


class FakeStock:
    """``Stock`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def stock_levels(self, sku: str) -> list[StockLevel]:
        self._m.reads["stock_levels"] += 1
        return [
            level.model_copy(deep=True)
            for (each, _), level in sorted(self._m.stock.items())
            if each == sku
        ]

    def put_stock(self, level: StockLevel) -> None:
        self._m.stock[(level.sku, level.location_id)] = level.model_copy(deep=True)

    def ensure_stock_item(self, sku: str, location: Location) -> None:
        self._m.stock.setdefault(
            (sku, location.location_id),
            StockLevel(
                sku=sku,
                location_id=location.location_id,
                location_type=location.type,
                ships=location.ships,
                pickup=location.pickup,
                on_hand=0,
                reserved=0,
            ),
        )

    def apply_stock(self, changes: list[StockChange]) -> None:
        self._m.stock.update(_checked_stock(self._m, changes))

    def record_movement(
        self,
        sku: str,
        location_id: str,
        on_hand_delta: int,
        safety_stock: int,
        movement: dict[str, Any],
    ) -> dict[str, Any]:
        level = self._m.stock.get((sku, location_id))
        ledger = self._m.movements.setdefault(sku, [])
        first = next((m for m in ledger if m["movement_id"] == movement["movement_id"]), None)
        if first is not None:
            return copy.deepcopy(first)
        taken = (
            on_hand_delta < 0
            and level is not None
            and (
                level.on_hand < -on_hand_delta
                or level.safety_stock != safety_stock
                or level.available < -on_hand_delta - safety_stock
            )
        )
        if level is None or taken:
            raise MovementRejected(f"{sku} at {location_id}")
        self._m.stock[(sku, location_id)] = level.model_copy(
            update={"on_hand": level.on_hand + on_hand_delta}
        )
        ledger.append(copy.deepcopy(movement))
        ledger.sort(key=lambda m: (str(m["at"]), str(m["movement_id"])))
        return copy.deepcopy(movement)

    def movements(self, sku: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._m.movements.get(sku, []))


class FakeMarkers:
    """``Markers`` in memory, expiring on the memory's clock."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def remember_once(self, key: str, ttl_seconds: int) -> bool:
        now = self._m.now()
        expires = self._m.markers.get(key)
        if expires is not None and expires >= now:
            return False
        self._m.markers[key] = now + ttl_seconds
        self._m.marker_set_at[key] = now
        return True

    def has_marker(self, key: str) -> bool:
        self._m.reads["marker"] += 1
        return key in self._m.markers

    def markers_held(self, names: list[str]) -> set[str]:
        self._m.reads["markers_held"] += 1
        return {name for name in names if name in self._m.markers}

    def forget(self, key: str) -> None:
        self._m.markers.pop(key, None)
        self._m.marker_set_at.pop(key, None)

    def forget_set_before(self, key: str, moment: datetime) -> bool:
        if key not in self._m.markers:
            return False
        set_at = self._m.marker_set_at.get(key)
        if set_at is None or set_at <= moment.timestamp():
            self.forget(key)
            return True
        return False


class FakeQuotes:
    """``Quotes`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def put_quote(self, quote: Quote) -> None:
        if quote.quote_id in self._m.quotes:
            raise Conflict(f"quote {quote.quote_id} exists", field="quote_id")
        self._m.quotes[quote.quote_id] = quote.model_dump_json()

    def get_quote(self, quote_id: str) -> Quote:
        if quote_id not in self._m.quotes:
            raise NotFound(f"no quote {quote_id}", field="quote_id")
        return Quote.model_validate_json(self._m.quotes[quote_id])


class FakeOrderStore(
    FakeOrders,
    FakeShipments,
    FakeCatalogue,
    FakeStock,
    FakeMarkers,
    FakeIdentities,
    FakeQuotes,
    FakePromotions,
    FakeCampaigns,
):
    """``OrderStore`` in memory."""
