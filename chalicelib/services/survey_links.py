"""Signed survey links: ``/surveys/{token}`` lets the customer rate a delivered order.

The token is signed with the tracking keys (kid-signed, so a key rotation keeps links
already mailed valid) under a purpose of its own: a tracking token is no survey token and
the other way round."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import NotFound
from chalicelib.domain.orders import Order
from chalicelib.domain.surveys import survey_open
from chalicelib.services import tokens

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.ports import Keyring

_PURPOSE = "survey"
_VERSION = "s1"


def survey_token(order_id: str, keys: Keyring) -> str:
    """``s1.<kid>.<order id>.<signature>``."""
    kid, signature = tokens.sign(keys, _PURPOSE, order_id)
    return f"{_VERSION}.{kid}.{order_id}.{signature}"


def survey_url(order_id: str, deps: Deps) -> str:
    """The link the delivered email and the tracking JSON carry."""
    token = survey_token(order_id, deps.secrets.tracking_keys())
    return f"{deps.settings.public_base_url.rstrip('/')}/surveys/{token}"


def survey_url_once_delivered(order: Order, deps: Deps) -> str | None:
    """The survey link for the tracking JSON: only once the order was delivered."""
    return survey_url(order.order_id, deps) if survey_open(order.status.value) else None


def order_id_of(token: str, deps: Deps) -> str:
    """The order a valid survey token names; ``NotFound`` for anything else (forged,
    another purpose's token, any text), all alike."""
    version, _, rest = token.partition(".")
    kid, _, rest = rest.partition(".")
    order_id, _, signature = rest.rpartition(".")
    keys = deps.secrets.tracking_keys()
    if version != _VERSION or not order_id:
        raise NotFound("no such survey link", field="token")
    if not tokens.verify(keys, kid, signature, _PURPOSE, order_id):
        raise NotFound("no such survey link", field="token")
    return order_id
