"""Erasure's rules for what the after-sale features keep: a survey answer loses its
comment, a subscription and an opportunity their address; scores, statuses, values and
dates stay; an open subscription is closed; applied twice, nothing changes the second time."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.erasure import (
    ERASED,
    redact_opportunity,
    redact_subscription,
    redact_survey,
)
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import (
    SubscriptionStatus,
    back_in_stock_opportunity,
    subscribe,
)
from chalicelib.domain.surveys import SurveyResponse, SurveySubject

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=5), st.text(min_size=1))
def test_a_survey_answer_keeps_its_score_and_subject_and_loses_the_comment(
    score: int, comment: str
) -> None:
    subject = SurveySubject(order_id="ord_1", customer_id="cus_1", channel="web")
    answer = SurveyResponse(subject=subject, score=score, comment=comment, answered_at=NOW)
    redacted = redact_survey(answer)
    assert redacted == SurveyResponse(subject=subject, score=score, answered_at=NOW)
    assert redact_survey(redacted) is None


def test_an_open_subscription_closes_and_a_notified_one_stays_notified() -> None:
    opened = subscribe("sub_1", "SKU-1", "ana@example.com", NOW, customer_id="cus_1")
    notified = opened.model_copy(deep=True)
    notified.notify(NOW)
    for subscription, status in (
        (opened, SubscriptionStatus.ERASED),
        (notified, SubscriptionStatus.NOTIFIED),
    ):
        redacted = redact_subscription(subscription)
        assert redacted is not None
        assert (redacted.email, redacted.status) == (ERASED, status)
        unchanged = ("subscription_id", "sku", "customer_id", "created_at", "notified_at")
        assert all(getattr(redacted, f) == getattr(subscription, f) for f in unchanged)
        assert redact_subscription(redacted) is None


def test_an_opportunity_keeps_its_figures_and_loses_the_address() -> None:
    subscription = subscribe("sub_1", "SKU-1", "ana@example.com", NOW)
    opportunity = back_in_stock_opportunity(subscription, Money.of("12.50"))
    redacted = redact_opportunity(opportunity)
    assert redacted == opportunity.model_copy(update={"email": None})
    assert redact_opportunity(redacted) is None


def test_a_converted_wish_keeps_its_sale_and_the_wish_it_goes_back_to() -> None:
    subscription = subscribe("sub_1", "SKU-1", "ana@example.com", NOW)
    wish = subscription.model_copy(update={"quantity": 2})
    opportunity = back_in_stock_opportunity(wish, Money.of("18.50"))
    opportunity.notify(NOW)
    opportunity.convert("ord_1", NOW, Money.of("18.50"))
    redacted = redact_opportunity(opportunity)
    assert redacted is not None and redacted.email is None
    assert redacted.value == "18.50"
    redacted.undo_conversion(NOW)
    assert redacted.value == "37.00"  # what the wish would bring, kept through the erasure
