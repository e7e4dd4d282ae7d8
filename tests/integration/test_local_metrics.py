"""infra/local/adaptations.emf_to_cloudwatch: the app's EMF documents land in moto's
CloudWatch without a request each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters.metrics import EmfMetrics
from infra.local.stack import REGION
from tests.support.moto_probes import requests_through_stubber


def test_emf_to_cloudwatch_stores_a_metric_without_a_request(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.domain.observability import MetricPoint

    requests = requests_through_stubber(monkeypatch)
    reason = f"test-{uuid.uuid4().hex[:8]}"
    point = MetricPoint(name="OrderRejected", value=2, dimensions={"reason": reason})
    EmfMetrics("Orquesta", "orquesta").record([point])
    assert requests == []

    now = datetime.now(UTC)
    answer = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="Orquesta",
        MetricName="OrderRejected",
        Dimensions=[{"Name": "reason", "Value": reason}, {"Name": "service", "Value": "orquesta"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 2
