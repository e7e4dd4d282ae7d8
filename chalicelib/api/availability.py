"""The product page's availability: shipped by when, or picked up where and when."""

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.requests import MAX_QUANTITY
from chalicelib.services.availability import Availability, availability_of

availability = Blueprint(__name__)

# Five digits whose first two are a Spanish province, 01 to 52.
SPANISH_POSTAL_CODE = r"^(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}$"


class AvailabilityQuery(DeferredModel):
    """``?postal_code=&quantity=``."""

    model_config = ConfigDict(extra="forbid")

    postal_code: str = Field(pattern=SPANISH_POSTAL_CODE, description="Spanish postal code")
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


@endpoint(
    availability,
    "/availability/{sku}",
    "GET",
    summary="Delivery promise and pick-up stores for a SKU, per postal code and quantity",
    roles=("storefront", "store", "ops"),
    response=Availability,
    query=AvailabilityQuery,
    tag="catalog",
    access=Access.CATALOGUE,
)
def get_availability(call: Call, sku: str) -> dict[str, Any]:
    """Read-only: nothing is held."""
    query = call.query(AvailabilityQuery)
    found = availability_of(sku, query.postal_code, query.quantity, call.deps)
    return found.model_dump(mode="json")
