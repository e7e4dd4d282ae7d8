"""The "return received" email on fakes (API.md "Emails": a customer hears when their
return is received). A return that gives money back is told once the gateway confirmed
the refund, so the email can say how much; one whose lines were free (a discount as
large as the basket) gives nothing back and was told nothing (probe 160 F4)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict
from chalicelib.domain.orders import Order
from chalicelib.domain.promotions import PromotionTerms
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.presentation.wording import Wording
from chalicelib.services import console, promotions, returns
from tests.fakes import Outgoing
from tests.service import flows

STORE = "ST-MADRID"


def _free_lines(deps: Deps, **overrides: Any) -> Order:
    """A delivered order whose two T-shirts an amount coupon larger than the basket made
    free: only the shipping fee was charged."""
    code = f"REGALO{uuid.uuid4().hex[:6].upper()}"
    terms = PromotionTerms(name="Regalo", kind="amount", value=Decimal("500.00"), code=code)
    promotions.create_promotion(terms, deps)
    order = flows.delivered(deps, coupon=code, **overrides)
    assert all(line.charged is not None and line.charged.amount == 0 for line in order.lines)
    return order


def _everything_asked_back(deps: Deps, order: Order) -> str:
    """A return of every unit, to be taken to the store: its id."""
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
            "reason": "too small",
            "channel": "store",
            "location_id": STORE,
        }
    )
    return returns.request_return(order.order_id, request, deps).return_id


def _send_back(deps: Deps, order: Order) -> Order:
    return returns.receive_return(_everything_asked_back(deps, order), STORE, deps)


def _told_of_the_return(deps: Deps, order: Order) -> list[str]:
    """Every email about ``order``'s return received, as sent (subject, then the parts)."""
    subject = f"Hemos recibido tu devolución del pedido {order.order_id}"
    return [m["parts"] for m in flows.mail_everything(deps) if m["parts"].startswith(subject)]


def test_a_return_of_lines_a_discount_made_free_is_told_with_nothing_to_refund(
    deps: Deps,
) -> None:
    order = _send_back(deps, _free_lines(deps))

    (told,) = _told_of_the_return(deps, order)

    assert order.payment.refunded is None or order.payment.refunded.amount == 0
    assert "no hay nada que reembolsar" in told
    assert "reembolsado" not in told
    # Delivered again, as SNS may: no second email.
    assert len(_told_of_the_return(deps, order)) == 1


def test_a_free_return_is_told_in_english_too(deps: Deps) -> None:
    customer = flows.body()["customer"] | {"locale": "en"}
    order = _send_back(deps, _free_lines(deps, customer=customer))

    subject = f"We received your return of order {order.order_id}"
    (told,) = [m["parts"] for m in flows.mail_everything(deps) if m["parts"].startswith(subject)]

    assert "nothing to refund" in told and "refunded" not in told


def test_a_return_that_gives_money_back_is_told_once_with_its_amount(deps: Deps) -> None:
    order = _send_back(deps, flows.delivered(deps))
    (received,) = order.returns
    assert received.refund is not None and received.refund.amount > 0

    (told,) = _told_of_the_return(deps, order)

    amount = Wording.for_order(order).money(received.refund.amount, received.refund.currency)
    assert f"te hemos reembolsado {amount}." in told
    assert "nada que reembolsar" not in told
    assert len(_told_of_the_return(deps, order)) == 1


def test_a_free_return_whose_receipt_died_before_telling_is_told_by_the_stores_retry(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The receipt's Lambda stopped after its write, before its events went out; the till
    # sends the receipt again (409: the goods are back) and what was left is done.
    order = _free_lines(deps)
    return_id = _everything_asked_back(deps, order)
    flows.dying_at(deps, "return.received", field="type")
    with pytest.raises(flows.Killed):
        returns.receive_return(return_id, STORE, deps)
    assert _told_of_the_return(deps, order) == []

    with pytest.raises(Conflict):
        returns.receive_return(return_id, STORE, deps)

    (told,) = _told_of_the_return(deps, order)
    assert "no hay nada que reembolsar" in told


def test_a_customer_with_only_a_phone_is_texted_a_free_return(deps: Deps) -> None:
    order = _send_back(deps, _free_lines(deps, customer={"phone": "+34 655 123 126"}))

    flows.mail_everything(deps)

    assert isinstance(deps.texter, Outgoing)
    texts = [t["parts"] for t in deps.texter.sent if t["to"] == "+34655123126"]
    (told,) = [t for t in texts if "devolución" in t]
    assert order.order_id in told and "nada que reembolsar" in told


def test_ops_read_the_free_returns_email_on_the_orders_timeline(deps: Deps) -> None:
    order = _send_back(deps, _free_lines(deps))
    flows.mail_everything(deps)

    titles = [e["title"] for e in console.order_timeline(order.order_id, deps)["entries"]]

    assert "email: return received" in titles
    assert titles.index("return received") < titles.index("email: return received")


def _asked_back_by_post(deps: Deps, order: Order) -> None:
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
            "reason": "too small",
            "channel": "mail",
        }
    )
    returns.request_return(order.order_id, request, deps)


def _told_of_the_request(deps: Deps, order: Order, subject: str) -> str:
    (told,) = [
        m["parts"]
        for m in flows.mail_everything(deps)
        if m["parts"].startswith(f"{subject} {order.order_id}")
    ]
    return told


def test_asking_to_return_free_lines_promises_no_refund(deps: Deps) -> None:
    # Probe 26C: the request said "we will refund you once the items arrive" for units a
    # 100 % coupon made free; the receipt then said there was nothing to refund.
    order = _free_lines(deps)
    _asked_back_by_post(deps, order)

    told = _told_of_the_request(deps, order, "Devolución solicitada para el pedido")

    assert "no habrá nada que reembolsar" in told
    assert "Te reembolsaremos" not in told


def test_asking_to_return_paid_lines_still_promises_their_refund(deps: Deps) -> None:
    order = flows.delivered(deps, customer=flows.body()["customer"] | {"locale": "en"})
    _asked_back_by_post(deps, order)

    told = _told_of_the_request(deps, order, "Return requested for order")

    assert "We will refund you once the items arrive." in told
    assert "nothing to refund" not in told


def test_a_phone_only_customer_is_texted_that_free_lines_refund_nothing(deps: Deps) -> None:
    order = _free_lines(deps, customer={"phone": "+34 655 123 127"})
    _asked_back_by_post(deps, order)
    flows.mail_everything(deps)

    assert isinstance(deps.texter, Outgoing)
    (told,) = [
        t["parts"]
        for t in deps.texter.sent
        if t["to"] == "+34655123127" and "registrado tu devolución" in t["parts"]
    ]
    assert "no habrá nada que reembolsar" in told and "te reembolsaremos" not in told
