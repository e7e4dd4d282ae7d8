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
_VERSION = "s2"
# Links of the first form carry no generation: good while the order's tracking links were
# never revoked (a revocation bumps the generation past 0).
_UNREVOKED_VERSION = "s1"


def survey_token(order_id: str, keys: Keyring, generation: int = 0) -> str:
    """``s2.<kid>.<generation>.<order id>.<signature>``: revoked with the order's tracking
    links (the delivered email carries both; a probe answered a survey through a link
    mailed with tracking links that ops had revoked)."""
    kid, signature = tokens.sign(keys, _PURPOSE, str(generation), order_id)
    return f"{_VERSION}.{kid}.{generation}.{order_id}.{signature}"


def survey_url(order_id: str, deps: Deps, generation: int | None = None) -> str:
    """The link the delivered email and the tracking JSON carry (of the order's current
    tracking generation: read unless given)."""
    if generation is None:
        generation = deps.access.tracking_generation(order_id)
    token = survey_token(order_id, deps.secrets.tracking_keys(), generation)
    return f"{deps.settings.public_base_url.rstrip('/')}/surveys/{token}"


def survey_url_once_delivered(order: Order, erased: bool, deps: Deps) -> str | None:
    """The survey link for the tracking JSON and page: only once the order was delivered,
    and not once its customer was ``erased`` (nothing new is written about them: the
    survey answers 409, and a probe found its link still offered)."""
    if erased or not survey_open(order.status.value):
        return None
    return survey_url(order.order_id, deps)


def order_id_of(token: str, deps: Deps) -> str:
    """The order a valid survey token of the order's current generation names; ``NotFound``
    for anything else (forged, revoked, another purpose's token, any text), all alike."""
    version, _, rest = token.partition(".")
    kid, _, rest = rest.partition(".")
    parts: tuple[str, ...] = ()
    generation = 0
    if version != _UNREVOKED_VERSION:
        raw_generation, _, rest = rest.partition(".")
        digits = raw_generation.isascii() and raw_generation.isdigit() and len(raw_generation) < 10
        generation, parts = (int(raw_generation) if digits else -1), (raw_generation,)
    order_id, _, signature = rest.rpartition(".")
    keys = deps.secrets.tracking_keys()
    if version not in (_VERSION, _UNREVOKED_VERSION) or not order_id or generation < 0:
        raise NotFound("no such survey link", field="token")
    if not tokens.verify(keys, kid, signature, _PURPOSE, *parts, order_id):
        raise NotFound("no such survey link", field="token")
    if generation != deps.access.tracking_generation(order_id):
        raise NotFound("no such survey link", field="token")
    return order_id
