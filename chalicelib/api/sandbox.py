"""The sandbox payment gateway's ledger: the truth the books are held against (local
stack only)."""

from typing import Any, Literal

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import Call, endpoint
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import NotFound
from chalicelib.domain.money import Money
from chalicelib.domain.payments import order_of_free_payment

sandbox = Blueprint(__name__)


class SandboxOperation(DeferredModel):
    """One operation the gateway performed."""

    type: Literal["authorize", "capture", "refund", "void"]
    amount: Money
    at: str
    key: str


class SandboxPaymentResponse(DeferredModel):
    """``GET /sandbox/payments/{payment_id}``."""

    payment_id: str
    authorized: Money
    captured: Money
    refunded: Money
    voided: Money
    operations: list[SandboxOperation]


@endpoint(
    sandbox,
    "/sandbox/payments/{payment_id}",
    "GET",
    summary="The sandbox gateway's ledger of one payment (local stack only; 404 elsewhere)",
    roles=("ops",),
    response=SandboxPaymentResponse,
    tag="ops",
)
def sandbox_payment(call: Call, payment_id: str) -> dict[str, Any]:
    """Authorised, captured, refunded and voided, with every operation."""
    ledger = call.deps.sandbox_ledger
    if ledger is None:
        raise NotFound("there is no sandbox gateway here", field="payment_id")
    free_order = order_of_free_payment(payment_id)
    if free_order is not None:
        # An order of 0.00 never asked the gateway: its ledger holds nothing (probe 203:
        # 404, and a reconciliation over every order's payment id broke on it). Only its
        # own payment id: a paid order's, made up, is no payment (probe 206).
        try:
            paid_by = call.deps.store.get_order(free_order).payment.payment_id
        except NotFound:
            paid_by = None
        if paid_by != payment_id:
            raise NotFound(f"no payment {payment_id}", field="payment_id")
        nothing = Money.of("0.00")
        return SandboxPaymentResponse(
            payment_id=payment_id,
            authorized=nothing,
            captured=nothing,
            refunded=nothing,
            voided=nothing,
            operations=[],
        ).model_dump(mode="json")
    return SandboxPaymentResponse.model_validate(ledger.statement(payment_id)).model_dump(
        mode="json"
    )
