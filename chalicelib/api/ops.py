"""Ops views and health."""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field, field_validator

from chalicelib.api.http import IDEMPOTENCY_HEADER, Access, Call, endpoint, logger
from chalicelib.api.models import ExecutionResponse, HealthResponse
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import ExecutionNotStarted, NotFound, Unprocessable
from chalicelib.domain.requests import Strict, Text
from chalicelib.domain.sla import scorecard_row
from chalicelib.services import recovery, sla
from chalicelib.services.tracking import revoke_tracking_links

ops = Blueprint(__name__)


@endpoint(
    ops,
    "/ops/orders/{order_id}/execution",
    "GET",
    summary="The order's Step Functions execution: status, states visited, console link",
    roles=("ops",),
    response=ExecutionResponse,
    tag="ops",
)
def order_execution(call: Call, order_id: str) -> dict[str, Any]:
    """Describe the execution behind an order."""
    order = call.deps.store.get_order(order_id)
    if not order.execution_arn:
        raise NotFound(f"order {order_id} has no execution", field="order_id")
    described = call.deps.workflow.describe(order.execution_arn)
    if described is None:
        # The order names its next execution before starting it (a payment after a
        # decline, an ops retry): being started, or its start failed (probe 26A: a 500).
        raise ExecutionNotStarted(
            f"order {order_id}'s execution {order.execution_arn} has not started: it is "
            "being started, or its start failed and a retry (POST /ops/orders/"
            f"{order_id}/retry) starts it",
            field="order_id",
        )
    return ExecutionResponse.model_validate({"order_id": order_id, **described}).model_dump(
        mode="json"
    )


class RetryRequest(Strict):
    """``POST /ops/orders/{order_id}/retry``; the body is optional."""

    reason: Text | None = Field(default=None, max_length=500)


class RetryResponse(DeferredModel):
    """The new execution a retry started (or found again)."""

    order_id: str
    attempt: int
    execution_arn: str
    execution_status: str | None
    resumed_from: str
    previous_execution_arn: str
    previous_status: str
    at: str
    by: str
    replayed: bool


@endpoint(
    ops,
    "/ops/orders/{order_id}/retry",
    "POST",
    summary="Restart a FAILED, TIMED_OUT or ABORTED execution: a new one resumes from the "
    "order's recorded status (409 while running or once succeeded)",
    roles=("ops",),
    request=RetryRequest,
    response=RetryResponse,
    status=202,
    tag="ops",
    optional_headers=(IDEMPOTENCY_HEADER,),
    errors=(409, 422),
    optional_body=True,
)
def retry_order(call: Call, order_id: str) -> dict[str, Any]:
    """Start ``<order id>-r<n>``, recorded in the order's retries."""
    # The key first: a bad one is named with every bad field of the body (a probe).
    key = call.idempotency_key(required=False)
    request = call.parse(RetryRequest, optional=True)
    principal = call.principal
    by = principal.writer if principal else "ops"
    outcome = recovery.retry_execution(order_id, by, call.deps, key, request.reason)
    retry = outcome.retry
    return RetryResponse(
        order_id=order_id,
        attempt=retry.attempt,
        execution_arn=retry.execution_arn,
        execution_status=call.deps.workflow.status(retry.execution_arn),
        resumed_from=retry.resumed_from.value,
        previous_execution_arn=retry.previous_execution_arn,
        previous_status=retry.previous_status,
        at=retry.at.isoformat(),
        by=retry.by,
        replayed=outcome.replayed,
    ).model_dump(mode="json")


@endpoint(
    ops,
    "/health",
    "GET",
    summary="Liveness",
    response=HealthResponse,
    tag="ops",
    access=Access.PUBLIC,
)
def health(call: Call) -> dict[str, Any]:
    """No auth, no I/O: the process answers."""
    return HealthResponse(status="ok", stage=call.deps.settings.stage).model_dump(mode="json")


class SlaScorecardRow(DeferredModel):
    """One carrier and service level over the period."""

    carrier: str
    service_level: str
    shipments: int
    on_time: int
    late: int
    open_past_due: int
    on_time_pct: float | None
    p50_hours: float | None
    p90_hours: float | None


class SlaScorecardResponse(DeferredModel):
    """``GET /ops/sla``."""

    start: str
    end: str
    carriers: list[SlaScorecardRow]


# RFC 3339, as JSON Schema's ``date`` and ``date-time`` formats take them (the API parses
# exactly these: no Unix timestamps, no times without a zone).
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE_TIME = (
    f"{_DATE}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:[.][0-9]+)?(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})"
)
DATE_OR_TIME_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date", "pattern": f"^{_DATE}$"},
        {"type": "string", "format": "date-time", "pattern": f"^{_DATE_TIME}$"},
    ]
}


def _moment(value: str | None) -> datetime | None:
    """A date (midnight UTC) or a date-time with its zone, in UTC."""
    if value is None:
        return None
    if re.fullmatch(_DATE, value):
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if not re.fullmatch(_DATE_TIME, value):
        raise ValueError("an RFC 3339 date (2026-11-30) or date-time (2026-11-30T10:00:00Z)")
    text = value.upper().replace("Z", "+00:00")
    # A leap second is a valid RFC 3339 time Python cannot hold: the second before it.
    text = re.sub(r"(T[0-9]{2}:[0-9]{2}):60", r"\1:59", text)
    moment = datetime.fromisoformat(text)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: the edge of time
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


class SlaPeriodQuery(DeferredModel):
    """``GET /ops/sla``: ``from`` and ``to``, or the ``days`` up to ``to`` (now by default).
    A ``from`` not before the period's end is 422 naming it (a rule between two parameters
    the schema cannot state; ``schemathesis.toml`` says so)."""

    # Only by its alias: ``start`` is no parameter of the route (a re-probe read it, and
    # its repeats, past the document).
    model_config = ConfigDict(extra="forbid")

    start: str | None = Field(
        default=None,
        alias="from",
        description="RFC 3339 date (midnight UTC) or date-time",
        json_schema_extra=DATE_OR_TIME_SCHEMA,
    )
    to: str | None = Field(
        default=None,
        description="RFC 3339 date (midnight UTC) or date-time; default now",
        json_schema_extra=DATE_OR_TIME_SCHEMA,
    )
    days: int = Field(default=30, ge=1, le=366, description="Period length when from is absent")

    @field_validator("start", "to")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        _moment(value)
        return value


def _period(call: Call) -> tuple[datetime, datetime]:
    query = call.query(SlaPeriodQuery)
    end = _moment(query.to) or call.deps.clock()
    start = _moment(query.start)
    if start is not None and start >= end:
        # Two probes read an empty scorecard for a period typed backwards as "no shipments".
        raise Unprocessable(f"must be before the period's end ({end.isoformat()})", field="from")
    if start is None:
        try:
            start = end - timedelta(days=query.days)
        except OverflowError:
            start = datetime.min.replace(tzinfo=UTC)
    return start, end


@endpoint(
    ops,
    "/ops/sla",
    "GET",
    summary="SLA scorecard per carrier and service level (?from=&to= or ?days=, default 30)",
    roles=("ops",),
    response=SlaScorecardResponse,
    query=SlaPeriodQuery,
    tag="ops",
)
def sla_scorecard(call: Call) -> dict[str, Any]:
    """Shipments handed over in the period: on time, late, open past due, hours."""
    start, end = _period(call)
    if start < end:
        rows = sla.sla_scorecard(call.deps, start, end)
    else:  # an empty period
        now = call.deps.clock()
        rows = [
            scorecard_row(carrier.name, carrier.service_level, [], now)
            for carrier in call.deps.carriers.values()
        ]
    return SlaScorecardResponse.model_validate(
        {"start": start.isoformat(), "end": end.isoformat(), "carriers": rows}
    ).model_dump(mode="json")


class RevokeTrackingRequest(DeferredModel):
    """``POST /ops/orders/{order_id}/tracking-token/revoke``; the body is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text | None = Field(default=None, max_length=500)


class TrackingLinkResponse(DeferredModel):
    """The order's new tracking link; every earlier one answers 404 from now on."""

    order_id: str
    tracking_url: str


@endpoint(
    ops,
    "/ops/orders/{order_id}/tracking-token/revoke",
    "POST",
    summary="Revoke every tracking link of an order (a leaked link); answers the new link",
    roles=("ops",),
    request=RevokeTrackingRequest,
    response=TrackingLinkResponse,
    tag="ops",
)
def revoke_tracking_token(call: Call, order_id: str) -> dict[str, Any]:
    """Old links 404 at once; the new one works."""
    request = call.parse(RevokeTrackingRequest, optional=True)
    url = revoke_tracking_links(order_id, call.deps)
    by = call.principal.client_id if call.principal else None
    logger.info(
        "tracking links revoked", extra={"order_id": order_id, "by": by, "reason": request.reason}
    )
    return TrackingLinkResponse(order_id=order_id, tracking_url=url).model_dump(mode="json")
