"""Why an order, or one of its fulfillments, ended before the customer had the goods."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class StatusReason(StrEnum):
    """Why an order was rejected or cancelled: API.md fixes the list. A payment that could
    not be authorised is ``payment_declined`` whatever the cause; ``Payment.failure`` says
    which (the card declined, or the gateway down after its retries)."""

    PAYMENT_DECLINED = "payment_declined"
    OUT_OF_STOCK = "out_of_stock"
    CUSTOMER_REQUEST = "customer_request"
    NOT_COLLECTED = "not_collected"
    # A workflow step failed unexpectedly and the order was compensated (ops alerted).
    PROCESSING_ERROR = "processing_error"


# Who cancelled an order on request: API.md keeps one code, ``customer_request``, and the
# history entry's detail says who. The customer is told so, not "at your request" for a
# cancel made by a store or customer service (a review).
CANCELLED_AT_STORE = "cancelled at the store"
CANCELLED_BY_SERVICE = "cancelled by customer service"
STAFF_CANCEL_CAUSES = {
    CANCELLED_AT_STORE: "cancelled_at_store",
    CANCELLED_BY_SERVICE: "cancelled_by_service",
}

# The history entries of a rejection, by cause: an order rejected for its card may be paid
# again, so its history can hold several rejections, each told with its own cause (a probe:
# every "Not completed" step read the last one's "we could not reach the bank").
CARD_DECLINED_DETAIL = "the card was declined"
GATEWAY_SILENT_DETAIL = "the payment gateway did not answer; nothing charged"
OUT_OF_STOCK_DETAIL = "not enough stock; nothing charged"
_SHORT_OF = "not enough stock of "
_NOTHING_CHARGED = "; nothing charged"
REJECTION_CAUSES = {
    CARD_DECLINED_DETAIL: "payment_declined",
    GATEWAY_SILENT_DETAIL: "gateway_unavailable",
    OUT_OF_STOCK_DETAIL: "out_of_stock",
}


def out_of_stock_detail(skus: Sequence[str]) -> str:
    """The history detail of a rejection for lack of stock, naming the SKUs found short
    (probe 224: "not enough stock" left ops guessing which line failed); the bare words
    when none is known (the stock was spread over too many places for one reservation)."""
    if not skus:
        return OUT_OF_STOCK_DETAIL
    return f"{_SHORT_OF}{', '.join(skus)}{_NOTHING_CHARGED}"


def rejection_cause(detail: str) -> str | None:
    """The cause a rejection's history entry recorded in its detail, if it is one."""
    if detail.startswith(_SHORT_OF) and detail.endswith(_NOTHING_CHARGED):
        return StatusReason.OUT_OF_STOCK.value
    return REJECTION_CAUSES.get(detail)
