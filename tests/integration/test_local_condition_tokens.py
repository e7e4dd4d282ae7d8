"""infra/local/dynamodb_expressions.py: a condition expression's text read into tokens once.
Each test fails without the speed-up and checks that moto ends up with the same tokens and
answers."""

from __future__ import annotations

import functools
import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

_CONDITIONS = [
    "attribute_not_exists(pk)",
    "#v = :v AND (begins_with(#s, :p) OR size(l) > :n)",
    "a.b[1] <> :x AND NOT contains(tags, :t)",
    "version BETWEEN :lo AND :hi OR #s IN (:a, :b, :c)",
]


def test_lex_condition_expressions_once_gives_motos_tokens_and_answers() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from infra.local import dynamodb_expressions

    dynamodb_expressions.lex_condition_expressions_once()
    lex = ConditionExpressionParser._lex_condition_expression
    names = {"#v": "version", "#s": "status"}
    values = {
        ":v": {"N": "2"},
        ":p": {"S": "SHIP"},
        ":n": {"N": "1"},
        ":x": {"S": "y"},
        ":t": {"S": "z"},
        ":lo": {"N": "1"},
        ":hi": {"N": "3"},
        ":a": {"S": "PAID"},
        ":b": {"S": "SHIPPED"},
        ":c": {"S": "x"},
    }
    attrs = {"pk": {"S": "p"}, "version": {"N": "2"}, "status": {"S": "SHIPPED"}}
    item = Item(DynamoType(attrs["pk"]), None, {**attrs, "l": {"L": [{"S": "a"}, {"S": "b"}]}})
    for text in _CONDITIONS * 2:  # the second time from the kept tokens
        parser = ConditionExpressionParser(text, names, values)
        assert list(lex(parser)) == list(lex.__wrapped__(parser))  # type: ignore[attr-defined]
        kept = ConditionExpressionParser(text, names, values).parse().expr(item)
        motos = ConditionExpressionParser(text, names, values)
        motos._lex_condition_expression = functools.partial(lex.__wrapped__, motos)  # type: ignore[attr-defined,method-assign]
        assert kept == motos.parse().expr(item), text


def test_lex_condition_expressions_once_reads_a_text_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    client, table = deps.store.table.client, deps.settings.table_name
    key = {"pk": {"S": f"T-COND#{uuid.uuid4().hex}"}, "sk": {"S": "ITEM"}}
    # A text no other test sends, so that its first reading happens here.
    condition = f"attribute_not_exists(c{uuid.uuid4().hex}) AND attribute_not_exists(pk)"
    read: list[str] = []
    me = threading.get_ident()
    one_token = ConditionExpressionParser._lex_one_node

    def counting(self: Any, rest: str) -> Any:
        if threading.get_ident() == me and rest == self.condition_expression:
            read.append(rest)
        return one_token(self, rest)

    monkeypatch.setattr(ConditionExpressionParser, "_lex_one_node", counting)
    client.put_item(TableName=table, Item=key, ConditionExpression=condition)
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            client.put_item(TableName=table, Item=key, ConditionExpression=condition)
        assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert read.count(condition) == 1, f"moto read one text {read.count(condition)} times"
