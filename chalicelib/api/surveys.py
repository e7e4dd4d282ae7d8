"""Satisfaction surveys: the signed link's page and answer, and CSAT for ops."""

import secrets
from typing import Any, Literal

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field, ValidationError

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, Words, endpoint, see_other
from chalicelib.api.pages import html_page, link_gone, link_gone_page, prefers_json
from chalicelib.api.track_forms import read_form, refuse_other_sites
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import Forbidden, NotFound, OrquestaError
from chalicelib.domain.requests import Strict, Text
from chalicelib.domain.surveys import MAX_COMMENT_LENGTH, SatisfactionReport, SurveyAnswer
from chalicelib.rendering import inline_script, render
from chalicelib.services import surveys as survey_service
from chalicelib.services.tracking import form_token, form_token_valid

surveys = Blueprint(__name__)


class SurveyStateResponse(DeferredModel):
    """``GET /surveys/{token}`` as JSON."""

    order_id: str
    answered: bool
    open: bool
    score: int | None


class SurveyAnsweredResponse(DeferredModel):
    """``POST /surveys/{token}``: the answer kept."""

    order_id: str
    score: int
    comment: str | None
    answered_at: str


class SurveyPageQuery(DeferredModel):
    """How the page's plain form went (a phone without JavaScript posts it)."""

    model_config = ConfigDict(extra="ignore")

    outcome: Literal["done", "answered", "invalid", "invalid_comment", "closed"] | None = None


class SurveyForm(Strict):
    """``POST /surveys/{token}/form``: the survey as a plain HTML form; fields the page
    does not have are left out, as on the tracking page's forms."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    csrf: str = Field(min_length=1, max_length=80, description="The page's form token")
    score: str = Field(pattern=r"^[1-5]$")
    comment: Text | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)


def _wants_json(call: Call) -> bool:
    return prefers_json(call.header("accept"))


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
    query=SurveyPageQuery,
)
def survey_page(call: Call, token: str) -> Any:
    """The signed token is the only credential; any other is 404."""
    query = call.query(SurveyPageQuery)
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
        script=inline_script("keys.js", "survey.js"),
        form={
            "action": f"{call.below_page(token)}form",
            "csrf": form_token(token, call.deps.secrets.tracking_keys()),
        },
        outcome=query.outcome,
    )
    return html_page(html, nonce, style_attributes=True, forms=True)


@endpoint(
    surveys,
    "/surveys/{token}/form",
    "POST",
    summary="The survey page's form, for a browser without JavaScript: 303 back to the page",
    request=SurveyForm,
    status=303,
    tag="surveys",
    access=Access.SIGNED,
    errors=(403,),
    form=True,
)
def answer_survey_form(call: Call, token: str) -> Response:
    """As ``POST /surveys/{token}``, from a plain form: the page's form token proves it
    came from the page (403 otherwise); the page then says how it went."""
    try:
        order = survey_service.order_of_token(token, call.deps)
    except NotFound as dead:
        # A survey whose link was revoked while its page was open: the browser is
        # answered as on following a dead link, as the order page's forms are (probe 203).
        return link_gone(dead, call.header("accept"))
    refuse_other_sites(call, "the survey is posted from its own page")
    values = read_form(call, SurveyForm)
    given = values.get("csrf")
    keys = call.deps.secrets.tracking_keys()
    if not isinstance(given, str) or not form_token_valid(token, given, keys):
        raise Forbidden("the form did not come from the survey page", field="csrf")
    try:
        form = SurveyForm.model_validate(values)
        answer = SurveyAnswer(score=int(form.score), comment=form.comment)
    except ValidationError as refused:
        # The page names what to fix (probe 172: a comment too long or with control
        # characters was told "pick a score" beside the score chosen).
        fields = {str(error["loc"][0]) for error in refused.errors() if error["loc"]}
        outcome = "invalid" if "score" in fields or not fields else "invalid_comment"
        return _back_to_the_survey(token, outcome)
    try:
        survey_service.answer(order, answer, call.deps)
    except OrquestaError as exc:
        if exc.status != 409:
            raise
        answered = call.deps.surveys.survey(order.order_id) is not None
        return _back_to_the_survey(token, "answered" if answered else "closed")
    return _back_to_the_survey(token, "done")


def _back_to_the_survey(token: str, outcome: str) -> Response:
    return see_other(f"../{token}?outcome={outcome}")


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
    optional_headers=(IDEMPOTENCY_HEADER,),
    access=Access.SIGNED,
    errors=(409,),
)
def answer_survey(call: Call, token: str) -> dict[str, Any]:
    """A forged token is 404 whatever the body; then the body is checked. A retry with the
    first answer's Idempotency-Key replays its 201 (another answer is still 409)."""
    order = survey_service.order_of_token(token, call.deps)
    key = call.idempotency_key(required=False)
    answer = call.parse(SurveyAnswer)

    def answered() -> dict[str, Any]:
        response = survey_service.answer(order, answer, call.deps)
        return SurveyAnsweredResponse(
            order_id=response.subject.order_id,
            score=response.score,
            comment=response.comment,
            answered_at=response.answered_at.isoformat(),
        ).model_dump(mode="json")

    def comment(_kept: dict[str, Any]) -> dict[str, Any]:
        response = call.deps.surveys.survey(order.order_id)
        return {"comment": response.comment if response is not None else None}

    return call.once(
        call.key_scope("surveys", order.order_id),
        key,
        answer,
        answered,
        lambda _first: survey_service.refuse_if_erased(order, call.deps),
        Words(("comment",), comment),
    )


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
