"""Orquesta's Chalice app: routes come from blueprints; workflow steps and event handlers
are registered here. Each parses its input, calls one service, returns one model."""

from __future__ import annotations

# isort: off
# First: the collector waits until the app has imported (chalicelib/cold_start.py).
from chalicelib import cold_start

# isort: on
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Rate  # type: ignore[attr-defined]
from chalice.app import CloudWatchEvent, SNSEvent
from pydantic import BaseModel

from chalicelib.adapters.tracing import LazyTracer
from chalicelib.api.blueprints import BLUEPRINTS
from chalicelib.api.http import answer_headers
from chalicelib.api.log_context import install as install_log_context
from chalicelib.composition import Deps, deps
from chalicelib.config import settings
from chalicelib.domain.errors import named_for_the_workflow
from chalicelib.services import (
    compensation,
    customer_projection,
    fulfillment_steps,
    lost_parcels,
    order_event_subscribers,
    payment_steps,
    recovery,
    return_steps,
    settlement,
    step_models,
    stock_steps,
)
from chalicelib.services import (
    opportunities as opportunities_service,
)

app = Chalice(app_name="orquesta")
logger = Logger(service="orquesta")
# X-Ray traces of every step and subscriber, with the AWS calls they make (patched boto3);
# outside Lambda (tests, the local stack) Powertools turns the tracer off by itself. Made
# at the first traced call, not at import (chalicelib/adapters/tracing.py).
tracer = LazyTracer(service="orquesta")

for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)
# Powertools' Lambda context in every function's logs, a correlation id on every request.
install_log_context(app)
app.register_middleware(answer_headers, "http")
# The API's AWS calls are traced too: its first request makes the Tracer, which patches boto3.
app.register_middleware(tracer.patch_aws_calls, "http")


# Workflow steps: the state machine calls these by ARN; errors keep their class names so
# the ASL can catch them by name (a lost race by the domain's: ``named_for_the_workflow``).
# Each parses its input into the step's model, calls one service and returns its answer
# as JSON.
STEPS: dict[str, tuple[type[BaseModel], Callable[[Any, Deps], BaseModel]]] = {
    "authorize_payment": (step_models.OrderStep, payment_steps.authorize_payment),  # → PAID
    "reserve_stock": (step_models.OrderStep, stock_steps.reserve_stock),  # → RESERVED
    "reject_order": (step_models.RejectOrderInput, payment_steps.reject_order),  # → REJECTED
    # Book the carrier or mark ready for pick-up, and park the wait's token (one invocation);
    # then a breach or an uncollected pick-up when the wait runs out.
    "dispatch_fulfillment": (step_models.DispatchInput, fulfillment_steps.dispatch_and_await),
    "handle_fulfillment_timeout": (
        step_models.FulfillmentStep,
        fulfillment_steps.handle_fulfillment_timeout,
    ),
    # A step failed unexpectedly: release, void, settle, record, alert ops.
    "compensate_order": (compensation.CompensateInput, compensation.compensate),
}


def _step_handler(
    name: str, model: type[BaseModel], service: Callable[[Any, Deps], BaseModel]
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with named_for_the_workflow():
            return service(model.model_validate(event), deps()).model_dump(mode="json")

    # Chalice packages the function as app.<__name__>: the loop below binds that name.
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = service.__doc__
    return handler


for _name, (_model, _service) in STEPS.items():
    globals()[_name] = app.lambda_function(name=_name)(
        tracer.capture_lambda_handler(_step_handler(_name, _model, _service))
    )


@app.lambda_function(name="await_returns")
@tracer.capture_lambda_handler
def await_returns(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The return window: AwaitReturns parks its token (or releases it at once)."""
    step = step_models.AwaitInput.model_validate(event)
    return return_steps.await_returns(step, deps()).model_dump(mode="json")


@app.lambda_function(name="mark_compensation_failed")
@tracer.capture_lambda_handler
def mark_compensation_failed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Compensation could not finish: the order shows it (ops were alerted)."""
    step = compensation.AttentionInput.model_validate(event)
    with named_for_the_workflow():
        compensation.mark_compensation_failed(step, deps())
    return {}


# The SNS subscriptions' filters (scope, policy) by handler: the packaged template and the
# local stack subscribe with them (Chalice's on_sns_message has no filter of its own).
SNS_FILTERS = {"on_order_event": order_event_subscribers.subscription_filter()}


@app.on_sns_message(topic=settings().order_events_topic_name)
@tracer.capture_method
def on_order_event(event: SNSEvent) -> None:
    """Everything that follows an order event, once per event: the customer's email, the
    customer 360 projection, the opportunities, the campaign figures (one invocation per
    event, not per handler)."""
    message = json.loads(event.message)
    outcomes = order_event_subscribers.handle_order_event(message, deps())
    logger.info(
        "order event handled",
        extra={"event_id": message.get("event_id"), "outcomes": outcomes},
    )


@app.schedule(Rate(1, unit=Rate.HOURS))
@tracer.capture_method
def lose_stale_opportunities(event: CloudWatchEvent) -> dict[str, int]:
    """Opportunities not converted 30 days (scaled) after they opened are lost."""
    outcome = {"lost": opportunities_service.lose_stale(deps())}
    logger.info("opportunities review", extra=outcome)
    return outcome


@app.schedule(Rate(5, unit=Rate.MINUTES))
@tracer.capture_method
def tell_owed_back_in_stock(event: CloudWatchEvent) -> dict[str, int]:
    """Back-in-stock notices a stock write could not send (the email provider down)."""
    outcome = opportunities_service.tell_owed(deps())
    logger.info("owed back-in-stock notices", extra=outcome)
    return outcome


@app.schedule(Rate(1, unit=Rate.HOURS))
@tracer.capture_method
def review_segments(event: CloudWatchEvent) -> dict[str, int]:
    """RFM segments age without orders: move customers whose recency score has dropped."""
    outcome = customer_projection.review_segments(deps())
    logger.info("segment review", extra=outcome)
    return outcome


@app.schedule(Rate(5, unit=Rate.MINUTES))
@tracer.capture_method
def settle_owed_payments(event: CloudWatchEvent) -> dict[str, int]:
    """Retry the voids, captures and refunds the API paths left owed (a gateway failure)."""
    outcome = settlement.sweep(deps())
    logger.info("settlement sweep", extra=outcome)
    return outcome


@app.schedule(Rate(5, unit=Rate.MINUTES))
@tracer.capture_method
def check_sla(event: CloudWatchEvent) -> dict[str, int]:
    """Safety net: breaches for shipments past their promise that no execution recorded,
    and unconfirmed parcels past their lost deadline that no execution declared lost."""
    outcome = lost_parcels.check_watched_shipments(deps())
    logger.info("SLA check", extra=outcome)
    return outcome


# Step Functions tells EventBridge when an execution ends; this rule takes the endings
# that leave an order unfinished (the local stack delivers them the same way).
EXECUTION_ENDED = {
    "source": ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    "detail": {"status": list(recovery.RETRYABLE)},
}


@app.on_cw_event(EXECUTION_ENDED, name="on_execution_ended")
@tracer.capture_method
def on_execution_ended(event: CloudWatchEvent) -> dict[str, str]:
    """An order's execution ended FAILED, TIMED_OUT or ABORTED: ops are told, the order
    shows it (never ended silently)."""
    detail = event.detail
    outcome = recovery.execution_ended(
        str(detail.get("executionArn", "")),
        str(detail.get("name", "")),
        str(detail.get("status", "")),
        deps(),
        state_machine_arn=str(detail.get("stateMachineArn", "")),
    )
    logger.info("execution ended", extra={"execution": detail.get("name"), "outcome": outcome})
    return {"outcome": outcome}


# Last: everything the import made lives as long as the process (chalicelib/cold_start.py).
cold_start.imported()
