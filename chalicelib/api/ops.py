"""Ops views and health."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import Call, endpoint
from chalicelib.api.models import ExecutionResponse, HealthResponse
from chalicelib.domain.errors import NotFound

ops = Blueprint(__name__)


@endpoint(
    ops,
    "/ops/orders/{order_id}/execution",
    "GET",
    summary="The order's Step Functions execution: status, states visited, console link",
    roles=("ops",),
    response=ExecutionResponse,
    tag="ops",
)
def order_execution(call: Call, order_id: str) -> dict[str, Any]:
    """Describe the execution behind an order."""
    order = call.deps.store.get_order(order_id)
    if not order.execution_arn:
        raise NotFound(f"order {order_id} has no execution", field="order_id")
    described = call.deps.workflow.describe(order.execution_arn)
    return ExecutionResponse.model_validate({"order_id": order_id, **described}).model_dump(
        mode="json"
    )


@endpoint(ops, "/health", "GET", summary="Liveness", response=HealthResponse, tag="ops")
def health(call: Call) -> dict[str, Any]:
    """No auth, no I/O: the process answers."""
    return HealthResponse(status="ok", stage=call.deps.settings.stage).model_dump(mode="json")
