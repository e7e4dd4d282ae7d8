"""Shipment records: the order and fulfillment a tracking number belongs to, its promise,
delivery and breach, and the two indexes over them (open shipments by due day, shipments
by carrier)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.domain.fulfillments import Fulfillment


def shipment_record(table: Table, order_id: str, fulfillment: Fulfillment) -> dict[str, Any]:
    """The Put of a fulfillment's shipment record. It doubles as the tracking number's
    pointer. While the parcel is out and its promise not yet broken it carries
    open_due_day/open_due_at, which put it in the sparse open-shipments-by-due index; every
    write replaces the whole record, so closing a shipment drops it from that index."""
    shipment = fulfillment.shipment
    assert shipment is not None
    record: dict[str, Any] = keys.shipment(shipment.carrier, shipment.tracking_number) | {
        "order_id": order_id,
        "fulfillment_id": fulfillment.fulfillment_id,
        "carrier": shipment.carrier,
        "service_level": shipment.service_level,
        "carrier_key": keys.carrier_key(shipment.carrier, shipment.service_level),
        "tracking_number": shipment.tracking_number,
        "shipped_at": shipment.shipped_at.isoformat(),
        "promised_by": shipment.promised_by.isoformat(),
        "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
        "breached_at": shipment.breached_at.isoformat() if shipment.breached_at else None,
        "sla_status": shipment.sla_status,
    }
    if shipment.delivered_at is None and shipment.breached_at is None:
        record["open_due_day"] = shipment.promised_by.date().isoformat()
        record["open_due_at"] = shipment.promised_by.isoformat()
    return table.put(record)


class ShipmentRepository:
    """Reads of the shipment records (they are written with their order)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def order_for_shipment(self, carrier: str, tracking_number: str) -> str:
        """The order a carrier's tracking number belongs to, or ``NotFound``."""
        item = self._table.get(keys.shipment(carrier, tracking_number), consistent=False)
        if item is None:
            raise NotFound(f"nothing known as {carrier}#{tracking_number}")
        return str(item["order_id"])

    def overdue_shipments(
        self, now: datetime, days_back: int = 2
    ) -> tuple[list[dict[str, Any]], int]:
        """Open shipments whose promise has passed, from the sparse index: one query per
        due day over the last ``days_back`` days. Returns them and the pages read."""
        return self._table.due_by_day(
            keys.OPEN_SHIPMENTS_BY_DUE,
            "open_due_day = :day AND open_due_at < :now",
            now,
            days_back,
        )

    def shipments_between(
        self, carrier: str, service_level: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Shipment records of one carrier and service level shipped in ``[start, end)``."""
        return self._table.query(
            "carrier_key = :key AND shipped_at BETWEEN :start AND :end",
            {
                ":key": keys.carrier_key(carrier, service_level),
                ":start": start.isoformat(),
                ":end": end.isoformat(),
            },
            index=keys.SHIPMENTS_BY_CARRIER,
        ).items
