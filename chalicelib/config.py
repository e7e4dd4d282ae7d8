"""Settings read from the environment, in one place, into one typed object."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["storefront", "store", "ops"]


class ApiKey(BaseModel):
    """What one bearer key is: its role, the client it acts for (keys sharing a
    ``client_id`` are one client, e.g. during a rotation) and the store it is bound to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    client_id: str | None = Field(default=None, min_length=1)
    location_id: str | None = Field(default=None, min_length=1)


# A key maps to a role name, or to an ``ApiKey`` object.
ApiKeys = dict[str, Role | ApiKey]

DEMO_API_KEYS: ApiKeys = {
    "demo-storefront": "storefront",
    "demo-store": "store",
    "demo-ops": "ops",
    # A second storefront client and a store key bound to Madrid, to try access rules with.
    "demo-storefront-2": ApiKey(role="storefront", client_id="demo-shop-2"),
    "demo-store-madrid": ApiKey(role="store", location_id="ST-MADRID"),
}


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
    api_keys: ApiKeys = Field(default_factory=lambda: dict(DEMO_API_KEYS))
    api_keys_parameter: str = ""
    carrier_secret: str = "demo-carrier-secret"
    carrier_secret_parameter: str = ""
    tracking_secret: str = "demo-tracking-secret"
    tracking_secret_parameter: str = ""
    # Signing keys by key id (kid) for tracking links, customer tokens and verification
    # codes: every key verifies, ``tracking_signing_kid`` signs. Empty: ``tracking_secret``
    # is the only key, under the kid ``k0``.
    tracking_keys: dict[str, str] = Field(default_factory=dict)
    tracking_signing_kid: str = ""
    customer_token_ttl_seconds: int = Field(default=24 * 3600, gt=0, le=24 * 3600)
    verification_code_ttl_seconds: int = 600
    time_scale: float = 1.0
    handling_seconds: int = 5
    return_window_days: int = 30
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


def _env_json(name: str) -> dict[str, Any] | None:
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
        "tracking_signing_kid": "ORQUESTA_TRACKING_SIGNING_KID",
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
    tracking_keys = _env_json("ORQUESTA_TRACKING_KEYS")
    if tracking_keys is not None:
        values["tracking_keys"] = tracking_keys
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
