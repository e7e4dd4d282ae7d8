"""The countries an address may name: ISO 3166-1 alpha-2, held to Babel's territories."""

from __future__ import annotations

import re

import babel
import pytest
from pydantic import ValidationError

from chalicelib.domain.countries import ISO_COUNTRIES, country_pattern
from chalicelib.domain.requests import AddressRequest

# In Babel's territories but not officially assigned in ISO 3166-1.
NOT_ISO = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}


def _address(country: str) -> dict[str, str]:
    return {"name": "A", "line1": "B 1", "city": "C", "postal_code": "1000", "country": country}


def test_the_codes_are_babels_two_letter_territories_less_those_iso_does_not_assign() -> None:
    territories = babel.Locale("en").territories
    two_letters = {code for code in territories if len(code) == 2 and code.isalpha()}
    assert two_letters - NOT_ISO == ISO_COUNTRIES
    assert len(ISO_COUNTRIES) == 249


def test_the_schema_pattern_matches_exactly_the_codes_in_any_case() -> None:
    pattern = AddressRequest.model_json_schema()["properties"]["country"]["pattern"]
    assert pattern == country_pattern()
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    for code in (a + b for a in letters for b in letters):
        matched = {bool(re.fullmatch(pattern, form)) for form in (code, code.lower(), code.title())}
        assert matched == {code in ISO_COUNTRIES}, code


@pytest.mark.parametrize("country", ["XX", "EU", "zz", "001", "E1"])
def test_an_address_outside_iso_3166_is_refused_naming_country(country: str) -> None:
    with pytest.raises(ValidationError) as refused:
        AddressRequest.model_validate(_address(country))
    assert [error["loc"] for error in refused.value.errors()] == [("country",)]


@pytest.mark.parametrize("country", ["ES", "es", "Pt", "FR"])
def test_an_address_in_a_real_country_is_accepted_as_sent(country: str) -> None:
    address = _address(country) | {"postal_code": "28013"}
    assert AddressRequest.model_validate(address).country == country
