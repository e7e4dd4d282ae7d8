"""Shipment records: the order and fulfillment a tracking number belongs to, its promise,
delivery and breach, and the two indexes over them (open shipments by due day, shipments
by carrier).

A record is written beside its order, not in the order's transaction (each item of a
transaction bills twice): before the order's write when it opens, after it when it
closes (``services.order_writes``), and only over a record from an older version of the
order (``ORDER_VERSION``), so a late writer never puts an older state back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table
from chalicelib.domain.errors import NotFound
from chalicelib.domain.fulfillments import FulfillmentStatus

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.domain.fulfillments import Fulfillment


# The version of the order a record was written from: a put is refused over a newer one,
# and over one of the same version unless that one was written ahead of the order's write
# (AHEAD_OF_ORDER, present only then).
ORDER_VERSION = "order_version"
AHEAD_OF_ORDER = "ahead_of_order"


def shipment_record(
    table: Table, order_id: str, fulfillment: Fulfillment, order_version: int = 0
) -> dict[str, Any]:
    """The Put of a fulfillment's shipment record (``record_item``), unconditional."""
    return table.put(record_item(order_id, fulfillment, order_version))


def record_item(
    order_id: str, fulfillment: Fulfillment, order_version: int, ahead: bool = False
) -> dict[str, Any]:
    """A fulfillment's shipment record, as the order at ``order_version`` has
    it. It doubles as the tracking number's pointer. While the scheduled check must watch
    the parcel (``Fulfillment.watch_due``: out with its promise unbroken, then breached and
    unconfirmed until its lost deadline) it carries open_due_day/open_due_at, which put it
    in the sparse open-shipments-by-due index; every write replaces the whole record, so
    closing a shipment drops it from that index."""
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
        ORDER_VERSION: order_version,
    }
    if ahead:
        record[AHEAD_OF_ORDER] = True
    if fulfillment.status is FulfillmentStatus.LOST:
        record["lost"] = True  # closed undelivered: not open past due on the scorecard
    due = fulfillment.watch_due()
    if due is not None:
        record["open_due_day"] = due.date().isoformat()
        record["open_due_at"] = due.isoformat()
    return record


class ShipmentRepository:
    """The shipment records."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_shipment(
        self, order_id: str, fulfillment: Fulfillment, order_version: int, ahead: bool = False
    ) -> bool:
        """Store the record unless the stored one is from a later version of the order,
        or from the order at ``order_version`` (not written ahead of it)."""
        put = self._table.put(
            record_item(order_id, fulfillment, order_version, ahead),
            "attribute_not_exists(#v) OR #v < :v OR (#v = :v AND #ahead = :yes)",
            {":v": order_version, ":yes": True},
            {"#v": ORDER_VERSION, "#ahead": AHEAD_OF_ORDER},
        )
        try:
            self._table.write(put)
        except ConditionFailed:
            return False  # a newer state of the order is there already
        return True

    def drop_shipment(self, carrier: str, tracking_number: str, order_id: str) -> bool:
        """Delete the record if it is still ``order_id``'s."""
        try:
            self._table.write(
                self._table.delete(
                    keys.shipment(carrier, tracking_number),
                    "order_id = :order",
                    {":order": order_id},
                )
            )
        except ConditionFailed:
            return False
        return True

    def order_for_shipment(self, carrier: str, tracking_number: str) -> str:
        """The order a carrier's tracking number belongs to, or ``NotFound``; read strongly
        (a carrier's first event may follow the booking at once, and an event on a parcel
        not found is acknowledged and not applied)."""
        item = self._table.get(keys.shipment(carrier, tracking_number))
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
        """Shipment records of one carrier and service level shipped in ``[start, end)``:
        a key condition has no half-open range, so ``BETWEEN`` and the end left out here
        (probe 215: a parcel handed over at the end counted in two adjacent periods)."""
        until = end.isoformat()
        found = self._table.query(
            "carrier_key = :key AND shipped_at BETWEEN :start AND :end",
            {
                ":key": keys.carrier_key(carrier, service_level),
                ":start": start.isoformat(),
                ":end": until,
            },
            index=keys.SHIPMENTS_BY_CARRIER,
        ).items
        return [record for record in found if record["shipped_at"] != until]
