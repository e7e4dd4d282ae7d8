"""The ops console: the page (``GET /ops``) and the ops-only JSON it reads.

The page itself holds no data and needs no key: it is a sign-in form and the script that,
once signed in, calls the routes below with ``Authorization: Bearer <ops key>``."""

import secrets
from typing import Any

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from pydantic import Field, field_validator

from chalicelib.api.http import Access, Call, endpoint
from chalicelib.api.pages import html_page
from chalicelib.domain.deferred import DeferredModel
from chalicelib.rendering import inline_script, render
from chalicelib.services import console as console_service

console = Blueprint(__name__)

OPS_ONLY = ("ops",)
# The console's scripts, inlined into the page under its CSP nonce: the graph layout, the
# insight and marketing panels first, as console.js installs them.
SCRIPTS = (
    "console/graph.js",
    "console/insights.js",
    "console/promotions.js",
    "console/console.js",
)
MAX_LIMIT = 1000


class ExecutionRow(DeferredModel):
    """One execution in the list."""

    order_id: str
    execution_arn: str
    status: str
    started_at: str | None
    stopped_at: str | None
    order_status: str | None = Field(
        default=None,
        description="For a stopped (ABORTED) execution, its order's status: CANCELLED when a "
        "cancel stopped it with nothing held; null for any other execution",
    )
    order_attention: bool = Field(
        default=False,
        description="For a stopped execution, whether its order is marked for ops' attention "
        "(the stop left something to look at, even if the order is at rest)",
    )
    retried: bool = Field(
        default=False,
        description="For a stopped execution, whether a newer execution (an ops retry) "
        "carries its order on",
    )
    order_nothing_left: bool = Field(
        default=False,
        description="For a stopped execution, whether every part of its order ended lost "
        "or cancelled: nothing is left for a retry to carry on (a retry is 409)",
    )


class ExecutionsResponse(DeferredModel):
    """``GET /ops/executions``."""

    counts: dict[str, int]
    count_cap: int
    status: str | None
    executions: list[ExecutionRow]


class TimelineEntry(DeferredModel):
    """One thing that happened to the order."""

    at: str
    kind: str
    title: str
    detail: str
    event_id: str | None = None


class TimelineResponse(DeferredModel):
    """``GET /ops/orders/{order_id}/timeline``."""

    order_id: str
    status: str
    customer_id: str | None
    execution_arn: str | None
    entries: list[TimelineEntry]


class StateMachineResponse(DeferredModel):
    """``GET /ops/statemachine``."""

    state_machine_arn: str
    definition: dict[str, Any]


class OutboxEmail(DeferredModel):
    """One email as it was sent."""

    message_id: str
    to: str
    subject: str
    sent_at: str
    preview: str


class OutboxResponse(DeferredModel):
    """``GET /ops/outbox``."""

    available: bool
    note: str
    emails: list[OutboxEmail]


class ExecutionsQuery(DeferredModel):
    """``GET /ops/executions``."""

    status: str | None = Field(
        default=None,
        description="Only executions with this status; all if empty",
        json_schema_extra={"enum": ["", *console_service.EXECUTION_STATUSES]},
    )
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Executions listed")

    @field_validator("status", mode="before")
    @classmethod
    def _known_status(cls, value: object) -> object:
        if not value:
            return None  # ?status= is every status
        if value not in console_service.EXECUTION_STATUSES:
            raise ValueError(f"one of {', '.join(console_service.EXECUTION_STATUSES)}")
        return value


class OutboxQuery(DeferredModel):
    """``GET /ops/outbox``."""

    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Emails listed, newest first")


@endpoint(
    console,
    "/ops",
    "GET",
    summary="The ops console page (sign in with the ops key; its data comes from /ops/...)",
    tag="ops",
    html=True,
    access=Access.PUBLIC,
)
def ops_console(call: Call) -> Response:
    """The page: a sign-in form and the script; no data, so no key needed to load it."""
    nonce = secrets.token_urlsafe(16)
    html = render(
        "ops.html.j2",
        nonce=nonce,
        stage=call.deps.settings.stage,
        statuses=console_service.EXECUTION_STATUSES,
        script=inline_script(*SCRIPTS),
    )
    return html_page(html, nonce)


@endpoint(
    console,
    "/ops/executions",
    "GET",
    summary="Executions by status: counts and the newest ones (?status=&limit=)",
    roles=OPS_ONLY,
    response=ExecutionsResponse,
    query=ExecutionsQuery,
    tag="ops",
)
def executions(call: Call) -> dict[str, Any]:
    """Counts per status and a list, from Step Functions' ListExecutions."""
    query = call.query(ExecutionsQuery)
    overview = console_service.executions_overview(query.status, query.limit, call.deps)
    return ExecutionsResponse.model_validate(overview).model_dump(mode="json")


@endpoint(
    console,
    "/ops/orders/{order_id}/timeline",
    "GET",
    summary="The order's timeline: statuses, emails sent, carrier webhooks, tickets",
    roles=OPS_ONLY,
    response=TimelineResponse,
    tag="ops",
)
def order_timeline(call: Call, order_id: str) -> dict[str, Any]:
    """Merged and sorted by time."""
    timeline = console_service.order_timeline(order_id, call.deps)
    return TimelineResponse.model_validate(timeline).model_dump(mode="json")


@endpoint(
    console,
    "/ops/statemachine",
    "GET",
    summary="The order state machine's ASL definition (to draw the graph)",
    roles=OPS_ONLY,
    response=StateMachineResponse,
    tag="ops",
)
def state_machine(call: Call) -> dict[str, Any]:
    """As Step Functions has it deployed."""
    return StateMachineResponse(
        state_machine_arn=call.deps.settings.state_machine_arn,
        definition=call.deps.workflow.definition(),
    ).model_dump(mode="json")


@endpoint(
    console,
    "/ops/outbox",
    "GET",
    summary="Recent emails as sent (local stack only; elsewhere empty with a note) (?limit=)",
    roles=OPS_ONLY,
    response=OutboxResponse,
    query=OutboxQuery,
    tag="ops",
)
def outbox(call: Call) -> dict[str, Any]:
    """What the customers were sent, where the environment keeps a copy."""
    limit = call.query(OutboxQuery).limit
    if call.deps.outbox is None:
        return OutboxResponse(
            available=False,
            note="no outbox here: SES keeps no copy of sent emails (the local stack has one)",
            emails=[],
        ).model_dump(mode="json")
    emails = call.deps.outbox.recent(limit)
    return OutboxResponse.model_validate(
        {"available": True, "note": f"the newest {len(emails)} emails", "emails": emails}
    ).model_dump(mode="json")
