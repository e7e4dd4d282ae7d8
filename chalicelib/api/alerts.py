"""``/ops/alerts``: what needed a person, newest first, and resolving it."""

from typing import Annotated, Any, Literal

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field

from chalicelib.api.http import Call, endpoint
from chalicelib.domain.alerts import AlertStatus, OpsAlert
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.requests import BlankIsAbsent, Text
from chalicelib.services import alerts as alerts_service

alerts = Blueprint(__name__)

MAX_LIMIT = 1000


class AlertsQuery(DeferredModel):
    """``GET /ops/alerts``."""

    # An empty ``?order_id=`` is no filter: the local server drops blank parameters, so the
    # schema must accept it too (schemathesis holds the two to the same answer).
    order_id: Annotated[str | None, BlankIsAbsent] = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="Only this order's alerts (empty: every order's)",
    )
    # Empty, like absent, is both.
    status: Annotated[Literal["open", "resolved", ""] | None, BlankIsAbsent] = Field(
        default=None, description="open or resolved; both if absent or empty"
    )
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT, description="Alerts listed, newest first")
    # Empty, like absent, is the first page.
    cursor: Annotated[str | None, BlankIsAbsent] = Field(
        default=None,
        pattern=f"^(?:{alerts_service.ALERT_ID_FORMAT})?$",
        description="``next_cursor`` of the page before (the alerts older than it)",
    )


class ResolveAlertRequest(DeferredModel):
    """``POST /ops/alerts/{alert_id}/resolve``; the body is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: Text | None = Field(default=None, max_length=500, description="What was done")


class AlertResponse(DeferredModel):
    """One ops alert."""

    alert_id: str
    kind: str
    order_id: str | None
    at: str
    detail: str
    # What the alert was raised with (the ops topic's message): the parcel's carrier and
    # tracking number, the amount owed, the stock left...
    facts: dict[str, Any] = Field(default_factory=dict)
    status: AlertStatus
    resolved_at: str | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None

    @classmethod
    def from_alert(cls, alert: OpsAlert) -> "AlertResponse":
        """The API view of an alert."""
        return cls(
            alert_id=alert.alert_id,
            kind=alert.kind,
            order_id=alert.order_id,
            at=alert.at.isoformat(),
            detail=alert.detail,
            facts=alert.facts,
            status=alert.status,
            resolved_at=alert.resolved_at.isoformat() if alert.resolved_at else None,
            resolved_by=alert.resolved_by,
            resolution_note=alert.resolution_note,
        )


class AlertsResponse(DeferredModel):
    """``GET /ops/alerts``."""

    alerts: list[AlertResponse]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the older alerts; null on the last page"
    )


@endpoint(
    alerts,
    "/ops/alerts",
    "GET",
    summary=(
        "Ops alerts, newest first, a page at a time "
        "(?order_id=&status=open|resolved&limit=&cursor=)"
    ),
    roles=("ops",),
    response=AlertsResponse,
    query=AlertsQuery,
    tag="ops",
)
def list_alerts(call: Call) -> dict[str, Any]:
    """Every alert the app raised (SLA breaches, lost parcels, carrier problems...)."""
    query = call.query(AlertsQuery)
    status = AlertStatus(query.status) if query.status else None
    found, next_cursor = alerts_service.list_alerts(
        query.order_id, status, query.limit, call.deps, cursor=query.cursor
    )
    return AlertsResponse(
        alerts=[AlertResponse.from_alert(a) for a in found], next_cursor=next_cursor
    ).model_dump(mode="json")


@endpoint(
    alerts,
    "/ops/alerts/{alert_id}/resolve",
    "POST",
    summary="Mark an alert dealt with (repeating it answers the same)",
    roles=("ops",),
    request=ResolveAlertRequest,
    response=AlertResponse,
    tag="ops",
    optional_body=True,
)
def resolve_alert(call: Call, alert_id: str) -> dict[str, Any]:
    """Resolved by the calling ops key."""
    request = call.parse(ResolveAlertRequest, optional=True)
    principal = call.principal
    by = principal.writer if principal else "ops"
    alert = alerts_service.resolve_alert(alert_id, by, request.note, call.deps)
    return AlertResponse.from_alert(alert).model_dump(mode="json")
