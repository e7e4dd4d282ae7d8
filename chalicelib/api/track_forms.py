"""The tracking page's actions as plain HTML forms, for a phone without JavaScript: each
form posts ``application/x-www-form-urlencoded`` to ``/track/{token}/forms/<action>`` and
is answered ``303 See Other`` back to the page, which says how it went in the customer's
language. The JSON routes of the contract (``/track/{token}/<action>``) stay as they are;
these are separate routes so that the OpenAPI document describes each body exactly.

A forged tracking token is 404, as everywhere. A form posted from another site is 403: it
lacks the page's form token (an HMAC of the tracking token), or the browser says the post
came from another site (``Sec-Fetch-Site``, or an ``Origin`` not this one's)."""

import re
import typing
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote_plus, urlencode, urlsplit

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from pydantic import ConfigDict, Field, ValidationError

from chalicelib.api.http import (
    IDEMPOTENCY_KEY_PATTERN,
    Access,
    Call,
    endpoint,
    logger,
    see_other,
)
from chalicelib.api.pages import link_gone
from chalicelib.api.self_service import (
    TrackPaymentRequest,
    TrackReturnRequest,
    TrackTicketRequest,
    action_scope,
    opened_ticket,
    paid_again,
    requested_return,
)
from chalicelib.domain.errors import (
    Forbidden,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    OrquestaError,
    TryAgainShortly,
    UnsupportedMediaType,
)
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import MAX_LINES, OneLine, Strict, Text
from chalicelib.domain.tickets import TicketType
from chalicelib.presentation.track_forms import FormAction, FormOutcome, form_field
from chalicelib.services import self_service
from chalicelib.services.tracking import form_token_valid, order_for_token

track_forms = Blueprint(__name__)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# More fields than any of the page's forms has: a body beyond it is not the page's.
MAX_FORM_FIELDS = 2 * MAX_LINES + 10
# The field a return's refusal names when a line asks more units than are left.
QUANTITY_FIELD = re.compile(r"^lines\.[0-9]+\.quantity$")


class PageForm(Strict):
    """What every form of the page carries: its form token and a key of the rendered
    form (a double tap acts once). Fields the page does not have are left out, not
    refused (a browser adds its own: a probe's was told "it failed on our side"), and
    the document says so: no ``additionalProperties: false``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    csrf: str = Field(min_length=1, max_length=80, description="The page's form token")
    key: str = Field(
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="The rendered form's idempotency key",
    )


class CancelForm(PageForm):
    """Cancel the order."""


class ReturnForm(PageForm):
    """Return units: ``sku`` and ``quantity`` repeat, one pair per line (0 or empty skips
    the line)."""

    sku: list[typing.Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_LINES
    )
    quantity: list[typing.Annotated[str, Field(pattern=r"^[0-9]{0,3}$")]] = Field(
        min_length=1, max_length=MAX_LINES
    )
    reason: Text = Field(max_length=500)
    channel: Literal["store", "mail"]
    location_id: str | None = Field(default=None, max_length=64)


class TicketForm(PageForm):
    """A question or complaint."""

    type: TicketType = TicketType.QUESTION
    subject: OneLine = Field(max_length=200)
    description: Text = Field(max_length=4000)


class PaymentForm(PageForm):
    """Another card after a declined one."""

    token: str = Field(max_length=200)


def refuse_other_sites(call: Call, message: str) -> None:
    """403 for a form the browser says was posted from another site: by ``Sec-Fetch-Site``
    (anything but this origin, or typed by the person), else by an ``Origin`` that is not
    this one, the public address's scheme, host and port (probe 205: a post from
    ``https://evil.example`` was taken; only ``Sec-Fetch-Site: cross-site`` was refused;
    probe 206: another scheme on this host, or a ``Host`` header repeating the Origin,
    passed). ``Origin: null`` is what a browser sends from a page with
    ``Referrer-Policy: no-referrer``, as ours are: it names no site."""
    fetched_from = (call.header("sec-fetch-site") or "").strip().lower()
    if fetched_from and fetched_from not in ("same-origin", "none"):
        raise Forbidden(message, field="Sec-Fetch-Site")
    origin = (call.header("origin") or "").strip().lower().rstrip("/")
    if not origin or origin == "null":
        return
    if origin != _origin_of(call.deps.settings.public_base_url):
        raise Forbidden(message, field="Origin")


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an address, as a browser's ``Origin`` writes it."""
    parts = urlsplit(url.strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, bracketed as in a URL
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def read_form(call: Call, model: type[Strict]) -> dict[str, Any]:
    """The urlencoded body: lists for the model's list fields, one value for the others
    (fields the page does not have are the model's to leave out). 415 for another media
    type, 413 when too large, 422 when unreadable."""
    content_type = (call.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM_MEDIA_TYPE:
        raise UnsupportedMediaType(f"send {FORM_MEDIA_TYPE}", field="Content-Type")
    raw = call.raw_body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest([("body", "not a form this page sends")]) from exc
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise InvalidRequest([("body", "not a form this page sends")]) from exc
    lists = {
        name
        for name, info in model.model_fields.items()
        if typing.get_origin(info.annotation) is list
    }
    values: dict[str, Any] = {}
    for name, given in parsed.items():
        # A browser sends a textarea's line breaks as CR LF, and counts each as one
        # character against its maxlength: counted as two, text the page allowed was
        # refused and lost (probe 176).
        given = [value.replace("\r\n", "\n") for value in given]
        values[name] = given if name in lists or len(given) > 1 else given[0]
    # A value whose bytes are no UTF-8 (a lone surrogate's too) is no text: the model
    # refuses it, naming its field, rather than keep it as U+FFFD (probe 201: a ticket was
    # opened with a subject of replacement marks).
    for name in _unreadable_fields(text):
        values[name] = _NO_TEXT
    return values


# What a field that is no text reads as: no field of a form's model takes it.
_NO_TEXT = object()


def _unreadable_fields(text: str) -> set[str]:
    """The names of the fields whose values are no UTF-8 once percent-decoded."""
    unreadable = set()
    for pair in text.split("&"):
        name, _, value = pair.partition("=")
        try:
            unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            unreadable.add(unquote_plus(name))
    return unreadable


def _return_request(form: ReturnForm) -> TrackReturnRequest:
    if len(form.sku) != len(form.quantity):
        raise InvalidRequest([("lines", "one quantity per line")])
    lines = [
        {"sku": sku, "quantity": int(quantity)}
        for sku, quantity in zip(form.sku, form.quantity, strict=True)
        if quantity.strip() and int(quantity) > 0
    ]
    body: dict[str, Any] = {"lines": lines, "reason": form.reason, "channel": form.channel}
    if form.channel == "store" and form.location_id:
        body["location_id"] = form.location_id
    try:
        return TrackReturnRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest.from_validation(exc) from exc


def _cancel(order: Order, form: PageForm, call: Call) -> None:
    self_service.cancel(order, call.deps)


def _return(order: Order, form: PageForm, call: Call) -> None:
    assert isinstance(form, ReturnForm)
    request = _return_request(form)
    call.once(
        action_scope("returns", order),
        form.key,
        request,
        lambda: requested_return(call, order, request, form.key),
    )


def _ticket(order: Order, form: PageForm, call: Call) -> None:
    assert isinstance(form, TicketForm)
    try:
        request = TrackTicketRequest.model_validate(
            {"type": form.type, "subject": form.subject, "description": form.description}
        )
    except ValidationError as exc:
        raise InvalidRequest.from_validation(exc) from exc
    call.once(
        action_scope("tickets", order),
        form.key,
        request,
        lambda: opened_ticket(call, order, request, form.key),
    )


def _pay(order: Order, form: PageForm, call: Call) -> None:
    assert isinstance(form, PaymentForm)
    try:
        request = TrackPaymentRequest.model_validate(
            {"payment": {"method": "card", "token": form.token}}
        )
    except ValidationError as exc:
        raise InvalidRequest.from_validation(exc) from exc
    call.once(
        action_scope("payment", order), form.key, request, lambda: paid_again(call, order, request)
    )


def _back_to_the_page(
    token: str, action: FormAction, outcome: FormOutcome, fields: list[str]
) -> Response:
    """303 to the page (relative: right behind any API stage prefix), saying how it went."""
    query = {"form": action.value, "outcome": outcome.value}
    if fields:
        query["fields"] = ",".join(dict.fromkeys(fields))
    return see_other(f"../../{quote(token, safe='')}?{urlencode(query)}#notice")


def _only_hidden_fields_refused(exc: OrquestaError) -> bool:
    """Whether the request was refused for its hidden fields alone (the form token or
    key, which the page wrote itself), nothing the person filled in."""
    named = {name.split(".", 1)[0] for name, _ in exc.field_errors()}
    return exc.status in (400, 422) and bool(named) and named <= {"csrf", "key"}


def _outcome(exc: OrquestaError) -> tuple[FormOutcome, list[str]]:
    """A refusal as the page words it: a field to fix, a state that forbids it, or ours."""
    named = [f for f in (form_field(name) for name, _ in exc.field_errors()) if f is not None]
    # A return asking more units than are left: said with what is left, not as if
    # returns were over (a probe).
    if exc.status == 409 and any(QUANTITY_FIELD.match(name) for name, _ in exc.field_errors()):
        return FormOutcome.TOO_MANY, []
    # A rendered form posted again with other values: what it asked first was done.
    if isinstance(exc, IdempotencyKeyReused):
        return FormOutcome.RESENT, []
    if exc.status == 409:
        return FormOutcome.CONFLICT, []
    if isinstance(exc, TryAgainShortly):
        return FormOutcome.BUSY, []
    if exc.status == 429:
        return FormOutcome.LIMITED, []
    if exc.status in (400, 404, 422) and named:
        return FormOutcome.INVALID, named
    return FormOutcome.FAILED, []


def handle_form(
    call: Call,
    token: str,
    action: FormAction,
    model: type[PageForm],
    act: Callable[[Order, PageForm, Call], None],
) -> Response:
    """Check who posts, read the form, act, and answer 303 back to the page."""
    try:
        order = order_for_token(token, call.deps)
    except NotFound as dead:
        # A page whose link was revoked while open: the browser is answered as it is on
        # following a dead link, not with a problem document (probe 202).
        return link_gone(dead, call.header("accept"))
    refuse_other_sites(call, "forms are posted from the order's own page")
    values = read_form(call, model)
    given = values.get("csrf")
    if not isinstance(given, str) or not form_token_valid(
        token, given, call.deps.secrets.tracking_keys()
    ):
        raise Forbidden("the form did not come from the order's page", field="csrf")
    try:
        try:
            form = model.model_validate(values)
        except ValidationError as exc:
            raise InvalidRequest.from_validation(exc) from exc
        act(order, form, call)
    except OrquestaError as exc:
        if _only_hidden_fields_refused(exc):
            # A hidden field changed (the form's key): only a client other than the page
            # sends it, and it is answered as the API answers, naming the field (probe
            # 241: told "it failed on our side").
            raise
        outcome, fields = _outcome(exc)
        return _back_to_the_page(token, action, outcome, fields)
    except Exception:  # noqa: BLE001 - ours to fix; the customer is told to try again
        logger.exception("tracking page form failed", extra={"action": action.value})
        return _back_to_the_page(token, action, FormOutcome.FAILED, [])
    return _back_to_the_page(token, action, FormOutcome.DONE, [])


def _route(action: FormAction, model: type[PageForm], what: str, act: Any) -> None:
    def view(call: Call, token: str) -> Response:
        return handle_form(call, token, action, model, act)

    # Chalice names each route by its view: one name per form.
    view.__name__ = view.__qualname__ = f"track_form_{action.value}"
    endpoint(
        track_forms,
        f"/track/{{token}}/forms/{action.value}",
        "POST",
        summary=f"The page's {what} form, for a browser without JavaScript: 303 back to the page",
        request=model,
        status=303,
        tag="tracking",
        access=Access.SIGNED,
        errors=(403,),
        form=True,
    )(view)


_route(FormAction.CANCEL, CancelForm, "cancel", _cancel)
_route(FormAction.RETURNS, ReturnForm, "return", _return)
_route(FormAction.TICKETS, TicketForm, "question or complaint", _ticket)
_route(FormAction.PAYMENT, PaymentForm, "pay-again", _pay)
