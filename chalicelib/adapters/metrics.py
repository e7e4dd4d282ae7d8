"""Business metrics as CloudWatch Embedded Metric Format, through Powertools.

In Lambda, an EMF document printed to standard output becomes a CloudWatch metric without
an API call (no latency, no IAM beyond writing logs). Each point is its own document
because the points of one event carry different dimensions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from chalicelib.domain.observability import metric_points, ops_alert_points

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.domain.observability import MetricPoint
    from chalicelib.ports import EventPublisher, Metrics


class EmfMetrics:
    """``Metrics`` written as EMF log lines under one namespace and service."""

    def __init__(self, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service

    def record(self, points: list[MetricPoint]) -> None:
        """Add each point to its metric."""
        for point in points:
            self.emit(self.document(point))

    def document(self, point: MetricPoint) -> Mapping[str, Any]:
        """One point as an EMF document, serialised and validated by Powertools."""
        # A fresh EphemeralMetrics per point: Powertools' shared Metrics keeps state across
        # calls, which concurrent handlers in one process would mix up.
        metrics = EphemeralMetrics(namespace=self._namespace, service=self._service)
        metrics.add_metric(name=point.name, unit=MetricUnit.Count, value=point.value)
        for name, value in point.dimensions.items():
            metrics.add_dimension(name=name, value=value)
        return metrics.serialize_metric_set()

    def emit(self, document: Mapping[str, Any]) -> None:
        """Write one EMF document where CloudWatch Logs picks it up: standard output."""
        print(json.dumps(document, separators=(",", ":")), flush=True)


class MeteredEventPublisher:
    """An ``EventPublisher`` that also counts what each event stands for, so every
    publisher of events is measured in one place."""

    def __init__(self, inner: EventPublisher, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def publish(self, event: dict[str, Any]) -> None:
        """Publish, then count (a failed publish is retried by its caller and counted once)."""
        self._inner.publish(event)
        self._metrics.record(metric_points(event))

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        """Alert ops, counted by kind."""
        self._inner.alert_ops(subject, message)
        self._metrics.record(ops_alert_points(message))
