"""infra/local/dynamodb_expressions.py: an update expression's text parsed once, and its tree
copied without the pickle protocol. Each test fails without its speed-up and checks that moto
ends up with the same trees and answers."""

from __future__ import annotations

import copy
import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.moto_trees import app_table, tree_shape, validated_item

_EXPRESSIONS = [
    "SET a = :a",
    "SET #n = :v, b.c[2] = if_not_exists(b.c[2], :z), l = list_append(l, :more)",
    "SET n = n + :one, m = :m - n REMOVE x[3], x[1], y.z",
    "ADD counter :one, tags :tags DELETE old :gone",
    "SET #s = :s, #t = :t, #u = :u, #v = :v, w.#x.y[0] = :w REMOVE q",
]


def _every_node(root: Any) -> list[Any]:
    from moto.dynamodb.parsing.ast_nodes import Node

    found: list[Any] = []
    stack = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, Node):
            found.append(value)
            stack.extend(value.children or [])
        elif isinstance(value, list):
            stack.extend(value)
    return found


def test_copy_expression_trees_plainly_copies_what_deepcopy_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.parsing.ast_nodes import Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from infra.local import dynamodb_expressions

    dynamodb_expressions.copy_expression_trees_plainly()
    reconstructed: list[Any] = []
    reconstruct = copy._reconstruct  # type: ignore[attr-defined]
    me = threading.get_ident()

    def recording(*args: Any, **kwargs: Any) -> Any:
        # This thread's copies only: a shared stack's executions copy their state on theirs.
        if threading.get_ident() == me:
            reconstructed.append(args)
        return reconstruct(*args, **kwargs)

    monkeypatch.setattr(copy, "_reconstruct", recording)
    for text in _EXPRESSIONS:
        tree = UpdateExpressionParser.make(text)
        plain = copy.deepcopy(tree)
        assert reconstructed == [], f"copying {text!r} went through the pickle protocol"
        with monkeypatch.context() as generic:
            generic.delattr(Node, "__deepcopy__")
            usual = copy.deepcopy(tree)
        reconstructed.clear()  # the generic copy's
        assert tree_shape(plain) == tree_shape(usual) == tree_shape(tree)
        originals = {id(node) for node in _every_node(tree)}
        assert not originals & {id(node) for node in _every_node(plain)}


def _moto_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts moto's tokenizer reads in this thread from now on."""
    from moto.dynamodb.parsing.tokens import ExpressionTokenizer

    seen: list[str] = []
    me = threading.get_ident()
    make_list = ExpressionTokenizer.make_list.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, text: str) -> Any:
        if threading.get_ident() == me:
            seen.append(text)
        return make_list(cls, text)

    monkeypatch.setattr(ExpressionTokenizer, "make_list", classmethod(counting))
    return seen


def test_parse_update_expressions_once_parses_a_text_once_for_every_update(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-EXPR#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    # A text no other test sends, so that its first parse happens here.
    expression = f"SET n = if_not_exists(n, :zero) + :one, t{uuid.uuid4().hex} = :one"
    values = {":zero": {"N": "0"}, ":one": {"N": "1"}}
    parsed = _moto_parses(monkeypatch)
    for _ in range(3):
        client.update_item(
            TableName=table, Key=key, UpdateExpression=expression, ExpressionAttributeValues=values
        )
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": expression,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
    )
    item = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "4"}
    assert parsed.count(expression) == 1, f"moto parsed one text {parsed.count(expression)} times"


def test_parse_update_expressions_once_keeps_the_parsed_tree_as_parsed(deps: Any) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-EXPR#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    expression = "SET l = list_append(if_not_exists(l, :empty), :more), c = :c REMOVE gone"
    values = {":empty": {"L": []}, ":more": {"L": [{"S": "x"}]}, ":c": {"N": "1"}}
    for _ in range(2):
        client.update_item(
            TableName=table, Key=key, UpdateExpression=expression, ExpressionAttributeValues=values
        )
    shared = UpdateExpressionParser.make(expression)
    fresh = UpdateExpressionParser.make.__wrapped__(UpdateExpressionParser, expression)  # type: ignore[attr-defined]
    assert shared is UpdateExpressionParser.make(expression)
    assert tree_shape(shared) == tree_shape(fresh)
    item = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["l"] == {"L": [{"S": "x"}, {"S": "x"}]}


def test_parse_update_expressions_once_refuses_a_bad_text_every_time(deps: Any) -> None:
    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-EXPR#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    errors = []
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            client.update_item(TableName=table, Key=key, UpdateExpression="SET a = = :a")
        errors.append(refused.value.response["Error"])
    assert errors[0] == errors[1]
    assert errors[0]["Code"] == "ValidationException"


_VALIDATED = [
    ("SET a = :a, b = b + :one", {}, {":a": {"S": "x"}, ":one": {"N": "1"}}),
    ("SET #l = list_append(if_not_exists(#l, :empty), :more)", {"#l": "l"}, None),
    ("SET m.inr = :a REMOVE gone, l[0]", {}, {":a": {"S": "x"}}),
    ("ADD cnt :one, tags :tags DELETE olds :gone", {}, None),
    ("SET pk = :a", {}, {":a": {"S": "x"}}),
    ("SET nothere.deeper = :a", {}, {":a": {"S": "x"}}),
    ("SET a = :undefined", {}, {}),
    ("SET b = b + :a", {}, {":a": {"S": "x"}}),
]


def _validated(table: Any, item: Any, expression: str, names: Any, values: Any) -> Any:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    if values is None:
        values = {
            ":empty": {"L": []},
            ":more": {"L": [{"S": "y"}]},
            ":one": {"N": "1"},
            ":tags": {"SS": ["t"]},
            ":gone": {"SS": ["o"]},
        }
    try:
        tree = UpdateExpressionValidator(
            UpdateExpressionParser.make(expression),
            expression_attribute_names=names,
            expression_attribute_values=values,
            item=item,
            table=table,
        ).validate()
    except Exception as exc:  # noqa: BLE001 - the refusal is what is compared
        return type(exc).__name__, str(exc)
    return tree_shape(tree)


def test_traverse_trees_plainly_validates_what_motos_walk_validates(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    table, item = app_table(deps), validated_item()
    walk = DepthFirstTraverser.traverse_node_recursively
    assert hasattr(walk, "__wrapped__"), "moto's own walk is in place"
    trees = 0
    for expression, names, values in _VALIDATED:
        plain = _validated(table, item, expression, names, values)
        with monkeypatch.context() as motos:
            motos.setattr(DepthFirstTraverser, "traverse_node_recursively", walk.__wrapped__)
            usual = _validated(table, item, expression, names, values)
        assert plain == usual, expression
        trees += isinstance(plain, list)
    assert trees == 4, "the first four expressions validate, the others are refused"


def test_traverse_trees_plainly_asks_a_processor_its_node_classes_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-EXPR#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    update = {
        "TableName": table,
        "Key": key,
        "UpdateExpression": "SET a = :a, b = if_not_exists(b, :a), c = :a REMOVE d",
        "ExpressionAttributeValues": {":a": {"N": "1"}},
    }
    client.update_item(**update)  # the processors' classes met once
    asked: list[Any] = []
    me = threading.get_ident()
    kinds = DepthFirstTraverser.nodes_to_be_processed

    def counting(self: Any) -> Any:
        if threading.get_ident() == me:
            asked.append(type(self).__name__)
        return kinds(self)

    monkeypatch.setattr(DepthFirstTraverser, "nodes_to_be_processed", counting)
    client.update_item(**update)
    assert asked == [], f"processors were asked their node classes {len(asked)} times"


def _clause_kinds() -> list[list[type]]:
    from moto.dynamodb.parsing import ast_nodes

    return [
        [ast_nodes.ExpressionAttributeName],
        [ast_nodes.ExpressionAttributeValue],
        [ast_nodes.UpdateExpressionAddClause],
        [ast_nodes.UpdateExpressionRemoveClause],
        [ast_nodes.UpdateExpressionSetClause],
        [
            ast_nodes.UpdateExpressionSetAction,
            ast_nodes.UpdateExpressionAddAction,
            ast_nodes.UpdateExpressionRemoveAction,
            ast_nodes.UpdateExpressionDeleteAction,
        ],
        [ast_nodes.ExpressionPathDescender, ast_nodes.ExpressionSelector],
    ]


def test_find_clauses_by_class_finds_what_motos_walk_finds(deps: Any) -> None:
    from moto.dynamodb.parsing.ast_nodes import Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    find = Node.find_clauses
    assert hasattr(find, "__wrapped__"), "moto's own walk is in place"
    found = 0
    for expression in _EXPRESSIONS + [text for text, _, _ in _VALIDATED]:
        tree = UpdateExpressionParser.make(expression)
        for node in _every_node(tree):
            for kinds in _clause_kinds():
                clauses = node.find_clauses(kinds)
                assert [id(each) for each in clauses] == [
                    id(each) for each in find.__wrapped__(node, kinds)
                ], expression
                found += len(clauses)
    assert found > 100


def test_find_clauses_by_class_makes_no_abc_check_per_child(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import abc

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    tree = UpdateExpressionParser.make(_EXPRESSIONS[2])
    kinds = _clause_kinds()
    for each in kinds:
        tree.find_clauses(each)  # each node class met once
    checked: list[str] = []
    me = threading.get_ident()
    check = abc.ABCMeta.__instancecheck__

    def counting(cls: Any, instance: Any) -> Any:
        if threading.get_ident() == me:
            checked.append(cls.__name__)
        return check(cls, instance)

    monkeypatch.setattr(abc.ABCMeta, "__instancecheck__", counting)
    assert all(tree.find_clauses(each) is not None for each in kinds)
    assert checked == [], f"{len(checked)} ABC checks"


def test_copy_expression_trees_plainly_reads_a_kept_tree_back_from_its_pickle(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    from moto.dynamodb.parsing.ast_nodes import Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    read: list[int] = []
    loads = pickle.loads
    monkeypatch.setattr(pickle, "loads", lambda blob: read.append(len(blob)) or loads(blob))
    for text in _EXPRESSIONS:
        kept = UpdateExpressionParser.make(text)
        fresh = UpdateExpressionParser.make.__wrapped__(UpdateExpressionParser, text)  # type: ignore[attr-defined]
        read.clear()
        copied = copy.deepcopy(kept)
        assert len(read) == 1, f"{text!r}: a kept tree is read back from its pickle"
        walked = copy.deepcopy(fresh)
        assert len(read) == 1, f"{text!r}: a tree not kept is copied by the walk"
        with monkeypatch.context() as generic:
            generic.delattr(Node, "__deepcopy__")
            usual = copy.deepcopy(kept)
        assert tree_shape(copied) == tree_shape(walked) == tree_shape(usual) == tree_shape(kept)
        originals = {id(node) for node in _every_node(kept)}
        assert not originals & {id(node) for node in _every_node(copied)}
        assert copy.deepcopy(kept) is not copied
