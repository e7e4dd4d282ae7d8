"""The composition root: builds the real adapters once, with cached AWS clients.

The clients come from a botocore session, not boto3: importing boto3 imports s3transfer
(about 15 ms of each cold start, for S3 transfers the app never makes). They are the same
clients; the ``mypy_boto3_*`` stubs still type them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
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


def client(session: botocore.session.Session, service: str, region: str) -> Any:
    """An AWS client with the project's retry settings."""
    return session.create_client(service, region_name=region, config=_CLIENT_CONFIG)


def build(config: Settings) -> Deps:
    """Wire real adapters for these settings."""
    # One session for every client: a session loads the SDK's endpoint and model data once.
    session = botocore.session.get_session()
    dynamodb = client(session, "dynamodb", config.region)
    alerts = DynamoAlertLog(dynamodb, config.table_name)
    return Deps(
        settings=config,
        store=DynamoStore(dynamodb, config.table_name),
        payments=SandboxPaymentGateway(dynamodb, config.table_name),
        carriers=dict(SANDBOX_CARRIERS),
        workflow=StepFunctionsWorkflow(
            client(session, "stepfunctions", config.region), config.state_machine_arn, config.region
        ),
        events=MeteredEventPublisher(
            AlertRecordingPublisher(
                SnsEventPublisher(
                    client(session, "sns", config.region),
                    config.order_events_topic_arn,
                    config.ops_alerts_topic_arn,
                ),
                alerts,
                utc_now,
            ),
            EmfMetrics(NAMESPACE, config.app_name),
        ),
        mailer=SesMailer(client(session, "ses", config.region), config.sender_email),
        secrets=SecretSource(config),
        idempotency=PowertoolsIdempotency(
            dynamodb, config.table_name, config.idempotency_ttl_seconds
        ),
        customers=CustomerStore(dynamodb, config.table_name),
        access=AccessStore(dynamodb, config.table_name),
        texter=SnsTexter(client(session, "sns", config.region)),
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
