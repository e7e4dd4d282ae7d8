"""The customer's tracking page: HTML in the order's language, or JSON on request."""

import secrets
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.models import TrackingResponse
from chalicelib.api.pages import html_page, link_gone, prefers_json
from chalicelib.composition import Deps
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import NotFound
from chalicelib.domain.orders import Order
from chalicelib.presentation.track_forms import (
    FIELD_PATTERN,
    FormAction,
    FormNotice,
    FormOutcome,
    Reach,
    field_labels,
    order_form_notice,
)
from chalicelib.presentation.tracking_page import tracking_page
from chalicelib.presentation.wording import language_of
from chalicelib.rendering import inline_script, render
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.notify import order_reach
from chalicelib.services.self_service import actions_shown
from chalicelib.services.survey_links import survey_url_once_delivered
from chalicelib.services.tracking import form_token, order_for_token, tracking_view

tracking = Blueprint(__name__)


class TrackPageQuery(DeferredModel):
    """What the page's address carries back after one of its forms was posted (other
    parameters, a campaign's say, are ignored)."""

    model_config = ConfigDict(extra="ignore")

    form: FormAction | None = Field(default=None, description="The form that was posted")
    outcome: FormOutcome | None = Field(default=None, description="How it went")
    fields: str | None = Field(
        default=None, pattern=FIELD_PATTERN, max_length=200, description="Fields to check"
    )


def _notice(query: TrackPageQuery, order: Order, reach: Reach) -> FormNotice | None:
    if query.form is None or query.outcome is None:
        return None
    fields = query.fields.split(",") if query.fields else []
    return order_form_notice(order, query.form, query.outcome, fields, reach)


def _rated_score(order: Order, survey: str | None, deps: Deps) -> int | None:
    """The customer's score once they answered the order's survey (read only when the
    page would offer it)."""
    if survey is None:
        return None
    answer = deps.surveys.survey(order.order_id)
    return answer.score if answer else None


@endpoint(
    tracking,
    "/track/{token}",
    "GET",
    summary="Tracking page for the customer (HTML; JSON with Accept: application/json)",
    response=TrackingResponse,
    tag="tracking",
    html=True,
    access=Access.SIGNED,
    query=TrackPageQuery,
)
def track(call: Call, token: str) -> Any:
    """The signed token is the only credential."""
    query = call.query(TrackPageQuery)
    try:
        order = order_for_token(token, call.deps)
    except NotFound as dead:
        return link_gone(dead, call.header("accept"))
    # Read once for both: whether the customer was erased (one read of their record).
    erased = order_erased(order, call.deps)
    actions = actions_shown(order, call.deps, erased)
    survey = survey_url_once_delivered(order, erased, call.deps)
    if prefers_json(call.header("accept")):
        view = tracking_view(order, call.deps.clock(), call.deps.store.locations()) | {
            "actions": actions.codes(),
            "tickets_paused_until": actions.tickets_paused_until,
            "survey_url": survey,
        }
        return TrackingResponse.model_validate(view).model_dump(mode="json")
    locations = call.deps.store.locations()
    reach = order_reach(order, call.deps)
    page = tracking_page(
        order,
        actions,
        {location.location_id: location.name for location in locations},
        call.deps.clock(),
        {loc.location_id: f"{loc.name} ({loc.city})" for loc in locations if loc.pickup},
        {loc.location_id: loc.postal_code for loc in locations if loc.postal_code},
        locations,
        reach,
    )
    nonce = secrets.token_urlsafe(16)
    forms = {
        # Relative to the page (``/track/<token>``): right behind any API stage prefix.
        "base": f"{call.below_page(token)}forms",
        "csrf": form_token(token, call.deps.secrets.tracking_keys()),
        # One key per rendered form: a double tap acts once.
        "key": secrets.token_hex(16),
    }
    html = render(
        "tracking.html.j2",
        view=page,
        nonce=nonce,
        script=inline_script("keys.js", "tracking.js"),
        forms=forms,
        notice=_notice(query, order, reach),
        # The survey the delivered email links, on the page too (a probe: only its JSON);
        # once answered, the page thanks rather than offering a form that says "answered".
        survey_url=survey,
        rated_score=_rated_score(order, survey, call.deps),
        field_words=field_labels(language_of(order.contact.locale)),
    )
    # The header and footer are styled inline, as in the emails (partials/brand.html.j2);
    # the forms post to this site without JavaScript (api/track_forms.py).
    return html_page(html, nonce, style_attributes=True, forms=True)
