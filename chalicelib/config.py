"""Settings read from the environment, in one place, into one typed object."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import BaseModel, Field

DEMO_API_KEYS = {"demo-storefront": "storefront", "demo-store": "store", "demo-ops": "ops"}


class Settings(BaseModel):
    """Everything the app needs to know about where it runs."""

    app_name: str = "orquesta"
    stage: str = "dev"
    region: str = "eu-west-1"
    account_id: str = "123456789012"
    table_name: str = "orquesta-dev"
    order_events_topic_arn: str = ""
    ops_alerts_topic_arn: str = ""
    state_machine_arn: str = ""
    public_base_url: str = "http://localhost:8000"
    sender_email: str = "pedidos@orquesta.example"
    # Secrets: in AWS they come from SSM SecureString parameters (names below) through
    # Powertools' parameters utility; locally the demo values stand in for them.
    api_keys: dict[str, str] = Field(default_factory=lambda: dict(DEMO_API_KEYS))
    api_keys_parameter: str = ""
    carrier_secret: str = "demo-carrier-secret"
    carrier_secret_parameter: str = ""
    tracking_secret: str = "demo-tracking-secret"
    tracking_secret_parameter: str = ""
    time_scale: float = 1.0
    handling_seconds: int = 5
    return_window_days: int = 30
    # A parcel the carrier has not confirmed this long after its promise is declared lost.
    lost_parcel_days: int = 30
    idempotency_ttl_seconds: int = 48 * 3600
    webhook_event_ttl_seconds: int = 7 * 24 * 3600
    signature_tolerance_seconds: int = 300
    max_body_bytes: int = 64 * 1024

    @property
    def order_events_topic_name(self) -> str:
        """The SNS topic of order events; its name is fixed per stage so that Chalice can
        subscribe to it at packaging time."""
        return f"{self.app_name}-{self.stage}-order-events"

    @property
    def ops_alerts_topic_name(self) -> str:
        """The SNS topic ops subscribe to."""
        return f"{self.app_name}-{self.stage}-ops-alerts"

    def scaled(self, seconds: float) -> int:
        """A wait in whole seconds divided by the time scale; Step Functions needs >= 1."""
        return max(1, int(seconds / self.time_scale))


def _env_json(name: str) -> dict[str, str] | None:
    raw = os.environ.get(name)
    return None if not raw else dict(json.loads(raw))


def load_settings() -> Settings:
    """Build the settings from ``ORQUESTA_*`` and AWS environment variables."""
    env = os.environ
    stage = env.get("ORQUESTA_STAGE", "dev")
    values: dict[str, object] = {
        "stage": stage,
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
        "table_name": env.get("ORQUESTA_TABLE", f"orquesta-{stage}"),
    }
    optional = {
        "account_id": "ORQUESTA_ACCOUNT_ID",
        "order_events_topic_arn": "ORQUESTA_ORDER_EVENTS_TOPIC",
        "ops_alerts_topic_arn": "ORQUESTA_OPS_ALERTS_TOPIC",
        "state_machine_arn": "ORQUESTA_STATE_MACHINE",
        "public_base_url": "ORQUESTA_PUBLIC_URL",
        "sender_email": "ORQUESTA_SENDER_EMAIL",
        "api_keys_parameter": "ORQUESTA_API_KEYS_PARAMETER",
        "carrier_secret": "ORQUESTA_CARRIER_SECRET",
        "carrier_secret_parameter": "ORQUESTA_CARRIER_SECRET_PARAMETER",
        "tracking_secret": "ORQUESTA_TRACKING_SECRET",
        "tracking_secret_parameter": "ORQUESTA_TRACKING_SECRET_PARAMETER",
        "time_scale": "ORQUESTA_TIME_SCALE",
        "handling_seconds": "ORQUESTA_HANDLING_SECONDS",
        "return_window_days": "ORQUESTA_RETURN_WINDOW_DAYS",
    }
    for field, var in optional.items():
        if env.get(var):
            values[field] = env[var]
    keys = _env_json("ORQUESTA_API_KEYS")
    if keys is not None:
        values["api_keys"] = keys
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
