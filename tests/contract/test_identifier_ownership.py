"""Who owns which identifier, through claims, merges and erasures: on the fake and on
DynamoDB (moto), the same answers (races for one identifier run on the local stack's
tables, whose locks make moto's conditions atomic as DynamoDB's are:
``tests/integration/test_customer_identifier_forms.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.customers import (
    MAX_ATTACHED_IDENTIFIERS,
    Identifier,
    IdentifierClaim,
    IdentifierType,
)
from chalicelib.domain.errors import Conflict
from tests.support.builders import NOW, new_id


def _identifier(kind: IdentifierType, value: str | None = None) -> Identifier:
    return Identifier(type=kind, value=value or new_id(kind.value))


def _email() -> Identifier:
    return _identifier(IdentifierType.EMAIL, f"{new_id('e')}@example.com")


def test_identifiers_are_listed_by_type_then_value_and_not_in_the_profile(customers: Any) -> None:
    loyalty = _identifier(IdentifierType.LOYALTY_ID, "L-1")
    phone = _identifier(IdentifierType.PHONE, f"+346{new_id('')[-8:]}")
    emails = [_identifier(IdentifierType.EMAIL, f"{name}-{new_id('e')}@ex.com") for name in "ba"]
    customer_id = new_id("cus")
    customers.create_customer(customer_id, [phone, emails[0], loyalty], {"name": "Ana"})
    customers.claim_identifier(customer_id, emails[1])

    expected = sorted([loyalty, phone, *emails], key=lambda i: f"{i.type.value}#{i.value}")
    assert customers.identifiers(customer_id) == expected
    profile = customers.profile(customer_id)
    assert profile is not None
    # The profile's fields, whatever keys the backend answers with too.
    fields = {name: value for name, value in profile.items() if name not in ("pk", "sk")}
    assert fields == {"state": "active", "name": "Ana"}


def test_an_identifier_is_not_claimed_for_a_customer_without_a_profile(customers: Any) -> None:
    email, nobody = _email(), new_id("cus")
    assert not customers.claim_identifier(nobody, email)
    assert customers.find_identifier(email) is None
    assert not customers.customer_exists(nobody)
    assert customers.identifiers(nobody) == []


@pytest.mark.parametrize("state", ["erased", "merged"])
def test_an_identifier_is_not_attached_to_a_record_no_longer_active(
    customers: Any, state: str
) -> None:
    # A probe: an order resolved to its customer just before their erasure attached its
    # phone just after it, and the erased record listed the phone in the 360 and export.
    customer_id, phone = new_id("cus"), _phone()
    customers.create_customer(customer_id, [_email()], {"name": "Ana"})
    if state == "erased":
        record = {"at": NOW.isoformat(), "status": "in_progress"}
        customers.begin_erasure(customer_id, customers.identifiers(customer_id), record)
    else:
        survivor = new_id("cus")
        customers.create_customer(survivor, [_email()], {"name": "Ana"})
        moved = customers.identifiers(customer_id)
        record = {"from_customer_id": customer_id, "into_customer_id": survivor}
        customers.merge_profiles(survivor, customer_id, moved, record | {"at": NOW.isoformat()})

    assert not customers.claim_identifier(customer_id, phone)
    assert customers.find_identifier(phone) is None
    assert customers.identifiers(customer_id) == []


def test_a_forgotten_identifier_leaves_the_others_listed(customers: Any) -> None:
    kept, dropped = _email(), _email()
    customer_id = new_id("cus")
    customers.create_customer(customer_id, [kept, dropped], {"name": "Ana"})
    customers.forget_identifier(customer_id, dropped)
    assert customers.identifiers(customer_id) == [kept]
    assert customers.find_identifier(dropped) is None
    assert customers.find_identifier(kept) == customer_id


def test_a_merge_lists_every_identifier_on_the_survivor_once(customers: Any) -> None:
    shared_kind = _email()
    survivor, merged = new_id("cus"), new_id("cus")
    customers.create_customer(survivor, [_email()], {"name": "Ana"})
    merged_identifiers = [shared_kind, _identifier(IdentifierType.LOYALTY_ID)]
    customers.create_customer(merged, merged_identifiers, {"name": "Ana B."})
    before = customers.identifiers(survivor)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}

    customers.merge_profiles(survivor, merged, customers.identifiers(merged), record)

    together = sorted(before + merged_identifiers, key=lambda i: f"{i.type.value}#{i.value}")
    assert customers.identifiers(survivor) == together
    assert customers.identifiers(merged) == []
    assert all(customers.find_identifier(i) == survivor for i in together)


def test_a_merge_refused_changes_no_identifier(customers: Any) -> None:
    email = _email()
    survivor, merged = new_id("cus"), new_id("cus")
    customers.create_customer(survivor, [_email()], {"name": "Ana"})
    customers.create_customer(merged, [email], {"name": "Ana B."})
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    customers.begin_erasure(survivor, [], {"at": NOW.isoformat(), "status": "in_progress"})
    before = customers.identifiers(survivor)

    with pytest.raises(Conflict) as refused:
        customers.merge_profiles(survivor, merged, [email], record)

    # Named, as every refusal of a merge is (probe 184: merges racing answered no field).
    assert refused.value.field == "from_customer_id"
    assert customers.identifiers(merged) == [email]
    assert customers.identifiers(survivor) == before
    assert customers.find_identifier(email) == merged


def test_an_erasure_releases_and_unlists_every_identifier(customers: Any) -> None:
    identifiers = [_email(), _email(), _identifier(IdentifierType.LOYALTY_ID)]
    customer_id = new_id("cus")
    customers.create_customer(customer_id, identifiers, {"name": "Ana"})
    record = {"at": NOW.isoformat(), "status": "in_progress"}

    customers.begin_erasure(customer_id, customers.identifiers(customer_id), record)

    assert customers.identifiers(customer_id) == []
    assert all(customers.find_identifier(i) is None for i in identifiers)
    profile = customers.profile(customer_id)
    assert profile is not None
    assert profile["state"] == "erased"
    assert "name" not in profile


def test_an_erasure_releases_what_fits_in_its_transaction_and_the_rest_after(
    customers: Any,
) -> None:
    identifiers = [_email() for _ in range(100)]
    customer_id = new_id("cus")
    customers.create_customer(customer_id, identifiers[:50], {"name": "Ana"})
    # Attaching stops at MAX_ATTACHED_IDENTIFIERS; a merge brings the other half.
    other = new_id("cus")
    customers.create_customer(other, identifiers[50:], {"name": "Ana"})
    merge = {"from_customer_id": other, "into_customer_id": customer_id, "at": NOW.isoformat()}
    customers.merge_profiles(customer_id, other, identifiers[50:], merge)
    record = {"at": NOW.isoformat(), "status": "in_progress"}

    customers.begin_erasure(customer_id, customers.identifiers(customer_id), record)

    # The profile, the erasure record and 98 releases: the rest is the next step's.
    left = customers.identifiers(customer_id)
    assert len(left) == 2
    assert [customers.find_identifier(i) for i in left] == [customer_id, customer_id]
    for identifier in left:
        customers.forget_identifier(customer_id, identifier)
    assert customers.identifiers(customer_id) == []
    assert all(customers.find_identifier(i) is None for i in identifiers)


def _phone() -> Identifier:
    return _identifier(IdentifierType.PHONE, f"+346{new_id('')[-8:]}")


def _vouched(customers: Any, identifier: Identifier) -> tuple[str, bool] | None:
    claim = customers.identifier_claim(identifier)
    return None if claim is None else (claim.customer_id, claim.vouched)


def test_only_the_identifier_a_record_is_founded_with_is_vouched_for(customers: Any) -> None:
    email, phone, later = _email(), _phone(), _email()
    customer_id = new_id("cus")
    customers.create_customer(customer_id, [email, phone], {"name": "Ana"}, email)
    assert customers.claim_identifier(customer_id, later)

    assert _vouched(customers, email) == (customer_id, True)
    assert _vouched(customers, phone) == (customer_id, False)
    assert _vouched(customers, later) == (customer_id, False)
    assert _vouched(customers, _email()) is None


def test_an_unvouched_identifier_split_off_founds_a_record_of_its_own(customers: Any) -> None:
    email, phone = _email(), _phone()
    owner, fresh = new_id("cus"), new_id("cus")
    customers.create_customer(owner, [email, phone], {"name": "Ana"}, email)

    customers.split_off_identifier(owner, phone, fresh, {"name": None, "locale": "es"})

    assert _vouched(customers, phone) == (fresh, True)
    assert customers.identifiers(fresh) == [phone]
    assert customers.identifiers(owner) == [email]
    assert customers.find_identifier(phone) == fresh
    profile = customers.profile(fresh)
    assert profile is not None and profile["state"] == "active"
    # Each names the other: an erasure of the old record reaches the new one.
    assert profile["split_from"] == owner
    assert customers.split_off(owner) == [fresh]
    assert customers.split_off(fresh) == []


@pytest.mark.parametrize("case", ["vouched", "another owner", "released", "fresh id taken"])
def test_a_split_refused_changes_nothing(customers: Any, case: str) -> None:
    email, phone = _email(), _phone()
    owner, other, fresh = new_id("cus"), new_id("cus"), new_id("cus")
    customers.create_customer(owner, [email, phone], {"name": "Ana"}, email)
    customers.create_customer(other, [_email()], {"name": "Eva"})
    identifier, claimed_from = phone, owner
    if case == "vouched":
        identifier = email
    elif case == "another owner":
        claimed_from = other
    elif case == "released":
        customers.forget_identifier(owner, phone)
    else:
        fresh = other
    before = {c: customers.identifiers(c) for c in (owner, other)}

    with pytest.raises(Conflict):
        customers.split_off_identifier(claimed_from, identifier, fresh, {"name": None})

    assert {c: customers.identifiers(c) for c in (owner, other)} == before
    if case != "fresh id taken":
        assert not customers.customer_exists(fresh)
    if case != "released":
        assert customers.find_identifier(identifier) == owner


def test_a_merge_vouches_for_none_of_the_claims_it_moves(customers: Any) -> None:
    # A merge proves nothing: what the merged record founded or proved is not vouched for
    # on the survivor (proving it again splits it off); the survivor's own claims keep
    # their flags. (Before, each moved claim kept its flag: a split record's proven phone,
    # merged into the record it was split from, opened that record to whoever proved it.)
    survivor, merged = new_id("cus"), new_id("cus")
    own, founding, attached = _email(), _email(), _phone()
    customers.create_customer(survivor, [own], {"name": "Ana"}, own)
    customers.create_customer(merged, [founding, attached], {"name": "Ana B."}, founding)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}

    customers.merge_profiles(survivor, merged, customers.identifiers(merged), record)

    assert _vouched(customers, own) == (survivor, True)
    assert _vouched(customers, founding) == (survivor, False)
    assert _vouched(customers, attached) == (survivor, False)


def test_a_merged_claim_remembers_the_record_it_was_proven_on(customers: Any) -> None:
    # What the merged record's customer was told at goes on being told there
    # (``customers.told_before_merge``); an identifier only attached there remembers none,
    # and a merge after that keeps what the claim remembered unless it was proven again.
    first, middle, last = new_id("cus"), new_id("cus"), new_id("cus")
    founding, attached, middles = _email(), _phone(), _email()
    customers.create_customer(first, [founding, attached], {"name": "Ana"}, founding)
    customers.create_customer(middle, [middles], {"name": "Ana B."}, middles)
    customers.create_customer(last, [_email()], {"name": "Ana C."})
    record = {"from_customer_id": first, "into_customer_id": middle, "at": NOW.isoformat()}

    customers.merge_profiles(middle, first, [founding, attached], record, [founding])
    customers.merge_profiles(
        last,
        middle,
        customers.identifiers(middle),
        record | {"from_customer_id": middle},
        [middles],
    )

    assert customers.identifier_claim(founding) == IdentifierClaim(last, False, first)
    assert customers.identifier_claim(attached) == IdentifierClaim(last, False, None)
    assert customers.identifier_claim(middles) == IdentifierClaim(last, False, middle)


def test_a_claim_split_off_or_released_remembers_no_merged_record(customers: Any) -> None:
    survivor, merged, fresh = new_id("cus"), new_id("cus"), new_id("cus")
    kept, split = _email(), _email()
    customers.create_customer(survivor, [_email()], {"name": "Ana"})
    customers.create_customer(merged, [kept, split], {"name": "Ana B."}, kept)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    customers.merge_profiles(survivor, merged, [kept, split], record, [kept, split])

    customers.split_off_identifier(survivor, split, fresh, {"name": None, "locale": "es"})
    customers.forget_identifier(survivor, kept)
    assert customers.claim_identifier(survivor, kept)

    assert customers.identifier_claim(split) == IdentifierClaim(fresh, True, None)
    assert customers.identifier_claim(kept) == IdentifierClaim(survivor, False, None)


def test_a_merge_of_a_record_that_claimed_an_identifier_since_is_refused(customers: Any) -> None:
    # Probe 154: an identifier claimed by the merged record after its list was read (another
    # merge into it) stayed claimed by a merged record, out of the survivor's listing.
    survivor, merged = new_id("cus"), new_id("cus")
    founding, since = _email(), _email()
    customers.create_customer(survivor, [_email()], {"name": "Ana"})
    customers.create_customer(merged, [founding], {"name": "Ana B."}, founding)
    read = customers.identifiers(merged)
    assert customers.claim_identifier(merged, since)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}

    with pytest.raises(Conflict):
        customers.merge_profiles(survivor, merged, read, record, read)

    assert customers.profile(merged)["state"] == "active"
    assert customers.find_identifier(founding) == merged
    customers.merge_profiles(survivor, merged, customers.identifiers(merged), record, read)
    assert {customers.find_identifier(i) for i in (founding, since)} == {survivor}


def test_a_record_takes_attached_identifiers_up_to_the_most_a_merge_moves_at_once(
    customers: Any,
) -> None:
    # Probe 184: another storefront attached 101 identifiers to one customer, who could
    # then never be merged into another record ("too many identifiers to merge at once").
    customer_id, founding = new_id("cus"), _email()
    customers.create_customer(customer_id, [founding], {"name": "Ana"})
    attached = [_phone() for _ in range(MAX_ATTACHED_IDENTIFIERS - 1)]
    assert all(customers.claim_identifier(customer_id, phone) for phone in attached)
    one_more = _phone()

    assert not customers.claim_identifier(customer_id, one_more)

    assert customers.find_identifier(one_more) is None
    assert len(customers.identifiers(customer_id)) == MAX_ATTACHED_IDENTIFIERS
    survivor = new_id("cus")
    customers.create_customer(survivor, [_email()], {"name": "Ana"})
    record = {"from_customer_id": customer_id, "into_customer_id": survivor}
    customers.merge_profiles(
        survivor, customer_id, customers.identifiers(customer_id), record | {"at": NOW.isoformat()}
    )
    assert customers.find_identifier(attached[-1]) == survivor
