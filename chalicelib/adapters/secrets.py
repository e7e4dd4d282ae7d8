"""Secrets: SSM SecureString parameters through Powertools when configured, else settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from chalicelib.config import ApiKey, ApiKeys, MissingSecrets, Settings

_MAX_AGE_SECONDS = 300
_API_KEYS: TypeAdapter[ApiKeys] = TypeAdapter(ApiKeys)
# The kid of the single secret of deployments that predate key ids.
LEGACY_KID = "k0"


@dataclass(frozen=True)
class Keyring:
    """Signing keys by key id: every one verifies, ``signing_kid``'s signs."""

    keys: dict[str, str]
    signing_kid: str

    @property
    def signing_key(self) -> str:
        """The secret new tokens are signed with."""
        return self.keys[self.signing_kid]


def parse_api_keys(raw: Any) -> dict[str, ApiKey]:
    """``{"key": "role"}`` or ``{"key": {"role", "client_id"?, "location_id"?}}``, each
    entry either way, as ``ApiKey`` objects; a role nobody knows is refused."""
    keys = _API_KEYS.validate_python(raw)
    return {
        key: value if isinstance(value, ApiKey) else ApiKey(role=value)
        for key, value in keys.items()
    }


def parse_keyring(raw: str, fallback_kid: str = "") -> Keyring:
    """A keyring from a parameter's value: ``{"signing": "k2", "keys": {"k1": ..., "k2":
    ...}}``, or a bare secret (the one key, kid ``k0``)."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return Keyring({LEGACY_KID: raw}, LEGACY_KID)
    keys = {str(kid): str(secret) for kid, secret in dict(document["keys"]).items()}
    return _checked(keys, str(document.get("signing") or fallback_kid))


def _checked(keys: dict[str, str], signing_kid: str) -> Keyring:
    if not keys or any(not kid or "." in kid or not secret for kid, secret in keys.items()):
        raise ValueError("tracking keys need non-empty ids without dots and non-empty secrets")
    if signing_kid not in keys:
        signing_kid = max(keys)
    return Keyring(keys, signing_kid)


class SecretSource:
    """API keys, the carriers' webhook secret and the tracking-link secret."""

    def __init__(self, config: Settings) -> None:
        self._config = config

    def _parameter(self, name: str, transform: Any = None) -> Any:
        # Imported at the first read: Powertools' parameters import boto3 (and with it
        # s3transfer), which functions that read no secret need not load.
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        try:
            return parameters.get_parameter(
                name, decrypt=True, max_age=_MAX_AGE_SECONDS, transform=transform
            )
        except (GetParameterError, TransformParameterError) as exc:
            # Say which parameter, so the log names what to create or fix; never go on
            # without the secret.
            raise MissingSecrets(f"could not read the SSM parameter {name}: {exc}") from exc

    def api_keys(self) -> dict[str, ApiKey]:
        """Bearer key to what it is (role, client, store)."""
        if self._config.api_keys_parameter:
            return parse_api_keys(self._parameter(self._config.api_keys_parameter, "json"))
        return parse_api_keys(self._config.api_keys)

    def carrier_secret(self, carrier: str) -> str:
        """The HMAC secret a carrier signs its webhooks with ("" when it has none, which
        no signature matches)."""
        if self._config.carrier_secret_parameter:
            secrets = self._parameter(self._config.carrier_secret_parameter, transform="json")
            return str(secrets.get(carrier, ""))
        return self._config.carrier_secret

    def tracking_keys(self) -> Keyring:
        """The keys that sign tracking links, customer tokens and verification codes."""
        if self._config.tracking_secret_parameter:
            return parse_keyring(
                str(self._parameter(self._config.tracking_secret_parameter)),
                self._config.tracking_signing_kid,
            )
        if self._config.tracking_keys:
            return _checked(dict(self._config.tracking_keys), self._config.tracking_signing_kid)
        if not self._config.tracking_secret:
            # An empty HMAC key would let anyone sign tracking links and customer tokens.
            raise MissingSecrets("the tracking secret is empty")
        return Keyring({LEGACY_KID: self._config.tracking_secret}, LEGACY_KID)

    def tracking_secret(self) -> str:
        """The key that signs customers' tracking links now."""
        return self.tracking_keys().signing_key
