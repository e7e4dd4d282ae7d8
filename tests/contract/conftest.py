"""One contract, two backends: every test here runs against the in-memory fake
(``fake``) and against the DynamoDB repositories on moto (``dynamodb``, marked ``moto``;
moto is imported only when that parameter runs)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.deps import Deps
from infra.local.demo_data import load_demo_data
from tests.fakes import Memory, fake_deps
from tests.fakes.customers import FakeCustomerStore
from tests.fakes.orders import FakeOrderStore

REGION = "eu-west-1"


@pytest.fixture(params=["fake", pytest.param("dynamodb", marks=pytest.mark.moto)])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """``(OrderStore, CustomerStore)`` on one backend, empty."""
    if request.param == "fake":
        memory = Memory()
        yield FakeOrderStore(memory), FakeCustomerStore(memory)
        return
    yield from _dynamodb_stores()


def _dynamodb_stores() -> Iterator[tuple[Any, Any]]:
    from chalicelib.adapters.dynamodb.store import CustomerStore, DynamoStore

    for client, name in dynamodb_table():
        yield DynamoStore(client, name), CustomerStore(client, name)


def dynamodb_table() -> Iterator[tuple[Any, str]]:
    """``(client, table name)``: the app's table, created empty on moto, deleted after."""
    import boto3
    from moto import mock_aws

    from infra.local.provision import template

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    # Nested in the local stack's mock when this worker runs one (nothing is reset then):
    # a table of its own keeps the two apart.
    name = f"orquesta-contract-{uuid.uuid4().hex[:8]}"
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        (table,) = [
            resource["Properties"]
            for resource in template()["Resources"].values()
            if resource["Type"] == "AWS::DynamoDB::Table"
        ]
        client.create_table(
            TableName=name,
            BillingMode=table["BillingMode"],
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        )
        try:
            yield client, name
        finally:
            client.delete_table(TableName=name)


@pytest.fixture
def deps(stores: tuple[Any, Any]) -> Deps:
    """Fakes around the order store (and customer store) of one backend, holding the demo
    catalogue: for the service scenarios re-run here on both backends."""
    order_store, customer_store = stores
    built = fake_deps(store=order_store, customers=customer_store)
    load_demo_data(built.store)
    return built


@pytest.fixture
def store(stores: tuple[Any, Any]) -> Any:
    """The order side."""
    return stores[0]


@pytest.fixture
def customers(stores: tuple[Any, Any]) -> Any:
    """The customer side, on the same backend as ``store``."""
    return stores[1]


@pytest.fixture
def surveys(stores: tuple[Any, Any]) -> Any:
    """The survey store, on the same backend as ``store``."""
    order_store = stores[0]
    if isinstance(order_store, FakeOrderStore):
        from tests.fakes.surveys import FakeSurveyStore

        return FakeSurveyStore()
    from chalicelib.adapters.dynamodb.surveys import SurveyRepository

    return SurveyRepository(order_store.table.client, order_store.table.name)


@pytest.fixture
def opportunity_store(stores: tuple[Any, Any]) -> Any:
    """The opportunity store, on the same backend as ``store``."""
    order_store = stores[0]
    if isinstance(order_store, FakeOrderStore):
        from tests.fakes.opportunities import FakeOpportunityStore

        return FakeOpportunityStore()
    from chalicelib.adapters.dynamodb.opportunities import OpportunityRepository

    return OpportunityRepository(order_store.table.client, order_store.table.name)
