"""Satisfaction surveys: the signed link's page state, the order's one answer (an
interaction on the 360, a complaint for a low score, the CSAT counters incremented with
it), and the analytics read from those counters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.customer_actions import can_open_ticket
from chalicelib.domain.customers import ProfileState
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    NotFound,
    SurveyAlreadyAnswered,
)
from chalicelib.domain.surveys import (
    SatisfactionReport,
    SurveyAnswer,
    SurveyResponse,
    answer_survey,
    complaint_for,
    complaint_ticket_id,
    projection_increments,
    satisfaction_report,
    subject_of,
    survey_open,
)
from chalicelib.services import tickets
from chalicelib.services.after_sale_records import order_customer, order_erased
from chalicelib.services.survey_links import order_id_of

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.domain.orders import Order
    from chalicelib.services.event_reads import EventReads


def order_of_token(token: str, deps: Deps) -> Order:
    order_id = order_id_of(token, deps)
    try:
        return deps.store.get_order(order_id)
    except NotFound as exc:  # a link for an order that is gone: as a forged one
        raise NotFound("no such survey link", field="token") from exc


def survey_state(token: str, deps: Deps) -> dict[str, Any]:
    """What the survey page shows: the order, whether it was answered, and whether it can
    be answered now (once delivered)."""
    order = order_of_token(token, deps)
    answered = deps.surveys.survey(order.order_id)
    erased = order_erased(order, deps)
    return {
        "order_id": order.order_id,
        "answered": answered is not None,
        "open": answered is None and survey_open(order.status.value) and not erased,
        "erased": erased,
        "score": answered.score if answered else None,
        "locale": order.contact.locale,
        # Whether the order's page takes questions, which the footer invites (probe 221:
        # an unclaimed till receipt's survey said to write from a page that cannot).
        "page_open": can_open_ticket(order.customer_id) and not erased,
    }


def _customer_of(order: Order, deps: Deps) -> tuple[str | None, bool]:
    """The customer the order's record stands for now, and whether they were erased: one
    read of the merge chain for both."""
    owner, profile = order_customer(order, deps)
    return owner, profile.get("state") == ProfileState.ERASED


def _follow_up(order: Order, response: SurveyResponse, customer_id: str | None, deps: Deps) -> None:
    """The answer on the customer's 360 and, for a low score, the complaint (in the
    order's language: the customer reads it), linked to the order even when it has no
    customer (an anonymous store order). Both keyed by the order, so running this again
    (a retried request) adds nothing."""
    if customer_id is not None:
        _on_the_record(response, customer_id, deps)
    _open_complaint(order, response, customer_id, deps)


def _open_complaint(
    order: Order, response: SurveyResponse, customer_id: str | None, deps: Deps
) -> None:
    """For a low score, the complaint about the order (on ``customer_id``'s record)."""
    complaint = complaint_for(
        response.model_copy(
            update={"subject": response.subject.model_copy(update={"customer_id": customer_id})}
        )
    )
    if complaint is not None:
        subject, description = tickets.words_for(
            "survey_complaint",
            order,
            score=complaint.score,
            max_score=complaint.max_score,
            comment=complaint.comment,
        )
        tickets.open_ticket(
            complaint.customer_id,
            complaint.type,
            subject,
            description,
            complaint.order_id,
            complaint.channel,
            deps,
            ticket_id=complaint.ticket_id,
        )


def _follow_up_now(order_id: str, response: SurveyResponse, deps: Deps) -> None:
    """``_follow_up`` for the order's customer as it is now: an anonymous store order may
    be claimed while its answer is recorded (a re-probe: the answer read the order before
    a claim, its complaint was then refused as not the claimant's, and no complaint was
    ever opened). A claim only ever names a customer, so a second look settles it."""
    for _ in range(2):
        order = deps.store.get_order(order_id)
        customer_id, erased = _customer_of(order, deps)
        if erased:
            return  # nothing more is kept of them; the erasure redacts what was
        if customer_id is not None and response.subject.customer_id is not None:
            _follow_up(order, response, customer_id, deps)
            return
        if customer_id is not None:
            _bring_to(order, response, customer_id, deps)
            return
        try:
            _follow_up(order, response, None, deps)
            return
        except NotFound:
            continue  # claimed between the read and the complaint
    raise ConcurrentModification(f"order {order_id} kept changing; answer again")


def _bring_to(order: Order, response: SurveyResponse, customer_id: str, deps: Deps) -> bool:
    """The answer given while the order had no customer, on the record of the customer who
    claimed it since: the interaction, their tally (once: the answer is named theirs in the
    same write) and the complaint a low score opened, re-pointed at them and listed (or
    opened for them, should the answer's own follow-up not have run yet). True if the
    tally took it."""
    counted = response.subject.customer_id is None and deps.surveys.claim_survey(
        response, customer_id
    )
    _on_the_record(response, customer_id, deps)
    complaint = deps.customers.get_ticket(complaint_ticket_id(order.order_id))
    if complaint is None:
        _open_complaint(order, response, customer_id, deps)
    elif complaint.customer_id is None:
        complaint.customer_id = customer_id
        complaint.customer_unvouched = order.customer_unvouched
        complaint.addressed_on = None if order.customer_unvouched else customer_id
        deps.customers.save_ticket(complaint)  # versioned: a racing change is retried
    return counted


def _on_the_record(response: SurveyResponse, customer_id: str, deps: Deps) -> None:
    """The answer as an interaction on the customer's 360, keyed by the order: once."""
    order_id = response.subject.order_id
    interaction = response.interaction() | {"interaction_id": f"survey-{order_id}"}
    deps.customers.add_interaction(customer_id, interaction)


def carry_to_claimant(event: dict[str, Any], deps: Deps, reads: EventReads) -> bool:
    """When an anonymous store order is claimed, the survey its buyer answered before goes
    with it to the claimant's record: the answer's interaction, their tally
    (``metrics.satisfaction``) and the complaint a low score opened (a probe found them on
    no record, so the erasure never redacted the complaint's comment). Each part is
    written once however often the event is delivered; True if the tally took it."""
    if event.get("type") != "order.claimed" or not event.get("order_id"):
        return False
    order = reads.order(str(event["order_id"]))
    response = deps.surveys.survey(order.order_id)
    if response is None or order.customer_id is None:
        return False
    customer_id, erased = _customer_of(order, deps)
    if customer_id is None or erased:
        return False  # the erasure redacts the complaint where it is
    return _bring_to(order, response, customer_id, deps)


def _erased(order: Order) -> Conflict:
    return Conflict(
        f"the customer of order {order.order_id} was erased: the survey keeps no answer",
        field="token",
    )


def refuse_if_erased(order: Order, deps: Deps) -> None:
    """``Conflict`` once the order's customer was erased: a retried answer is not replayed
    with their score and comment."""
    if order_erased(order, deps):
        raise _erased(order)


def answer(order: Order, parsed: SurveyAnswer, deps: Deps) -> SurveyResponse:
    """Record the order's one answer: ``Conflict`` (409) before delivery,
    ``SurveyAlreadyAnswered`` (409) the second time, ``Conflict`` (409, nothing kept) once
    the customer was erased."""
    customer_id, erased = _customer_of(order, deps)
    existing = deps.surveys.survey(order.order_id)
    if existing is not None:
        if not erased:
            _follow_up_now(order.order_id, existing, deps)  # finish what a failed try left
        answer_survey(existing.subject, parsed, deps.clock(), existing)
    if erased:
        raise _erased(order)
    if not survey_open(order.status.value):
        raise Conflict(
            f"order {order.order_id} is {order.status.value}: rate it once delivered",
            field="token",
        )
    response = answer_survey(subject_of(order), parsed, deps.clock())
    if not deps.surveys.record_survey(response, projection_increments(response), customer_id):
        raise SurveyAlreadyAnswered(f"the survey of order {order.order_id} was answered")
    if customer_id is None:
        _follow_up_now(order.order_id, response, deps)
    else:
        _follow_up(order, response, customer_id, deps)
    return response


def report(deps: Deps) -> SatisfactionReport:
    """``GET /analytics/satisfaction``: read from the counters, never a scan."""
    return satisfaction_report(deps.surveys.satisfaction_counters())


def customer_satisfaction(customer_id: str, deps: Deps) -> float | None:
    """The customer's average score (``metrics.satisfaction``); None before any answer."""
    return deps.surveys.customer_satisfaction(customer_id).average
