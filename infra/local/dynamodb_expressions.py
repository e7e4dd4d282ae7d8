"""Where moto's DynamoDB (5.2.5) spends the stack's CPU on expressions: parsing the same
update expression's text for every request, twice, copying and walking the parsed tree the
slow way, checking what depends on the expression alone for every update, and reading a
condition expression's text into tokens for every request. Part of ``speedups``; each
function names the gap it closes, and ``tests/integration/test_local_dynamodb_expressions.py``
(``test_local_update_checks.py`` for ``check_update_expressions_once``) has a test for each
that fails without it and compares the result with moto's own.
"""

from __future__ import annotations

import collections
import copy
import functools
import pickle
from typing import Any

from infra.local.patching import apply_once

# The parsed trees kept by ``parse_update_expressions_once``: text -> tree, and the id of
# each kept tree -> the tree and its pickle (kept trees live as long as the process, so an
# id names one tree). At most this many texts are kept; others are parsed every time.
_KEPT_TEXTS = 4096
_kept_trees: dict[str, Any] = {}
_kept_pickles: dict[int, tuple[Any, bytes]] = {}


def parse_update_expressions_once() -> None:
    """Gap: moto parses an ``UpdateExpression`` (tokenises it character by character and
    builds its tree) twice for every ``UpdateItem`` and every Update of a transaction: once
    in the handler to check its names and values, once in the backend to apply it. The app
    sends the same few expressions over and over; AWS's parsing costs a caller nothing.
    Here each text is parsed once per process (up to 4,096 texts) and its tree shared:
    nothing of moto changes a parsed tree (the handler only reads it, and the backend's
    validator works on its own copy of it, see ``copy_expression_trees_plainly``). An
    expression moto refuses raises the same error every time (a failed parse is not kept)."""
    if not apply_once("dynamodb-update-parse"):
        return
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]

    @functools.wraps(make)
    def parse_once(cls: Any, expression_str: str) -> Any:
        tree = _kept_trees.get(expression_str)
        if tree is not None:
            return tree
        tree = make(cls, expression_str)
        if len(_kept_trees) < _KEPT_TEXTS:
            kept = _kept_trees.setdefault(expression_str, tree)
            if kept is tree:
                _kept_pickles[id(tree)] = (tree, pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
            tree = kept
        return tree

    UpdateExpressionParser.make = classmethod(parse_once)  # type: ignore[assignment]


def plain_tree_copier(node_class: type, kept: dict[int, tuple[Any, bytes]] | None = None) -> Any:
    """A function that copies a parsed expression's tree as ``copy.deepcopy`` does (each
    node a new object of its class with its attributes copied, parents included, shared
    values copied once), taking nodes, lists and immutable values itself and leaving
    everything else (the typed values a validated tree holds) to ``copy.deepcopy``. A tree
    in ``kept`` (by id: the tree and its pickle), copied on its own, is read back from its
    pickle: the same new objects of the same classes with the same attributes, made by
    C code instead of a walk in Python."""
    pickles = kept if kept is not None else {}

    def copy_tree(value: Any, memo: dict[int, Any]) -> Any:
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        known = memo.get(id(value))
        if known is not None:
            return known
        if kind is list:
            copied: list[Any] = []
            memo[id(value)] = copied
            copied.extend(copy_tree(each, memo) for each in value)
            return copied
        if isinstance(value, node_class) and type(value).__deepcopy__ is node_deepcopy:
            node = kind.__new__(kind)
            memo[id(value)] = node
            node.__dict__.update(
                {name: copy_tree(each, memo) for name, each in value.__dict__.items()}
            )
            return node
        return copy.deepcopy(value, memo)

    def node_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if not memo:
            entry = pickles.get(id(self))
            if entry is not None and entry[0] is self:
                return pickle.loads(entry[1])  # our own pickle of a tree we keep
        return copy_tree(self, memo)

    return node_deepcopy


def copy_expression_trees_plainly() -> None:
    """Gap: moto's update validator deep-copies the parsed expression's tree for every
    ``UpdateItem`` with Python's generic ``deepcopy``, which reduces every node through
    the pickle protocol and rebuilds it (``__reduce_ex__``, ``_reconstruct``): an update
    of twenty attributes copies some two hundred nodes that way, 2.5 % of the stack's CPU.
    AWS charges a caller nothing for it. Here a node is copied by making a new object of
    its class and copying its attributes, which is what the generic copy ends up doing;
    and a tree kept by ``parse_update_expressions_once`` (the validator's copies are all of
    kept trees) is read back from the pickle made of it when it was parsed, 2-3 times
    faster than that walk (no validator changes a kept tree, so its pickle stays true)."""
    if not apply_once("dynamodb-tree-copies"):
        return
    from moto.dynamodb.parsing.ast_nodes import Node

    Node.__deepcopy__ = plain_tree_copier(Node, _kept_pickles)  # type: ignore[attr-defined]


def plain_traversal(node_class: type, base: type) -> Any:
    """moto's ``DepthFirstTraverser.traverse_node_recursively``, visiting the same nodes in
    the same order and processing the same ones, with what it asks of every node answered
    once per class: whether a value is a node (an ABC check), which node classes the
    processor processes, and whether the processor has a hook to call before each child."""
    is_node: dict[type, bool] = {}
    processes: dict[tuple[type, type], bool] = {}
    kinds_of: dict[type, tuple[type, ...]] = {}
    empty_hook = base.pre_processing_of_child  # type: ignore[attr-defined]

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        kind = type(node)
        node_like = is_node.get(kind)
        if node_like is None:
            node_like = is_node[kind] = issubclass(kind, node_class)
        if not node_like:
            return node
        parent_node = node.parent
        children = node.children
        processor = type(self)
        if children is not None:
            hook = processor.pre_processing_of_child is not empty_hook
            for i, child_node in enumerate(children):
                if hook:
                    self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        processed = processes.get((processor, kind))
        if processed is None:
            kinds = kinds_of.get(processor)
            if kinds is None:
                kinds = kinds_of[processor] = self.nodes_to_be_processed()
            processed = processes[(processor, kind)] = issubclass(kind, kinds)
        if processed:
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    return traverse_node_recursively


def traverse_trees_plainly() -> None:
    """Gap: moto's update validator walks the copied tree once per processor (ten of them)
    and, at every node of every walk, builds the processor's map of bound methods anew to
    learn which node classes it processes, checks the value against the abstract ``Node``
    class (an ABC check, for every text leaf too) and calls an empty hook per child: 6 %
    of the stack's CPU. AWS charges a caller nothing for it. Every processor of moto 5.2.5
    maps fixed node classes, so here those answers are kept per class and the walk visits,
    processes and replaces the same nodes in the same order."""
    if not apply_once("dynamodb-tree-walks"):
        return
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    moto_walk = DepthFirstTraverser.traverse_node_recursively
    walk = functools.wraps(moto_walk)(plain_traversal(Node, DepthFirstTraverser))
    DepthFirstTraverser.traverse_node_recursively = walk  # type: ignore[method-assign]


def clause_finder(descend_into: tuple[type, ...]) -> Any:
    """moto's ``Node.find_clauses``: the children of a node whose class is one of
    ``clause_types``, and those found below every child that is one of ``descend_into``
    (in moto, an ``Expression`` or an ``UpdateExpressionFunction``), in the same order, with
    whether a class descends answered once per class instead of by an ABC check per child
    (moto registers no virtual subclass of them)."""
    descends: dict[type, bool] = {}

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            below = descends.get(kind)
            if below is None:
                below = descends[kind] = issubclass(kind, descend_into)
            if below:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    return find_clauses


def find_clauses_by_class() -> None:
    """Gap: moto looks for the clauses of an update expression's tree (its names and
    values in the handler, its actions and clauses in three of the validator's processors
    and in ``normalize``) by walking the tree seven times per update and asking at every
    child, twice, whether it is an instance of an abstract class (an ABC check, its
    slowest kind): some 300,000 ABC checks for 40 bench orders, 2-3 % of the stack's CPU.
    AWS charges a caller nothing for it. Whether a class is one to descend into depends on
    the class only, so here it is answered once per class; the walk finds the same
    clauses in the same order."""
    if not apply_once("dynamodb-find-clauses"):
        return
    from moto.dynamodb.parsing.ast_nodes import Expression, Node, UpdateExpressionFunction

    moto_find = Node.find_clauses
    find = functools.wraps(moto_find)(clause_finder((Expression, UpdateExpressionFunction)))
    Node.find_clauses = find  # type: ignore[method-assign]


def lex_condition_expressions_once() -> None:
    """Gap: moto reads a ``ConditionExpression`` into tokens by trying six regular
    expressions at each token and slicing the rest of the text off each time, for every
    request, twice in a transaction (handler and backend): 1.5 % of the stack's CPU for
    the app's few texts. AWS's parsing costs a caller nothing. The tokens depend on the
    text only, and moto's parser never changes a token (it builds new nodes from them), so
    here each text's tokens are kept (for up to 4,096 texts) and every parse gets its own
    queue of them; the values and names of each request are applied by moto as before. A
    text moto cannot read raises the same error every time."""
    if not apply_once("dynamodb-condition-tokens"):
        return
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_lex = ConditionExpressionParser._lex_condition_expression
    tokens_of: dict[str, tuple[Any, ...]] = {}

    @functools.wraps(moto_lex)
    def lex(self: Any) -> Any:
        text = self.condition_expression
        tokens = tokens_of.get(text)
        if tokens is None:
            tokens = tuple(moto_lex(self))
            if len(tokens_of) < 4096:
                tokens_of[text] = tokens
        return collections.deque(tokens)

    ConditionExpressionParser._lex_condition_expression = lex  # type: ignore[method-assign]


# The update checks that passed, kept by ``check_update_expressions_once``: (id of a kept
# tree, its names, the table's key attributes). At most this many are kept; others are
# checked every time.
_KEPT_VERDICTS = 4096
_passed_checks: set[tuple[Any, ...]] = set()


def checks_key(expression: Any, names: Any, key_attributes: Any) -> tuple[Any, ...] | None:
    """What moto's checks of an update expression alone read: the kept tree (by id: kept
    trees live as long as the process), the request's names and the table's key
    attributes. None for a tree that is not kept or names that cannot be a key."""
    entry = _kept_pickles.get(id(expression))
    if entry is None or entry[0] is not expression:
        return None
    try:
        frozen_names = None if names is None else frozenset(names.items())
        return (id(expression), frozen_names, tuple(key_attributes))
    except (AttributeError, TypeError):
        return None


def check_update_expressions_once() -> None:
    """Gap: moto's update validator walks each update's tree with three checks that read
    only the expression, its names and the table's keys (no more than one SET, ADD or
    REMOVE clause; no two actions on overlapping paths; no key attribute changed), before
    its seven processors that read the item and the values: for every ``UpdateItem``,
    twice when it makes the item, and in every transaction. The app sends the same few
    expressions with the same names; the three walks took half the validator's CPU (230
    of 463 us for a five-action update). AWS charges a caller nothing for it. These three
    change no node (each returns the node it is given), so here an update whose tree,
    names and table keys already passed them skips them; anything else (a tree not kept,
    other names, another table's keys, a check that failed) is checked by moto, which
    raises its own errors in its own order."""
    if not apply_once("dynamodb-update-checks"):
        return
    from moto.dynamodb.parsing.validators import (
        ActionCountValidator,
        OverlappingPathsValidator,
        UpdateExpressionValidator,
        UpdateHashRangeKeyValidator,
    )

    expression_only = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
    moto_init = UpdateExpressionValidator.__init__
    moto_validate = UpdateExpressionValidator.validate

    @functools.wraps(moto_init)
    def init(
        self: Any,
        expression: Any,
        expression_attribute_names: Any,
        expression_attribute_values: Any,
        item: Any,
        table: Any,
    ) -> None:
        moto_init(
            self, expression, expression_attribute_names, expression_attribute_values, item, table
        )
        self.checks_key = checks_key(expression, expression_attribute_names, table.table_key_attrs)

    @functools.wraps(moto_validate)
    def validate(self: Any) -> Any:
        processors = self.processors
        leading = 0  # the checks run first in moto: skipping them skips nothing else
        while leading < len(processors) and type(processors[leading]) in expression_only:
            leading += 1
        key = self.__dict__.get("checks_key")
        start = leading if key is not None and key in _passed_checks else 0
        node = self.node_to_validate
        for at in range(start, len(processors)):
            node = processors[at].traverse(node)
            if at + 1 == leading and key is not None and len(_passed_checks) < _KEPT_VERDICTS:
                _passed_checks.add(key)
        return node

    UpdateExpressionValidator.__init__ = init  # type: ignore[method-assign]
    UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]


def apply_all() -> None:
    """Every speed-up of this module."""
    parse_update_expressions_once()
    copy_expression_trees_plainly()
    traverse_trees_plainly()
    find_clauses_by_class()
    lex_condition_expressions_once()
    check_update_expressions_once()
