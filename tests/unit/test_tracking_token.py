"""Signed tracking links: a token names one order and cannot be forged."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chalicelib.domain.errors import NotFound
from chalicelib.services.tracking import order_for_token, tracking_token

SECRET = "tracking-secret-for-unit-tests"


@dataclass
class FakeSecrets:
    """The one secret the tracking link needs."""

    secret: str = SECRET

    def tracking_secret(self) -> str:
        """The HMAC key of tracking links."""
        return self.secret


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


def lookup(token: str, deps: FakeDeps) -> object:
    """``order_for_token`` on the fakes."""
    return order_for_token(token, deps)  # type: ignore[arg-type]


def test_token_is_the_order_id_and_a_signature() -> None:
    token = tracking_token("ord_abc123", SECRET)
    order_id, dot, signature = token.rpartition(".")
    assert (order_id, dot) == ("ord_abc123", ".")
    assert len(signature) == 32
    assert int(signature, 16) >= 0


def test_token_depends_on_the_order_and_the_secret() -> None:
    assert tracking_token("ord_a", SECRET) != tracking_token("ord_b", SECRET)
    assert tracking_token("ord_a", SECRET) != tracking_token("ord_a", "another-secret")
    assert tracking_token("ord_a", SECRET) == tracking_token("ord_a", SECRET)


def test_valid_token_returns_the_order_it_names() -> None:
    deps = FakeDeps()
    assert lookup(tracking_token("ord_unit_7", SECRET), deps) == "order:ord_unit_7"
    assert deps.store.asked == ["ord_unit_7"]


def test_order_id_containing_dots_round_trips() -> None:
    deps = FakeDeps()
    assert lookup(tracking_token("ord.with.dots", SECRET), deps) == "order:ord.with.dots"


def test_token_signed_with_another_secret_is_not_found() -> None:
    deps = FakeDeps()
    with pytest.raises(NotFound) as raised:
        lookup(tracking_token("ord_unit_8", "guessed-secret"), deps)
    assert raised.value.field == "token"
    assert deps.store.asked == []


def test_signature_of_one_order_does_not_open_another() -> None:
    deps = FakeDeps()
    signature = tracking_token("ord_mine", SECRET).rpartition(".")[2]
    with pytest.raises(NotFound):
        lookup(f"ord_yours.{signature}", deps)
    assert deps.store.asked == []


@pytest.mark.parametrize(
    "token",
    ["", "ord_unit_9", "ord_unit_9.", ".abc", "ord_unit_9.deadbeef", "ord_unit_9." + "0" * 32],
)
def test_forged_or_malformed_token_is_not_found(token: str) -> None:
    deps = FakeDeps()
    with pytest.raises(NotFound):
        lookup(token, deps)
    assert deps.store.asked == []


def test_tampered_signature_is_not_found() -> None:
    deps = FakeDeps()
    token = tracking_token("ord_unit_10", SECRET)
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(NotFound):
        lookup(flipped, deps)
    assert deps.store.asked == []
