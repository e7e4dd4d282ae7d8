"""``POST /quotes``: the body of ``POST /orders`` without payment and consent (the
customer optional), plus an optional coupon and campaign attribution."""

from typing import Any, ClassVar

from pydantic import Field

from chalicelib.domain.errors import InvalidFields
from chalicelib.domain.placement import Channel, Problems, fulfillment_problems, store_problems
from chalicelib.domain.requests import (
    MAX_RESERVED_LINES,
    AddressRequest,
    AttributionTags,
    CustomerRef,
    OrderLineRequest,
    PlaceOrderRequest,
    Strict,
)


class QuoteRequest(Strict):
    """``POST /quotes``."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            rule
            for rule in PlaceOrderRequest.json_schema_rules["allOf"]
            # The customer is optional on a quote: drop the one-identifier rule.
            if "customer" not in str(rule)
        ]
    }

    channel: Channel
    store_id: str | None = Field(default=None, min_length=1, max_length=64)
    customer: CustomerRef | None = None
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_RESERVED_LINES)
    # The order's address: a Spanish one has a Spanish postal code.
    shipping_address: AddressRequest | None = None
    coupon: str | None = Field(default=None, min_length=1, max_length=64)
    attribution: AttributionTags | None = None

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """A store or kiosk quote names its store; pick-up lines name their store, and
        shipped ones have an address."""
        return store_problems(data) + fulfillment_problems(data)

    def check(self) -> None:
        """The rules of ``input_problems`` on this request (validation checked them already);
        raises ``InvalidFields`` naming each offending field."""
        problems = self.input_problems(self.model_dump(mode="json"))
        if problems:
            raise InvalidFields(problems)
