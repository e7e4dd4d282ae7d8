"""Stock movements recorded by stores and the back office."""

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint, once_of
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import inventory as inventory_service

inventory = Blueprint(__name__)


class MovementResponse(DeferredModel):
    """The movement recorded and the stock after it."""

    movement_id: str
    sku: str
    location_id: str
    type: str
    quantity: int
    on_hand_delta: int
    reference: str | None
    at: str
    on_hand: int
    reserved: int
    available: int
    available_to_promise: int


@endpoint(
    inventory,
    "/inventory/movements",
    "POST",
    summary="Record a sale, receipt, adjustment or return at a location (idempotent by key)",
    roles=("store", "ops"),
    request=RecordMovementRequest,
    response=MovementResponse,
    status=201,
    tag="inventory",
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.STAFF,
    errors=(404, 409),
)
def record_movement(call: Call) -> dict[str, Any]:
    """Apply once per Idempotency-Key; without one, as often as it is sent. API.md requires
    the key on ``POST /orders`` only, and a till sending a movement as API.md shows it was
    refused 422 (probe 175)."""
    key = call.idempotency_key(required=False)
    request = call.parse(RecordMovementRequest)
    request.on_hand_delta()
    assert call.principal is not None
    call.principal.require_location(request.location_id, "location_id")

    scope = call.key_scope("movements")

    def apply() -> dict[str, Any]:
        once = once_of(scope, key, request)
        result = inventory_service.record_movement(request, call.deps, once=once)
        return MovementResponse.model_validate(result).model_dump(mode="json")

    return call.once(scope, key, request, apply)
