"""The OpenAPI schema's email fields say what of the API's address rules JSON Schema can
(probe 198: ``format: email`` alone took ``a@localhost``, ``a@example.invalid``, a quoted
local part and an IP literal, which the API refuses): the pattern refuses nothing the API
takes, and those four it refuses."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.customers import normalise_email
from chalicelib.domain.errors import Unprocessable
from chalicelib.domain.requests import EMAIL_PATTERN, PlaceOrderRequest

PATTERN = re.compile(EMAIL_PATTERN)


def _taken(address: str) -> bool:
    try:
        normalise_email(address)
    except Unprocessable:
        return False
    return True


@pytest.mark.parametrize(
    "address", ["a@localhost", "a@example.invalid", '"a b"@example.com', "user@[127.0.0.1]"]
)
def test_what_the_probe_sent_is_refused_by_the_schema_as_by_the_api(address: str) -> None:
    assert not _taken(address)
    assert PATTERN.search(address) is None


ALMOST = st.from_regex(r"\A[ -~ñü]{0,8}@[ -~ñü]{0,12}\Z")


@given(st.one_of(st.emails(), ALMOST))
def test_the_pattern_refuses_no_address_the_api_takes(address: str) -> None:
    if _taken(address):
        assert PATTERN.search(address) is not None, address


def test_every_email_field_of_the_schema_carries_the_pattern() -> None:
    schema = PlaceOrderRequest.model_json_schema()
    customer = schema["$defs"]["CustomerRef"]["properties"]["email"]
    (kind,) = [option for option in customer["anyOf"] if option.get("type") == "string"]
    assert (kind["format"], kind["pattern"]) == ("email", EMAIL_PATTERN)
