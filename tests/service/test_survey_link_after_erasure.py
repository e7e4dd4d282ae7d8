"""The tracking JSON and page offer the survey only where it can be answered: an erased
customer's order's survey is closed (nothing new is written about them), and a probe found
its link still offered, answering 409."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.services import customer_records, surveys
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.survey_links import survey_url, survey_url_once_delivered
from tests.service import flows


def test_an_erased_customers_delivered_order_offers_no_survey(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None
    assert survey_url_once_delivered(order, order_erased(order, deps), deps) is not None

    customer_records.erase_customer(order.customer_id, "ops", "ops", deps)

    erased = deps.store.get_order(order.order_id)
    assert survey_url_once_delivered(erased, order_erased(erased, deps), deps) is None
    token = str(survey_url(order.order_id, deps)).rsplit("/", 1)[1]
    assert surveys.survey_state(token, deps)["open"] is False  # as the link would answer
