"""Consents as DynamoDB holds them (moto): on the order's summary, written with it (an
order's first projection is one put, not two); the consent items stored before still
listed, once, among the summaries' and moved with them."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.customer_view import SUMMARY_CONSENT
from chalicelib.adapters.dynamodb.store import CustomerStore
from chalicelib.ports import CustomerRecord
from tests.support.builders import accepted_consent, new_id, order_summary
from tests.support.moto_probes import recording_client


def _stored_before(deps: Any, customer_id: str, order_id: str, at: str) -> None:
    """An order's summary without its consent and the consent item, as stored before."""
    table = deps.customers.table
    summary = keys.customer_order(customer_id, at, order_id) | order_summary(order_id, at)
    table.write(table.put(summary | {"version": 1}))
    table.write(table.put(keys.consent(customer_id, at, order_id) | accepted_consent(order_id, at)))


def test_an_orders_first_projection_is_one_put_holding_the_consent(deps: Any) -> None:
    client, calls = recording_client(deps.settings.region)
    store = CustomerStore(client, deps.settings.table_name)
    customer_id, order_id, at = new_id("cus"), new_id("ord"), "2026-04-01T08:00:00+00:00"

    store.project(customer_id, order_summary(order_id, at), 0, accepted_consent(order_id, at), None)

    assert [name for name, _ in calls] == ["PutItem"]
    stored = deps.customers.table.get(keys.customer_order(customer_id, at, order_id))
    assert stored[SUMMARY_CONSENT] == accepted_consent(order_id, at)
    assert deps.customers.table.get(keys.consent(customer_id, at, order_id)) is None


def test_consents_stored_before_are_listed_once_among_the_new_ones(deps: Any) -> None:
    store = deps.customers
    customer_id = new_id("cus")
    old, new = new_id("ord"), new_id("ord")
    _stored_before(deps, customer_id, old, "2026-04-01T08:00:00+00:00")
    store.project(
        customer_id,
        order_summary(new, "2026-04-02T08:00:00+00:00"),
        0,
        accepted_consent(new, "2026-04-02T08:00:00+00:00"),
        None,
    )
    # The old order projected again: its summary now holds the consent too.
    store.project(
        customer_id,
        order_summary(old, "2026-04-01T08:00:00+00:00", "SHIPPED"),
        1,
        accepted_consent(old, "2026-04-01T08:00:00+00:00"),
        None,
    )

    consents, _ = store.records(customer_id, CustomerRecord.CONSENTS, newest_first=True)

    assert consents == [
        accepted_consent(new, "2026-04-02T08:00:00+00:00"),
        accepted_consent(old, "2026-04-01T08:00:00+00:00"),
    ]


def test_consents_stored_before_move_with_the_orders(deps: Any) -> None:
    store = deps.customers
    merged, survivor, old = new_id("cus"), new_id("cus"), new_id("ord")
    _stored_before(deps, merged, old, "2026-04-01T08:00:00+00:00")

    store.move_items(merged, survivor, (CustomerRecord.ORDERS, CustomerRecord.CONSENTS))

    assert store.records(merged, CustomerRecord.CONSENTS)[0] == []
    moved, _ = store.records(survivor, CustomerRecord.CONSENTS)
    assert moved == [accepted_consent(old, "2026-04-01T08:00:00+00:00")]
