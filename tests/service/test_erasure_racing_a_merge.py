"""An ops merge landing while the erasure of its survivor is being recorded: after the
erasure read the person's records and identifiers, before it wrote itself. A probe sent
the two at once: the erasure named both records erased, yet the merged record's
bare-email back-in-stock wish stayed open (its restock notice reached the erased person)
and the copies of the emails and texts sent to that record stayed in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.catalog import Product
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import Conflict
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import OpportunityStatus, SubscriptionStatus
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services import customer_records, inventory, opportunities
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.fakes.outside import KeptCopies, Outgoing
from tests.service import flows
from tests.support.races import meanwhile_before

MERGED_EMAIL = "fusionada@example.com"
MERGED_PHONE = "+34600123987"
SURVIVOR_PHONE = "+34600456321"
STRANGER = "ajena@example.com"


@dataclass
class CopyingMailer(Outgoing):
    """Sends, and keeps a copy in ``outbox`` as the local stack does."""

    outbox: KeptCopies = field(default_factory=KeptCopies)

    def send(self, to: str, *parts: str) -> str:
        message_id = super().send(to, *parts)
        self.outbox.copies.append({"id": message_id, "to": to, "text": "\n".join(parts)})
        return message_id


@dataclass
class People:
    survivor: str
    merged: str
    sku: str
    subscription_id: str


def _two_records_of_one_person(deps: Deps, mailer: CopyingMailer) -> People:
    """The merged record's person asked to be told when a product is back (a bare email:
    no record had it yet), then ordered with that email and a phone, and was written to
    about a ticket (the copies of those messages stay in the outbox); the survivor
    ordered with a phone alone. Someone else's email stays in the outbox too."""
    sku = f"PARAGUAS-{uuid.uuid4().hex[:6].upper()}"
    deps.store.put_product(Product(sku=sku, name="Paraguas", price=Money.of("20.00")))
    wish = opportunities.subscribe_back_in_stock(sku, MERGED_EMAIL, deps)
    assert wish.customer_id is None
    merged = flows.place(deps, customer={"email": MERGED_EMAIL, "phone": MERGED_PHONE})
    survivor = flows.place(deps, customer={"phone": SURVIVOR_PHONE, "name": "Ana"})
    assert merged.customer_id and survivor.customer_id
    assert merged.customer_id != survivor.customer_id
    mailer.send(MERGED_EMAIL, "Your ticket was opened", "Berta, we are on it")
    # What was texted, as the local outbox keeps it (a .sms.txt).
    mailer.outbox.copies += [
        {"id": "sms_1", "to": MERGED_PHONE, "text": "Your ticket was opened"},
        {"id": "sms_2", "to": SURVIVOR_PHONE, "text": "Your code"},
    ]
    mailer.send(STRANGER, "Someone else's email")
    return People(survivor.customer_id, merged.customer_id, sku, wish.subscription_id)


def _deps() -> tuple[Deps, CopyingMailer]:
    mailer = CopyingMailer()
    deps = fake_deps(mailer=mailer, outbox=mailer.outbox)
    load_demo_data(deps.store)
    return deps, mailer


def _merging_once(people: People, deps: Deps) -> Callable[[], None]:
    """Runs the merge of the person's two records, the first time only."""
    done: list[bool] = []

    def merge() -> None:
        if not done:
            done.append(True)
            customer_records.merge_customers(people.survivor, people.merged, "ops", "ops", deps)

    return merge


def _merge_just_before_the_erasure_is_written(
    people: People, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    meanwhile_before(monkeypatch, deps.customers, "begin_erasure", _merging_once(people, deps))


def _merge_just_after_the_erasure_read_the_identifiers(
    people: People, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge lands between the erasure's first read of the survivor's identifiers
    and the next, which then names the merged record's too (released with the
    survivor's when the erasure is written)."""
    merge, real = _merging_once(people, deps), deps.customers.identifiers

    def identifiers(customer_id: str) -> list[Identifier]:
        listed = real(customer_id)
        if customer_id == people.survivor:
            merge()
        return listed

    monkeypatch.setattr(deps.customers, "identifiers", identifiers)


RACES = {
    "merged just before the erasure is written": _merge_just_before_the_erasure_is_written,
    "merged just after the erasure read the identifiers": (
        _merge_just_after_the_erasure_read_the_identifiers
    ),
}


def _assert_nothing_of_the_merged_record_left(
    people: People, deps: Deps, mailer: CopyingMailer
) -> None:
    wish = deps.opportunities.subscription(people.subscription_id)
    assert wish is not None
    assert (wish.status, wish.email) == (SubscriptionStatus.ERASED, "[erased]")
    assert deps.opportunities.open_subscriptions(people.sku) == []
    (opportunity,) = [o for o in deps.opportunities.opportunities() if o.sku == people.sku]
    assert (opportunity.status, opportunity.email) == (OpportunityStatus.LOST, None)
    assert mailer.outbox.recipients == [STRANGER]
    for value, kind in ((MERGED_EMAIL, IdentifierType.EMAIL), (MERGED_PHONE, IdentifierType.PHONE)):
        assert deps.store.find_identifier(Identifier(type=kind, value=value)) is None
    # The product comes back: nobody is told.
    mailer.sent.clear()
    receipt = {"sku": people.sku, "location_id": "WH-GETAFE", "type": "receipt", "quantity": 3}
    inventory.record_movement(RecordMovementRequest.model_validate(receipt), deps)
    assert mailer.sent == []


@pytest.mark.parametrize("race", list(RACES))
def test_an_erasure_a_merge_raced_erases_what_the_merged_record_brought(
    race: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps, mailer = _deps()
    people = _two_records_of_one_person(deps, mailer)
    RACES[race](people, deps, monkeypatch)

    answer = customer_records.erase_customer(people.survivor, "ops", "ops", deps)

    assert answer["status"] == "completed"
    assert answer["erased_records"] == [people.survivor, people.merged]
    _assert_nothing_of_the_merged_record_left(people, deps, mailer)
    erasure = deps.customers.erasure(people.survivor)
    assert MERGED_EMAIL not in repr(erasure) and MERGED_PHONE not in repr(erasure)


def test_asking_again_finishes_an_erasure_a_merge_raced_and_something_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first run found the merged record's addresses once recorded, released its
    identifiers, and died before the subscriptions: asking again still knows them."""
    deps, mailer = _deps()
    people = _two_records_of_one_person(deps, mailer)
    _merge_just_before_the_erasure_is_written(people, deps, monkeypatch)
    real = deps.opportunities.erase_subscription
    failures: list[str] = []

    def fails_once(*args: Any) -> Any:
        if not failures:
            failures.append("once")
            raise RuntimeError("the table went away for a moment")
        return real(*args)

    monkeypatch.setattr(deps.opportunities, "erase_subscription", fails_once)
    with pytest.raises(RuntimeError):
        customer_records.erase_customer(people.survivor, "ops", "ops", deps)

    answer = customer_records.erase_customer(people.survivor, "ops", "ops", deps)

    assert answer["status"] == "completed"
    _assert_nothing_of_the_merged_record_left(people, deps, mailer)
    assert MERGED_EMAIL not in repr(deps.customers.erasure(people.survivor))


def test_a_merge_into_a_record_being_erased_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the erasure is written, a merge is too late: refused, nothing moved."""
    deps, mailer = _deps()
    people = _two_records_of_one_person(deps, mailer)
    real = deps.customers.begin_erasure
    refused: list[Conflict] = []

    def begin_erasure(customer_id: str, identifiers: list[Identifier], record: Any) -> None:
        real(customer_id, identifiers, record)
        with pytest.raises(Conflict) as merging:
            customer_records.merge_customers(people.survivor, people.merged, "ops", "ops", deps)
        refused.append(merging.value)

    monkeypatch.setattr(deps.customers, "begin_erasure", begin_erasure)

    answer = customer_records.erase_customer(people.survivor, "ops", "ops", deps)

    assert refused and answer["erased_records"] == [people.survivor]
    found = deps.store.find_identifier(Identifier(type=IdentifierType.EMAIL, value=MERGED_EMAIL))
    assert found == people.merged


def test_erasing_a_record_as_it_is_merged_into_another_erases_the_person_it_joined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probe 26G: erasing B while ops merged B into A answered 409 "kept changing; erase
    again", and nothing was erased until ops asked again. Merged, B names A's person."""
    deps, mailer = _deps()
    people = _two_records_of_one_person(deps, mailer)
    _merge_just_before_the_erasure_is_written(people, deps, monkeypatch)

    answer = customer_records.erase_customer(people.merged, "ops", "ops", deps)

    assert answer["status"] == "completed"
    assert answer["erased_records"] == [people.survivor, people.merged]
    _assert_nothing_of_the_merged_record_left(people, deps, mailer)
