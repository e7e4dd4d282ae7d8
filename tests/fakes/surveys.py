"""In-memory ``SurveyStore``: one answer per order, counters added with it, all or
nothing."""

from __future__ import annotations

from chalicelib.domain.surveys import (
    SatisfactionIncrement,
    SatisfactionTally,
    SurveyResponse,
    apply_increments,
)


class FakeSurveyStore:
    """``SurveyStore`` in memory."""

    def __init__(self) -> None:
        self._answers: dict[str, SurveyResponse] = {}
        self._counters: dict[str, SatisfactionTally] = {}
        self._customers: dict[str, SatisfactionTally] = {}

    def record_survey(
        self,
        response: SurveyResponse,
        increments: list[SatisfactionIncrement],
        customer_id: str | None,
    ) -> bool:
        order_id = response.subject.order_id
        if order_id in self._answers:
            return False
        self._answers[order_id] = response
        self._counters = apply_increments(self._counters, increments)
        if customer_id is not None:
            mine = self._customers.get(customer_id, SatisfactionTally())
            self._customers[customer_id] = mine.plus(SatisfactionTally.of(response.score))
        return True

    def survey(self, order_id: str) -> SurveyResponse | None:
        return self._answers.get(order_id)

    def claim_survey(self, response: SurveyResponse, customer_id: str) -> bool:
        order_id = response.subject.order_id
        kept = self._answers.get(order_id)
        if kept is None or kept.subject.customer_id is not None:
            return False
        subject = kept.subject.model_copy(update={"customer_id": customer_id})
        self._answers[order_id] = kept.model_copy(update={"subject": subject})
        mine = self._customers.get(customer_id, SatisfactionTally())
        self._customers[customer_id] = mine.plus(SatisfactionTally.of(kept.score))
        return True

    def replace_survey(self, response: SurveyResponse) -> bool:
        order_id = response.subject.order_id
        if order_id not in self._answers:
            return False
        self._answers[order_id] = response.model_copy(deep=True)
        return True

    def satisfaction_counters(self) -> dict[str, SatisfactionTally]:
        return dict(self._counters)

    def customer_satisfaction(self, customer_id: str) -> SatisfactionTally:
        return self._customers.get(customer_id, SatisfactionTally())
