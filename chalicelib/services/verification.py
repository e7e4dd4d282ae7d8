"""Customers prove an identifier with a one-time code, and only then get a customer
token: whoever merely knows an email or a phone number learns nothing and gets nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.customers import Identifier, IdentifierType, identifiers_of
from chalicelib.domain.errors import Unprocessable
from chalicelib.rendering import render
from chalicelib.services import tokens
from chalicelib.services.after_sale_records import hand_over_split_orders
from chalicelib.services.customers import (
    CustomerToken,
    Resolution,
    customer_token,
    proven_customer,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps

CODE_DIGITS = 6
# Guessing: 5 wrong codes for one identifier lock it for 15 minutes of real time (the
# lockout is not scaled by ORQUESTA_TIME_SCALE).
MAX_WRONG_CODES = 5
LOCKOUT_SECONDS = 15 * 60
# Sending: 5 codes to one address per 15 minutes from each API client, so that nobody
# can flood an inbox or run up an SMS bill through us, nor, by using up the budget from
# one client, keep the address's owner from proving it through another.
MAX_SENDS = 5
_PURPOSE = "verify"
_RECORD_PURPOSE = "verification-record"


@dataclass(frozen=True)
class Verified:
    """The customer an identifier belongs to (created if new) and their token."""

    resolution: Resolution
    token: CustomerToken


def _identifier(email: str | None, phone: str | None) -> Identifier:
    if bool(email) == bool(phone):
        raise Unprocessable("give exactly one of email or phone", field="email")
    return identifiers_of(email, phone, None)[0]


def record_key(identifier: Identifier, deps: Deps) -> str:
    """What the identifier's code and attempt counters are kept under: its type and a keyed
    digest of the address, never the address itself. These records live a day past their
    use, and an erasure could not find the send counters (one per API client) to delete
    them (a probe found an erased person's email in their keys). A new signing key starts
    the counters afresh and voids a pending code, as sending a new code would."""
    keyring = deps.secrets.tracking_keys()
    digest = tokens.signature(keyring.signing_key, _RECORD_PURPOSE, identifier.value)
    return f"{identifier.type.value}#{digest}"


def send_code(email: str | None, phone: str | None, deps: Deps, sender: str) -> None:
    """Send a fresh 6-digit code to the address, valid for 10 minutes; only its keyed hash
    is stored. Answers the same whether or not anybody is known by the address; the sixth
    send within 15 minutes by one ``sender`` (the API client) is 429."""
    identifier = _identifier(email, phone)
    key, now = record_key(identifier, deps), deps.clock()
    scope = f"send#{sender}#{key}"
    sends = deps.access.begin_attempt(
        scope,
        now,
        MAX_SENDS,
        LOCKOUT_SECONDS,
        identifier.type.value,
        # Said as what it is: "too many attempts" read as wrong guesses (note 52). It says
        # nothing of whether anybody is known by the address, only what this client sent.
        locked=f"{MAX_SENDS} codes were sent to this {identifier.type.value} within "
        f"{LOCKOUT_SECONDS // 60} minutes; use the last one (each is good for "
        f"{deps.settings.verification_code_ttl_seconds // 60} minutes), or ask for another "
        "after Retry-After",
    )
    deps.access.attempt_failed(scope, sends, now, MAX_SENDS, LOCKOUT_SECONDS)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    kid, code_hash = tokens.sign(deps.secrets.tracking_keys(), _PURPOSE, key, code)
    minutes = deps.settings.verification_code_ttl_seconds // 60
    valid_until = int(now.timestamp()) + deps.settings.verification_code_ttl_seconds
    deps.access.put_code(key, code_hash, kid, valid_until)
    words = {"code": code, "minutes": minutes}
    if identifier.type is IdentifierType.EMAIL:
        subject = f"Tu código: {code} / Your code"
        html = render("emails/verification_code.html.j2", subject=subject, **words)
        text = render("emails/verification_code.txt.j2", **words) + "\n"
        deps.mailer.send(identifier.value, subject, html, text)
        return
    deps.texter.send(identifier.value, render("texts/verification_code.txt.j2", **words) + "\n")


def confirm_code(email: str | None, phone: str | None, code: str, deps: Deps) -> Verified:
    """The customer who proved the identifier (``proven_customer``: created if nobody
    owns it, or if it was only attached to someone's record) and a customer token, when
    ``code`` is the one sent and still valid; a code is good once. A wrong or expired
    code is 422 on ``code``, and so is any code when none was sent: answering otherwise
    would tell whoever asks which addresses have a code pending. Each counts as a wrong
    attempt: after 5, every attempt is 429 for 15 minutes, code sent or not, so that the
    lockout does not tell either. The right code once spent is 422 too, and no guess."""
    identifier = _identifier(email, phone)
    key = record_key(identifier, deps)
    scope = f"verify#{key}"
    now = deps.clock()
    failures = deps.access.begin_attempt(scope, now, MAX_WRONG_CODES, LOCKOUT_SECONDS)
    stored = deps.access.code(key)
    right = (
        stored is not None
        and int(stored["valid_until"]) > now.timestamp()
        and tokens.verify(
            deps.secrets.tracking_keys(),
            str(stored["kid"]),
            str(stored["code_hash"]),
            _PURPOSE,
            key,
            code,
        )
    )
    if not right or stored is None:
        deps.access.attempt_failed(scope, failures, now, MAX_WRONG_CODES, LOCKOUT_SECONDS)
        raise Unprocessable("wrong or expired code", field="code")
    # The right code sent twice (an app's double submit) is no guess: its attempt is given
    # back, so it never locks the address it just proved (probe 195). Only one is spent.
    if stored.get("used") or not deps.access.use_code(key, str(stored["code_hash"])):
        deps.access.attempt_succeeded(scope)
        raise Unprocessable("this code was used already; ask for a new one", field="code")
    # Proven: the typos before it are forgotten, so one slip at a later sign-in does not
    # lock out whoever just proved the address (a re-probe: 4 typos, then the right code,
    # then one typo a day later locked it).
    deps.access.attempts_cleared(scope, now)
    resolution = proven_customer(identifier, deps)
    if resolution.split_from is not None:
        hand_over_split_orders(resolution.customer_id, deps)
    return Verified(resolution, customer_token(resolution.customer_id, deps))
