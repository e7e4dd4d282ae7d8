"""Signed tokens with a key id (kid): the signing key signs, every key of the ring
verifies, so a secret can be rotated without breaking links already sent. Comparisons are
constant-time on bytes; any text (non-ASCII too) is just an invalid token."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.ports import Keyring

SIGNATURE_CHARS = 32


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def signature(secret: str, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 of the purpose and the parts, as 32 hex characters (128 bits)."""
    message = "\n".join((purpose, *parts))
    return hmac.new(_bytes(secret), _bytes(message), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def sign(keys: Keyring, purpose: str, *parts: str) -> tuple[str, str]:
    """The signing kid and its signature of the parts."""
    return keys.signing_kid, signature(keys.signing_key, purpose, *parts)


def verify(keys: Keyring, kid: str, given: str, purpose: str, *parts: str) -> bool:
    """Whether ``given`` is the signature of the parts under the key ``kid`` names."""
    secret = keys.keys.get(kid)
    if secret is None:
        # Still compare, so that an unknown kid costs what a known one does.
        hmac.compare_digest(_bytes(given), _bytes("0" * SIGNATURE_CHARS))
        return False
    return hmac.compare_digest(_bytes(given), _bytes(signature(secret, purpose, *parts)))


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two texts, as bytes."""
    return hmac.compare_digest(_bytes(given), _bytes(expected))
