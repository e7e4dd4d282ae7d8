"""The profile's email preference and language, on the fake and on DynamoDB alike."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.customers import LOCALE_CHOSEN, Identifier, IdentifierType
from chalicelib.domain.errors import Conflict
from tests.support.builders import NOW, new_id


def _customer(customers: Any) -> str:
    customer_id = new_id("cus")
    customers.create_customer(customer_id, [], {"name": "Ana", "locale": "es"})
    return customer_id


def test_the_preference_is_kept_on_the_profile_and_can_change_back(customers: Any) -> None:
    customer_id = _customer(customers)
    assert customers.set_notifications(customer_id, "all")
    profile = customers.profile(customer_id)
    assert profile is not None
    assert (profile["notifications"], profile["name"]) == ("all", "Ana")
    assert customers.set_notifications(customer_id, "essential")
    assert customers.profile(customer_id)["notifications"] == "essential"


def test_an_unknown_or_merged_customer_keeps_no_preference(customers: Any) -> None:
    unknown = new_id("cus")
    assert not customers.set_notifications(unknown, "all")
    assert customers.profile(unknown) is None
    survivor, merged = _customer(customers), _customer(customers)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    customers.merge_profiles(survivor, merged, [], record)
    assert not customers.set_notifications(merged, "all")
    assert "notifications" not in customers.profile(merged)


@pytest.mark.parametrize("moving", [0, 1], ids=["no-identifier", "one-identifier"])
def test_a_merge_sets_the_survivor_s_preference_in_its_own_write(
    customers: Any, moving: int
) -> None:
    survivor, merged = _customer(customers), _customer(customers)
    assert customers.set_notifications(survivor, "all")
    identifiers = [Identifier(type=IdentifierType.EMAIL, value=f"{new_id('m')}@example.com")]
    for identifier in identifiers[:moving]:
        assert customers.claim_identifier(merged, identifier)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}

    customers.merge_profiles(
        survivor,
        merged,
        identifiers[:moving],
        record,
        survivor_takes={"notifications": "essential"},
    )

    assert customers.profile(survivor)["notifications"] == "essential"
    assert customers.identifiers(survivor) == identifiers[:moving]


def test_a_refused_merge_leaves_the_survivor_s_preference(customers: Any) -> None:
    survivor, merged = _customer(customers), _customer(customers)
    assert customers.set_notifications(survivor, "all")
    customers.begin_erasure(merged, [], {"at": NOW.isoformat(), "status": "in_progress"})
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}

    with pytest.raises(Conflict):
        customers.merge_profiles(
            survivor, merged, [], record, survivor_takes={"notifications": "essential"}
        )

    assert customers.profile(survivor)["notifications"] == "all"


def test_the_language_is_kept_on_an_active_profile_only(customers: Any) -> None:
    customer_id = _customer(customers)
    assert not customers.profile(customer_id).get(LOCALE_CHOSEN)
    assert customers.set_locale(customer_id, "en")
    assert customers.profile(customer_id)["locale"] == "en"
    assert customers.profile(customer_id)[LOCALE_CHOSEN] is True
    assert not customers.set_locale(new_id("cus"), "en")
    customers.begin_erasure(customer_id, [], {"at": NOW.isoformat(), "status": "in_progress"})
    assert not customers.set_locale(customer_id, "es")
    assert customers.profile(customer_id)["locale"] == "en"


def test_a_merge_gives_the_survivor_what_it_takes_of_the_merged_record_s_choices(
    customers: Any,
) -> None:
    survivor, merged = _customer(customers), _customer(customers)
    record = {"from_customer_id": merged, "into_customer_id": survivor, "at": NOW.isoformat()}
    takes = {"locale": "en", LOCALE_CHOSEN: True, "notifications": "all"}

    customers.merge_profiles(survivor, merged, [], record, survivor_takes=takes)

    profile = customers.profile(survivor)
    assert {name: profile[name] for name in takes} == takes
    assert profile["name"] == "Ana"
