"""Signed tracking links: a token names one order and cannot be forged; it carries the id
of the key that signed it, so keys rotate without breaking links already sent; raising the
order's generation revokes its links."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import pytest

from chalicelib.adapters.secrets import Keyring, parse_keyring
from chalicelib.domain.errors import NotFound
from chalicelib.services.tracking import order_for_token, tracking_token

SECRET = "tracking-secret-for-unit-tests"
KEYS = Keyring({"k1": SECRET}, "k1")


@dataclass
class FakeSecrets:
    """The keyring tracking links are signed with."""

    keys: Keyring = KEYS

    def tracking_keys(self) -> Keyring:
        """Every key verifies; the signing one signs."""
        return self.keys


@dataclass
class FakeAccess:
    """Tracking-link generations by order."""

    generations: dict[str, int] = field(default_factory=dict)

    def tracking_generation(self, order_id: str) -> int:
        """0 until revoked."""
        return self.generations.get(order_id, 0)


@dataclass
class FakeStore:
    """Answers with the id it was asked for, and remembers every look-up."""

    asked: list[str] = field(default_factory=list)

    def get_order(self, order_id: str) -> str:
        """Stand-in for the order: its id."""
        self.asked.append(order_id)
        return f"order:{order_id}"


@dataclass
class FakeDeps:
    """Just what ``order_for_token`` uses."""

    secrets: FakeSecrets = field(default_factory=FakeSecrets)
    store: FakeStore = field(default_factory=FakeStore)
    access: FakeAccess = field(default_factory=FakeAccess)


def lookup(token: str, deps: FakeDeps) -> object:
    """``order_for_token`` on the fakes."""
    return order_for_token(token, deps)  # type: ignore[arg-type]


def legacy_token(order_id: str, secret: str) -> str:
    """A link as sent before key ids: ``<order id>.<signature>``."""
    signature = hmac.new(secret.encode(), f"track:{order_id}".encode(), hashlib.sha256)
    return f"{order_id}.{signature.hexdigest()[:32]}"


def test_token_names_version_kid_generation_order_and_a_signature() -> None:
    token = tracking_token("ord_abc123", KEYS)
    version, kid, generation, rest = token.split(".", 3)
    order_id, _, signature = rest.rpartition(".")
    assert (version, kid, generation, order_id) == ("v1", "k1", "0", "ord_abc123")
    assert len(signature) == 32
    assert int(signature, 16) >= 0


def test_token_depends_on_the_order_the_key_and_the_generation() -> None:
    other = Keyring({"k1": "another-secret"}, "k1")
    assert tracking_token("ord_a", KEYS) != tracking_token("ord_b", KEYS)
    assert tracking_token("ord_a", KEYS) != tracking_token("ord_a", other)
    assert tracking_token("ord_a", KEYS) != tracking_token("ord_a", KEYS, 1)
    assert tracking_token("ord_a", KEYS) == tracking_token("ord_a", KEYS)


def test_valid_token_returns_the_order_it_names() -> None:
    deps = FakeDeps()
    assert lookup(tracking_token("ord_unit_7", KEYS), deps) == "order:ord_unit_7"
    assert deps.store.asked == ["ord_unit_7"]


def test_order_id_containing_dots_round_trips() -> None:
    deps = FakeDeps()
    assert lookup(tracking_token("ord.with.dots", KEYS), deps) == "order:ord.with.dots"


def test_token_signed_with_another_secret_is_not_found() -> None:
    deps = FakeDeps()
    with pytest.raises(NotFound) as raised:
        lookup(tracking_token("ord_unit_8", Keyring({"k1": "guessed"}, "k1")), deps)
    assert raised.value.field == "token"
    assert deps.store.asked == []


def test_a_link_signed_by_a_retired_signing_key_still_opens_after_rotation() -> None:
    old = tracking_token("ord_rot", KEYS)
    rotated = FakeDeps(secrets=FakeSecrets(Keyring({"k1": SECRET, "k2": "new-secret"}, "k2")))

    assert lookup(old, rotated) == "order:ord_rot"
    assert tracking_token("ord_rot", rotated.secrets.keys).split(".")[1] == "k2"
    # Once the old key leaves the ring, its links stop working.
    dropped = FakeDeps(secrets=FakeSecrets(Keyring({"k2": "new-secret"}, "k2")))
    with pytest.raises(NotFound):
        lookup(old, dropped)


def test_a_kid_naming_another_key_of_the_ring_does_not_verify() -> None:
    deps = FakeDeps(secrets=FakeSecrets(Keyring({"k1": SECRET, "k2": "new-secret"}, "k2")))
    token = tracking_token("ord_kid", KEYS).replace(".k1.", ".k2.", 1)
    with pytest.raises(NotFound):
        lookup(token, deps)


def test_links_sent_before_key_ids_still_open_until_revoked() -> None:
    deps = FakeDeps()
    assert lookup(legacy_token("ord_old", SECRET), deps) == "order:ord_old"
    deps.access.generations["ord_old"] = 1
    with pytest.raises(NotFound):
        lookup(legacy_token("ord_old", SECRET), deps)


def test_a_revoked_generation_is_not_found_and_the_new_one_opens() -> None:
    deps = FakeDeps()
    old = tracking_token("ord_rev", KEYS)
    deps.access.generations["ord_rev"] = 1

    with pytest.raises(NotFound):
        lookup(old, deps)
    assert lookup(tracking_token("ord_rev", KEYS, 1), deps) == "order:ord_rev"


def test_signature_of_one_order_does_not_open_another() -> None:
    deps = FakeDeps()
    signature = tracking_token("ord_mine", KEYS).rpartition(".")[2]
    with pytest.raises(NotFound):
        lookup(f"v1.k1.0.ord_yours.{signature}", deps)
    assert deps.store.asked == []


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ord_unit_9",
        "ord_unit_9.",
        ".abc",
        "ord_unit_9.deadbeef",
        "ord_unit_9." + "0" * 32,
        "v1.k1.0.ord_unit_9." + "0" * 32,
        "v1.k9.0.ord_unit_9." + "0" * 32,
        "v1.k1.x.ord_unit_9." + "0" * 32,
        "v1.k1.²." + "0" * 32,
        "v1.k1.0.ördér." + "é" * 32,
        "ördér.\udce9" + "0" * 31,
    ],
)
def test_forged_or_malformed_token_is_not_found(token: str) -> None:
    deps = FakeDeps()
    with pytest.raises(NotFound):
        lookup(token, deps)
    assert deps.store.asked == []


def test_tampered_signature_is_not_found() -> None:
    deps = FakeDeps()
    token = tracking_token("ord_unit_10", KEYS)
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(NotFound):
        lookup(flipped, deps)
    assert deps.store.asked == []


def test_a_keyring_parameter_is_a_bare_secret_or_keys_with_the_signing_kid() -> None:
    assert parse_keyring("plain-secret") == Keyring({"k0": "plain-secret"}, "k0")
    ring = parse_keyring('{"signing": "k2", "keys": {"k1": "a", "k2": "b"}}')
    assert ring.signing_kid == "k2" and ring.signing_key == "b"
    with pytest.raises(ValueError):
        parse_keyring('{"signing": "k.1", "keys": {"k.1": "a"}}')
