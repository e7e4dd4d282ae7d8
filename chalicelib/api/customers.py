"""Customers: identify by email, phone or loyalty id."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import Field

from chalicelib.api.http import Call, endpoint
from chalicelib.api.models import CustomerResolutionResponse
from chalicelib.domain.requests import CustomerRef
from chalicelib.services.customers import resolve_customer

customers = Blueprint(__name__)


class IdentifyCustomerRequest(CustomerRef):
    """``POST /customers``: identifiers to resolve; a new customer is created if none match."""

    customer_id: None = Field(default=None, exclude=True)


@endpoint(
    customers,
    "/customers",
    "POST",
    summary="Resolve identifiers to one customer, creating it when none match",
    roles=("storefront", "store", "ops"),
    request=IdentifyCustomerRequest,
    response=CustomerResolutionResponse,
    tag="customers",
)
def identify_customer(call: Call) -> dict[str, Any]:
    """Find or create."""
    request = call.parse(IdentifyCustomerRequest)
    resolution = resolve_customer(request, call.deps)
    return CustomerResolutionResponse(
        customer_id=resolution.customer_id,
        matched_by=resolution.matched_by,
        created=resolution.created,
    ).model_dump(mode="json")
