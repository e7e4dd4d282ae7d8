"""Satisfaction surveys: the signed link's page and answer, and CSAT for ops."""

from __future__ import annotations

import secrets
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import BaseModel

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.pages import html_page, link_gone_page
from chalicelib.domain.errors import NotFound
from chalicelib.domain.surveys import SatisfactionReport, SurveyAnswer
from chalicelib.rendering import inline_script, render
from chalicelib.services import surveys as survey_service

surveys = Blueprint(__name__)


class SurveyStateResponse(BaseModel):
    """``GET /surveys/{token}`` as JSON."""

    order_id: str
    answered: bool
    open: bool
    score: int | None


class SurveyAnsweredResponse(BaseModel):
    """``POST /surveys/{token}``: the answer kept."""

    order_id: str
    score: int
    comment: str | None
    answered_at: str


def _wants_json(call: Call) -> bool:
    accept = (call.header("accept") or "").lower()
    return "application/json" in accept and "text/html" not in accept


@endpoint(
    surveys,
    "/surveys/{token}",
    "GET",
    summary="The satisfaction survey of a delivered order (HTML form; JSON with Accept: "
    "application/json)",
    response=SurveyStateResponse,
    tag="surveys",
    html=True,
    access=Access.SIGNED,
)
def survey_page(call: Call, token: str) -> Any:
    """The signed token is the only credential; any other is 404."""
    try:
        state = survey_service.survey_state(token, call.deps)
    except NotFound:
        gone = None if _wants_json(call) else link_gone_page(call.header("accept"))
        if gone is None:
            raise
        return gone
    if _wants_json(call):
        return SurveyStateResponse.model_validate(state).model_dump(mode="json")
    nonce = secrets.token_urlsafe(16)
    html = render(
        "survey.html.j2",
        state=state,
        locale=state["locale"] if state["locale"] in ("es", "en") else "es",
        nonce=nonce,
        script=inline_script("survey.js"),
    )
    return html_page(html, nonce, style_attributes=True)


@endpoint(
    surveys,
    "/surveys/{token}",
    "POST",
    summary="Answer the survey: a score from 1 to 5 and an optional comment; once per order "
    "(409 the second time, or before delivery)",
    request=SurveyAnswer,
    response=SurveyAnsweredResponse,
    status=201,
    tag="surveys",
    access=Access.SIGNED,
    errors=(409,),
)
def answer_survey(call: Call, token: str) -> dict[str, Any]:
    """A forged token is 404 whatever the body; then the body is checked."""
    order = survey_service.order_of_token(token, call.deps)
    answer = call.parse(SurveyAnswer)
    response = survey_service.answer(order, answer, call.deps)
    return SurveyAnsweredResponse(
        order_id=response.subject.order_id,
        score=response.score,
        comment=response.comment,
        answered_at=response.answered_at.isoformat(),
    ).model_dump(mode="json")


@endpoint(
    surveys,
    "/analytics/satisfaction",
    "GET",
    summary="CSAT: answers, average score and share of 4-5 scores, by channel, carrier and "
    "store (kept as counters)",
    roles=("ops",),
    response=SatisfactionReport,
    tag="analytics",
)
def satisfaction(call: Call) -> dict[str, Any]:
    """Read from the counters the answers incremented."""
    return survey_service.report(call.deps).model_dump(mode="json")
