"""A parcel of an order whose workflow started again (paid again after a declined card,
or retried by ops) is promised from the restart, as an order placed then would be: the
carrier is held to what it can do from the moment the parcel can leave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.services import (
    fulfillment_steps,
    payment_steps,
    quoting,
    self_service,
    stock_steps,
)
from chalicelib.services.step_models import FulfillmentStep, OrderStep
from tests.fakes import Clock
from tests.service import flows

MADRID = ZoneInfo("Europe/Madrid")
# Thursday 10 December 2026, before rapido's 18:00 cut-off: a parcel would leave today.
THURSDAY_AFTERNOON = datetime(2026, 12, 10, 17, 0, tzinfo=MADRID)


def _shipped_after_paying_again(deps: Deps, at: datetime, **overrides: Any) -> Any:
    """An order declined on Thursday afternoon, paid again at ``at`` and shipped then."""
    assert isinstance(deps.clock, Clock)
    deps.clock.now = THURSDAY_AFTERNOON.astimezone(UTC)
    order = flows.declined(deps, **overrides)
    assert order.status_reason is StatusReason.PAYMENT_DECLINED
    deps.clock.now = at.astimezone(UTC)
    self_service.pay_again(order.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    stock_steps.reserve_stock(OrderStep(order_id=order.order_id), deps)
    for part in deps.store.get_order(order.order_id).fulfillments:
        step = FulfillmentStep(order_id=order.order_id, fulfillment_id=part.fulfillment_id)
        fulfillment_steps.dispatch_fulfillment(step, deps)
    (parcel,) = deps.store.get_order(order.order_id).fulfillments
    assert parcel.shipment is not None
    return parcel.shipment


@pytest.mark.parametrize(
    "paid_again",
    [
        datetime(2026, 12, 11, 19, 30, tzinfo=MADRID),  # Friday, after the cut-off
        datetime(2026, 12, 12, 11, 0, tzinfo=MADRID),  # Saturday morning
    ],
    ids=["friday-evening", "saturday"],
)
def test_a_card_paid_again_is_promised_from_then(deps: Deps, paid_again: datetime) -> None:
    # Probe 220: promised from Thursday's placing, Friday 19:30's parcel was held to
    # Friday 20:00 and Saturday's to Saturday 11:00, already past; the SLA then breached
    # parcels the carrier could not have delivered, with an apology and an ops alert.
    shipment = _shipped_after_paying_again(deps, paid_again)

    # It leaves on Monday 14 (the next business day) and arrives a business day later.
    expected = datetime(2026, 12, 15, 20, 0, tzinfo=MADRID)
    assert shipment.promised_by == expected
    assert shipment.shown_promise == expected
    assert flows.shipped(deps).fulfillments[0].shipment.promised_by == expected  # as new


def _quoted_on_thursday(deps: Deps) -> tuple[Any, datetime]:
    """A quote given on Thursday afternoon, and the promise it gave its one parcel."""
    assert isinstance(deps.clock, Clock)
    deps.clock.now = THURSDAY_AFTERNOON.astimezone(UTC)
    body = {k: v for k, v in flows.body().items() if k not in ("payment", "consent")}
    quote = quoting.create_quote(QuoteRequest.model_validate(body), "demo-shop", deps)
    [part] = quote.fulfillments
    return quote, part.promised_by


def test_a_quote_a_restart_outran_is_neither_held_nor_shown(deps: Deps) -> None:
    quote, quoted = _quoted_on_thursday(deps)
    assert quoted == datetime(2026, 12, 11, 20, 0, tzinfo=MADRID)

    shipment = _shipped_after_paying_again(
        deps, datetime(2026, 12, 11, 19, 30, tzinfo=MADRID), quote_id=quote.quote_id
    )

    expected = datetime(2026, 12, 15, 20, 0, tzinfo=MADRID)
    assert (shipment.promised_by, shipment.shown_promise) == (expected, expected)
    assert shipment.quoted_promise is None


def test_a_quote_still_ahead_of_a_restart_is_kept(deps: Deps) -> None:
    # Paid again within minutes, before the cut-off: the quote's promise is still what
    # the carrier can do, and what the shopper was told.
    quote, quoted = _quoted_on_thursday(deps)

    shipment = _shipped_after_paying_again(
        deps, THURSDAY_AFTERNOON + timedelta(minutes=10), quote_id=quote.quote_id
    )

    assert shipment.promised_by == quoted
