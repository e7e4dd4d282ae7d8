"""Someone proves the phone attached to a person's record while the person is being
erased. A probe sent the erasure and the confirmation 5 to 40 ms apart: the erasure
answered with the prover's split record among those it left alone, yet took the phone
off the prover's order (which was then cancelled at its hand-over, as the erased
person's) and forgot every text sent to the phone. Whichever lands first, the other must
read it: a split first is left alone as when it came long before; an erasure first
released the phone, which then founds a record of its own, and the order it brought is
erased with the person (nobody had proven the phone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.orders import Order, OrderStatus
from chalicelib.services import customer_records, fulfillment_steps
from chalicelib.services.customer_export import export_customer
from chalicelib.services.customers import lookup_customer
from chalicelib.services.step_models import FulfillmentStep
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.fakes.outside import KeptCopies
from tests.service import flows
from tests.service.test_proving_identifiers import _founded_with_an_unused_phone, _prove
from tests.support.races import meanwhile_before


@dataclass
class Race:
    record: str
    own: Order
    theirs: Order
    phone: str
    proven: list[str] = field(default_factory=list)


def _deps() -> tuple[Deps, KeptCopies]:
    outbox = KeptCopies()
    deps = fake_deps(outbox=outbox)
    load_demo_data(deps.store)
    return deps, outbox


def _set_up(deps: Deps, outbox: KeptCopies) -> Race:
    """A's record lists B's phone (A named it next to A's email); B ordered by phone
    alone, and the order landed on A's record, unvouched. B was texted at the phone."""
    _, record, own, theirs = _founded_with_an_unused_phone(deps)
    assert theirs.customer_unvouched and theirs.contact.phone is not None
    outbox.copies.append({"id": "sms_1", "to": theirs.contact.phone, "text": "Your parcel"})
    return Race(record, own, theirs, theirs.contact.phone)


def _proving_once(race: Race, deps: Deps) -> Callable[[], None]:
    """B proves the phone (sends a code, confirms it), the first time only."""

    def prove() -> None:
        if not race.proven:
            race.proven.append(_prove(deps, race.phone).resolution.customer_id)

    return prove


def _proven_just_after_the_erasure_read_the_claims(
    race: Race, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The split lands after the erasure's first read of A's identifiers, before it
    wrote itself (the probe's window)."""
    prove, real = _proving_once(race, deps), deps.customers.identifiers

    def identifiers(customer_id: str) -> list[Identifier]:
        listed = real(customer_id)
        if customer_id == race.record:
            prove()
        return listed

    monkeypatch.setattr(deps.customers, "identifiers", identifiers)


def _proven_just_before_the_erasure_is_written(
    race: Race, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    meanwhile_before(monkeypatch, deps.customers, "begin_erasure", _proving_once(race, deps))


@pytest.mark.parametrize(
    "race_at",
    [_proven_just_after_the_erasure_read_the_claims, _proven_just_before_the_erasure_is_written],
    ids=["proven just after the erasure read the claims", "proven just before it is written"],
)
def test_a_split_landing_while_the_erasure_is_recorded_is_left_alone(
    race_at: Callable[[Race, Deps, pytest.MonkeyPatch], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    deps, outbox = _deps()
    race = _set_up(deps, outbox)
    race_at(race, deps, monkeypatch)

    erased = customer_records.erase_customer(race.record, "ops", "ops", deps)

    (split,) = race.proven
    assert split != race.record
    assert erased["split_records"] == [split]
    assert erased["cancelled_orders"] == [race.own.order_id]
    kept = deps.store.get_order(race.theirs.order_id)
    assert (kept.contact.phone, kept.contact.name) == (race.phone, "Vera Victima")
    assert outbox.recipients == [race.phone]
    # Its hand-over reads the order as the split record's: it ships.
    for each in kept.fulfillments:
        step = FulfillmentStep(order_id=kept.order_id, fulfillment_id=each.fulfillment_id)
        fulfillment_steps.dispatch_fulfillment(step, deps)
    shipped = flows.projected(deps, deps.store.get_order(kept.order_id))
    assert shipped.status is OrderStatus.SHIPPED
    assert shipped.contact.phone == race.phone
    assert [o["order_id"] for o in export_customer(split, deps)["orders"]] == [kept.order_id]
    assert lookup_customer(None, race.phone, None, deps).customer_id == split
    # Asking again changes nothing.
    again = customer_records.erase_customer(race.record, "ops", "ops", deps)
    assert again["split_records"] == [split]
    assert deps.store.get_order(kept.order_id).contact.phone == race.phone
    assert outbox.recipients == [race.phone]


def test_a_phone_proven_once_the_erasure_released_it_founds_a_record_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deps, outbox = _deps()
    race = _set_up(deps, outbox)
    prove, real = _proving_once(race, deps), deps.customers.begin_erasure

    def begin_erasure(customer_id: str, identifiers: list[Identifier], record: Any) -> None:
        real(customer_id, identifiers, record)
        prove()

    monkeypatch.setattr(deps.customers, "begin_erasure", begin_erasure)

    erased = customer_records.erase_customer(race.record, "ops", "ops", deps)

    # The phone was released: proving it founded a new record, split off nothing, and the
    # order it brought before anyone proved it went with the person (docs/erasure.md).
    (founded,) = race.proven
    assert founded != race.record
    assert erased["split_records"] == []
    assert deps.customers.profile(founded) is not None
    assert (deps.customers.profile(founded) or {}).get("split_from") is None
    phone = Identifier(type=IdentifierType.PHONE, value=race.phone)
    assert deps.store.find_identifier(phone) == founded
    assert sorted(erased["cancelled_orders"]) == sorted([race.own.order_id, race.theirs.order_id])
    assert deps.store.get_order(race.theirs.order_id).contact.phone is None
