"""Survey answers and CSAT counters: the answer is written once, and in the same
transaction every counter it concerns is incremented (ADD), so the counters count each
answer exactly once and ``GET /analytics/satisfaction`` reads one small partition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import Table, TransactionCancelled
from chalicelib.domain.surveys import SatisfactionIncrement, SatisfactionTally, SurveyResponse

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_ADD = "ADD responses :responses, score_sum :score_sum, satisfied :satisfied"


def _tally(item: dict[str, Any] | None) -> SatisfactionTally:
    if item is None:
        return SatisfactionTally()
    return SatisfactionTally(
        responses=int(item.get("responses", 0)),
        score_sum=int(item.get("score_sum", 0)),
        satisfied=int(item.get("satisfied", 0)),
    )


def _counts(tally: SatisfactionTally) -> dict[str, Any]:
    return {
        ":responses": tally.responses,
        ":score_sum": tally.score_sum,
        ":satisfied": tally.satisfied,
    }


class SurveyRepository:
    """``SurveyStore`` on the table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.table = Table(client, table_name)

    def record_survey(
        self,
        response: SurveyResponse,
        increments: list[SatisfactionIncrement],
        customer_id: str | None,
    ) -> bool:
        """The answer once, with its increments, all or nothing."""
        order_id = response.subject.order_id
        writes = [
            self.table.put(
                keys.survey(order_id) | {"response": response.model_dump(mode="json")},
                "attribute_not_exists(pk)",
            )
        ]
        writes += [
            self.table.update(
                keys.satisfaction_counter(increment.counter_id),
                _ADD,
                None,
                _counts(increment.tally),
            )
            for increment in increments
        ]
        if customer_id is not None:
            tally = SatisfactionTally.of(response.score)
            writes.append(
                self.table.update(
                    keys.customer_satisfaction(customer_id), _ADD, None, _counts(tally)
                )
            )
        try:
            self.table.transact(writes)
        except TransactionCancelled as exc:
            if exc.failed_on(keys.survey(order_id)):
                return False
            raise
        return True

    def survey(self, order_id: str) -> SurveyResponse | None:
        """The order's answer, if any."""
        item = self.table.get(keys.survey(order_id))
        return SurveyResponse.model_validate(item["response"]) if item is not None else None

    def claim_survey(self, response: SurveyResponse, customer_id: str) -> bool:
        """The customer named on the answer, on the condition that it names none yet, and
        their tally incremented in the same transaction: counted once however often the
        claim's event is delivered."""
        tally = SatisfactionTally.of(response.score)
        return self.table.transact_if(
            [
                self.table.update(
                    keys.survey(response.subject.order_id),
                    "SET #response.subject.customer_id = :customer",
                    "attribute_exists(pk) AND attribute_type(#response.subject.customer_id, :null)",
                    {":customer": customer_id, ":null": "NULL"},
                    {"#response": "response"},
                ),
                self.table.update(
                    keys.customer_satisfaction(customer_id), _ADD, None, _counts(tally)
                ),
            ]
        )

    def replace_survey(self, response: SurveyResponse) -> bool:
        """Over the existing answer only (the counters are not touched)."""
        order_id = response.subject.order_id
        return self.table.transact_if(
            [
                self.table.put(
                    keys.survey(order_id) | {"response": response.model_dump(mode="json")},
                    "attribute_exists(pk)",
                )
            ]
        )

    def satisfaction_counters(self) -> dict[str, SatisfactionTally]:
        """Every counter, from the one partition."""
        page = self.table.partition(keys.SATISFACTION_PK)
        return {str(item["sk"]): _tally(item) for item in page.items}

    def customer_satisfaction(self, customer_id: str) -> SatisfactionTally:
        """The customer's tally."""
        return _tally(self.table.get(keys.customer_satisfaction(customer_id)))
