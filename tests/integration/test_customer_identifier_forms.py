"""The customer's identifiers as DynamoDB holds them (moto): listed on the profile, claimed
in the profile's transaction (two items a new customer, not three); and customers stored
before, with a copy of each identifier in their partition, still read, merged and erased
with nothing left behind."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.identities import PROFILE_IDENTIFIERS
from chalicelib.adapters.dynamodb.store import CustomerStore
from chalicelib.adapters.dynamodb.table import from_item
from chalicelib.domain.customers import Identifier, IdentifierType
from chalicelib.domain.errors import Conflict
from chalicelib.ports import CustomerRecord
from chalicelib.services import customer_records
from chalicelib.services.customers import proven_customer
from tests.support.builders import NOW, new_id
from tests.support.moto_probes import recording_client


def _email(name: str = "e") -> Identifier:
    return Identifier(type=IdentifierType.EMAIL, value=f"{new_id(name)}@example.com")


def _partition(deps: Any, customer_id: str) -> dict[str, dict[str, Any]]:
    """The customer's partition as stored, by sort key."""
    page = deps.customers.table.partition(keys.customer_pk(customer_id))
    return {str(item["sk"]): item for item in page.items}


def _recording(deps: Any) -> tuple[CustomerStore, list[tuple[str, dict[str, Any]]]]:
    client, calls = recording_client(deps.settings.region)
    return CustomerStore(client, deps.settings.table_name), calls


def _stored_before(deps: Any, *identifiers: Identifier) -> str:
    """A customer as stored before the profile listed its identifiers: a claim and a copy
    in the customer's partition for each."""
    customer_id = new_id("cus")
    table = deps.customers.table
    items = [keys.profile(customer_id) | {"state": "active", "name": "Old", "locale": "es"}]
    for identifier in identifiers:
        items.append(keys.identifier(identifier) | {"customer_id": customer_id})
        items.append(
            keys.identifier_mirror(customer_id, identifier)
            | {"type": identifier.type.value, "value": identifier.value}
        )
    table.transact([table.put(item) for item in items])
    return customer_id


def test_a_new_customer_is_its_profile_and_its_claims_in_one_transaction(deps: Any) -> None:
    store, calls = _recording(deps)
    email, loyalty = _email(), Identifier(type=IdentifierType.LOYALTY_ID, value=new_id("L"))
    customer_id = new_id("cus")

    store.create_customer(customer_id, [email, loyalty], {"name": "Ana", "locale": "es"})

    (name, request), *_ = calls
    assert name == "TransactWriteItems" and len(calls) == 1
    written = [from_item(write["Put"]["Item"]) for write in request["TransactItems"]]
    assert [(item["pk"], item["sk"]) for item in written] == [
        (keys.customer_pk(customer_id), keys.PROFILE_SK),
        tuple(keys.identifier(email).values()),
        tuple(keys.identifier(loyalty).values()),
    ]
    stored = _partition(deps, customer_id)
    assert list(stored) == [keys.PROFILE_SK]
    assert stored[keys.PROFILE_SK][PROFILE_IDENTIFIERS] == {
        f"email#{email.value}",
        f"loyalty_id#{loyalty.value}",
    }
    assert store.identifiers(customer_id) == [email, loyalty]


def test_a_customer_stored_before_keeps_its_identifiers_and_gains_new_ones(deps: Any) -> None:
    old_email, new_email = _email("b"), _email("a")
    customer_id = _stored_before(deps, old_email)
    store = deps.customers
    assert store.identifiers(customer_id) == [old_email]

    assert store.claim_identifier(customer_id, new_email)

    assert store.identifiers(customer_id) == sorted([old_email, new_email], key=lambda i: i.value)
    store.forget_identifier(customer_id, old_email)
    assert store.identifiers(customer_id) == [new_email]
    assert store.find_identifier(old_email) is None
    # The copy went with its identifier; the profile lists the new one only.
    stored = _partition(deps, customer_id)
    assert list(stored) == [keys.PROFILE_SK]
    assert stored[keys.PROFILE_SK][PROFILE_IDENTIFIERS] == {f"email#{new_email.value}"}


def test_a_customer_stored_before_merged_into_a_new_one_leaves_no_copy(deps: Any) -> None:
    store = deps.customers
    copied = [_email(), Identifier(type=IdentifierType.PHONE, value=f"+346{new_id('')[-8:]}")]
    merged = _stored_before(deps, *copied)
    survivor = new_id("cus")
    survivor_email = _email()
    store.create_customer(survivor, [survivor_email], {"name": "Ana"})
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    # The phone number passed to another owner is not the merged record's to move.
    store.forget_identifier(merged, copied[1])

    store.merge_profiles(survivor, merged, store.identifiers(merged), record)

    assert store.identifiers(merged) == []
    assert [sk for sk in _partition(deps, merged) if sk.startswith(keys.IDENTIFIER_PREFIX)] == []
    assert store.identifiers(survivor) == sorted([copied[0], survivor_email], key=lambda i: i.value)
    assert store.find_identifier(copied[0]) == survivor
    assert [sk for sk in _partition(deps, survivor) if sk.startswith(keys.IDENTIFIER_PREFIX)] == []


def test_erasing_a_customer_stored_before_leaves_no_identifier_anywhere(deps: Any) -> None:
    identifiers = [
        _email(),
        _email(),
        Identifier(type=IdentifierType.LOYALTY_ID, value=new_id("L")),
    ]
    customer_id = _stored_before(deps, *identifiers[:2])
    assert deps.customers.claim_identifier(customer_id, identifiers[2])

    customer_records.erase_customer(customer_id, "ops", "ops", deps)

    assert all(deps.customers.find_identifier(i) is None for i in identifiers)
    stored = _partition(deps, customer_id)
    assert [sk for sk in stored if sk.startswith(keys.IDENTIFIER_PREFIX)] == []
    profile = stored[keys.PROFILE_SK]
    assert profile["state"] == "erased"
    assert PROFILE_IDENTIFIERS not in profile and "name" not in profile
    # Nothing left in the partition names an identifier of the person.
    values = {i.value for i in identifiers}
    assert not [sk for sk, item in stored.items() if any(v in str(item) for v in values)]


def test_erasing_a_new_customer_leaves_no_identifier_anywhere(deps: Any) -> None:
    identifiers = [_email(), Identifier(type=IdentifierType.PHONE, value=f"+346{new_id('')[-8:]}")]
    customer_id = new_id("cus")
    deps.customers.create_customer(customer_id, identifiers, {"name": "Ana"})

    customer_records.erase_customer(customer_id, "ops", "ops", deps)

    assert all(deps.customers.find_identifier(i) is None for i in identifiers)
    profile = _partition(deps, customer_id)[keys.PROFILE_SK]
    assert PROFILE_IDENTIFIERS not in profile and "name" not in profile
    assert deps.customers.identifiers(customer_id) == []


def test_customers_created_at_once_with_one_email_make_one_customer(deps: Any) -> None:
    email = _email("race")
    ids = [new_id("cus") for _ in range(8)]
    start = threading.Barrier(len(ids))
    refused: list[str] = []

    def create(customer_id: str) -> None:
        start.wait()
        try:
            deps.customers.create_customer(customer_id, [email], {"name": "Ana", "locale": "es"})
        except Conflict:
            refused.append(customer_id)

    threads = [threading.Thread(target=create, args=(customer_id,)) for customer_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (winner,) = [customer_id for customer_id in ids if customer_id not in refused]
    assert deps.customers.find_identifier(email) == winner
    assert deps.customers.identifiers(winner) == [email]
    for loser in refused:
        assert not deps.customers.customer_exists(loser)
        assert _partition(deps, loser) == {}


def _phone() -> Identifier:
    return Identifier(type=IdentifierType.PHONE, value=f"+346{new_id('')[-8:]}")


def test_each_claim_item_says_whether_it_is_vouched_for(deps: Any) -> None:
    email, phone, later = _email(), _phone(), _email("later")
    customer_id = new_id("cus")
    deps.customers.create_customer(customer_id, [email, phone], {"name": "Ana"}, email)
    assert deps.customers.claim_identifier(customer_id, later)

    stored = {i.value: deps.customers.table.get(keys.identifier(i)) for i in (email, phone, later)}

    assert stored == {
        email.value: keys.identifier(email) | {"customer_id": customer_id, "vouched": True},
        phone.value: keys.identifier(phone) | {"customer_id": customer_id, "vouched": False},
        later.value: keys.identifier(later) | {"customer_id": customer_id, "vouched": False},
    }


def test_a_claim_stored_before_the_flag_is_vouched_for_and_never_split_off(deps: Any) -> None:
    phone = _phone()
    customer_id = _stored_before(deps, _email(), phone)

    claim = deps.customers.identifier_claim(phone)

    assert claim is not None and (claim.customer_id, claim.vouched) == (customer_id, True)
    with pytest.raises(Conflict):
        deps.customers.split_off_identifier(customer_id, phone, new_id("cus"), {"name": None})
    assert proven_customer(phone, deps).customer_id == customer_id


def test_a_split_moves_the_claim_and_unlists_it_in_one_transaction(deps: Any) -> None:
    store, calls = _recording(deps)
    email, phone = _email(), _phone()
    owner, fresh = new_id("cus"), new_id("cus")
    store.create_customer(owner, [email, phone], {"name": "Ana"}, email)
    calls.clear()

    store.split_off_identifier(owner, phone, fresh, {"name": None, "locale": "es"})

    (request,) = [request for name, request in calls if name not in ("GetItem", "Query")]
    assert [name for name, _ in calls if name not in ("GetItem", "Query")] == ["TransactWriteItems"]
    items = request["TransactItems"]
    # The new profile, the claim, the old profile's list, and the split's link on the old
    # record (ids only, so that an erasure of the old record finds the new one).
    assert [next(iter(item)) for item in items] == ["Put", "Put", "Update", "Put"]
    assert from_item(items[3]["Put"]["Item"]) == keys.split_record(owner, fresh) | {
        "customer_id": fresh
    }
    assert from_item(items[0]["Put"]["Item"])["split_from"] == owner
    claim = from_item(items[1]["Put"]["Item"])
    assert claim == keys.identifier(phone) | {"customer_id": fresh, "vouched": True}
    # The claim passes from one owner to the other: never free for a third to take.
    assert items[1]["Put"]["ConditionExpression"] == "customer_id = :from AND #vouched = :unvouched"
    assert deps.customers.table.get(keys.identifier(phone))["customer_id"] == fresh
    assert _partition(deps, owner)[keys.PROFILE_SK][PROFILE_IDENTIFIERS] == {f"email#{email.value}"}
    assert _partition(deps, fresh)[keys.PROFILE_SK][PROFILE_IDENTIFIERS] == {f"phone#{phone.value}"}


def test_a_refused_split_leaves_both_records_as_they_were(deps: Any) -> None:
    email, phone = _email(), _phone()
    owner, taken = new_id("cus"), new_id("cus")
    deps.customers.create_customer(owner, [email, phone], {"name": "Ana"}, email)
    deps.customers.create_customer(taken, [_email()], {"name": "Eva"})
    before = {c: _partition(deps, c) for c in (owner, taken)}

    with pytest.raises(Conflict):  # the fresh id exists: nothing of the split is written
        deps.customers.split_off_identifier(owner, phone, taken, {"name": None})

    assert {c: _partition(deps, c) for c in (owner, taken)} == before
    assert deps.customers.table.get(keys.identifier(phone)) == keys.identifier(phone) | {
        "customer_id": owner,
        "vouched": False,
    }


def test_a_merge_stores_every_moved_claim_unvouched(deps: Any) -> None:
    # A merge proves nothing: founding, attached or stored before the flag existed, each
    # claim moved is written unvouched on the survivor. (This test pinned that each kept
    # its flag, which let a proven split-off phone open the record it was merged into.)
    survivor, merged = new_id("cus"), new_id("cus")
    founding, attached, older = _email(), _phone(), _email("old")
    deps.customers.create_customer(survivor, [_email()], {"name": "Ana"}, None)
    deps.customers.create_customer(merged, [founding, attached], {"name": "Ana"}, founding)
    legacy = _stored_before(deps, older)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    deps.customers.merge_profiles(survivor, merged, deps.customers.identifiers(merged), record)
    record = record | {"from_customer_id": legacy}
    deps.customers.merge_profiles(survivor, legacy, deps.customers.identifiers(legacy), record)

    def stored(identifier: Identifier) -> Any:
        return deps.customers.table.get(keys.identifier(identifier))

    for identifier in (founding, attached, older):
        assert stored(identifier) == keys.identifier(identifier) | {
            "customer_id": survivor,
            "vouched": False,
        }


def test_proofs_at_once_of_one_attached_phone_split_it_off_once(deps: Any) -> None:
    email, phone = _email(), _phone()
    owner = new_id("cus")
    deps.customers.create_customer(owner, [email, phone], {"name": "Ana"}, email)
    start = threading.Barrier(6)
    found: list[str] = []

    def prove() -> None:
        start.wait()
        found.append(proven_customer(phone, deps).customer_id)

    threads = [threading.Thread(target=prove) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (fresh,) = set(found)
    assert len(found) == 6 and fresh != owner
    assert deps.customers.identifiers(fresh) == [phone]
    assert deps.customers.identifiers(owner) == [email]
    candidates, _ = deps.customers.records(owner, CustomerRecord.CANDIDATES)
    assert [c["customer_id"] for c in candidates] == [fresh]
