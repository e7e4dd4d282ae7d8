"""The satisfaction surveys' port: each order's one answer, the CSAT counters the answers
increment, and each customer's own tally (for ``metrics.satisfaction``)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.surveys import SatisfactionIncrement, SatisfactionTally, SurveyResponse


class SurveyStore(Protocol):
    """Survey answers and the counters kept from them."""

    def record_survey(
        self,
        response: SurveyResponse,
        increments: list[SatisfactionIncrement],
        customer_id: str | None,
    ) -> bool:
        """Keep the order's answer and add it to the counters and to the customer's tally,
        all or nothing; False (nothing written) when the order was answered already."""
        ...

    def survey(self, order_id: str) -> SurveyResponse | None:
        """The order's answer, if any."""
        ...

    def claim_survey(self, response: SurveyResponse, customer_id: str) -> bool:
        """The answer of an order without a customer, now the customer's (the order was
        claimed): named on the answer and added to their tally, once; False (nothing
        written) when the answer is gone or already names a customer."""
        ...

    def replace_survey(self, response: SurveyResponse) -> bool:
        """Write over the order's answer (an erasure takes the comment out), the counters
        untouched; False (nothing written) when the order has no answer."""
        ...

    def satisfaction_counters(self) -> dict[str, SatisfactionTally]:
        """Every CSAT counter by id (``all``, ``channel#web``, ``carrier#rapido``...)."""
        ...

    def customer_satisfaction(self, customer_id: str) -> SatisfactionTally:
        """The customer's own tally (empty when they never answered)."""
        ...
