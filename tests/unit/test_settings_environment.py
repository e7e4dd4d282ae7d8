"""How ``load_settings`` reads the environment (pydantic-settings, in chalicelib/config.py):
bad values are refused naming the variable or the field, structured fields come as JSON,
names are case-insensitive, an alias is read before the field's own ``ORQUESTA_<FIELD>``
name, empty values are unset."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.config import LOCAL_DEMO_VARIABLE, ApiKey, load_settings

LOCAL = {LOCAL_DEMO_VARIABLE: "1"}


def test_a_structured_variable_that_is_not_json_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match='field "tracking_keys"'):
        load_settings(LOCAL | {"ORQUESTA_TRACKING_KEYS": "k1=s1"})


def test_a_value_of_the_wrong_type_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="handling_seconds"):
        load_settings(LOCAL | {"ORQUESTA_HANDLING_SECONDS": "soon"})
    with pytest.raises(ValidationError, match="api_keys"):
        load_settings(LOCAL | {"ORQUESTA_API_KEYS": '{"k": "nobody"}'})
    with pytest.raises(ValidationError, match="customer_token_ttl_seconds"):
        load_settings(LOCAL | {"ORQUESTA_CUSTOMER_TOKEN_TTL_SECONDS": "0"})


def test_structured_fields_are_read_as_json_into_their_models() -> None:
    settings = load_settings(
        LOCAL
        | {
            "ORQUESTA_API_KEYS": '{"k1": "ops", "k2": {"role": "store", "location_id": "S1"}}',
            "ORQUESTA_SHIPPING_FEES": '{"canaries": {"fee": "1.50", "free_from": "20"}}',
        }
    )
    assert settings.api_keys == {"k1": "ops", "k2": ApiKey(role="store", location_id="S1")}
    assert settings.shipping_fees.canaries.fee == Decimal("1.50")
    assert settings.shipping_fees.peninsula.fee == Decimal("4.95")  # the rest keep defaults


def test_names_are_case_insensitive_and_empty_values_are_unset() -> None:
    settings = load_settings(LOCAL | {"orquesta_stage": "qa", "ORQUESTA_SENDER_EMAIL": ""})
    assert (settings.stage, settings.sender_email) == ("qa", "pedidos@orquesta.example")


def test_an_alias_is_read_first_then_the_field_s_own_name() -> None:
    both = {"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-south-2"}
    assert load_settings(LOCAL | both).region == "eu-west-3"
    assert load_settings(LOCAL | {"AWS_DEFAULT_REGION": "eu-south-2"}).region == "eu-south-2"
    assert load_settings(LOCAL | {"ORQUESTA_REGION": "us-east-1"}).region == "us-east-1"
    named = {"ORQUESTA_TABLE": "alias", "ORQUESTA_TABLE_NAME": "name"}
    assert load_settings(LOCAL | named).table_name == "alias"
    assert load_settings(LOCAL | {"ORQUESTA_TABLE_NAME": "name"}).table_name == "name"


def test_variables_that_are_no_field_are_left_alone() -> None:
    settings = load_settings(LOCAL | {"ORQUESTA_NOT_A_SETTING": "x", "HOME": "/root"})
    assert settings.stage == "dev"
