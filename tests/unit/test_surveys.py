"""Satisfaction: validated answers, one per order, complaints for low scores, and CSAT
kept as counters by channel, carrier and store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidRequest, SurveyAlreadyAnswered
from chalicelib.domain.orders import Channel, FulfillmentType
from chalicelib.domain.surveys import (
    SatisfactionTally,
    SurveyAnswer,
    SurveyResponse,
    SurveySubject,
    answer_survey,
    apply_increments,
    complaint_for,
    is_survey_complaint,
    parse_answer,
    projection_increments,
    satisfaction_report,
    subject_of,
    survey_open,
)
from tests.support.builders import (
    NOW,
    STORE_SOL,
    WAREHOUSE,
    allocate,
    delivered,
    fulfillment_id,
    line,
    order,
    pickup,
    reserved,
    shipment,
)

WEB = SurveySubject(order_id="ord_web", customer_id="cus_1", channel="web", carriers=("rapido",))


def answered(
    score: int, subject: SurveySubject = WEB, comment: str | None = None
) -> SurveyResponse:
    return answer_survey(subject, SurveyAnswer(score=score, comment=comment), NOW)


def problem_fields(body: Any) -> list[str]:
    with pytest.raises(InvalidRequest) as refused:
        parse_answer(body)
    assert refused.value.status == 422
    return [field for field, _ in refused.value.field_errors()]


# --- the answer -----------------------------------------------------------------------


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_scores_one_to_five_are_answers(score: int) -> None:
    assert parse_answer({"score": score}).score == score


def test_a_score_written_as_a_whole_float_is_the_integer_the_schema_counts_it() -> None:
    # JSON Schema's integers include 5.0: a schema-valid body is not refused (a probe).
    answer = parse_answer({"score": 5.0})
    assert answer.score == 5 and type(answer.score) is int


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, 6.0, "5", True, None])
def test_anything_else_is_refused_naming_score(score: object) -> None:
    assert problem_fields({"score": score}) == ["score"]


def test_a_missing_score_is_named_too() -> None:
    assert problem_fields({"comment": "great"}) == ["score"]


def test_a_comment_up_to_1000_characters_is_kept_trimmed() -> None:
    assert parse_answer({"score": 5, "comment": "ñ" * 1000}).comment == "ñ" * 1000
    assert parse_answer({"score": 5, "comment": "  rápido  "}).comment == "rápido"
    assert parse_answer({"score": 5, "comment": "   "}).comment is None
    assert problem_fields({"score": 5, "comment": "x" * 1001}) == ["comment"]


def test_unknown_fields_and_non_objects_are_refused() -> None:
    assert problem_fields({"score": 5, "stars": 5}) == ["stars"]
    assert problem_fields([5]) == ["body"]


def test_one_answer_per_order() -> None:
    first = answered(4)
    with pytest.raises(SurveyAlreadyAnswered) as second:
        answer_survey(WEB, SurveyAnswer(score=1), NOW + timedelta(minutes=1), existing=first)
    assert second.value.status == 409


def test_the_survey_opens_once_the_order_was_delivered() -> None:
    assert survey_open("DELIVERED") and survey_open("RETURNED")
    assert not any(survey_open(s) for s in ("ACCEPTED", "SHIPPED", "CANCELLED", "REJECTED"))


def test_the_answer_is_an_interaction_on_the_customer_s_360() -> None:
    interaction = answered(2, comment="llegó roto").interaction()
    assert interaction == {
        "type": "survey",
        "channel": "web",
        "at": NOW.isoformat(),
        "summary": "Satisfaction 2/5: llegó roto",
        "order_id": "ord_web",
        "score": 2,
    }


# --- complaints -----------------------------------------------------------------------


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_score_opens_a_complaint_linked_to_the_order(score: int) -> None:
    ticket = complaint_for(answered(score, comment="never again"))
    assert ticket is not None
    assert (ticket.type, ticket.order_id, ticket.customer_id) == ("complaint", "ord_web", "cus_1")
    assert (ticket.score, ticket.max_score, ticket.comment) == (score, 5, "never again")
    assert ticket.ticket_id == "tkt_survey_ord_web"  # fixed: a redelivery opens no second one


@pytest.mark.parametrize("score", [3, 4, 5])
def test_other_scores_open_nothing(score: int) -> None:
    assert complaint_for(answered(score)) is None


def test_an_anonymous_orders_low_score_opens_a_complaint_with_no_customer() -> None:
    anonymous = WEB.model_copy(update={"customer_id": None})
    complaint = complaint_for(answered(1, anonymous))
    assert complaint is not None
    assert (complaint.type, complaint.order_id, complaint.customer_id) == (
        "complaint",
        "ord_web",
        None,
    )
    ticket = complaint_for(answered(1))
    assert ticket is not None and ticket.comment is None
    assert is_survey_complaint(ticket.ticket_id)
    assert not is_survey_complaint("tkt_late_ord_web_F1")


# --- what the answer is about ----------------------------------------------------------


def test_a_delivered_web_order_is_about_its_channel_and_carrier() -> None:
    placed = delivered()
    placed.customer_id = "cus_9"
    subject = subject_of(placed)
    assert subject == SurveySubject(
        order_id=placed.order_id, customer_id="cus_9", channel="web", carriers=("rapido",)
    )


def test_a_collected_pickup_counts_for_its_store_and_a_store_order_for_its_store() -> None:
    lines = [line("TSHIRT-BLK-M", 1), pickup("MUG-WHT", 1)]
    placed = reserved(
        lines, [allocate("TSHIRT-BLK-M", WAREHOUSE, 1), allocate("MUG-WHT", STORE_SOL, 1)]
    )
    ship = fulfillment_id(placed, FulfillmentType.SHIP, WAREHOUSE)
    collect = fulfillment_id(placed, FulfillmentType.PICKUP, STORE_SOL)
    placed.dispatch_shipment(ship, shipment(), NOW)
    placed.ready_for_pickup(collect, "123456", NOW + timedelta(days=3), NOW)
    # Only what reached the customer counts.
    assert subject_of(placed).carriers == () and subject_of(placed).stores == ()
    placed.deliver(ship, NOW)
    placed.deliver(collect, NOW)
    assert subject_of(placed).carriers == ("rapido",)
    assert subject_of(placed).stores == (STORE_SOL,)
    till = order(channel=Channel.STORE)
    till.store_id = "ST-BCN"
    assert subject_of(till).stores == ("ST-BCN",)


# --- the projection and its read model -------------------------------------------------


def test_each_answer_increments_the_total_its_channel_carriers_and_stores() -> None:
    subject = SurveySubject(
        order_id="o", channel="store", carriers=("rapido", "lento"), stores=("ST-SOL",)
    )
    ids = [i.counter_id for i in projection_increments(answered(5, subject))]
    assert ids == ["all", "channel#store", "carrier#rapido", "carrier#lento", "store#ST-SOL"]


def test_the_report_reads_counters_as_the_api_shows_them() -> None:
    web_fast = WEB
    web_slow = WEB.model_copy(update={"order_id": "o2", "carriers": ("lento",)})
    store = SurveySubject(order_id="o3", channel="store", stores=("ST-SOL",))
    counters: dict[str, SatisfactionTally] = {}
    for score, subject in [(5, web_fast), (4, web_fast), (1, web_slow), (3, store)]:
        counters = apply_increments(counters, projection_increments(answered(score, subject)))
    report = satisfaction_report(counters).model_dump(mode="json")
    assert report == {
        "responses": 4,
        "average": 3.25,
        "csat_pct": 50.0,
        "by_channel": {
            "store": {"responses": 1, "average": 3.0, "csat_pct": 0.0},
            "web": {"responses": 3, "average": 3.33, "csat_pct": 66.7},
        },
        "by_carrier": {
            "lento": {"responses": 1, "average": 1.0, "csat_pct": 0.0},
            "rapido": {"responses": 2, "average": 4.5, "csat_pct": 100.0},
        },
        "by_store": {"ST-SOL": {"responses": 1, "average": 3.0, "csat_pct": 0.0}},
    }


def test_no_answers_yet_reads_as_nothing_not_zero() -> None:
    assert satisfaction_report({}).model_dump() == {
        "responses": 0,
        "average": None,
        "csat_pct": None,
        "by_channel": {},
        "by_carrier": {},
        "by_store": {},
    }


def test_a_customer_s_satisfaction_is_their_average() -> None:
    tally = SatisfactionTally.of(5).plus(SatisfactionTally.of(2))
    assert tally.average == 3.5 and tally.csat_pct == 50.0


@given(st.lists(st.integers(1, 5), max_size=60))
def test_property_counters_agree_with_the_answers(scores: list[int]) -> None:
    """Whatever the answers, the counters give the same figures as computing them from
    the answers themselves (which the API never does)."""
    counters: dict[str, SatisfactionTally] = {}
    for index, score in enumerate(scores):
        subject = WEB.model_copy(update={"order_id": f"o{index}"})
        counters = apply_increments(counters, projection_increments(answered(score, subject)))
    report = satisfaction_report(counters)
    assert report.responses == len(scores)
    if scores:
        assert report.average == round(sum(scores) / len(scores), 2)
        satisfied = sum(1 for s in scores if s >= 4)
        assert report.csat_pct == round(100 * satisfied / len(scores), 1)
        assert report.by_channel["web"] == report.by_carrier["rapido"]
    else:
        assert report.average is None and report.by_channel == {}
