"""moto's update-expression trees as tests compare them, and the item and table the
validator tests validate against (``test_local_dynamodb_expressions``,
``test_local_update_checks``)."""

from __future__ import annotations

from typing import Any


def tree_shape(root: Any) -> list[Any]:
    """A tree as comparable data: each node in pre-order with its class, its attributes
    (nodes by their place in that order), and the place of its parent."""
    from moto.dynamodb.parsing.ast_nodes import Node

    order: dict[int, int] = {}
    shapes: list[Any] = []

    def place(value: Any) -> Any:
        if isinstance(value, Node):
            if id(value) not in order:
                order[id(value)] = len(order)
                shapes.append(None)
                at = order[id(value)]
                fields = {
                    name: place(each) for name, each in vars(value).items() if name != "parent"
                }
                parent = value.parent
                shapes[at] = (type(value).__name__, fields, order.get(id(parent), parent))
            return ("node", order[id(value)])
        if isinstance(value, list):
            return [place(each) for each in value]
        return repr(value)

    place(root)
    return shapes


def app_table(deps: Any) -> Any:
    """moto's model of the app's table on the local stack."""
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.stack import ACCOUNT_ID, REGION

    return dynamodb_backends[ACCOUNT_ID][REGION].get_table(deps.settings.table_name)


def validated_item() -> Any:
    """A stored item with a number, a list, a map and a string for updates to work on."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attrs = {
        "pk": {"S": "p"},
        "sk": {"S": "s"},
        "b": {"N": "2"},
        "l": {"L": [{"S": "x"}]},
        "m": {"M": {"inr": {"N": "1"}}},
        "cnt": {"N": "1"},
        "gone": {"S": "g"},
    }
    return Item(DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
