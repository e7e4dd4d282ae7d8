"""The local stack subscribes the order-event handler as the packaged template does: with
its filter, so the events no handler acts on invoke nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest


def test_a_capture_event_invokes_no_subscriber_and_a_refund_does(
    deps: Any, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber = stack.lambdas.handlers["on_order_event"]
    delivered: list[str] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        delivered.append(message["event_id"])
        return None if message["event_id"].startswith("filter-") else subscriber(event, context)

    monkeypatch.setitem(stack.lambdas.handlers, "on_order_event", recording)
    tag = uuid.uuid4().hex
    for kind in ("payment.capture", "payment.void", "payment.refund", "order.status_changed"):
        deps.events.publish({"type": kind, "event_id": f"filter-{kind}-{tag}"})
    stack.lambdas.drain()

    # Other tests' executions publish on the same stack meanwhile: count only these.
    ours = sorted(e for e in delivered if e.endswith(tag))
    assert ours == [
        f"filter-order.status_changed-{tag}",
        f"filter-payment.refund-{tag}",
        f"filter-payment.void-{tag}",
    ]
