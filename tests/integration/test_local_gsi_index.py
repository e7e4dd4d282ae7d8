"""infra/local/gsi_index.py (``index_gsi_queries``): a GSI query looks at the partition asked
for only, and answers what moto's own walk of the table answers after any writes (Hypothesis:
puts, updates that change or remove the key, deletes, transactions committed and cancelled,
batches; forwards, backwards and paged)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.gsi_tables import GSI, _gsi_table
from tests.support.moto_probes import items_walked


def _query_gsi(client: Any, table: str, g: str, **extra: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": GSI,
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": {"S": g}},
        **extra,
    }
    while True:
        page = client.query(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_index_gsi_queries_look_at_the_partition_asked_for_only(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = deps.store.table.client
    table = _gsi_table(client)
    for index in range(3):
        item = {"pk": {"S": f"P#{index}"}, "sk": {"S": "X"}, "g": {"S": "HOT"}}
        client.put_item(TableName=table, Item=item | {"r": {"S": f"{index}"}})
    # Many other partitions, and items with no index key at all (a sparse index).
    for batch in range(8):
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": f"O#{batch}#{i}"}, "sk": {"S": "X"}}}}
            if i % 2
            else {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"O#{batch}#{i}"},
                        "sk": {"S": "X"},
                        "g": {"S": f"COLD#{i}"},
                        "r": {"S": "0"},
                    }
                }
            }
            for i in range(25)
        ]
        client.batch_write_item(RequestItems={table: requests})
    seen = items_walked(monkeypatch)

    hot = _query_gsi(client, table, "HOT", Limit=2)
    assert [item["pk"]["S"] for item in hot] == ["P#0", "P#1", "P#2"]
    assert seen and max(seen) == 3, f"a GSI query looked at {max(seen)} items, not its 3"
    # A key change moves the item; removing the key takes it out of the index.
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "P#1"}, "sk": {"S": "X"}},
        UpdateExpression="SET g = :g",
        ExpressionAttributeValues={":g": {"S": "COLD#0"}},
    )
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "P#2"}, "sk": {"S": "X"}},
        UpdateExpression="REMOVE g",
    )
    assert [item["pk"]["S"] for item in _query_gsi(client, table, "HOT")] == ["P#0"]
    cold = [item["pk"]["S"] for item in _query_gsi(client, table, "COLD#0")]
    assert sorted(cold) == sorted(["P#1"] + [f"O#{batch}#0" for batch in range(8)])


_KEYS = st.sampled_from(["a", "b", "c", "d"])


_G = st.one_of(st.none(), st.sampled_from(["G1", "G2"]))


_R = st.one_of(st.none(), st.sampled_from(["1", "2", "3"]))


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("update"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("delete"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("transact"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("cancelled"), _KEYS, _KEYS, _G, _R),
        st.tuples(st.just("batch"), _KEYS, _KEYS, _G, _R),
    ),
    max_size=25,
)


def _attrs(g: str | None, r: str | None) -> dict[str, Any]:
    return ({"g": {"S": g}} if g else {}) | ({"r": {"S": r}} if r else {})


def _apply(client: Any, table: str, op: tuple[str, str, str, str | None, str | None]) -> None:
    from botocore.exceptions import ClientError

    kind, pk, sk, g, r = op
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    if kind == "put":
        client.put_item(TableName=table, Item=key | _attrs(g, r))
    elif kind == "update":
        sets = {name: value for name, value in (("g", g), ("r", r)) if value}
        removes = [name for name, value in (("g", g), ("r", r)) if not value]
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(f"{n} = :{n}" for n in sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        values = {f":{n}": {"S": v} for n, v in sets.items()}
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression=expression,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    elif kind == "delete":
        client.delete_item(TableName=table, Key=key)
    elif kind in ("transact", "cancelled"):
        other = {"pk": {"S": pk + "-t"}, "sk": {"S": sk}}
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": table, "Item": key | _attrs(g, r)}},
            {"Put": {"TableName": table, "Item": other | _attrs(r and "G1", "9")}},
        ]
        if kind == "cancelled":  # a failing check: both puts are rolled back
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "never"}, "sk": {"S": "x"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException"
    else:
        client.batch_write_item(
            RequestItems={
                table: [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": pk + "-b"}, "sk": {"S": sk}} | _attrs(g, r)
                        }
                    },
                    {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}},
                ]
            }
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_OPS)
def test_index_gsi_queries_answer_what_moto_answers_after_any_writes(
    deps: Any, ops: list[tuple[str, str, str, str | None, str | None]]
) -> None:
    from infra.local.gsi_index import without_gsi_index

    client = deps.store.table.client
    table = _gsi_table(client)
    try:
        for op in ops:
            _apply(client, table, op)
        for g in ("G1", "G2", "G3"):
            for extra in ({}, {"ScanIndexForward": False, "Limit": 2}):
                indexed = _query_gsi(client, table, g, **extra)
                with without_gsi_index():
                    walked = _query_gsi(client, table, g, **extra)
                assert indexed == walked, (g, extra)
    finally:
        client.delete_table(TableName=table)


def test_query_wrappers_read_the_index_name_without_binding_the_call(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect
    import threading

    client = deps.store.table.client
    table = _gsi_table(client)
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "g": {"S": "G"}, "r": {"S": "R"}}
    client.put_item(TableName=table, Item=item)
    bound: list[Any] = []
    bind = inspect.Signature.bind
    me = threading.get_ident()

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == me:
            bound.append(self)
        return bind(self, *args, **kwargs)

    monkeypatch.setattr(inspect.Signature, "bind", counting)
    assert len(_query_gsi(client, table, "G")) == 1
    query = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "p"}},
    )
    assert query["Count"] == 1
    assert bound == [], "a query's wrapper bound the whole call to find one argument"


def test_argument_reader_reads_what_binding_the_call_finds() -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    from infra.local.patching import argument_reader

    signature = inspect.signature(Table.query)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("self", "h", None, [], None, None, True, None), {}),
        (("self", "h", None, [], None, None, True, None, "gsi"), {}),
        (("self", "h", None, [], None, None, True, None), {"index_name": "gsi"}),
        (("self", "h", None, [], None, None, True, None, None, False, None, [("g", 1)]), {}),
        (("self", "h", None, [], None, None, True, None), {"hash_key_conditions": [("g", 2)]}),
    ]
    for name in ("index_name", "hash_key_conditions"):
        read = argument_reader(Table.query, name)
        for args, kwargs in calls:
            expected = signature.bind(*args, **kwargs).arguments.get(name)
            assert read(args, kwargs) == expected
