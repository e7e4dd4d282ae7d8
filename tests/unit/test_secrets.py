"""Secrets from SSM parameters: API keys in both forms, and the tracking keyring."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from chalicelib.adapters.secrets import Keyring, SecretSource
from chalicelib.config import ApiKey, Settings


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Parameter values by name, served as Powertools would (``transform="json"`` too)."""
    values: dict[str, str] = {}

    def get_parameter(name: str, transform: Any = None, **_: Any) -> Any:
        raw = values[name]
        return json.loads(raw) if transform == "json" else raw

    monkeypatch.setattr(parameters, "get_parameter", get_parameter)
    return values


def test_api_keys_from_ssm_may_be_roles_or_objects(ssm: dict[str, str]) -> None:
    ssm["/keys"] = json.dumps(
        {
            "a": "ops",
            "b": {"role": "store", "location_id": "ST-MADRID"},
            "c": {"role": "storefront", "client_id": "web"},
        }
    )

    keys = SecretSource(Settings(api_keys_parameter="/keys")).api_keys()

    assert keys == {
        "a": ApiKey(role="ops"),
        "b": ApiKey(role="store", location_id="ST-MADRID"),
        "c": ApiKey(role="storefront", client_id="web"),
    }


def test_the_tracking_secret_from_ssm_may_be_bare_or_a_keyring(ssm: dict[str, str]) -> None:
    source = SecretSource(Settings(tracking_secret_parameter="/tracking"))
    ssm["/tracking"] = "an-old-bare-secret"
    assert source.tracking_keys() == Keyring({"k0": "an-old-bare-secret"}, "k0")

    ssm["/tracking"] = json.dumps({"signing": "k2", "keys": {"k0": "old", "k2": "new"}})
    assert source.tracking_keys() == Keyring({"k0": "old", "k2": "new"}, "k2")
    assert source.tracking_secret() == "new"


def test_tracking_keys_from_the_environment_settings() -> None:
    source = SecretSource(Settings(tracking_keys={"a": "1", "b": "2"}, tracking_signing_kid="a"))
    assert source.tracking_keys().signing_key == "1"
