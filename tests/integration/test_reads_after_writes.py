"""Reads that must see a write made a moment before, often by the same caller, ask DynamoDB
for a strong read: an eventually consistent one "might not reflect the results of a
recently completed write" (DynamoDB's read consistency), which moto never shows. Found by a
review: a quote used straight after ``POST /quotes``, a customer id straight after ``POST
/customers``, and a carrier's first event on a parcel just booked could each be unknown."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamodb.store import CustomerStore, DynamoStore
from chalicelib.domain.errors import NotFound
from tests.support.builders import new_id
from tests.support.moto_probes import recording_client


def _get_items(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [params for name, params in calls if name == "GetItem"]


@pytest.mark.parametrize(
    "read",
    [
        lambda store: store.get_quote(new_id("qt")),
        lambda store: store.order_for_shipment("rapido", new_id("TRK")),
    ],
    ids=["a quote", "a parcel's order"],
)
def test_an_order_store_read_of_what_was_just_written_is_strong(deps: Any, read: Any) -> None:
    client, calls = recording_client(deps.settings.region)
    store = DynamoStore(client, deps.settings.table_name)

    with pytest.raises(NotFound):
        read(store)

    (params,) = _get_items(calls)
    assert params.get("ConsistentRead") is True


def test_whether_a_customer_exists_is_read_strongly(deps: Any) -> None:
    client, calls = recording_client(deps.settings.region)
    store = CustomerStore(client, deps.settings.table_name)

    assert not store.customer_exists(new_id("cus"))

    (params,) = _get_items(calls)
    assert params.get("ConsistentRead") is True
