"""Customer identifiers: one normal form each, so one person is found from every channel."""

from __future__ import annotations

import pytest

from chalicelib.domain.customers import (
    IdentifierType,
    identifiers_of,
    normalise_email,
    normalise_loyalty_id,
    normalise_phone,
)
from chalicelib.domain.errors import Unprocessable


@pytest.mark.parametrize(
    "raw",
    ["ana.garcia@example.com", "Ana.Garcia@Example.COM", "ANA.GARCIA@EXAMPLE.COM"],
)
def test_email_is_normalised_to_lower_case(raw: str) -> None:
    assert normalise_email(raw) == "ana.garcia@example.com"


@pytest.mark.parametrize(
    "raw",
    # Exactly JSON Schema's "email" format: no spaces around it either.
    ["", "ana", "ana@", "@example.com", "ana@@example.com", "a b@c.es", " ana@example.com "],
)
def test_invalid_email_is_unprocessable_naming_the_field(raw: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_email(raw)
    assert raised.value.field == "email"
    assert raised.value.status == 422


def test_an_internationalised_domain_is_kept_in_its_ascii_form() -> None:
    # The form an email's To: header can carry; both spellings are one identifier.
    assert normalise_email("Ana@Exämple.com") == "ana@xn--exmple-cua.com"
    assert normalise_email("ana@xn--exmple-cua.com") == "ana@xn--exmple-cua.com"


def test_a_non_ascii_name_before_the_at_is_unprocessable() -> None:
    # SES sends no SMTPUTF8 mail: such an address would be accepted and never reached.
    with pytest.raises(Unprocessable) as raised:
        normalise_email("ñandú@example.com")
    assert raised.value.field == "email"


@pytest.mark.parametrize("raw", ["ñ@ejemplo.es", "ñandú@exämple.com"])
def test_a_non_ascii_name_before_the_at_is_refused_saying_why(raw: str) -> None:
    # A probe: the refusal said only that such characters "are not supported", as if the
    # address were malformed. It is a valid address (RFC 6531) that SES cannot send to.
    with pytest.raises(Unprocessable) as raised:
        normalise_email(raw)
    detail = raised.value.detail
    assert "SMTPUTF8" in detail and "before the @" in detail
    assert "'ñ'" in detail


def test_a_malformed_address_with_a_non_ascii_name_is_refused_as_malformed() -> None:
    # Not blamed on SMTPUTF8: it would be refused however it could be sent.
    with pytest.raises(Unprocessable) as raised:
        normalise_email("ñ..a@ejemplo.es")
    assert "SMTPUTF8" not in raised.value.detail


def test_invalid_email_names_the_field_it_came_from() -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_email("nope", field="customer.email")
    assert raised.value.field == "customer.email"


@pytest.mark.parametrize(
    "raw",
    [
        "+34 612 345 678",
        "612345678",
        "0034612345678",
        "612 34 56 78",
        "+34612345678",
        "+34-612-345-678",
    ],
)
def test_spanish_mobile_in_any_spelling_is_one_e164_number(raw: str) -> None:
    assert normalise_phone(raw) == "+34612345678"


@pytest.mark.parametrize(
    "raw",
    # A landline as a till writes it (found by a probe: refused unless written 911 ...).
    ["91 123 45 67", "+34 91 123 45 67", "(+34) 91 123 45 67", "911 23 45 67", "91-123-45-67"],
)
def test_a_madrid_landline_in_its_usual_spellings_is_one_e164_number(raw: str) -> None:
    assert normalise_phone(raw) == "+34911234567"


def test_foreign_number_keeps_its_country() -> None:
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert normalise_phone("0044 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    "raw",
    # Not on Spain's numbering plan, too short or long, letters, non-ASCII digits, spaces
    # around: the same pattern the OpenAPI document declares refuses them.
    [
        "12",
        "abc",
        "+34 999",
        "6123456789012345",
        "",
        "412345678",
        "+34 5",
        "６12345678",
        " 612345678",
        "612  345678",
        "(612) 345678",
        "(+44) 20 7946 0958",
    ],
)
def test_invalid_phone_is_unprocessable_naming_the_field(raw: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_phone(raw)
    assert raised.value.field == "phone"


@pytest.mark.parametrize("raw", ["ab12cd", " AB 12 cd ", "AB12CD", "a b 1 2 c d"])
def test_loyalty_id_is_upper_case_without_spaces(raw: str) -> None:
    assert normalise_loyalty_id(raw) == "AB12CD"


@pytest.mark.parametrize("raw", ["AB-12", "ab_12", "", "   ", "X" * 33, "ÑAND€"])
def test_invalid_loyalty_id_is_unprocessable_naming_the_field(raw: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_loyalty_id(raw)
    assert raised.value.field == "loyalty_id"


def test_loyalty_id_of_32_characters_is_accepted() -> None:
    assert normalise_loyalty_id("x" * 32) == "X" * 32


def test_identifiers_of_normalises_each_in_order_email_phone_loyalty() -> None:
    found = identifiers_of("Ana@Example.com", "612 345 678", " lo 99 ")
    assert [(i.type, i.value) for i in found] == [
        (IdentifierType.EMAIL, "ana@example.com"),
        (IdentifierType.PHONE, "+34612345678"),
        (IdentifierType.LOYALTY_ID, "LO99"),
    ]


def test_identifiers_of_skips_what_is_missing() -> None:
    found = identifiers_of(None, "", "LO1")
    assert [(i.type, i.value) for i in found] == [(IdentifierType.LOYALTY_ID, "LO1")]
    assert identifiers_of(None, None, None) == []


def test_identifiers_of_names_the_bad_field_under_its_prefix() -> None:
    with pytest.raises(Unprocessable) as raised:
        identifiers_of("ana@example.com", "12", None, prefix="customer.")
    assert raised.value.field == "customer.phone"
