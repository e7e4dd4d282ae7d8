"""infra/local/dynamodb_expressions.check_update_expressions_once: moto's three checks of an
update expression alone (clause counts, overlapping paths, key attributes) run once per
tree, names and table keys, and every update validates or is refused as with moto's own
validator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.moto_trees import app_table, tree_shape, validated_item

_VALUES = {
    ":a": {"S": "x"},
    ":one": {"N": "1"},
    ":empty": {"L": []},
    ":more": {"L": [{"S": "y"}]},
    ":tags": {"SS": ["t"]},
}

# (expression, names): each validated twice through the local stack's validator (the
# second time with its checks' verdict kept), against moto's own validator.
_CASES: list[tuple[str, Any]] = [
    ("SET a = :a, b = b + :one", {}),
    ("SET a = :a, b = b + :one", None),
    ("SET #l = list_append(if_not_exists(#l, :empty), :more)", {"#l": "l"}),
    ("SET #k = :a", {"#k": "a"}),
    ("SET #k = :a", {"#k": "pk"}),  # the same text, a key attribute: refused
    ("SET #k = :a", {"#k": "sk"}),
    ("SET #k = :a, #j = :a", {"#k": "a", "#j": "a"}),  # the same attribute twice
    ("SET #k = :a, #j = :a", {"#k": "a", "#j": "c"}),
    ("SET m.inr = :a REMOVE gone, m.inr", {}),  # overlapping paths
    ("SET m.inr = :a REMOVE gone, l[0]", {}),
    ("SET a = :a SET c = :a", {}),  # two SET clauses
    ("ADD cnt :one, tags :tags REMOVE gone", {}),
    ("SET pk = :a", {}),
    ("SET a = :undefined", {}),  # passes the checks, refused by a later processor
    ("SET nothere.deeper = :a", {}),
    ("SET #k = :a", {}),  # a name not given
]


def _validated(validator_class: Any, table: Any, expression: str, names: Any) -> Any:
    """The validated tree's shape, or the refusal's class and message."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    try:
        tree = validator_class(
            UpdateExpressionParser.make(expression),
            expression_attribute_names=names,
            expression_attribute_values=_VALUES,
            item=validated_item(),
            table=table,
        ).validate()
    except Exception as exc:  # noqa: BLE001 - the refusal is what is compared
        return type(exc).__name__, str(exc)
    return tree_shape(tree)


def _motos_validator() -> Any:
    """moto's ``UpdateExpressionValidator`` with its own ``__init__`` and ``validate``."""
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    init = UpdateExpressionValidator.__init__
    validate = UpdateExpressionValidator.validate
    assert hasattr(init, "__wrapped__") and hasattr(validate, "__wrapped__"), "patched"
    return type(
        "MotosValidator",
        (UpdateExpressionValidator,),
        {"__init__": init.__wrapped__, "validate": validate.__wrapped__},
    )


def test_check_update_expressions_once_validates_and_refuses_what_moto_does(
    deps: Any,
) -> None:
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    table = app_table(deps)
    motos = _motos_validator()
    refused = 0
    for expression, names in _CASES:
        usual = _validated(motos, table, expression, names)
        first = _validated(UpdateExpressionValidator, table, expression, names)
        kept = _validated(UpdateExpressionValidator, table, expression, names)
        assert first == usual, (expression, names)
        assert kept == usual, (expression, names)
        refused += isinstance(usual, tuple)
    assert refused == 9, "nine of the cases are refused, each by moto's own error"


def test_check_update_expressions_once_checks_another_tables_keys_afresh(deps: Any) -> None:
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    from infra.local.stack import ACCOUNT_ID, REGION

    keyed_by_a = Table(
        "keyed-by-a",
        account_id=ACCOUNT_ID,
        region=REGION,
        schema=[{"AttributeName": "a", "KeyType": "HASH"}],
        attr=[{"AttributeName": "a", "AttributeType": "S"}],
    )
    passed = _validated(UpdateExpressionValidator, app_table(deps), "SET #k = :a", {"#k": "a"})
    assert isinstance(passed, list)
    assert _validated(UpdateExpressionValidator, keyed_by_a, "SET #k = :a", {"#k": "a"}) == (
        "UpdateHashRangeKeyException",
        _validated(_motos_validator(), keyed_by_a, "SET #k = :a", {"#k": "a"})[1],
    )


def _checks_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The classes of the expression-only checks that walk a tree from now on."""
    from moto.dynamodb.parsing import validators

    run: list[str] = []
    for check in (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    ):

        def counting(self: Any, node: Any, walk: Any = check.traverse) -> Any:
            run.append(type(self).__name__)
            return walk(self, node)

        monkeypatch.setattr(check, "traverse", counting, raising=False)
    return run


def test_check_update_expressions_once_checks_a_tree_names_and_keys_once(
    deps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    table = app_table(deps)
    run = _checks_run(monkeypatch)
    text = "SET #k = :a, b = b + :one REMOVE gone"
    _validated(UpdateExpressionValidator, table, text, {"#k": "a"})
    assert len(run) in (0, 3)  # 0 if an earlier test kept this verdict
    run.clear()
    assert isinstance(_validated(UpdateExpressionValidator, table, text, {"#k": "a"}), list)
    assert run == [], "a kept verdict skips the three checks"
    _validated(UpdateExpressionValidator, table, text, {"#k": "c"})  # other names
    assert run == [
        "ActionCountValidator",
        "OverlappingPathsValidator",
        "UpdateHashRangeKeyValidator",
    ]
    run.clear()
    refused = _validated(UpdateExpressionValidator, table, text, {"#k": "pk"})
    assert refused[0] == "UpdateHashRangeKeyException"
    again = _validated(UpdateExpressionValidator, table, text, {"#k": "pk"})
    assert again == refused and len(run) == 6, "a refusal is checked every time"
