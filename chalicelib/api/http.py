"""HTTP plumbing shared by every blueprint: roles, body parsing, problem details, and the
route registry the OpenAPI document is generated from."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from chalice import Blueprint, Response  # type: ignore[attr-defined]
from chalice.app import MultiDict, Request
from pydantic import BaseModel, ValidationError

from chalicelib.composition import Deps, deps
from chalicelib.domain.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    OrquestaError,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import Channel
from chalicelib.domain.request_digests import request_digest
from chalicelib.services import tokens

logger = Logger(service="orquesta")

# Channels whose orders are placed at a store (``store_id``): its staff's.
SOLD_IN_STORE = (Channel.STORE, Channel.KIOSK)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"
ALL_ROLES = ("storefront", "store", "ops")

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Printable ASCII, no space at either end, 1 to 255 characters: what the API accepts as a
# key is exactly what the OpenAPI document declares.
IDEMPOTENCY_KEY_PATTERN = "^[!-~](?:[ -~]{0,253}[!-~])?$"
# What the OpenAPI document declares for a request header, by name (a string otherwise).
HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    IDEMPOTENCY_HEADER: {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": IDEMPOTENCY_KEY_PATTERN,
    },
}


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, in UTF-8, which JSON is (RFC 8259): a
    probe's ``application/jsonx`` and ``text/json-garbage`` were read as JSON, and a body
    sent as ``charset=latin-1`` as UTF-8."""
    media_type, *params = (part.strip() for part in content_type.lower().split(";"))
    kind, _, subtype = media_type.partition("/")
    # A suffix names a type before it (RFC 6838): "+json" alone is none (probe 202).
    suffixed = subtype.endswith("+json") and len(subtype) > len("+json")
    if kind != "application" or not (subtype == "json" or suffixed):
        return False
    charsets = [p.partition("=")[2].strip().strip('"') for p in params if p.startswith("charset")]
    return all(charset in ("utf-8", "utf8") for charset in charsets)


_DIGITS = re.compile(r"-?[0-9]+")


@functools.cache
def _integer_parameters(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters ``model`` reads as integers (``int``, or ``int | None``)."""
    names = set()
    for name, info in model.model_fields.items():
        kinds = typing.get_args(info.annotation) or (info.annotation,)
        if int in kinds and bool not in kinds:
            names.add(info.alias or name)
    return frozenset(names)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role of their key, the client it acts for (the configured
    ``client_id``, else a stable id of the key itself) and the store it is bound to."""

    role: str
    client_id: str
    location_id: str | None = None

    @property
    def writer(self) -> str:
        """Who did something, as it is recorded (``role:client``): a note, a retry, a
        resolution. Only ops read the client back (``care._ticket_body``)."""
        return f"{self.role}:{self.client_id}"

    def sees(self, order: Order) -> bool:
        """Whether this caller may read (and so act on) the order: ops everything; a
        storefront its own client's orders; a store key bound to a store the orders placed
        there or with a fulfillment or a return there, an unbound one every order."""
        if self.role == "ops":
            return True
        if self.role == "storefront":
            return order.client_id is not None and secure_equal(order.client_id, self.client_id)
        if self.role == "store":
            store = self.location_id
            return (
                store is None
                # Placed there: a store or kiosk sale (a web order naming a store_id was
                # not, and a probe saw it open to that store's key).
                or (order.channel in SOLD_IN_STORE and order.store_id == store)
                or any(f.location_id == store for f in order.fulfillments)
                # Named for the return, or received it: a store expecting goods keeps
                # reading the order once another store took them.
                or any(store in (r.location_id, r.requested_location_id) for r in order.returns)
                # A pick-up is the store's before its fulfilment exists (until stock is
                # reserved) and after the order is rejected without one.
                or any(
                    line.fulfillment is FulfillmentType.PICKUP and line.location_id == store
                    for line in order.lines
                )
            )
        return False

    def require_whole_order_at_its_store(self, order: Order) -> None:
        """A store key bound to a store cancels only an order that is its store's alone:
        sold there, or every part still to be handed over there (probe 225: the Madrid key
        cancelled a web order's pick-up waiting at Barcelona, reading the order for its own
        part). Ops, unbound store keys and storefronts (their own orders) are not bound."""
        bound = self.location_id
        if self.role != "store" or bound is None:
            return
        if order.channel in SOLD_IN_STORE and order.store_id == bound:
            return
        places: set[str | None]
        if order.fulfillments:
            # Parts handed over or ended take no part: a cancel would not touch them, and
            # one collected elsewhere is the 409 any key gets (probe 231 read 403).
            places = {f.location_id for f in order.fulfillments if f.status in _STILL_TO_HAND_OVER}
        else:  # before reservation, or rejected: where its lines would be served
            places = {
                line.location_id if line.fulfillment is FulfillmentType.PICKUP else None
                for line in order.lines
            }
        if places - {bound}:
            raise Forbidden(
                f"this key cancels only orders sold at store {bound} or served there alone",
                field="order_id",
            )

    def sees_tracking_link(self, order: Order) -> bool:
        """Whether this caller may read the order's tracking link, which acts as its
        customer (cancel, return anywhere, every pick-up's code): all but a store key bound
        to a store, which reads it only for a sale of its own store (probe 26A: the Madrid
        key cancelled a web order waiting at Barcelona, and read its code, through it)."""
        bound = self.location_id
        if self.role != "store" or bound is None:
            return True
        return order.channel in SOLD_IN_STORE and order.store_id == bound

    def sees_pickup_code_at(self, location_id: str) -> bool:
        """Whether this caller may read the code of a pick-up at ``location_id``: ops and
        the staff of that store (an unbound store key is every store's)."""
        if self.role == "ops":
            return True
        return self.role == "store" and self.location_id in (None, location_id)

    def require_location(self, location_id: str | None, field: str) -> None:
        """A store key bound to a store acts only at that store (403 elsewhere)."""
        bound = self.location_id
        if self.role == "store" and bound is not None and location_id != bound:
            raise Forbidden(f"this key acts for store {bound} only", field=field)

    def require_store_sale(self, channel: Channel, store_id: str | None, action: str) -> None:
        """A store key places and quotes store and kiosk orders only, at its own store."""
        if self.role != "store":
            return
        if channel not in SOLD_IN_STORE:
            raise Forbidden(f"store keys {action} store and kiosk orders only", field="channel")
        self.require_location(store_id, "store_id")


# The parts a cancel would still stop.
_STILL_TO_HAND_OVER = (FulfillmentStatus.PENDING, FulfillmentStatus.READY_FOR_PICKUP)


class Access(StrEnum):
    """Who a route lets through, declared with every route so that none can forget (a test
    walks the registry): ownership is checked, or the route is for ops only, or public."""

    PUBLIC = "public"  # no credential and nobody's data: health, the OpenAPI document
    SIGNED = "signed"  # the request carries its own proof: tracking token, carrier signature
    OPS = "ops"  # ops keys only
    STAFF = "staff"  # store and ops keys only; a bound store key acts at its store only
    CATALOGUE = "catalogue"  # reference data that belongs to no client or customer
    OWN_ORDER = "own-order"  # ``{order_id}`` must be the caller's (404 otherwise), enforced here
    CUSTOMER = "customer"  # storefronts need that customer's X-Customer-Token
    NEW = "new"  # creates or resolves for the caller; reads nothing another client owns
    CODE = "code"  # the proof is a code in the body; 5 wrong codes lock it (429)


secure_equal = tokens.same


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about one route."""

    method: str
    path: str
    summary: str
    roles: tuple[str, ...]
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    tag: str
    headers: tuple[str, ...] = ()
    html: bool = False
    query: type[BaseModel] | None = None
    access: Access | None = None
    # Statuses only this route answers (409 for a state conflict, 429 for a lockout, a
    # route-specific 403...); the generic ones (401/403 for keys, 404 for path ids,
    # 400/413/415/422 for bodies, 422 for queries and headers) are derived by openapi.py.
    errors: tuple[int, ...] = ()
    optional_headers: tuple[str, ...] = ()
    # The route parses its body with ``optional=True``: no body at all is fine.
    optional_body: bool = False
    # The body is an HTML form (``application/x-www-form-urlencoded``), not JSON.
    form: bool = False


ROUTE_DOCS: list[RouteDoc] = []


# On every answer. Read as its Content-Type says: a problem's detail names the bad value
# it was sent, and a browser guessing HTML from it would run it. Kept by no cache: most
# answers carry a person's data or a token (probe 165: a confirmed code's customer token,
# an export, the tracking JSON went out with no Cache-Control at all).
ANSWER_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Words:
    """The fields of an answer that hold what a person wrote (a ticket's description, a
    survey's comment), and how to read them again from what the request made. A key's
    record keeps the answer without them: it lives 48 h, and an erasure cannot find it
    (probe 162 read the words there, raw, after the erasure)."""

    fields: tuple[str, ...]
    read_again: Callable[[dict[str, Any]], dict[str, Any]]

    def left_out_of(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer as the key's record keeps it."""
        return {name: value for name, value in answer.items() if name not in self.fields}


def _as_replayed(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer with its keys in the order a replay has them (the record's, sorted), so
    that the first answer and its replays are the same bytes."""
    return json.loads(json.dumps(answer, sort_keys=True))  # type: ignore[no-any-return]


def once_of(scope: str, key: str | None, request: BaseModel) -> str | None:
    """What a keyed request is known by to the services that name what it creates after
    it, or None without a key: the key in its scope and the body, so that a run again of
    the request finds the same, and the key used again with another body once its record
    ran out (48 h) creates its own rather than being answered with the first request's
    (probe 161: a till reusing receipt numbers as keys was answered with an old sale)."""
    return None if key is None else f"{scope}\n{key}\n{request_digest(request)}"


def answer_headers(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: ``ANSWER_HEADERS`` on every answer that does not set its own."""
    response = get_response(request)
    for name, value in ANSWER_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def see_other(location: str) -> Response:
    """303 to a page, for a form posted without JavaScript. The body is empty, so it is
    labelled plain text: Chalice would otherwise call the empty body JSON."""
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Content-Type": "text/plain; charset=utf-8",
        },
    )


def problem_document(
    status: int, title: str, detail: str, errors: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The RFC 9457 problem details body (API.md, Conventions)."""
    return {
        "type": f"https://orquesta.example/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": name, "message": message} for name, message in errors or []],
    }


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem details response; its detail may repeat what was sent, so no
    browser may guess another type (the local gateway's 404 and 405 pass no middleware)."""
    return Response(
        body=json.dumps(problem_document(status, title, detail, errors)),
        status_code=status,
        headers={"Content-Type": PROBLEM_JSON, **ANSWER_HEADERS, **(headers or {})},
    )


class _Members(dict[str, Any]):
    """A JSON object as read, with the names it gave more than once."""

    repeated: tuple[str, ...] = ()


def _members(pairs: list[tuple[str, Any]]) -> _Members:
    members = _Members(pairs)
    if len(members) < len(pairs):
        names = [name for name, _ in pairs]
        members.repeated = tuple(
            name
            for at, name in enumerate(names)
            if name in names[:at] and name not in names[at + 1 :]
        )
    return members


def repeated_members(raw: bytes) -> list[str]:
    """Where a JSON text gives one object a member twice: each as its dotted path
    (``lines.0.quantity``); none for text that is not JSON."""
    found: list[str] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, _Members):
            found.extend(".".join((*path, name)) for name in value.repeated)
            for name, member in value.items():
                walk(member, (*path, name))
        elif isinstance(value, list):
            for at, item in enumerate(value):
                walk(item, (*path, str(at)))

    try:
        walk(json.loads(raw, object_pairs_hook=_members), ())
    except (ValueError, RecursionError):
        return []  # not JSON (the model says so), or nested past what json reads
    return found


@dataclass
class Call:
    """One request as a view function sees it."""

    request: Request
    principal: Principal | None
    deps: Deps
    _body: bytes | None = field(default=None)
    # The JSON body the route documents, to name its errors beside a bad key's.
    body_model: type[BaseModel] | None = None
    optional_body: bool = False

    def raw_body(self) -> bytes:
        """The body, size-checked."""
        if self._body is None:
            body = self.request.raw_body or b""
            raw = body.encode() if isinstance(body, str) else body
            if len(raw) > self.deps.settings.max_body_bytes:
                raise PayloadTooLarge(
                    f"the body is over {self.deps.settings.max_body_bytes} bytes", field="body"
                )
            self._body = raw
        return self._body

    def parse(self, model: type[M], optional: bool = False) -> M:
        """The JSON body validated into ``model``; problem details name every bad field."""
        raw = self.raw_body()
        # Only a body left out is no body. Whitespace is a body, and no JSON text: a lone
        # \x0b, and later a lone space, were read as none and the erasure went ahead
        # (schemathesis: "schema-violating request accepted").
        if optional and not raw:
            return model.model_validate({})
        content_type = (self.request.headers.get("content-type") or "").lower()
        if not is_json_media_type(content_type):
            raise UnsupportedMediaType(
                f"send application/json, not {content_type or 'nothing'}", field="Content-Type"
            )
        # A member given twice is read as its last by the model, as its first by some
        # gateways and loggers: refused rather than read one way here and another there
        # (probe 211: two quantities charged the second), as a repeated query parameter is,
        # and named beside the model's refusals (probe 214: another bad field hid it).
        repeated = [(path, "give this member once") for path in repeated_members(raw)]
        try:
            parsed = model.model_validate_json(raw or b"null")
        except ValidationError as exc:
            refused = InvalidRequest.from_validation(exc)
            if repeated and refused.status == 422:
                raise InvalidRequest(repeated + refused.problems) from exc
            raise refused from exc
        if repeated:
            raise InvalidRequest(repeated)
        return parsed

    def query(self, model: type[M]) -> M:
        """The query string validated into ``model``; problem details name every bad
        parameter (unknown ones too, when the model forbids extras)."""
        given = self.request.query_params or MultiDict(None)
        # Every parameter the route takes takes one value: a repeated one is refused
        # rather than read as its last (a probe: two postal codes gave the second one's
        # promise). Others are the model's to refuse or ignore (a tracking link's
        # campaign tags, doubled by a link tracker, must still open the page).
        taken = {info.alias or name for name, info in model.model_fields.items()}
        repeated = [
            (name, "give this parameter once")
            for name in given
            if name in taken and len(given.getlist(name)) > 1
        ]
        if repeated:
            raise InvalidRequest(repeated)
        params = dict(given)
        # An integer is digits alone: pydantic reads "\n6" and " 6" as 6, which the
        # OpenAPI document's integer refuses (schemathesis: "schema-violating request
        # accepted" for ?limit=%0A6).
        loose = [
            (name, "an integer, in digits alone")
            for name in _integer_parameters(model)
            if name in params and not _DIGITS.fullmatch(params[name])
        ]
        if loose:
            raise InvalidRequest(loose)
        try:
            return model.model_validate(params)
        except ValidationError as exc:
            raise InvalidRequest.from_validation(exc, whole="query") from exc

    def below_page(self, name: str) -> str:
        """What a link relative to the page ``…/<name>`` puts before a path below it:
        ``<name>/``, or nothing when the browser's address ends in a slash (the gateway
        serves ``…/<name>/`` as the page too; a probe's forms then posted to
        ``…/<name>/<name>/…`` and got 404)."""
        path = str((self.request.context or {}).get("path") or "")
        return "" if path.endswith("/") else f"{name}/"

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        value = self.request.headers.get(name.lower())
        return str(value) if value is not None else None

    def idempotency_key(self, required: bool = True) -> str | None:
        """The ``Idempotency-Key`` header, checked against the pattern the OpenAPI document
        declares for it; 422 naming the header otherwise."""
        key = self.header(IDEMPOTENCY_HEADER)
        if key is None and not required:
            return None
        if key is None or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
            message = "required: 1 to 255 printable ASCII characters, no space at either end"
            body_problems = self._body_problems()
            if body_problems:
                # Every offending field named at once (API.md; probe 161: the body's
                # errors were told only after the key was fixed).
                raise InvalidRequest([(IDEMPOTENCY_HEADER, message), *body_problems])
            raise Unprocessable(message, field=IDEMPOTENCY_HEADER)
        return key

    def _body_problems(self) -> list[tuple[str, str]]:
        """What the route's documented JSON body would be refused for, if anything."""
        if self.body_model is None:
            return []
        try:
            self.parse(self.body_model, optional=self.optional_body)
        except OrquestaError as exc:
            return exc.field_errors()
        return []

    def key_scope(self, route: str, *ids: str) -> str:
        """Where this caller's Idempotency-Keys live on one route: two routes, two clients
        or two resources of the route (its path ids, hashed: any text, bounded) never share
        a key's record."""
        parts = [route]
        if self.principal is not None:
            parts.append(self.principal.client_id)
        if ids:
            joined = "\n".join(ids).encode("utf-8", "surrogatepass")
            parts.append(hashlib.sha256(joined).hexdigest()[:32])
        return "-".join(parts)

    def once(
        self,
        scope: str,
        key: str | None,
        request: BaseModel,
        compute: Callable[[], dict[str, Any]],
        replayable: Callable[[dict[str, Any]], None] | None = None,
        words: Words | None = None,
    ) -> dict[str, Any]:
        """``compute()`` once per Idempotency-Key when one was sent: the same key and body
        answer the first response and create nothing; another body is 422 naming the
        header. Without a key, ``compute()`` every time.

        ``replayable(first)`` runs before a stored response is answered again, and raises
        what the request would get now where replaying it would show what may no longer be
        shown (an erased customer's data). ``words``: the answer's fields the key's record
        does not keep, read again for a replay."""
        if key is None:
            return compute()
        computed: list[dict[str, Any]] = []

        def first() -> dict[str, Any]:
            computed.append(compute())
            return computed[0] if words is None else words.left_out_of(computed[0])

        kept = self.deps.idempotency.run(scope, key, request.model_dump(mode="json"), first)
        if computed:
            return kept if words is None else _as_replayed(computed[0])
        if replayable is not None:
            replayable(kept)
        return kept if words is None else _as_replayed(kept | words.read_again(kept))

    def act_once(
        self,
        scope: str,
        key: str | None,
        request: BaseModel,
        act: Callable[[], T],
        as_now: Callable[[], T],
    ) -> T:
        """``act()`` once per Idempotency-Key, as ``once`` runs a request, for an action
        answered with the thing as it is now (an order cancelled, a ticket worked): the
        key's record keeps none of it, so nobody's data outlives an erasure there, and a
        replay answers ``as_now()``."""
        acted: list[T] = []

        def first() -> dict[str, Any]:
            acted.append(act())
            return {"acted": True}

        self.once(scope, key, request, first)
        return acted[0] if acted else as_now()


def authenticate(request: Request, roles: tuple[str, ...], app_deps: Deps) -> Principal:
    """The caller behind ``Authorization: Bearer <key>``; 401 without a valid key, 403 when
    the key's role may not call this route."""
    header = request.headers.get("authorization") or ""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send Authorization: Bearer <key>", field="Authorization")
    key = key.strip()
    found = None
    for known, spec in app_deps.secrets.api_keys().items():
        if secure_equal(key, known):
            found = spec
    if found is None:
        raise Unauthorized("unknown API key", field="Authorization")
    if found.role not in roles:
        raise Forbidden(f"the {found.role} role may not do this", field="Authorization")
    client_id = (
        found.client_id or hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    )
    return Principal(role=found.role, client_id=client_id, location_id=found.location_id)


def require_order(call: Call, order_id: str) -> Order:
    """The order if this caller may see it; for anyone else exactly the answer an unknown
    id gets (404, same body), so that order ids cannot be probed."""
    order = call.deps.store.get_order(order_id)
    if call.principal is None or not call.principal.sees(order):
        raise NotFound(f"no order {order_id}", field="order_id")
    return order


def error_response(exc: Exception) -> Response:
    """Errors become HTTP in one place, by type."""
    if isinstance(exc, OrquestaError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return problem(exc.status, exc.title, exc.detail, exc.field_errors(), headers)
    logger.exception("unhandled error")
    return problem(500, "Internal error", "something went wrong on our side; it was logged")


def endpoint(
    blueprint: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    roles: tuple[str, ...] = (),
    request: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    tag: str = "orders",
    headers: tuple[str, ...] = (),
    html: bool = False,
    query: type[BaseModel] | None = None,
    access: Access | None = None,
    errors: tuple[int, ...] = (),
    optional_headers: tuple[str, ...] = (),
    optional_body: bool = False,
    form: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a route: authenticate by role, check the access it declares (an ops-only
    route declares it by its roles), turn errors into problem details, document it."""
    if access is None and roles == ("ops",):
        access = Access.OPS
    if access is Access.OWN_ORDER and "{order_id}" not in path:
        raise ValueError(f"{method} {path}: own-order routes name an {{order_id}}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        ROUTE_DOCS.append(
            RouteDoc(
                method,
                path,
                summary,
                roles,
                request,
                response,
                status,
                tag,
                headers,
                html,
                query,
                access,
                errors,
                optional_headers,
                optional_body,
                form,
            )
        )

        @functools.wraps(view)
        def handler(**path_params: str) -> Any:
            current = blueprint.current_request
            app_deps = deps()
            try:
                principal = authenticate(current, roles, app_deps) if roles else None
                call = Call(
                    current,
                    principal,
                    app_deps,
                    body_model=None if form else request,
                    optional_body=optional_body,
                )
                if access is Access.OWN_ORDER:
                    require_order(call, path_params["order_id"])
                result = view(call, **path_params)
            except Exception as exc:  # noqa: BLE001 - every error becomes a problem document
                return negotiated(error_response(exc))
            if isinstance(result, Response):
                return negotiated(result)
            return negotiated(
                Response(
                    body=json.dumps(result, default=str),
                    status_code=status,
                    headers={"Content-Type": "application/json"},
                )
            )

        def negotiated(response: Response) -> Response:
            # A page's address answers HTML or JSON by the Accept header: a cache must
            # not give one in place of the other (probe 165).
            if html:
                response.headers["Vary"] = "Accept"
            return response

        blueprint.route(path, methods=[method], content_types=["*/*"])(handler)
        return handler

    return decorator
