"""What an erased customer wrote, and what their order's old links would take afterwards,
on fakes. API.md: after erasure nothing the API returns holds "free text they wrote".

Found by a probe of `make run`: a cancel's reason stayed word for word in the order's
history (and the export and the ops timeline); after erasure the survey link answered 409
yet kept the score and the comment on the erased record, and the tracking page's returns
kept their reason and still offered a ticket that was then refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.api.models import OrderResponse
from chalicelib.deps import Deps
from chalicelib.domain.customer_actions import CustomerAction
from chalicelib.domain.erasure import ERASED
from chalicelib.domain.errors import ActionNotAvailable, Conflict
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.domain.surveys import SurveyAnswer
from chalicelib.services import (
    console,
    customer_export,
    customer_projection,
    customer_records,
    self_service,
    survey_links,
    surveys,
)
from tests.service import flows

WORDS = "MY-OWN-WORDS call me on +34699111222"


def _everything_shown(order_id: str, customer_id: str, deps: Deps) -> str:
    """Every view of the order and its customer that ops, a storefront or the customer
    reads, as one text to search."""
    order = deps.store.get_order(order_id)
    views: list[Any] = [
        OrderResponse.from_order(order, "/track/t").model_dump(mode="json"),
        customer_export.export_customer(customer_id, deps),
        console.order_timeline(order_id, deps),
    ]
    return json.dumps(views, default=str)


def _erase(order: Order, deps: Deps) -> None:
    """Erase the order's customer once the order is on their record (the projection the
    order's events make, which the erasure follows to the orders)."""
    assert order.customer_id is not None
    current = deps.store.get_order(order.order_id)
    customer_projection.project_order_event(
        OrderStatusChanged.of(current, current.history[-1]).message(), deps
    )
    record = customer_records.erase_customer(order.customer_id, "ops", "ops", deps)
    assert record["status"] == "completed"


def test_a_cancel_reason_is_kept_as_a_note_and_erased_with_the_customer(deps: Deps) -> None:
    order = flows.reserved(deps)
    assert order.customer_id is not None
    self_service.cancel(deps.store.get_order(order.order_id), deps, WORDS)
    cancelled = deps.store.get_order(order.order_id)
    entry = cancelled.history[-1]
    # Our words in the detail, theirs in the note: only the note is personal.
    assert (entry.detail, entry.note) == ("cancelled by the customer", WORDS)
    assert WORDS in _everything_shown(order.order_id, order.customer_id, deps)

    _erase(cancelled, deps)

    assert deps.store.get_order(order.order_id).history[-1].note == ERASED
    assert "MY-OWN-WORDS" not in _everything_shown(order.order_id, order.customer_id, deps)


def test_a_cancel_after_erasure_keeps_no_reason(deps: Deps) -> None:
    # A pick-up ready in store (its code sent) is what an erasure leaves cancellable.
    pickup = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}
    ]
    order = flows.shipped(deps, lines=pickup, shipping_address=None)
    _erase(order, deps)
    assert deps.store.get_order(order.order_id).status is OrderStatus.READY_FOR_PICKUP
    self_service.cancel(deps.store.get_order(order.order_id), deps, WORDS)
    assert deps.store.get_order(order.order_id).history[-1].note == ERASED


def _survey(order_id: str, deps: Deps) -> str:
    return survey_links.survey_url(order_id, deps).rsplit("/", 1)[1]


@pytest.mark.parametrize("score", [1, 4])
def test_after_erasure_the_survey_is_closed_and_keeps_nothing(deps: Deps, score: int) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None
    _erase(order, deps)
    token = _survey(order.order_id, deps)
    assert surveys.survey_state(token, deps)["open"] is False
    before = customer_export.export_customer(order.customer_id, deps)

    with pytest.raises(Conflict) as refused:
        surveys.answer(
            surveys.order_of_token(token, deps), SurveyAnswer(score=score, comment=WORDS), deps
        )

    assert refused.value.field == "token"
    assert deps.surveys.survey(order.order_id) is None
    assert surveys.report(deps).responses == 0
    after = customer_export.export_customer(order.customer_id, deps)
    assert (after["interactions"], after["tickets"]) == (before["interactions"], before["tickets"])
    # Asked again, the same answer: nothing was half kept.
    with pytest.raises(Conflict):
        surveys.answer(surveys.order_of_token(token, deps), SurveyAnswer(score=score), deps)


def test_after_erasure_the_tracking_page_takes_returns_without_their_words_and_no_ticket(
    deps: Deps,
) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None
    assert CustomerAction.TICKET in self_service.actions_now(order, deps).actions
    _erase(order, deps)
    erased = deps.store.get_order(order.order_id)

    actions = self_service.actions_now(erased, deps)
    assert CustomerAction.TICKET not in actions.actions
    assert CustomerAction.RETURN in actions.actions  # the goods may still come back
    request = RequestReturnRequest.model_validate(
        {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "reason": WORDS, "channel": "mail"}
    )
    opened = self_service.request_return(erased, request, deps)

    assert opened.reason == ERASED
    assert "MY-OWN-WORDS" not in _everything_shown(order.order_id, order.customer_id, deps)


def test_after_erasure_a_declined_order_is_not_offered_to_pay_again(deps: Deps) -> None:
    # The re-probe: the page offered "pay" on an erased customer's declined order; paying
    # authorised the card and the projector voided it at once (the order cannot be served).
    declined = flows.declined(deps)
    assert CustomerAction.PAY in self_service.actions_now(declined, deps).actions

    _erase(declined, deps)

    after = self_service.actions_now(deps.store.get_order(declined.order_id), deps)
    assert CustomerAction.PAY not in after.actions and after.pay_until is None
    # Nor through the route (the second re-probe: 202, the card held, then voided).
    with pytest.raises(ActionNotAvailable) as refused:
        self_service.pay_again(declined.order_id, "tok_visa", deps)
    assert refused.value.status == 409 and refused.value.field == "payment"
    still = deps.store.get_order(declined.order_id)
    assert still.status is OrderStatus.REJECTED and still.payment_token == "tok_declined"
