"""Where moto's DynamoDB (5.2.5) spends the stack's CPU on its own items, in ways AWS's
servers do not charge a caller for: measuring an item's size, copying a query's answer, and
turning stored items into plain dicts. Part of ``speedups``; each function names the gap it
closes, and ``tests/integration/test_local_dynamodb_items.py`` has a test for each that fails
without it and compares its answers with moto's own code. Nothing here changes an answer:
whatever is not one of DynamoDB's attribute types, as moto stores them, goes to moto's code.
"""

from __future__ import annotations

import base64
import functools
import threading
from typing import Any

from infra.local.patching import apply_once

_SETS = ("SS", "NS", "BS")


def _text_size(value: Any) -> int:
    """What moto's ``bytesize`` counts for a string or binary value (``bool`` counts 1)."""
    if value is True or value is False:
        return 1
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def sizes(dynamo_type: type, moto_size: Any) -> Any:
    """A function giving the size moto's ``DynamoType.size`` gives a value, walking it
    once; ``moto_size`` (moto's method) measures what is not one of the stored types."""

    def size_of(value: Any) -> int:
        kind, inner = value.type, value.value
        if kind == "N":
            return len(str(inner))
        if kind == "M":
            total = 0
            for name, member in inner.items():
                # moto measures DynamoType(member): a copy of a stored member, the same size.
                each = member if type(member) is dynamo_type else dynamo_type(member)
                total += _text_size(name) + size_of(each)
            return total
        if kind == "L":
            return sum(
                size_of(each) if type(each) is dynamo_type else each.size() for each in inner
            )
        if kind in _SETS:
            if kind == "NS":
                return sum(len(str(each)) for each in inner)
            return sum(_text_size(each) for each in inner)
        if isinstance(inner, str | bytes | bool):
            return _text_size(inner)
        return int(moto_size(value))

    return size_of


def measure_items_once() -> None:
    """Gap: moto measures an item's size (a query's 1 MB page, the 400 KB item limit
    checked at every attribute an update sets) by walking it through
    ``DynamoType.size``, which builds a new ``DynamoType`` of every member of every map
    (each one rebuilding its own lists and maps) to measure it: an order's state item of
    some 200 nested values is rebuilt several times per query, 5 % of the stack's CPU.
    AWS charges a caller nothing for it. Here the same sizes are counted by walking the
    stored values once, without building anything."""
    if not apply_once("dynamodb-sizes"):
        return
    from moto.dynamodb.models.dynamo_type import DynamoType

    moto_size = DynamoType.size
    size_of = sizes(DynamoType, moto_size)

    @functools.wraps(moto_size)
    def size(self: Any) -> int:
        return int(size_of(self))

    DynamoType.size = size  # type: ignore[method-assign]


def plains(moto_plain: Any) -> Any:
    """A function giving what moto's ``dynamo_to_dict`` gives for a value (stored items
    and attribute values as plain dicts, binaries as bytes), dispatched on the value's
    exact type; anything else goes to ``moto_plain`` (moto's function)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    def plain(value: Any) -> Any:
        kind = type(value)
        if kind is DynamoType:
            tag, inner = value.type, value.value
            if type(inner) is str and tag != "B":
                return {tag: inner}
            if tag == "M" and type(inner) is dict:
                return {"M": {name: plain(each) for name, each in inner.items()}}
            if tag == "L" and type(inner) is list:
                return {"L": [plain(each) for each in inner]}
            if tag == "B":
                return {"B": inner if isinstance(inner, bytes) else base64.b64decode(inner)}
            if tag == "BS":
                blobs = [
                    each if isinstance(each, bytes) else base64.b64decode(each) for each in inner
                ]
                return {"BS": blobs}
            return {tag: plain(inner)}
        if kind is dict or kind is LimitedSizeDict:
            return {name: plain(each) for name, each in value.items()}
        if kind is list:
            return [plain(each) for each in value]
        if kind is str or kind is bool or kind is int or kind is float or value is None:
            return value
        return moto_plain(value)

    return plain


def plain_answers_at_once() -> None:
    """Gap: moto turns every DynamoDB answer into plain dicts with ``dynamo_to_dict``,
    which asks each value in turn whether it is a datetime, a ``DynamoType``, or has a
    ``to_json`` method (a failed attribute lookup per string), before it is a dict or a
    list: 6 % of the stack's CPU, nearly all on the items of query answers. On AWS the
    stored item is already what goes on the wire. Here each value is dispatched on its
    exact type in one step; what is not a stored type goes to moto's function."""
    if not apply_once("dynamodb-plain"):
        return
    from moto.dynamodb import responses
    from moto.dynamodb.models import utilities

    moto_plain = utilities.dynamo_to_dict
    plain = plains(moto_plain)

    @functools.wraps(moto_plain)
    def dynamo_to_dict(value: Any) -> Any:
        return plain(value)

    # moto's own recursion and the handler's answers both find the function by this name.
    utilities.dynamo_to_dict = dynamo_to_dict
    responses.dynamo_to_dict = dynamo_to_dict  # type: ignore[attr-defined]


# While moto's handler makes the answer of a Query or a Scan in this thread: ``sizes``, the
# items measured for it so far (each kept with its size, so that no id is reused meanwhile).
_answering = threading.local()


def _mark_answers() -> None:
    """Set ``_answering.sizes`` while the handler's ``query`` or ``scan`` runs."""
    if not apply_once("dynamodb-answering"):
        return
    from moto.dynamodb.responses import DynamoHandler

    def answering(action: str) -> None:
        original = getattr(DynamoHandler, action)

        @functools.wraps(original)
        def handled(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(_answering, "sizes", None)
            _answering.sizes = {}
            try:
                return original(self, *args, **kwargs)
            finally:
                _answering.sizes = outer

        setattr(DynamoHandler, action, handled)

    answering("query")
    answering("scan")


def answer_without_copies() -> None:
    """Gap: moto's ``Table.query`` and ``Table.scan`` deep-copy every item they found
    before answering, and the handler then turns those copies into plain dicts for the
    answer: every item read is copied twice, the second time only to be thrown away (an
    order's state item: 3 % of the stack's CPU). AWS copies nothing for a caller. The
    copy guards the stored items against whoever uses the answer; here, while the
    handler's ``Query`` or ``Scan`` runs (it turns the items into new plain dicts under
    the table's lock and keeps nothing else of them; projections and index projections
    make new items), the found items are handed on as they are. Called from anywhere
    else, moto's query and scan still copy."""
    if not apply_once("dynamodb-answer-copies"):
        return
    from moto.dynamodb.models.dynamo_type import Item

    _mark_answers()
    moto_copy = Item.__deepcopy__

    @functools.wraps(moto_copy)
    def deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_answering, "sizes", None) is not None:
            return self
        return moto_copy(self, memo)

    Item.__deepcopy__ = deepcopy  # type: ignore[method-assign]


def measure_answer_items_once() -> None:
    """Gap: moto's ``Table.query`` measures each item it keeps twice (once to see whether
    it still fits the 1 MB page, once to add it to the page's size), and ``Table.scan``
    likewise: half of that walk of every item answered is done again. Here, while the
    handler's ``Query`` or ``Scan`` runs (under the table's lock: no item changes
    meanwhile), an item measured once is not measured again."""
    if not apply_once("dynamodb-answer-sizes"):
        return
    from moto.dynamodb.models.dynamo_type import Item

    _mark_answers()
    moto_item_size = Item.size

    @functools.wraps(moto_item_size)
    def size(self: Any) -> int:
        sizes = getattr(_answering, "sizes", None)
        if sizes is None:
            return int(moto_item_size(self))
        known = sizes.get(id(self))
        if known is None:
            known = sizes[id(self)] = (self, moto_item_size(self))
        return int(known[1])

    Item.size = size  # type: ignore[method-assign]


def apply_all() -> None:
    """Every speed-up of this module."""
    measure_items_once()
    plain_answers_at_once()
    answer_without_copies()
    measure_answer_items_once()
