"""Which metrics each event adds to, and the EMF documents CloudWatch reads them from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.metrics import EmfMetrics, MeteredEventPublisher
from chalicelib.domain.observability import MetricPoint, metric_points, ops_alert_points


def status_event(status: str, reason: str | None = None, channel: str = "web") -> dict[str, Any]:
    return {
        "type": "order.status_changed",
        "event_id": f"ord_1:001:{status}",
        "order_id": "ord_1",
        "status": status,
        "status_reason": reason,
        "channel": channel,
    }


def test_a_status_change_counts_by_status_and_channel() -> None:
    assert metric_points(status_event("PAID", channel="store")) == [
        MetricPoint(name="OrderStatusChanged", dimensions={"status": "PAID", "channel": "store"})
    ]


@pytest.mark.parametrize(
    ("status", "reason", "metric"),
    [
        ("REJECTED", "out_of_stock", "OrderRejected"),
        ("REJECTED", "payment_declined", "OrderRejected"),
        ("CANCELLED", "customer_request", "OrderCancelled"),
    ],
)
def test_rejections_and_cancellations_also_count_by_reason(
    status: str, reason: str, metric: str
) -> None:
    points = metric_points(status_event(status, reason))
    assert [p.name for p in points] == ["OrderStatusChanged", metric]
    assert points[1].dimensions == {"reason": reason}


def test_sla_breaches_count_by_carrier_and_ids_never_become_dimensions() -> None:
    points = metric_points(
        {
            "type": "shipment.sla_breached",
            "event_id": "ord_1:F1:SLA_BREACHED",
            "order_id": "ord_1",
            "fulfillment_id": "ord_1-F1",
            "carrier": "seur",
        }
    )
    assert points == [MetricPoint(name="ShipmentSlaBreached", dimensions={"carrier": "seur"})]


def test_events_nobody_charts_add_nothing() -> None:
    assert metric_points({"type": "test.ignored", "event_id": "x"}) == []
    assert metric_points({"type": "ticket.opened"}) == [MetricPoint(name="TicketOpened")]
    assert metric_points({"type": "return.received"}) == [MetricPoint(name="ReturnReceived")]


def test_the_emf_document_names_namespace_metric_dimensions_and_value() -> None:
    # Through JSON, as CloudWatch Logs reads it.
    document = json.loads(
        json.dumps(
            EmfMetrics("Orquesta", "orquesta").document(
                MetricPoint(name="OrderRejected", dimensions={"reason": "out_of_stock"})
            )
        )
    )
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Orquesta"
    assert directive["Metrics"] == [{"Name": "OrderRejected", "Unit": "Count"}]
    assert sorted(directive["Dimensions"][0]) == ["reason", "service"]
    assert document["reason"] == "out_of_stock"
    assert document["service"] == "orquesta"
    assert document["OrderRejected"] == [1.0]


def test_each_point_is_emitted_as_its_own_document() -> None:
    emitted: list[Any] = []

    class Captured(EmfMetrics):
        def emit(self, document: Any) -> None:
            emitted.append(document)

    Captured("Orquesta", "orquesta").record(
        metric_points({**status_event("REJECTED", "out_of_stock")})
    )
    assert [list(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in emitted] == [
        [{"Name": "OrderStatusChanged", "Unit": "Count"}],
        [{"Name": "OrderRejected", "Unit": "Count"}],
    ]
    assert emitted[0]["status"] == "REJECTED"
    assert emitted[1]["reason"] == "out_of_stock"


class Recording:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.alerts: list[tuple[str, dict[str, Any]]] = []
        self.points: list[MetricPoint] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        self.alerts.append((subject, message))

    def record(self, points: list[MetricPoint]) -> None:
        self.points.extend(points)


class FailingPublisher(Recording):
    def publish(self, event: dict[str, Any]) -> None:
        raise RuntimeError("SNS unavailable")


def test_the_metered_publisher_counts_what_it_published_and_each_ops_alert_by_kind() -> None:
    inner, metrics = Recording(), Recording()
    events = MeteredEventPublisher(inner, metrics)
    events.publish(status_event("SHIPPED"))
    events.alert_ops("low stock X", {"kind": "low_stock", "sku": "X"})

    assert inner.published == [status_event("SHIPPED")]
    assert inner.alerts == [("low stock X", {"kind": "low_stock", "sku": "X"})]
    assert metrics.points == [
        *metric_points(status_event("SHIPPED")),
        *ops_alert_points({"kind": "low_stock"}),
    ]
    assert metrics.points[-1].dimensions == {"kind": "low_stock"}


def test_an_event_that_was_not_published_is_not_counted() -> None:
    metrics = Recording()
    with pytest.raises(RuntimeError):
        MeteredEventPublisher(FailingPublisher(), metrics).publish(status_event("PAID"))
    assert metrics.points == []
