"""Why an order, or one of its fulfillments, ended before the customer had the goods."""

from __future__ import annotations

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
REJECTION_CAUSES = {
    CARD_DECLINED_DETAIL: "payment_declined",
    GATEWAY_SILENT_DETAIL: "gateway_unavailable",
    OUT_OF_STOCK_DETAIL: "out_of_stock",
}
