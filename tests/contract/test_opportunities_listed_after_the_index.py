"""Opportunities stored before the GSIs ``opportunities-by-status`` and
``opportunities-by-holder`` existed, on DynamoDB (moto): the one-off ``python -m
infra.aws.list_opportunities`` lists them in both, so that ops' list, the hourly review that
loses them, and a person's erasure and export see them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamodb import keys
from chalicelib.domain.erasure import redact_opportunity
from chalicelib.domain.money import Money
from chalicelib.domain.opportunities import back_in_stock_opportunity, subscribe
from infra.aws import list_opportunities
from tests.contract.conftest import REGION, _dynamodb_stores
from tests.support.builders import NOW, new_id

pytestmark = pytest.mark.moto


@pytest.fixture
def repository() -> Iterator[Any]:
    from chalicelib.adapters.dynamodb.opportunities import OpportunityRepository

    for order_store, _ in _dynamodb_stores():
        yield OpportunityRepository(order_store.table.client, order_store.table.name)


def _wish(at: Any, customer_id: str | None = None) -> Any:
    subscription = subscribe(new_id("sub"), new_id("SKU"), f"{new_id('s')}@example.com", at)
    subscription = subscription.model_copy(update={"customer_id": customer_id})
    return back_in_stock_opportunity(subscription, Money.of("19.95"))


def _stored_the_old_way(repository: Any, opportunity: Any, **attributes: str) -> dict[str, Any]:
    """The item as an older app wrote it: without the attributes of the later indexes."""
    item = keys.opportunity(opportunity.opportunity_id) | {
        "doc": opportunity.model_dump_json(),
        "status": opportunity.status.value,
        **attributes,
    }
    repository.table.write(repository.table.put(item))
    return item


def test_the_one_off_lists_what_was_stored_before_and_only_that(
    repository: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _wish(NOW - timedelta(days=40))
    _stored_the_old_way(repository, old)
    new = _wish(NOW)
    assert repository.create_opportunity(new)

    def listed() -> list[str]:
        page = repository.opportunities_page(None, None, 10)
        return [o.opportunity_id for o in page.opportunities]

    assert listed() == [new.opportunity_id]
    assert repository.active_created_by(NOW - timedelta(days=30)) == []

    table = repository.table.name
    assert list_opportunities.main([table, "--region", REGION]) == 0
    assert capsys.readouterr().out.startswith("1 opportunities")

    assert listed() == [new.opportunity_id, old.opportunity_id]
    (due,) = repository.active_created_by(NOW - timedelta(days=30))
    assert due.opportunity_id == old.opportunity_id
    assert repository.list_stored_before() == 0  # run again: nothing to do


def test_the_one_off_indexes_by_holder_what_was_stored_before(repository: Any) -> None:
    # Stored at stop 33 (listed by status, not by holder), and before it (neither).
    customer = new_id("cus")
    theirs = _wish(NOW - timedelta(days=3), customer_id=customer)
    listing = keys.opportunity_listing(theirs.status.value, theirs.listed_at)
    _stored_the_old_way(repository, theirs, **listing)
    bare = _wish(NOW - timedelta(days=40))
    _stored_the_old_way(repository, bare)
    assert repository.held_by([customer], [bare.email]) == []

    assert repository.list_stored_before() == 2

    found = repository.held_by([customer], [bare.email])
    assert [o.opportunity_id for o in found] == [bare.opportunity_id, theirs.opportunity_id]
    assert repository.held_by([new_id("cus")], [theirs.email]) == []  # a customer's: by id
    assert repository.list_stored_before() == 0


def test_the_one_off_brings_back_no_address_the_app_erased_meanwhile(
    repository: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one-off reads the partition, then writes what each item lacks. An erasure that
    # rewrote an item in between took its address off: written from the read, the index
    # key would name the erased address again.
    bare = _wish(NOW - timedelta(days=40))
    _stored_the_old_way(repository, bare)
    read_before = repository.table.partition(keys.OPPORTUNITY_PK)
    erased = redact_opportunity(bare)
    assert erased is not None and erased.email is None
    assert repository.replace_opportunity(erased)

    monkeypatch.setattr(repository.table, "partition", lambda *args, **kwargs: read_before)
    assert repository.list_stored_before() == 0

    item = repository.table.get(keys.opportunity(bare.opportunity_id))
    assert "held_by" not in item and bare.email not in str(item)
    assert repository.held_by([], [bare.email]) == []
