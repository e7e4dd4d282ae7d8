"""The customer's email preference (``notifications``) and language (``locale``), kept on
their profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.email_policy import NotificationPreference
from chalicelib.domain.errors import Conflict
from chalicelib.services.customers import canonical_customer

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def set_notifications(customer_id: str, preference: NotificationPreference, deps: Deps) -> None:
    """Record ``preference`` on the customer's profile (the one a merge kept); ``Conflict``
    for an erased customer."""
    owner, _ = canonical_customer(customer_id, deps)
    if not deps.customers.set_notifications(owner, preference.value):
        raise Conflict(f"customer {customer_id} is no longer active", field="notifications")


def set_locale(customer_id: str, locale: str, deps: Deps) -> None:
    """Record the language the customer is written to in on their profile (the one a merge
    kept); ``Conflict`` for an erased customer."""
    owner, _ = canonical_customer(customer_id, deps)
    if not deps.customers.set_locale(owner, locale):
        raise Conflict(f"customer {customer_id} is no longer active", field="locale")
