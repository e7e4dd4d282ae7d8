"""Secrets fail closed: outside the local stack, a stage without its secret parameters stops
with an error naming them, never runs on the demo keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from chalicelib.adapters.secrets import SecretSource
from chalicelib.config import (
    DEMO_API_KEYS,
    DEMO_CARRIER_SECRET,
    DEMO_TRACKING_SECRET,
    LOCAL_DEMO_VARIABLE,
    SECRET_SOURCES,
    MissingSecrets,
    Settings,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[2]
PARAMETERS = {
    "ORQUESTA_API_KEYS_PARAMETER": "/orquesta/prod/api-keys",
    "ORQUESTA_CARRIER_SECRET_PARAMETER": "/orquesta/prod/carrier-secrets",
    "ORQUESTA_TRACKING_SECRET_PARAMETER": "/orquesta/prod/tracking-secret",
}


def deployed(**extra: str) -> dict[str, str]:
    """The environment of a deployed function of stage prod, without its parameters."""
    return {"ORQUESTA_STAGE": "prod", "AWS_REGION": "eu-west-1", **extra}


def test_a_deployed_stage_without_its_parameters_refuses_to_start() -> None:
    with pytest.raises(MissingSecrets) as raised:
        load_settings(deployed())
    message = str(raised.value)
    assert "'prod'" in message
    for _, parameter, _ in SECRET_SOURCES:
        assert parameter in message
    assert "demo" in message  # says why there is no fallback


@pytest.mark.parametrize("absent", sorted(PARAMETERS))
def test_one_missing_parameter_is_named_alone(absent: str) -> None:
    present = {name: value for name, value in PARAMETERS.items() if name != absent}
    with pytest.raises(MissingSecrets) as raised:
        load_settings(deployed(**present))
    named = [parameter for _, parameter, _ in SECRET_SOURCES if parameter in str(raised.value)]
    assert named == [absent]


def test_a_deployed_stage_with_its_parameters_has_no_demo_secret_at_all() -> None:
    settings = load_settings(deployed(**PARAMETERS))
    assert settings.api_keys_parameter == "/orquesta/prod/api-keys"
    assert settings.api_keys == {}
    assert settings.carrier_secret == ""
    assert settings.tracking_secret == ""
    dumped = json.dumps(settings.model_dump(mode="json"))
    for demo in (*DEMO_API_KEYS, DEMO_CARRIER_SECRET, DEMO_TRACKING_SECRET):
        assert demo not in dumped


def test_secrets_given_as_values_are_a_source_too() -> None:
    settings = load_settings(
        deployed(
            ORQUESTA_API_KEYS='{"k-1": "ops"}',
            ORQUESTA_CARRIER_SECRET="c-1",
            ORQUESTA_TRACKING_SECRET="t-1",
        )
    )
    assert (settings.api_keys, settings.carrier_secret, settings.tracking_secret) == (
        {"k-1": "ops"},
        "c-1",
        "t-1",
    )


def test_only_the_local_stacks_switch_brings_the_demo_secrets() -> None:
    settings = load_settings({"ORQUESTA_STAGE": "local", LOCAL_DEMO_VARIABLE: "1"})
    assert settings.api_keys == DEMO_API_KEYS
    assert settings.carrier_secret == DEMO_CARRIER_SECRET
    assert settings.tracking_secret == DEMO_TRACKING_SECRET
    with pytest.raises(MissingSecrets):
        load_settings({"ORQUESTA_STAGE": "local", LOCAL_DEMO_VARIABLE: "true"})


def test_the_local_switch_does_not_override_what_is_configured() -> None:
    settings = load_settings({LOCAL_DEMO_VARIABLE: "1", "ORQUESTA_CARRIER_SECRET": "real"})
    assert settings.carrier_secret == "real"
    assert settings.api_keys == DEMO_API_KEYS


def test_the_local_switch_is_refused_inside_a_lambda_function() -> None:
    env = deployed(**{LOCAL_DEMO_VARIABLE: "1", "AWS_LAMBDA_FUNCTION_NAME": "orquesta-prod"})
    with pytest.raises(MissingSecrets, match="orquesta-prod"):
        load_settings(env)


def test_every_stage_in_the_chalice_config_names_its_three_parameters() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["stages"]
    for stage, stage_config in config["stages"].items():
        env = {**config["environment_variables"], **stage_config["environment_variables"]}
        assert LOCAL_DEMO_VARIABLE not in env
        settings = load_settings(env)
        assert settings.stage == stage
        for _, parameter, direct in SECRET_SOURCES:
            assert env[parameter].startswith(f"/orquesta/{stage}/"), (stage, parameter)
            assert not set(direct) & set(env), f"{stage} gives {direct} in plain text"


def test_an_unreadable_parameter_stops_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str, **_: Any) -> Any:
        raise GetParameterError("ParameterNotFound")

    monkeypatch.setattr(parameters, "get_parameter", missing)
    source = SecretSource(load_settings(deployed(**PARAMETERS)))
    with pytest.raises(MissingSecrets, match="/orquesta/prod/api-keys"):
        source.api_keys()
    with pytest.raises(MissingSecrets, match="/orquesta/prod/tracking-secret"):
        source.tracking_secret()


def test_an_empty_tracking_secret_is_never_used_to_sign() -> None:
    with pytest.raises(MissingSecrets):
        SecretSource(Settings()).tracking_secret()


def test_settings_built_in_code_carry_no_demo_secret() -> None:
    settings = Settings()
    assert settings.api_keys == {}
    assert settings.carrier_secret == ""
    assert settings.tracking_secret == ""


def test_settings_read_every_variable_they_read_before() -> None:
    settings = load_settings(
        {
            LOCAL_DEMO_VARIABLE: "1",
            "ORQUESTA_STAGE": "qa",
            "AWS_REGION": "",
            "AWS_DEFAULT_REGION": "eu-south-2",
            "ORQUESTA_ACCOUNT_ID": "111122223333",
            "ORQUESTA_ORDER_EVENTS_TOPIC": "arn:events",
            "ORQUESTA_OPS_ALERTS_TOPIC": "arn:alerts",
            "ORQUESTA_STATE_MACHINE": "arn:machine",
            "ORQUESTA_PUBLIC_URL": "https://qa.example",
            "ORQUESTA_SENDER_EMAIL": "qa@example.com",
            "ORQUESTA_TRACKING_KEYS": '{"k1": "s1"}',
            "ORQUESTA_TRACKING_SIGNING_KID": "k1",
            "ORQUESTA_TIME_SCALE": "60",
            "ORQUESTA_HANDLING_SECONDS": "0",
            "ORQUESTA_RETURN_WINDOW_DAYS": "",  # empty is unset, as before
        }
    )
    assert (settings.stage, settings.region, settings.table_name) == (
        "qa",
        "eu-south-2",
        "orquesta-qa",
    )
    assert (settings.account_id, settings.public_base_url, settings.sender_email) == (
        "111122223333",
        "https://qa.example",
        "qa@example.com",
    )
    assert (
        settings.order_events_topic_arn,
        settings.ops_alerts_topic_arn,
        settings.state_machine_arn,
    ) == ("arn:events", "arn:alerts", "arn:machine")
    assert (settings.tracking_keys, settings.tracking_signing_kid) == ({"k1": "s1"}, "k1")
    assert (settings.time_scale, settings.handling_seconds, settings.return_window_days) == (
        60,
        0,
        30,
    )
    table = load_settings({LOCAL_DEMO_VARIABLE: "1", "ORQUESTA_TABLE": "shared"}).table_name
    assert table == "shared"
