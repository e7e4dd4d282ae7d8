"""Recognising customers by their identifiers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.customers import Identifier, identifiers_of
from chalicelib.domain.errors import Conflict, Unprocessable
from chalicelib.domain.requests import CustomerRef

if TYPE_CHECKING:
    from chalicelib.composition import Deps


@dataclass(frozen=True)
class Resolution:
    """Which customer, found by which identifier, and whether we just created them."""

    customer_id: str
    matched_by: str | None
    created: bool


def resolve_customer(ref: CustomerRef, deps: Deps, field_prefix: str = "") -> Resolution:
    """Find the customer the identifiers name, or create one that owns them."""
    identifiers = identifiers_of(ref.email, ref.phone, ref.loyalty_id, field_prefix)
    if ref.customer_id:
        if not deps.store.customer_exists(ref.customer_id):
            raise Unprocessable(
                f"no customer {ref.customer_id}", field=f"{field_prefix}customer_id"
            )
        return Resolution(ref.customer_id, "customer_id", False)
    if not identifiers:
        raise Unprocessable(
            "give an email, phone or loyalty_id", field=f"{field_prefix.rstrip('.') or 'email'}"
        )
    for _ in range(3):
        match = _first_match(identifiers, deps)
        if match is not None:
            return match
        customer_id = f"cus_{uuid.uuid4().hex[:16]}"
        profile = {"name": ref.name, "locale": ref.locale}
        try:
            deps.store.create_customer(customer_id, identifiers, profile)
        except Conflict:
            continue  # someone claimed one of these identifiers just now: look again
        return Resolution(customer_id, None, True)
    raise Conflict("the customer's identifiers keep changing; try again")


def _first_match(identifiers: list[Identifier], deps: Deps) -> Resolution | None:
    for identifier in identifiers:
        customer_id = deps.store.find_identifier(identifier)
        if customer_id is not None:
            return Resolution(customer_id, identifier.type.value, False)
    return None
