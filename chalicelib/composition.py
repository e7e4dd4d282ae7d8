"""The composition root: builds the real adapters once, with cached boto3 clients."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.adapters.access import AccessStore
from chalicelib.adapters.alerts import AlertRecordingPublisher, DynamoAlertLog
from chalicelib.adapters.carriers import SANDBOX_CARRIERS
from chalicelib.adapters.dynamodb.opportunities import OpportunityRepository
from chalicelib.adapters.dynamodb.store import CustomerStore, DynamoStore
from chalicelib.adapters.dynamodb.surveys import SurveyRepository
from chalicelib.adapters.idempotency import IdempotentRequests as PowertoolsIdempotency
from chalicelib.adapters.metrics import EmfMetrics, MeteredEventPublisher
from chalicelib.adapters.notifications import SesMailer, SnsEventPublisher, SnsTexter
from chalicelib.adapters.payments import SandboxPaymentGateway
from chalicelib.adapters.secrets import SecretSource
from chalicelib.adapters.stepfunctions import StepFunctionsWorkflow
from chalicelib.config import Settings, settings
from chalicelib.deps import Deps, utc_now
from chalicelib.domain.observability import NAMESPACE

__all__ = ["Deps", "build", "client", "deps", "reset", "utc_now"]

_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=64)


def client(service: str, region: str) -> Any:
    """A boto3 client with the project's retry settings."""
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)  # type: ignore[call-overload]


def build(config: Settings) -> Deps:
    """Wire real adapters for these settings."""
    dynamodb = client("dynamodb", config.region)
    alerts = DynamoAlertLog(dynamodb, config.table_name)
    return Deps(
        settings=config,
        store=DynamoStore(dynamodb, config.table_name),
        payments=SandboxPaymentGateway(dynamodb, config.table_name),
        carriers=dict(SANDBOX_CARRIERS),
        workflow=StepFunctionsWorkflow(
            client("stepfunctions", config.region), config.state_machine_arn, config.region
        ),
        events=MeteredEventPublisher(
            AlertRecordingPublisher(
                SnsEventPublisher(
                    client("sns", config.region),
                    config.order_events_topic_arn,
                    config.ops_alerts_topic_arn,
                ),
                alerts,
                utc_now,
            ),
            EmfMetrics(NAMESPACE, config.app_name),
        ),
        mailer=SesMailer(client("ses", config.region), config.sender_email),
        secrets=SecretSource(config),
        idempotency=PowertoolsIdempotency(
            dynamodb, config.table_name, config.idempotency_ttl_seconds
        ),
        customers=CustomerStore(dynamodb, config.table_name),
        access=AccessStore(dynamodb, config.table_name),
        texter=SnsTexter(client("sns", config.region)),
        alerts=alerts,
        surveys=SurveyRepository(dynamodb, config.table_name),
        opportunities=OpportunityRepository(dynamodb, config.table_name),
    )


@lru_cache(maxsize=1)
def deps() -> Deps:
    """The process-wide dependencies, built on first use."""
    return build(settings())


def reset() -> None:
    """Forget the built dependencies and settings (tests and the local stack's restarts)."""
    deps.cache_clear()
    settings.cache_clear()
