"""Settings read from the environment, in one place, into one typed object."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from chalicelib.domain.pricing import ShippingFees

if TYPE_CHECKING:
    from collections.abc import Mapping

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

DEMO_CARRIER_SECRET = "demo-carrier-secret"
DEMO_TRACKING_SECRET = "demo-tracking-secret"
# The one switch that lets the demo secrets stand in for real ones. Only the local stack
# sets it (infra/local); nothing deployed does, and it is refused inside a Lambda function.
LOCAL_DEMO_VARIABLE = "ORQUESTA_LOCAL_DEMO"
# Each secret: its settings field, the variable naming its SSM parameter (how deployed
# stages get it), and the variables that may give the value itself (tests, local overrides).
SECRET_SOURCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("api_keys", "ORQUESTA_API_KEYS_PARAMETER", ("ORQUESTA_API_KEYS",)),
    ("carrier_secret", "ORQUESTA_CARRIER_SECRET_PARAMETER", ("ORQUESTA_CARRIER_SECRET",)),
    (
        "tracking_secret",
        "ORQUESTA_TRACKING_SECRET_PARAMETER",
        ("ORQUESTA_TRACKING_SECRET", "ORQUESTA_TRACKING_KEYS"),
    ),
)


@dataclass(frozen=True)
class Waits:
    """Every wait the workflow and the services keep, scaled here and nowhere else:
    ``ORQUESTA_TIME_SCALE`` compresses days into seconds for the local stack and the tests;
    deployed stages run at 1. Services ask for a wait; they never divide by the scale."""

    time_scale: float
    real_handling_seconds: int
    return_window_days: int
    lost_parcel_days: int

    def seconds(self, real_seconds: float) -> int:
        """A wait in whole seconds; Step Functions needs at least 1."""
        return max(1, int(real_seconds / self.time_scale))

    def duration(self, real: timedelta) -> timedelta:
        """A wait kept as a deadline, to the microsecond."""
        return real / self.time_scale

    def deadline(self, start: datetime, real_seconds: float) -> datetime:
        """When a wait of ``real_seconds`` that began at ``start`` runs out."""
        return start + timedelta(seconds=self.seconds(real_seconds))

    @property
    def handling_seconds(self) -> int:
        """The pause before payment (ops may cancel in it); zero means none."""
        return max(0, int(self.real_handling_seconds / self.time_scale))

    @property
    def return_window_seconds(self) -> int:
        """How long after delivery a return may be asked for."""
        return self.seconds(self.return_window_days * 86400)

    @property
    def lost_parcel_seconds(self) -> int:
        """How long after its promise an unconfirmed parcel is declared lost."""
        return self.seconds(self.lost_parcel_days * 86400)


class MissingSecrets(Exception):
    """A secret has no source: the function stops rather than run with a demo default."""


class Settings(BaseSettings):
    """Everything the app needs to know about where it runs: ``ORQUESTA_<FIELD>`` variables,
    except where a field names its variable. ``load_settings`` reads the environment; settings
    built in code (tests) hold what they are given and the defaults, nothing else."""

    model_config = SettingsConfigDict(
        env_prefix="ORQUESTA_", env_ignore_empty=True, extra="forbid", populate_by_name=True
    )

    app_name: str = "orquesta"
    stage: str = "dev"
    region: str = Field(
        default="eu-west-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    account_id: str = "123456789012"
    # Empty: orquesta-<stage>.
    table_name: str = Field(default="", validation_alias="ORQUESTA_TABLE")
    order_events_topic_arn: str = Field(default="", validation_alias="ORQUESTA_ORDER_EVENTS_TOPIC")
    ops_alerts_topic_arn: str = Field(default="", validation_alias="ORQUESTA_OPS_ALERTS_TOPIC")
    state_machine_arn: str = Field(default="", validation_alias="ORQUESTA_STATE_MACHINE")
    public_base_url: str = Field(
        default="http://localhost:8000", validation_alias="ORQUESTA_PUBLIC_URL"
    )
    sender_email: str = "pedidos@orquesta.example"
    # Secrets: in AWS they come from SSM SecureString parameters (names below) through
    # Powertools' parameters utility; only the local stack fills in the demo values
    # (LOCAL_DEMO_VARIABLE), so empty here means "none", never "demo".
    api_keys: ApiKeys = Field(default_factory=dict)
    api_keys_parameter: str = ""
    carrier_secret: str = ""
    carrier_secret_parameter: str = ""
    tracking_secret: str = ""
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
    # A parcel the carrier has not confirmed this long after its promise is declared lost.
    lost_parcel_days: int = 30
    idempotency_ttl_seconds: int = 48 * 3600
    signature_tolerance_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    # Shipping fee and free-shipping threshold per carrier zone (ORQUESTA_SHIPPING_FEES,
    # JSON); how long a quote can be ordered on (real time: a shopper's checkout).
    shipping_fees: ShippingFees = Field(default_factory=ShippingFees)
    quote_ttl_seconds: int = Field(default=30 * 60, gt=0, le=7 * 24 * 3600)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the constructor is given: load_settings passes in what the environment
        # holds, so a Settings built in a test never picks up the local stack's variables.
        return (init_settings,)

    @model_validator(mode="after")
    def _table_of_the_stage(self) -> Settings:
        if not self.table_name:
            self.table_name = f"orquesta-{self.stage}"
        return self

    @property
    def order_events_topic_name(self) -> str:
        """The SNS topic of order events; its name is fixed per stage so that Chalice can
        subscribe to it at packaging time."""
        return f"{self.app_name}-{self.stage}-order-events"

    @property
    def ops_alerts_topic_name(self) -> str:
        """The SNS topic ops subscribe to."""
        return f"{self.app_name}-{self.stage}-ops-alerts"

    @property
    def waits(self) -> Waits:
        """The waits at the current time scale (tests change the scale on the fly)."""
        return Waits(
            time_scale=self.time_scale,
            real_handling_seconds=self.handling_seconds,
            return_window_days=self.return_window_days,
            lost_parcel_days=self.lost_parcel_days,
        )


class _EnvironmentSource(EnvSettingsSource):
    """pydantic-settings' environment source, over the mapping ``load_settings`` is given."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # As EnvSettingsSource reads os.environ: names case-insensitive, empty values unset.
        return {name.lower(): value for name, value in self._environ.items() if value != ""}


def _secret_defaults(env: Mapping[str, str], stage: str) -> dict[str, object]:
    """The demo secrets when the local stack opted into them; otherwise nothing, and an
    error naming every secret that has neither its SSM parameter nor a value."""
    if env.get(LOCAL_DEMO_VARIABLE) == "1":
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise MissingSecrets(
                f"{LOCAL_DEMO_VARIABLE}=1 is set in the Lambda function "
                f"{env['AWS_LAMBDA_FUNCTION_NAME']}: demo secrets are for the local stack only"
            )
        return {
            "api_keys": dict(DEMO_API_KEYS),
            "carrier_secret": DEMO_CARRIER_SECRET,
            "tracking_secret": DEMO_TRACKING_SECRET,
        }
    missing = [
        parameter
        for _, parameter, direct in SECRET_SOURCES
        if not env.get(parameter) and not any(env.get(variable) for variable in direct)
    ]
    if missing:
        raise MissingSecrets(
            f"stage {stage!r} has no source for its secrets: set {', '.join(missing)} to the "
            "name of the SSM SecureString parameter holding each (docs/deploy.md); demo "
            f"secrets are only for the local stack ({LOCAL_DEMO_VARIABLE}=1)"
        )
    return {}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``ORQUESTA_*`` and AWS environment variables; raise
    ``MissingSecrets`` when a secret has no source outside the local stack."""
    env = os.environ if environ is None else environ
    loaded = Settings(**_EnvironmentSource(env)())
    demo = _secret_defaults(env, loaded.stage)
    # The demo secrets stand in only for what the environment did not configure.
    return loaded.model_copy(
        update={name: value for name, value in demo.items() if name not in loaded.model_fields_set}
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
