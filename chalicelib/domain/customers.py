"""Customer identifiers: one normal form each, so the same person is found in every channel."""

from __future__ import annotations

from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel

from chalicelib.domain.errors import Unprocessable

DEFAULT_PHONE_REGION = "ES"


class IdentifierType(StrEnum):
    """Ways a customer tells us who they are."""

    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_ID = "loyalty_id"


class Identifier(BaseModel):
    """An identifier in normal form."""

    type: IdentifierType
    value: str


def normalise_email(raw: str, field: str = "email") -> str:
    """Lower-cased, validated address (no DNS look-up: nothing may reach the network)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Unprocessable(f"not a valid email address: {exc}", field=field) from exc
    return result.normalized.lower()


def normalise_phone(raw: str, field: str = "phone") -> str:
    """E.164, reading national numbers as Spanish ones: "612345678" is "+34612345678"."""
    try:
        number = phonenumbers.parse(raw, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise Unprocessable(f"not a phone number: {exc}", field=field) from exc
    if not phonenumbers.is_valid_number(number):
        raise Unprocessable("not a valid phone number", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_loyalty_id(raw: str, field: str = "loyalty_id") -> str:
    """Loyalty card numbers are upper-case without spaces."""
    value = "".join(raw.split()).upper()
    if not value.isalnum() or len(value) > 32:
        raise Unprocessable("a loyalty id is up to 32 letters and digits", field=field)
    return value


def identifiers_of(
    email: str | None, phone: str | None, loyalty_id: str | None, prefix: str = ""
) -> list[Identifier]:
    """Every identifier given, normalised; the order matters: email, phone, loyalty id."""
    found: list[Identifier] = []
    if email:
        found.append(
            Identifier(type=IdentifierType.EMAIL, value=normalise_email(email, f"{prefix}email"))
        )
    if phone:
        found.append(
            Identifier(type=IdentifierType.PHONE, value=normalise_phone(phone, f"{prefix}phone"))
        )
    if loyalty_id:
        found.append(
            Identifier(
                type=IdentifierType.LOYALTY_ID,
                value=normalise_loyalty_id(loyalty_id, f"{prefix}loyalty_id"),
            )
        )
    return found
