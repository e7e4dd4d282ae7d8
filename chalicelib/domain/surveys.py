"""Satisfaction surveys: one answer per delivered order, a complaint ticket for a low
score, and CSAT kept as counters by channel, carrier and store (a projection that each
answer increments once), so ``GET /analytics/satisfaction`` reads counters, never scans."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError, field_validator

from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import InvalidRequest, SurveyAlreadyAnswered
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import Integer, Text

MIN_SCORE, MAX_SCORE = 1, 5
MAX_COMMENT_LENGTH = 1000
# A score of 1 or 2 opens a complaint; 4 and 5 count as satisfied (CSAT).
LOW_SCORES = frozenset({1, 2})
SATISFIED_SCORES = frozenset({4, 5})
# Surveys are answered on the web page the signed link opens.
SURVEY_CHANNEL = "web"
# Fulfillments that reached the customer (a return came after the delivery).
_REACHED = frozenset({"DELIVERED", "RETURNED"})

# A JSON integer as the schema counts them (5 and 5.0), never true or "5".
Score = Annotated[Integer, Field(ge=MIN_SCORE, le=MAX_SCORE)]


class SurveyAnswer(DeferredModel):
    """``POST /surveys/{token}``: a score from 1 to 5 and, optionally, a comment."""

    model_config = ConfigDict(extra="forbid")

    score: Score
    comment: Text | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)

    @field_validator("comment")
    @classmethod
    def _blank_is_none(cls, comment: str | None) -> str | None:
        # Surrounding space is no comment; an empty box is no comment at all.
        if comment is None:
            return None
        return comment.strip() or None


def parse_answer(body: Any) -> SurveyAnswer:
    """The answer, or ``InvalidRequest`` (422) naming each offending field (``score``,
    ``comment``)."""
    try:
        return SurveyAnswer.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest.from_validation(exc) from exc


class SurveySubject(DeferredModel):
    """What an answer is about: the order and the dimensions CSAT is kept by."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str | None = None
    channel: str
    # The carriers that delivered its parcels and the stores the customer dealt with (the
    # store it was bought in, the stores pick-ups were collected from), sorted, unique.
    carriers: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()


def survey_open(status: str) -> bool:
    """An order's survey may be answered once it was delivered (a return since does not
    take the customer's say away)."""
    return status in _REACHED


def subject_of(order: Order) -> SurveySubject:
    """The survey subject of an order."""
    carriers = {
        f.shipment.carrier
        for f in order.fulfillments
        if f.shipment is not None and f.status.value in _REACHED
    }
    stores = {
        f.location_id
        for f in order.fulfillments
        if f.type is FulfillmentType.PICKUP and f.status.value in _REACHED
    }
    if order.store_id:
        stores.add(order.store_id)
    return SurveySubject(
        order_id=order.order_id,
        customer_id=order.customer_id,
        channel=order.channel.value,
        carriers=tuple(sorted(carriers)),
        stores=tuple(sorted(stores)),
    )


class SurveyResponse(DeferredModel):
    """One order's answer, with what it is about."""

    subject: SurveySubject
    score: Score
    comment: str | None = None
    answered_at: datetime

    def interaction(self) -> dict[str, Any]:
        """The answer as an interaction on the customer's 360 (``"type": "survey"``)."""
        summary = f"Satisfaction {self.score}/{MAX_SCORE}"
        if self.comment:
            summary += f": {self.comment}"
        return {
            "type": "survey",
            "channel": SURVEY_CHANNEL,
            "at": self.answered_at.isoformat(),
            "summary": summary,
            "order_id": self.subject.order_id,
            "score": self.score,
        }


def answer_survey(
    subject: SurveySubject,
    answer: SurveyAnswer,
    at: datetime,
    existing: SurveyResponse | None = None,
) -> SurveyResponse:
    """Record the order's one answer; ``SurveyAlreadyAnswered`` (409) when ``existing``
    holds an earlier one (the caller's conditional write makes that race-free)."""
    if existing is not None:
        raise SurveyAlreadyAnswered(
            f"the survey of order {subject.order_id} was answered on "
            f"{existing.answered_at.isoformat()}"
        )
    return SurveyResponse(
        subject=subject, score=answer.score, comment=answer.comment, answered_at=at
    )


# The complaint a low score opens has this fixed id prefix, the order id after it.
SURVEY_COMPLAINT_PREFIX = "tkt_survey_"


class ComplaintTicket(DeferredModel):
    """The complaint a low score opens, for ``services.tickets.open_ticket``; its fixed id
    keeps a redelivered answer from opening a second one. Its subject and description are
    words the customer reads (in the ticket emails): the service writes them in the order's
    language from these facts."""

    ticket_id: str
    customer_id: str | None  # None for an anonymous store order
    type: str = "complaint"
    order_id: str
    channel: str = SURVEY_CHANNEL
    score: int
    max_score: int = MAX_SCORE
    comment: str | None = None


def complaint_for(response: SurveyResponse) -> ComplaintTicket | None:
    """A complaint ticket linked to the order for a score of 1 or 2 (with the order's
    customer, or none for an anonymous store order: the complaint is still followed up);
    None otherwise."""
    subject = response.subject
    if response.score not in LOW_SCORES:
        return None
    return ComplaintTicket(
        ticket_id=complaint_ticket_id(subject.order_id),
        customer_id=subject.customer_id,
        order_id=subject.order_id,
        score=response.score,
        comment=response.comment or None,
    )


def complaint_ticket_id(order_id: str) -> str:
    """The id of the complaint an order's low score opens (one per order)."""
    return f"{SURVEY_COMPLAINT_PREFIX}{order_id}"[:64]


def is_survey_complaint(ticket_id: str) -> bool:
    """Whether a ticket is the complaint a low survey score opened."""
    return ticket_id.startswith(SURVEY_COMPLAINT_PREFIX)


class SatisfactionTally(DeferredModel):
    """Counts that CSAT figures are computed from: answers, their sum, the satisfied."""

    model_config = ConfigDict(frozen=True)

    responses: int = 0
    score_sum: int = 0
    satisfied: int = 0

    @classmethod
    def of(cls, score: int) -> "SatisfactionTally":
        """One answer's counts."""
        return cls(responses=1, score_sum=score, satisfied=int(score in SATISFIED_SCORES))

    @classmethod
    def of_all(cls, scores: Iterable[int]) -> "SatisfactionTally":
        """The counts of these answers together."""
        tally = cls()
        for score in scores:
            tally = tally.plus(cls.of(score))
        return tally

    def plus(self, other: "SatisfactionTally") -> "SatisfactionTally":
        """Both tallies together."""
        return SatisfactionTally(
            responses=self.responses + other.responses,
            score_sum=self.score_sum + other.score_sum,
            satisfied=self.satisfied + other.satisfied,
        )

    @property
    def average(self) -> float | None:
        """The mean score to 2 decimals; None with no answer (a customer's
        ``metrics.satisfaction`` too)."""
        return round(self.score_sum / self.responses, 2) if self.responses else None

    @property
    def csat_pct(self) -> float | None:
        """The share of 4 and 5 scores, in percent to 1 decimal; None with no answer."""
        return round(100 * self.satisfied / self.responses, 1) if self.responses else None

    def figures(self) -> "SatisfactionFigures":
        """The figures the API shows."""
        return SatisfactionFigures(
            responses=self.responses, average=self.average, csat_pct=self.csat_pct
        )


class Dimension(StrEnum):
    """What CSAT is kept by."""

    ALL = "all"
    CHANNEL = "channel"
    CARRIER = "carrier"
    STORE = "store"


class SatisfactionIncrement(DeferredModel):
    """What one answer adds to one counter."""

    dimension: Dimension
    key: str
    tally: SatisfactionTally

    @property
    def counter_id(self) -> str:
        """The counter's id: ``all``, or ``<dimension>#<key>`` (``carrier#rapido``)."""
        if self.dimension is Dimension.ALL:
            return Dimension.ALL.value
        return f"{self.dimension.value}#{self.key}"


def projection_increments(response: SurveyResponse) -> list[SatisfactionIncrement]:
    """The counters one answer increments: the total, its channel, each carrier that
    delivered and each store the customer dealt with."""
    tally = SatisfactionTally.of(response.score)
    subject = response.subject
    increments = [
        SatisfactionIncrement(dimension=Dimension.ALL, key="all", tally=tally),
        SatisfactionIncrement(dimension=Dimension.CHANNEL, key=subject.channel, tally=tally),
    ]
    increments += [
        SatisfactionIncrement(dimension=Dimension.CARRIER, key=carrier, tally=tally)
        for carrier in subject.carriers
    ]
    increments += [
        SatisfactionIncrement(dimension=Dimension.STORE, key=store, tally=tally)
        for store in subject.stores
    ]
    return increments


def apply_increments(
    counters: Mapping[str, SatisfactionTally], increments: Iterable[SatisfactionIncrement]
) -> dict[str, SatisfactionTally]:
    """The counters after the increments (what the store's atomic ADDs amount to)."""
    result = dict(counters)
    for increment in increments:
        current = result.get(increment.counter_id, SatisfactionTally())
        result[increment.counter_id] = current.plus(increment.tally)
    return result


class SatisfactionFigures(DeferredModel):
    """Answers, mean score and CSAT for one slice."""

    responses: int
    average: float | None
    csat_pct: float | None


class SatisfactionReport(DeferredModel):
    """``GET /analytics/satisfaction``."""

    responses: int
    average: float | None
    csat_pct: float | None
    by_channel: dict[str, SatisfactionFigures]
    by_carrier: dict[str, SatisfactionFigures]
    by_store: dict[str, SatisfactionFigures]


def satisfaction_report(counters: Mapping[str, SatisfactionTally]) -> SatisfactionReport:
    """The analytics document from the counters by id (``all``, ``channel#web``...)."""
    total = counters.get(Dimension.ALL.value, SatisfactionTally())
    slices: dict[str, dict[str, SatisfactionFigures]] = {
        Dimension.CHANNEL.value: {},
        Dimension.CARRIER.value: {},
        Dimension.STORE.value: {},
    }
    for counter_id in sorted(counters):
        dimension, _, key = counter_id.partition("#")
        if key and dimension in slices and counters[counter_id].responses:
            slices[dimension][key] = counters[counter_id].figures()
    return SatisfactionReport(
        responses=total.responses,
        average=total.average,
        csat_pct=total.csat_pct,
        by_channel=slices[Dimension.CHANNEL.value],
        by_carrier=slices[Dimension.CARRIER.value],
        by_store=slices[Dimension.STORE.value],
    )
