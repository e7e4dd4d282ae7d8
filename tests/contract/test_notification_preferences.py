"""The profile's email preference, on the fake and on DynamoDB alike."""

from __future__ import annotations

from typing import Any

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
