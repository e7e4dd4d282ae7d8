"""infra/local/dynamodb_items.py: sizes counted in one walk, answers turned into plain dicts in
one step, and query answers not copied twice. Each test fails without its speed-up (it checks
what moto's own code does instead) and compares the results with moto's own functions."""

from __future__ import annotations

import base64
import sys
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_scalars = st.one_of(
    st.text(max_size=8).map(lambda text: {"S": text}),
    st.integers(-(10**20), 10**20).map(lambda number: {"N": str(number)}),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: {"N": str(d)}),
    st.binary(max_size=8).map(lambda blob: {"B": blob}),
    st.binary(max_size=8).map(lambda blob: {"B": base64.b64encode(blob).decode("ascii")}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.sets(st.text(max_size=4), min_size=1, max_size=3).map(lambda t: {"SS": sorted(t)}),
    st.sets(st.integers(-999, 999), min_size=1, max_size=3).map(
        lambda numbers: {"NS": [str(n) for n in sorted(numbers)]}
    ),
    st.sets(st.binary(max_size=4), min_size=1, max_size=3).map(lambda b: {"BS": sorted(b)}),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: {"L": items}),
        st.dictionaries(st.text(max_size=3), inner, max_size=4).map(lambda m: {"M": m}),
    ),
    max_leaves=12,
)
_attributes = st.dictionaries(st.text(min_size=1, max_size=4), _values, min_size=1, max_size=5)

_STATE_ITEM: dict[str, Any] = {
    "lines": {
        "L": [
            {"M": {"sku": {"S": f"SKU-{i}"}, "qty": {"N": str(i)}, "tags": {"SS": ["a", "b"]}}}
            for i in range(8)
        ]
    },
    "totals": {"M": {"net": {"N": "10.50"}, "blob": {"B": b"\x00\xff"}, "nil": {"NULL": True}}},
    "flag": {"BOOL": True},
}


def _stored(client: Any, table: str, attributes: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """An item put through the client, as moto stores it, and its key."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from infra.local.stack import ACCOUNT_ID, REGION

    key = {"pk": {"S": f"T-ITEMS#{uuid.uuid4().hex}"}, "sk": {"S": "STATE"}}
    client.put_item(TableName=table, Item={**attributes, **key})
    stored = dynamodb_backends[ACCOUNT_ID][REGION].get_table(table)
    return stored.get_item(DynamoType(key["pk"]), DynamoType(key["sk"])), key


def _motos_calls(name: str, module: str, action: Any) -> tuple[Any, int]:
    """What ``action()`` returned, and how often moto's own function ``name`` of
    ``module`` (a path under moto/dynamodb) ran in this thread meanwhile."""
    calls: list[str] = []

    def profile(frame: Any, event: str, _: Any) -> None:
        code = frame.f_code
        if event == "call" and code.co_name == name:
            calls.append(code.co_filename.replace("\\", "/"))

    sys.setprofile(profile)
    try:
        result = action()
    finally:
        sys.setprofile(None)
    return result, sum(path.endswith(f"moto/dynamodb/{module}") for path in calls)


@settings(max_examples=200, deadline=None)
@given(attributes=_attributes)
def test_measure_items_once_counts_what_moto_counts(attributes: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from infra.local import dynamodb_items

    dynamodb_items.measure_items_once()
    moto_size = DynamoType.size.__wrapped__  # type: ignore[attr-defined]
    item = Item(DynamoType({"S": "pk"}), DynamoType({"S": "sk"}), attributes)
    for value in item.attrs.values():
        assert value.size() == moto_size(value)
    assert item.size() == sum(len(k.encode()) + moto_size(v) for k, v in item.attrs.items())


def test_measure_items_once_builds_no_value_to_measure_a_stored_item(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    client, table = deps.store.table.client, deps.settings.table_name
    item, _ = _stored(client, table, _STATE_ITEM)
    built: list[Any] = []
    construct = DynamoType.__init__

    def counting(self: Any, *args: Any) -> None:
        built.append(args)
        construct(self, *args)

    monkeypatch.setattr(DynamoType, "__init__", counting)
    size = item.size()
    monkeypatch.setattr(DynamoType, "__init__", construct)
    assert size > 0
    assert built == [], f"measuring an item built {len(built)} DynamoType values"


@settings(max_examples=200, deadline=None)
@given(attributes=_attributes)
def test_plain_answers_at_once_gives_what_moto_gives(attributes: dict[str, Any]) -> None:
    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from infra.local import dynamodb_items

    dynamodb_items.plain_answers_at_once()
    moto_plain = utilities.dynamo_to_dict.__wrapped__  # type: ignore[attr-defined]
    item = Item(DynamoType({"S": "pk"}), DynamoType({"S": "sk"}), attributes)
    answer = {"Items": [item.attrs, item.attrs], "Count": 2, "Rate": 1.5, "More": None}
    assert utilities.dynamo_to_dict(answer) == moto_plain(answer)
    assert repr(utilities.dynamo_to_dict(answer)) == repr(moto_plain(answer))


def test_plain_answers_at_once_runs_none_of_motos_conversion_for_a_query(deps: Any) -> None:
    client, table = deps.store.table.client, deps.settings.table_name
    _, key = _stored(client, table, _STATE_ITEM)

    def query() -> Any:
        return client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]},
            ConsistentRead=True,
        )["Items"]

    items, converted = _motos_calls("dynamo_to_dict", "models/utilities.py", query)
    assert items == [{**_STATE_ITEM, **key}]
    assert converted == 0, f"moto's dynamo_to_dict ran {converted} times for one query"


def test_answer_without_copies_copies_no_item_for_a_query_or_a_scan(deps: Any) -> None:
    from tests.support.gsi_tables import _gsi_table

    client = deps.store.table.client
    # A table of its own: a scan of the shared one would answer its first megabyte only.
    table = _gsi_table(client)
    stored, key = _stored(client, table, _STATE_ITEM)
    by_key = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": key["pk"]}}

    def answers() -> Any:
        return (
            client.query(TableName=table, ConsistentRead=True, **by_key)["Items"],
            client.scan(
                TableName=table,
                FilterExpression="pk = :pk",
                ExpressionAttributeValues={":pk": key["pk"]},
            )["Items"],
        )

    (found, scanned), copies = _motos_calls("__deepcopy__", "models/dynamo_type.py", answers)
    assert copies == 0, f"moto copied {copies} values to answer a query and a scan"
    assert found == scanned == [{**_STATE_ITEM, **key}]
    # A projection builds new items from the stored one (moto copies its values for that).
    projected = client.query(TableName=table, ProjectionExpression="totals.net, flag", **by_key)
    assert projected["Items"] == [
        {"totals": {"M": {"net": {"N": "10.50"}}}, "flag": {"BOOL": True}}
    ]
    # The answers are new dicts: the stored item stays as it was put.
    found[0]["flag"]["BOOL"] = False
    assert stored.attrs["flag"].value is True


def test_answer_without_copies_leaves_a_query_from_elsewhere_copied(deps: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from infra.local.stack import ACCOUNT_ID, REGION

    client, table = deps.store.table.client, deps.settings.table_name
    stored, key = _stored(client, table, _STATE_ITEM)
    backend = dynamodb_backends[ACCOUNT_ID][REGION]
    query = backend.get_table(table).query
    items, _, _ = query(DynamoType(key["pk"]), None, [], None, None, True, None)
    assert len(items) == 1 and items[0] is not stored
    assert items[0].attrs["totals"] is not stored.attrs["totals"]


def test_measure_answer_items_once_measures_an_answered_item_once(deps: Any) -> None:
    client, table = deps.store.table.client, deps.settings.table_name
    _, key = _stored(client, table, _STATE_ITEM)

    def query() -> Any:
        return client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key["pk"]},
        )

    answer, measured = _motos_calls("size", "models/dynamo_type.py", query)
    assert answer["Items"] == [{**_STATE_ITEM, **key}]
    # moto's Item.size; DynamoType.size is measure_items_once's own walk.
    assert measured == 1, f"moto measured the one item answered {measured} times"
