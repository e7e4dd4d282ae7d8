"""Opportunities stored before the GSI ``opportunities-by-status`` existed, on DynamoDB
(moto): the one-off ``python -m infra.aws.list_opportunities`` lists them in it, so that
ops' list and the hourly review that loses them see them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamodb import keys
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


def _wish(at: Any) -> Any:
    subscription = subscribe(new_id("sub"), new_id("SKU"), f"{new_id('s')}@example.com", at)
    return back_in_stock_opportunity(subscription, Money.of("19.95"))


def test_the_one_off_lists_what_was_stored_before_and_only_that(
    repository: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _wish(NOW - timedelta(days=40))
    # As the app wrote it before the index: no listing attributes.
    item = keys.opportunity(old.opportunity_id) | {"doc": old.model_dump_json(), "status": "open"}
    repository.table.write(repository.table.put(item))
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
