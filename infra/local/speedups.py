"""Where moto (5.2.5) is slow in ways AWS is not, and what the local stack does about it.

Like ``adaptations``, each function names the gap it closes, and
``tests/integration/test_local_speedups.py`` has a test for each that fails without it (those
with their own modules, in ``test_local_<module>.py``).
Nothing here changes an answer: each one falls back to moto's own code for whatever it does
not cover. ``apply_all`` is called from ``adaptations.apply_all``. The two DynamoDB
speed-ups have their own modules: ``table_locks`` (1) and ``gsi_index`` (2); so has the
short way for DynamoDB requests, ``direct_calls`` (7), and the work moto does on the items
it stores, ``dynamodb_items`` (11), and on update expressions, ``dynamodb_expressions`` (12);
the garbage collector's pace, ``collector`` (13), is set by ``LocalStack`` while it runs;
botocore's checking and writing of attribute values is ``attribute_values`` (14), and its
endpoint parameters ``endpoint_params`` (17).
"""

from __future__ import annotations

import contextlib
import functools
import os
import string
import threading
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters.tracing import LazyTracer
from infra.local import dynamodb_expressions, dynamodb_items
from infra.local.attribute_values import attribute_values_at_once
from infra.local.background import bound_invocations
from infra.local.direct_calls import call_services_directly
from infra.local.endpoint_params import endpoint_params_by_plan
from infra.local.gsi_index import index_gsi_queries
from infra.local.patching import apply_once
from infra.local.table_locks import lock_tables_per_action

# -- 3. Parsed JSONPath expressions, once ----------------------------------------------------


def cache_jsonpath_parsing() -> None:
    """Gap: moto's ASL interpreter parses each JSONPath (``InputPath``, ``ResultPath``,
    ``OutputPath``, parameters' ``.$`` paths) with ``jsonpath_ng.parse``, which builds a
    new yacc parser (``JsonPathParser.__init__``) every time: on every state of every
    execution. AWS has no such cost. The parsed expression depends on its text only, and
    ``find``/``update`` do not change it, so here each text is parsed once per process."""
    if not apply_once("jsonpath"):
        return
    from jsonpath_ng.ext.parser import parse as extended_parse
    from jsonpath_ng.parser import parse
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module, parser in ((json_path, extended_parse), (result_path, parse)):
        module.parse = functools.lru_cache(maxsize=4096)(parser)  # type: ignore[attr-defined]


# -- 4. A handler's method names, once ---------------------------------------------------


def cache_handler_method_names() -> None:
    """Gap: on every request to every moto service, ``BaseResponse.call_action`` lists the
    handler class's methods with ``inspect.getmembers`` (hundreds of attributes) to check
    that the action is one of them: about 3 % of the stack's CPU under load. A class's
    methods do not change once the stack runs (every adaptation here replaces methods
    before the first request, under the same names), so the list is kept per class."""
    if not apply_once("method-names"):
        return
    from moto.core import responses

    listed = responses.method_names_from_class  # type: ignore[attr-defined]
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(listed)  # type: ignore[attr-defined]


# -- 5. A state machine's definition parsed once ------------------------------------------


def _eval_components(root: Any) -> Iterator[Any]:
    """Every component reachable from ``root`` (the parsed program's tree), once each."""
    from moto.stepfunctions.parser.asl.component.component import Component

    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Component):
            yield value
            stack.extend(vars(value).values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())


def cache_parsed_definitions() -> None:
    """Gap: moto's interpreter parses the state machine's definition (an ANTLR grammar)
    at the start of every execution: 10-18 % of the stack's CPU under load, the largest
    single cost left in moto. AWS has no such cost. The parsed program is a tree of
    components that keep no state of an execution (that lives in each execution's
    ``Environment``; the one value a component computes lazily, its ``heap_key``, is
    computed here before the tree is shared), and moto itself already runs one component
    tree in several threads at once (a Map's iterations), so each definition is parsed
    once per process and its program reused by every execution of it."""
    if not apply_once("definitions"):
        return
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint
    programs: dict[str, Any] = {}
    programs_lock = threading.Lock()

    @functools.wraps(original)
    def entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        program = programs.get(definition)
        if program is None:
            program = original(self)
            for component in _eval_components(program):
                if isinstance(component, EvalComponent):
                    _ = component.heap_key  # computed now, not by two executions at once
            with programs_lock:
                program = programs.setdefault(definition, program)
        return program

    ExecutionWorker._get_evaluation_entrypoint = entrypoint  # type: ignore[method-assign]


# -- 9. Request ids drawn at once ---------------------------------------------------------


def cheap_request_ids() -> None:
    """Gap: moto gives every answer a request id of 52 random letters and digits, drawn one
    ``random.choice`` at a time (52 Python calls per request), and then looks for an XML
    ``<RequestId>`` element to put it in with a regular expression run over the whole
    body, JSON answers included: together 3-4 % of the stack's CPU under load. AWS has no
    such cost. Here the 52 characters come from one ``choices`` call of moto's own
    (seedable) random source, and the body is searched only when it holds the element."""
    if not apply_once("request-ids"):
        return
    import re

    from moto.core import responses
    from moto.moto_api._internal import mock_random

    pool = string.ascii_letters + string.digits
    request_id_in_xml = re.compile(r"(?<=<RequestId>).*(?=<\/RequestId>)")

    def request_id(headerdict: dict[str, Any] | None = None) -> str:
        value = "".join(mock_random.choices(pool, k=52))
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = value
        return value

    def enrich(headers: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        if "status" in headers:
            headers["status"] = str(headers["status"])
        value = request_id(headers)
        if isinstance(body, str) and "<RequestId>" in body:
            body = request_id_in_xml.sub(value, body)
        return headers, body

    responses.gen_amzn_requestid_long = request_id  # type: ignore[attr-defined]
    responses.BaseResponse._enrich_response = staticmethod(enrich)  # type: ignore[method-assign,assignment]


# -- 15. A backend found without the registry's lock --------------------------------------


def find_backends_without_registering() -> None:
    """Gap: moto finds a service's backend for an account (``dynamodb_backends[account]``,
    several times per request: the handler's backend, the table locks, the visited-account
    mark) by registering the account and the service again each time: it takes moto's
    global backend lock, lists the accounts, and looks the service up in its list of those
    in use by equality (comparing whole dicts of backends). About 1 % of the stack's CPU;
    AWS has no such registry. Here, when the account is already there and the service is
    already in that list (the same object), the backend is answered at once; anything
    else, and after a reset (which empties both), goes through moto's own registering."""
    if not apply_once("backend-lookups"):
        return
    from moto.core.base_backend import BackendDict

    register_and_find = BackendDict.__getitem__

    @functools.wraps(register_and_find)
    def find(self: Any, account_id: str) -> Any:
        if dict.__contains__(self, account_id) and any(
            each is self for each in BackendDict._instances
        ):
            return dict.__getitem__(self, account_id)
        return register_and_find(self, account_id)

    BackendDict.__getitem__ = find  # type: ignore[method-assign]


# -- 10. User-Agent components cleaned once ----------------------------------------------


def cache_user_agent_components() -> None:
    """Gap: for every request, botocore rebuilds the User-Agent header from some twenty
    components and cleans each one character by character (a generator over every
    character of the SDK, Python and platform names and versions, the same for every
    request of a process): about 2.5 % of the stack's CPU, where on AWS each function
    pays it on its own machine. The cleaning depends on the text only, so here each
    text is cleaned once per process; the header comes out the same."""
    if not apply_once("user-agent"):
        return
    from botocore import useragent

    clean = useragent.sanitize_user_agent_string_component
    useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=4096)(clean)  # type: ignore[assignment]


# -- 16. A client's User-Agent string, once per features -----------------------------------


def cache_user_agent_strings() -> None:
    """Gap: botocore builds a request's User-Agent header anew for every request (some
    twenty components made, cleaned, filtered and joined: 77 strings per bench order,
    about 2.8 ms of CPU per order), though for one client it changes only with the
    features the request's context records. AWS's SDK pays it on the caller's machine;
    here the caller is the process that also runs the service. Here each client's
    builder keeps the last string it made with what it was made from: every attribute of
    the builder (client config, session and platform names, client features) and the
    features of the request's context, in the order botocore joins them. A request with
    the same of all of these gets the same string; any difference builds it anew (a
    client config is compared by identity: botocore makes a new one to change one)."""
    if not apply_once("user-agent-strings"):
        return
    from botocore import useragent
    from botocore.context import get_context

    build = useragent.UserAgentString.to_string
    # builder's id -> (builder, features, its attributes, the string): one tuple replaced
    # at once, so a thread reads one whole entry.
    last: dict[int, tuple[Any, tuple[str, ...], dict[str, Any], str]] = {}

    @functools.wraps(build)
    def to_string(self: Any) -> str:
        context = get_context()
        in_context = context.features if context is not None else set()
        features = tuple((self._client_features or set()).union(in_context))
        made_from = dict(self.__dict__)
        entry = last.get(id(self))
        if entry is not None and entry[0] is self and entry[1:3] == (features, made_from):
            return entry[3]
        text: str = build(self)
        if len(last) >= 4096:  # clients come and go in tests: keep the recent ones
            last.clear()
        last[id(self)] = (self, features, made_from, text)
        return text

    useragent.UserAgentString.to_string = to_string  # type: ignore[method-assign]


# -- 6. The tracer fully off --------------------------------------------------------------


class _NoSegment:
    """What a subsegment is when nothing is traced."""

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Nothing to record."""

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """Nothing to record."""


class NoTracing:
    """A Powertools tracing provider that does nothing: no X-Ray entity, id or context."""

    _segment = _NoSegment()

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[_NoSegment]:
        """No subsegment."""
        yield self._segment

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> Any:
        """No subsegment."""
        yield self._segment

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Nothing to record."""

    def patch(self, modules: Any) -> None:
        """Nothing to patch."""

    def patch_all(self) -> None:
        """Nothing to patch."""


def tracer_off(app_module: Any = None) -> None:
    """Gap: outside Lambda, Powertools' ``Tracer`` disables the X-Ray SDK, but each
    decorated handler still enters an X-Ray subsegment: the disabled SDK builds a dummy
    segment and subsegment (each entity drawing a random id from ``os.urandom``) and, on
    an exception, extracts its traceback, on every step and subscriber call. There is no
    X-Ray locally. Here ``POWERTOOLS_TRACE_DISABLED`` is set and every ``Tracer`` (those
    made later share the first one's configuration, as Powertools documents; the app's,
    if it was imported before) uses a provider that does nothing."""
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    from aws_lambda_powertools import Tracer

    provider = NoTracing()
    Tracer(disabled=True, auto_patch=False, provider=provider)  # type: ignore[arg-type]
    tracer = getattr(app_module, "tracer", None) if app_module is not None else None
    if isinstance(tracer, LazyTracer):
        # The app makes its Tracer at its first traced call: the one made, if any.
        tracer = tracer.built
    if isinstance(tracer, Tracer):
        tracer.provider = provider  # type: ignore[assignment]
        tracer.disabled = True


def apply_all() -> None:
    """Every speed-up but the tracer's, which ``LocalStack`` applies around the app."""
    lock_tables_per_action()
    index_gsi_queries()
    cache_jsonpath_parsing()
    cache_handler_method_names()
    cache_parsed_definitions()
    call_services_directly()
    attribute_values_at_once()
    bound_invocations()
    cheap_request_ids()
    cache_user_agent_components()
    cache_user_agent_strings()
    endpoint_params_by_plan()
    find_backends_without_registering()
    dynamodb_items.apply_all()
    dynamodb_expressions.apply_all()
