"""The customer's tracking page: HTML in the order's language, or JSON on request."""

from __future__ import annotations

import secrets
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.models import TrackingResponse
from chalicelib.api.pages import html_page
from chalicelib.presentation.tracking_page import tracking_page
from chalicelib.rendering import inline_script, render
from chalicelib.services.self_service import actions_now
from chalicelib.services.survey_links import survey_url_once_delivered
from chalicelib.services.tracking import order_for_token, tracking_view

tracking = Blueprint(__name__)


@endpoint(
    tracking,
    "/track/{token}",
    "GET",
    summary="Tracking page for the customer (HTML; JSON with Accept: application/json)",
    response=TrackingResponse,
    tag="tracking",
    html=True,
    access=Access.SIGNED,
)
def track(call: Call, token: str) -> Any:
    """The signed token is the only credential."""
    order = order_for_token(token, call.deps)
    actions = actions_now(order, call.deps)
    accept = (call.header("accept") or "").lower()
    if "application/json" in accept and "text/html" not in accept:
        view = tracking_view(order, call.deps.clock()) | {
            "actions": actions.codes(),
            "survey_url": survey_url_once_delivered(order, call.deps),
        }
        return TrackingResponse.model_validate(view).model_dump(mode="json")
    locations = call.deps.store.locations()
    page = tracking_page(
        order,
        actions,
        {location.location_id: location.name for location in locations},
        call.deps.clock(),
        {loc.location_id: f"{loc.name} ({loc.city})" for loc in locations if loc.pickup},
    )
    nonce = secrets.token_urlsafe(16)
    html = render("tracking.html.j2", view=page, nonce=nonce, script=inline_script("tracking.js"))
    # The header and footer are styled inline, as in the emails (partials/brand.html.j2).
    return html_page(html, nonce, style_attributes=True)
