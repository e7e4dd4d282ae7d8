"""The survey store, on the fake and on DynamoDB alike: one answer per order, counters
incremented with it exactly once."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.surveys import (
    SatisfactionTally,
    SurveyResponse,
    SurveySubject,
    projection_increments,
)
from tests.support.builders import NOW, new_id


def _response(score: int, **subject: Any) -> SurveyResponse:
    about = SurveySubject(
        order_id=new_id("ord"),
        customer_id=subject.pop("customer_id", None),
        channel=subject.pop("channel", "web"),
        carriers=subject.pop("carriers", ("rapido",)),
        stores=subject.pop("stores", ()),
    )
    return SurveyResponse(subject=about, score=score, comment="ok", answered_at=NOW)


def _record(surveys: Any, response: SurveyResponse) -> bool:
    increments = projection_increments(response)
    return bool(surveys.record_survey(response, increments, response.subject.customer_id))


def _delta(before: dict[str, SatisfactionTally], after: dict[str, SatisfactionTally]) -> dict:
    return {
        key: (
            after[key].responses - before.get(key, SatisfactionTally()).responses,
            after[key].score_sum - before.get(key, SatisfactionTally()).score_sum,
            after[key].satisfied - before.get(key, SatisfactionTally()).satisfied,
        )
        for key in after
        if after[key] != before.get(key)
    }


def test_a_second_answer_for_the_order_is_refused_and_counts_nothing(surveys: Any) -> None:
    customer_id = new_id("cus")
    first = _response(5, customer_id=customer_id)
    assert _record(surveys, first)
    before = surveys.satisfaction_counters()
    again = first.model_copy(update={"score": 1})
    assert not _record(surveys, again)
    assert surveys.satisfaction_counters() == before
    assert surveys.survey(first.subject.order_id) == first
    assert surveys.customer_satisfaction(customer_id) == SatisfactionTally.of(5)


def test_each_answer_adds_to_the_total_its_channel_carriers_and_stores(surveys: Any) -> None:
    # Counters are shared by the whole table: compare what each answer adds.
    before = surveys.satisfaction_counters()
    store = new_id("ST")
    assert _record(surveys, _response(4, channel="store", carriers=(), stores=(store,)))
    assert _record(surveys, _response(2, channel="store", carriers=(), stores=(store,)))
    added = _delta(before, surveys.satisfaction_counters())
    assert added == {
        "all": (2, 6, 1),
        "channel#store": (2, 6, 1),
        f"store#{store}": (2, 6, 1),
    }


def test_a_customer_tally_averages_their_own_answers_only(surveys: Any) -> None:
    mine, theirs = new_id("cus"), new_id("cus")
    for score in (5, 2):
        assert _record(surveys, _response(score, customer_id=mine))
    assert _record(surveys, _response(1, customer_id=theirs))
    assert surveys.customer_satisfaction(mine).average == 3.5
    assert surveys.customer_satisfaction(new_id("cus")) == SatisfactionTally()
    assert surveys.survey(new_id("ord")) is None


def test_an_answer_written_over_keeps_the_counters_and_needs_an_answer(surveys: Any) -> None:
    customer_id = new_id("cus")
    answered = _response(4, customer_id=customer_id)
    assert _record(surveys, answered)
    before = surveys.satisfaction_counters()
    without_comment = answered.model_copy(update={"comment": None})

    assert surveys.replace_survey(without_comment)
    assert surveys.replace_survey(without_comment)  # asking again changes nothing
    assert not surveys.replace_survey(_response(3))

    assert surveys.survey(answered.subject.order_id) == without_comment
    assert surveys.satisfaction_counters() == before
    assert surveys.customer_satisfaction(customer_id) == SatisfactionTally.of(4)


def test_a_claimed_answer_names_its_customer_and_joins_their_tally_once(surveys: Any) -> None:
    anonymous = _response(2)
    assert _record(surveys, anonymous)
    before = surveys.satisfaction_counters()
    claimant = new_id("cus")

    assert surveys.claim_survey(anonymous, claimant)
    assert not surveys.claim_survey(anonymous, claimant)  # the claim's event again
    assert not surveys.claim_survey(anonymous, new_id("cus"))

    assert surveys.survey(anonymous.subject.order_id).subject.customer_id == claimant
    assert surveys.customer_satisfaction(claimant) == SatisfactionTally.of(2)
    assert surveys.satisfaction_counters() == before  # counted once, at the answer


def test_no_answer_or_one_already_a_customer_s_cannot_be_claimed(surveys: Any) -> None:
    owner, claimant = new_id("cus"), new_id("cus")
    owned = _response(5, customer_id=owner)
    assert _record(surveys, owned)
    assert not surveys.claim_survey(owned, claimant)
    assert not surveys.claim_survey(_response(4), claimant)  # never answered
    assert surveys.customer_satisfaction(claimant) == SatisfactionTally()
    assert surveys.survey(owned.subject.order_id).subject.customer_id == owner
