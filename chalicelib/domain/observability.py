"""Which business metrics an event stands for: the counts ops chart and alarm on (orders
by status and channel, rejections by reason, SLA breaches by carrier, tickets, returns).

Dimension values come from small closed sets (statuses, reasons, carriers, channels), so
the number of metric series stays bounded; ids never become dimensions."""

from typing import Any

from pydantic import Field

from chalicelib.domain.deferred import DeferredModel

NAMESPACE = "Orquesta"


class MetricPoint(DeferredModel):
    """One count to add to a CloudWatch metric."""

    name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    value: float = 1.0


# Events counted as they are, without dimensions.
_PLAIN_COUNTS = {
    "ticket.opened": "TicketOpened",
    "ticket.resolved": "TicketResolved",
    "return.requested": "ReturnRequested",
    "return.received": "ReturnReceived",
    "fulfillment.ready_for_pickup": "PickupReady",
    "fulfillment.not_collected": "PickupNotCollected",
    "fulfillment.cancelled": "FulfillmentCancelled",
    "fulfillment.lost": "ParcelLost",
    "order.claimed": "OrderClaimed",
}


def metric_points(event: dict[str, Any]) -> list[MetricPoint]:
    """The metrics one published event adds to (none for events nobody charts)."""
    kind = event.get("type")
    if kind == "order.status_changed":
        status = str(event.get("status"))
        points = [
            MetricPoint(
                name="OrderStatusChanged",
                dimensions={"status": status, "channel": str(event.get("channel", "unknown"))},
            )
        ]
        if status in ("REJECTED", "CANCELLED") and event.get("status_reason"):
            points.append(
                MetricPoint(
                    name=f"Order{status.title()}",
                    dimensions={"reason": str(event["status_reason"])},
                )
            )
        return points
    if kind == "shipment.sla_breached":
        return [
            MetricPoint(
                name="ShipmentSlaBreached",
                dimensions={"carrier": str(event.get("carrier", "unknown"))},
            )
        ]
    if kind in _PLAIN_COUNTS:
        return [MetricPoint(name=_PLAIN_COUNTS[str(kind)])]
    return []


def ops_alert_points(message: dict[str, Any]) -> list[MetricPoint]:
    """An ops alert, counted by its kind (``sla_breached``, ``execution_failed``…)."""
    return [MetricPoint(name="OpsAlert", dimensions={"kind": str(message.get("kind", "other"))})]
