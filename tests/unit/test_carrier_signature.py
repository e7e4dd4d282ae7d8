"""Carrier webhook signatures: HMAC-SHA256 over ``<t>.<raw body>``, fresh within 300 s."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from chalicelib.domain.errors import Unauthorized
from chalicelib.services.carrier_events import SIGNATURE_HEADER, sign, verify_signature

SECRET = "carrier-secret-for-unit-tests"
TOLERANCE = 300
NOW = 1_772_445_600  # 2026-03-02T10:00:00Z
BODY = json.dumps(
    {
        "event_id": "ev_unit_1",
        "tracking_number": "RP123",
        "type": "delivered",
        "occurred_at": "2026-03-02T09:59:00Z",
    }
).encode()


def verify(header: str | None, body: bytes = BODY, secret: str = SECRET, now: float = NOW) -> None:
    """Verify as the webhook does, with the contract's 300 s tolerance."""
    verify_signature(header, body, secret, TOLERANCE, now)


def refused(header: str | None, body: bytes = BODY, secret: str = SECRET, now: float = NOW) -> str:
    """The reason a header is refused; fails the test if it is accepted."""
    with pytest.raises(Unauthorized) as raised:
        verify(header, body, secret, now)
    assert raised.value.status == 401
    assert raised.value.field == SIGNATURE_HEADER
    return raised.value.detail


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1772445600." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"t=1772445600,v1={expected}"


def test_fresh_signature_of_this_body_is_accepted() -> None:
    verify(sign(SECRET, NOW, BODY))


@pytest.mark.parametrize("age", [-300, -1, 1, 300])
def test_signature_up_to_300_seconds_either_side_is_accepted(age: int) -> None:
    verify(sign(SECRET, NOW - age, BODY))


@pytest.mark.parametrize("age", [301, 3600, -301, -86400])
def test_signature_more_than_300_seconds_old_or_ahead_is_refused(age: int) -> None:
    assert "tolerance" in refused(sign(SECRET, NOW - age, BODY))


def test_wrong_secret_is_refused() -> None:
    refused(sign("someone-else", NOW, BODY))


def test_tampered_body_is_refused() -> None:
    header = sign(SECRET, NOW, BODY)
    refused(header, body=BODY.replace(b"delivered", b"exception"))
    refused(header, body=BODY + b" ")


def test_signature_cannot_be_replayed_with_a_new_timestamp() -> None:
    digest = sign(SECRET, NOW - 3600, BODY).split("v1=")[1]
    refused(f"t={NOW},v1={digest}")


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_refused(header: str | None) -> None:
    refused(header)


def test_empty_secret_refuses_everything() -> None:
    refused(sign("", NOW, BODY), secret="")


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=,v1=abc",
        "t=yesterday,v1=abc",
        "v1=abc",
        f"t={NOW}",
        f"t={NOW},v1=",
        f"t={NOW},v1=not-hex",
        f"t={NOW},v0=abc",
    ],
)
def test_malformed_header_is_refused(header: str) -> None:
    refused(header)


def test_one_matching_v1_among_several_is_accepted_for_secret_rotation() -> None:
    digest = sign(SECRET, NOW, BODY).split("v1=")[1]
    old = sign("old-secret", NOW, BODY).split("v1=")[1]
    verify(f"t={NOW}, v1={old}, v1={digest}")
