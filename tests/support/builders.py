"""Builders for unit tests: orders and stock in the states a test needs, without any I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.catalog import LocationType
from chalicelib.domain.fulfillments import FulfillmentType, Shipment
from chalicelib.domain.inventory import Allocation, StockLevel
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import Channel, CustomerContact, OrderLine

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# Catalogue prices the builders put on order lines.
PRICES = {
    "TSHIRT-BLK-M": "19.95",
    "MUG-WHT": "8.50",
    "CAP-RED": "12.00",
    "SOCKS-3P": "9.99",
}

WAREHOUSE = "WH-MAD"
STORE_SOL = "ST-SOL"
STORE_BCN = "ST-BCN"


def new_id(prefix: str = "ord") -> str:
    """A unique id, so no two tests share one."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def order_summary(order_id: str, placed_at: str, status: str = "ACCEPTED") -> dict[str, Any]:
    """An order's summary as the projector hands it to the customer store."""
    return {"order_id": order_id, "placed_at": placed_at, "status": status, "channel": "web"}


def accepted_consent(order_id: str, accepted_at: str) -> dict[str, Any]:
    """The consent accepted with an order, as the projector hands it to the customer store."""
    return {
        "terms_version": "2026-01",
        "privacy_version": "2026-01",
        "accepted_at": accepted_at,
        "channel": "web",
        "order_id": order_id,
    }


def line(
    sku: str,
    quantity: int,
    fulfillment: FulfillmentType = FulfillmentType.SHIP,
    location_id: str | None = None,
) -> OrderLine:
    """An order line at its catalogue price."""
    unit_price = Money.of(PRICES[sku])
    return OrderLine(
        sku=sku,
        name=sku.title(),
        quantity=quantity,
        unit_price=unit_price,
        line_total=unit_price.times(quantity),
        fulfillment=fulfillment,
        location_id=location_id,
    )


def pickup(sku: str, quantity: int, store: str = STORE_SOL) -> OrderLine:
    """A line collected at ``store``."""
    return line(sku, quantity, FulfillmentType.PICKUP, store)


def order(
    *lines: OrderLine,
    status: OrderStatus = OrderStatus.ACCEPTED,
    channel: Channel = Channel.WEB,
) -> Order:
    """An order for ``lines`` (two T-shirts shipped by default) in ``status``."""
    lines_ = list(lines) or [line("TSHIRT-BLK-M", 2)]
    total = Money.zero()
    for item in lines_:
        total = total + item.line_total
    return Order(
        order_id=new_id(),
        status=status,
        channel=channel,
        contact=CustomerContact(email="ana@example.com", name="Ana"),
        lines=lines_,
        total=total,
        payment_token="tok_visa",
        placed_at=NOW,
    )


def paid(*lines: OrderLine) -> Order:
    """An order whose payment was captured."""
    placed = order(*lines)
    placed.record_payment(new_id("pay"), NOW)
    return placed


def allocate(sku: str, location_id: str, quantity: int) -> Allocation:
    """Units of ``sku`` taken from ``location_id``."""
    return Allocation(sku=sku, location_id=location_id, quantity=quantity)


def reserved(lines: list[OrderLine], allocations: list[Allocation]) -> Order:
    """A paid order whose stock is reserved as ``allocations`` say."""
    placed = paid(*lines)
    placed.reserve(allocations, "test sourcing", NOW)
    return placed


def shipment(promised_by: datetime | None = None) -> Shipment:
    """A carrier booking made now."""
    return Shipment(
        carrier="rapido",
        service_level="express",
        tracking_number=new_id("RP"),
        tracking_url="https://rapido.example/track",
        promised_by=promised_by or NOW + timedelta(days=1),
        shipped_at=NOW,
    )


def fulfillment_id(placed: Order, kind: FulfillmentType, location_id: str) -> str:
    """The id of the fulfillment of ``kind`` at ``location_id``."""
    for fulfillment in placed.fulfillments:
        if fulfillment.type is kind and fulfillment.location_id == location_id:
            return fulfillment.fulfillment_id
    raise AssertionError(f"no {kind} fulfillment at {location_id}: {placed.fulfillments}")


def delivered(*lines: OrderLine, window: timedelta = timedelta(days=30)) -> Order:
    """A shipped-from-the-warehouse order the customer received, return window open."""
    lines_ = list(lines) or [line("TSHIRT-BLK-M", 2)]
    placed = reserved(lines_, [allocate(item.sku, WAREHOUSE, item.quantity) for item in lines_])
    (only,) = placed.fulfillments
    placed.dispatch_shipment(only.fulfillment_id, shipment(), NOW)
    placed.deliver(only.fulfillment_id, NOW + timedelta(hours=20))
    placed.returns_window_ends = NOW + window
    return placed


def stock(
    sku: str,
    location_id: str,
    on_hand: int,
    *,
    reserved: int = 0,
    location_type: LocationType = LocationType.STORE,
    ships: bool = True,
    pickup: bool = True,
    safety_stock: int = 0,
) -> StockLevel:
    """One SKU's stock at one location."""
    return StockLevel(
        sku=sku,
        location_id=location_id,
        location_type=location_type,
        ships=ships,
        pickup=pickup,
        on_hand=on_hand,
        reserved=reserved,
        safety_stock=safety_stock,
    )


def warehouse_stock(sku: str, on_hand: int, *, reserved: int = 0) -> StockLevel:
    """One SKU's stock at the warehouse (ships, no pick-up)."""
    return stock(
        sku,
        WAREHOUSE,
        on_hand,
        reserved=reserved,
        location_type=LocationType.WAREHOUSE,
        pickup=False,
    )


def mixed_order() -> Order:
    """A T-shirt shipped from the warehouse and a mug collected at Sol."""
    return reserved(
        [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)],
        [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)],
    )
