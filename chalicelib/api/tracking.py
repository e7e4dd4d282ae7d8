"""The customer's tracking page: HTML, or JSON on request."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response  # type: ignore[attr-defined]

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.models import TrackingResponse
from chalicelib.rendering import render
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
    view = tracking_view(order, call.deps.clock())
    view["survey_url"] = survey_url_once_delivered(order, call.deps)
    accept = (call.header("accept") or "").lower()
    if "application/json" in accept and "text/html" not in accept:
        return TrackingResponse.model_validate(view).model_dump(mode="json")
    html = render("tracking.html.j2", view=view)
    return Response(
        body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"}
    )
