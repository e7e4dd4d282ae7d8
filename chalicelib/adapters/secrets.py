"""Secrets: SSM SecureString parameters through Powertools when configured, else settings."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters

from chalicelib.config import Settings

_MAX_AGE_SECONDS = 300


class SecretSource:
    """API keys, the carriers' webhook secret and the tracking-link secret."""

    def __init__(self, config: Settings) -> None:
        self._config = config

    def _parameter(self, name: str, transform: Any = None) -> Any:
        return parameters.get_parameter(
            name, decrypt=True, max_age=_MAX_AGE_SECONDS, transform=transform
        )

    def api_keys(self) -> dict[str, str]:
        """Bearer key to role."""
        if self._config.api_keys_parameter:
            return dict(self._parameter(self._config.api_keys_parameter, transform="json"))
        return self._config.api_keys

    def carrier_secret(self, carrier: str) -> str:
        """The HMAC secret a carrier signs its webhooks with."""
        if self._config.carrier_secret_parameter:
            secrets = self._parameter(self._config.carrier_secret_parameter, transform="json")
            return str(secrets.get(carrier, ""))
        return self._config.carrier_secret

    def tracking_secret(self) -> str:
        """The key that signs customers' tracking links."""
        if self._config.tracking_secret_parameter:
            return str(self._parameter(self._config.tracking_secret_parameter))
        return self._config.tracking_secret
