"""Customer tokens: signed with a key id for one customer, and expiring within 24 hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.secrets import Keyring
from chalicelib.config import Settings
from chalicelib.services.customers import customer_token, token_grants

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class FakeSecrets:
    """A keyring of one or two keys."""

    keys: Keyring = field(default_factory=lambda: Keyring({"k1": "secret-one"}, "k1"))

    def tracking_keys(self) -> Keyring:
        """Every key verifies; the signing one signs."""
        return self.keys


@dataclass
class FakeProfiles:
    """The profiles' states a token is checked against: every record active unless set."""

    states: dict[str, str] = field(default_factory=dict)

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """A profile in the state the test set (active by default)."""
        return {"state": self.states.get(customer_id, "active")}


@dataclass
class FakeDeps:
    """What customer tokens use: settings, secrets, profiles and a clock a test can move."""

    settings: Settings = field(default_factory=Settings)
    secrets: FakeSecrets = field(default_factory=FakeSecrets)
    customers: FakeProfiles = field(default_factory=FakeProfiles)
    now: datetime = NOW

    def clock(self) -> datetime:
        """The test's now."""
        return self.now


def test_a_token_grants_its_customer_until_it_expires_within_24_hours() -> None:
    deps = FakeDeps()
    issued = customer_token("cus_1", deps)  # type: ignore[arg-type]

    assert issued.expires_at <= NOW + timedelta(hours=24)
    assert token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]
    assert not token_grants(issued.token, "cus_2", deps)  # type: ignore[arg-type]
    deps.now = issued.expires_at
    assert not token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]


def test_a_token_survives_a_key_rotation_while_its_key_is_in_the_ring() -> None:
    deps = FakeDeps()
    issued = customer_token("cus_1", deps)  # type: ignore[arg-type]
    deps.secrets.keys = Keyring({"k1": "secret-one", "k2": "secret-two"}, "k2")

    assert token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]
    assert customer_token("cus_1", deps).token.split(".")[1] == "k2"  # type: ignore[arg-type]
    deps.secrets.keys = Keyring({"k2": "secret-two"}, "k2")
    assert not token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]


def test_a_stretched_expiry_or_an_old_style_token_grants_nothing() -> None:
    deps = FakeDeps()
    issued = customer_token("cus_1", deps).token  # type: ignore[arg-type]
    version, kid, expires, rest = issued.split(".", 3)
    stretched = ".".join((version, kid, str(int(expires) + 86400), rest))

    for token in (stretched, "cus_1." + "0" * 32, "", "c1", "c1.k1.²³.cus_1.x", "c1.k1.1.ñ.é"):
        assert not token_grants(token, "cus_1", deps)  # type: ignore[arg-type]


def test_a_token_for_a_record_merged_into_another_grants_nothing() -> None:
    # Every customer route resolves a merged id to its survivor: a token for the merged-in
    # record would open the survivor's data, which nobody proved.
    deps = FakeDeps()
    issued = customer_token("cus_1", deps)  # type: ignore[arg-type]
    assert token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]
    deps.customers.states["cus_1"] = "merged"

    assert not token_grants(issued.token, "cus_1", deps)  # type: ignore[arg-type]
    assert not token_grants(issued.token, "cus_2", deps)  # type: ignore[arg-type]
