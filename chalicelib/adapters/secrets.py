"""Secrets: SSM SecureString parameters through Powertools when configured, else settings."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import (
    GetParameterError,
    TransformParameterError,
)

from chalicelib.config import MissingSecrets, Settings

_MAX_AGE_SECONDS = 300


class SecretSource:
    """API keys, the carriers' webhook secret and the tracking-link secret."""

    def __init__(self, config: Settings) -> None:
        self._config = config

    def _parameter(self, name: str, transform: Any = None) -> Any:
        try:
            return parameters.get_parameter(
                name, decrypt=True, max_age=_MAX_AGE_SECONDS, transform=transform
            )
        except (GetParameterError, TransformParameterError) as exc:
            # Say which parameter, so the log names what to create or fix; never go on
            # without the secret.
            raise MissingSecrets(f"could not read the SSM parameter {name}: {exc}") from exc

    def api_keys(self) -> dict[str, str]:
        """Bearer key to role."""
        if self._config.api_keys_parameter:
            return dict(self._parameter(self._config.api_keys_parameter, transform="json"))
        return self._config.api_keys

    def carrier_secret(self, carrier: str) -> str:
        """The HMAC secret a carrier signs its webhooks with ("" when it has none, which
        no signature matches)."""
        if self._config.carrier_secret_parameter:
            secrets = self._parameter(self._config.carrier_secret_parameter, transform="json")
            return str(secrets.get(carrier, ""))
        return self._config.carrier_secret

    def tracking_secret(self) -> str:
        """The key that signs customers' tracking links."""
        if self._config.tracking_secret_parameter:
            secret = str(self._parameter(self._config.tracking_secret_parameter))
        else:
            secret = self._config.tracking_secret
        if not secret:
            # An empty HMAC key would let anyone sign tracking links and customer tokens.
            raise MissingSecrets("the tracking secret is empty")
        return secret
