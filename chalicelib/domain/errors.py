"""Business errors. Their class names are the names the state machine catches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError


class OrquestaError(Exception):
    """Base of every error the domain, services and adapters raise on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def field_errors(self) -> list[tuple[str, str]]:
        """``(field, message)`` pairs for the problem document."""
        return [(self.field, self.detail)] if self.field else []


class NotFound(OrquestaError):
    """An id the client named does not exist."""

    status = 404
    title = "Not found"


class ExecutionNotStarted(NotFound):
    """The execution an order names does not exist (yet): ``.../execution-not-started``,
    which the ops console offers to retry."""

    title = "Execution not started"


class Conflict(OrquestaError):
    """The resource's state forbids the action."""

    status = 409
    title = "Conflict"


class _EachField(OrquestaError):
    """An error naming several fields, each with its own message; its detail says each
    message once. Mixed in before the error's kind (404, 409, 422)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(_told_once(problems), problems[0][0])
        self.problems = problems

    def field_errors(self) -> list[tuple[str, str]]:
        """Every offending field."""
        return list(self.problems)


class UnknownReferences(_EachField, NotFound):
    """Ids the body names (a SKU, a store, a customer) that do not exist: the schema
    cannot know them, so this is a 404 naming each field, not a 422."""


class ConflictingFields(_EachField, Conflict):
    """Fields that are well formed but that the current state of things refuses (a
    location that does no pick-up, more units than are left to return)."""


class Unprocessable(OrquestaError):
    """Well-formed input that the business rules refuse."""

    status = 422
    title = "Unprocessable request"


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was already used with a different body (422 naming the header,
    as API.md's Conventions say; the body itself may be perfectly valid)."""


class InvalidFields(_EachField, Unprocessable):
    """Several fields break rules that span more than one field."""


class InvalidTransition(Conflict):
    """An order status change that would go backwards or skip a step."""


class OrderCancelled(Conflict):
    """The order was cancelled while a workflow step was acting on it."""


class OutOfStock(Conflict):
    """Some line cannot be reserved from any location."""


class PaymentDeclined(Unprocessable):
    """The payment gateway refused the card."""

    def __init__(
        self, detail: str, field: str | None = None, payment_id: str | None = None
    ) -> None:
        super().__init__(detail, field)
        self.payment_id = payment_id


class PaymentRefused(Conflict):
    """The gateway refused an operation on a payment (more than authorised or captured)."""


class PaymentGatewayUnavailable(OrquestaError):
    """The payment gateway did not answer; transient, retried by the workflow."""

    status = 503
    title = "Payment gateway unavailable"


class ConcurrentModification(Conflict):
    """Someone else changed the item between our read and our write; read again."""


@contextmanager
def named_for_the_workflow() -> Iterator[None]:
    """Around a workflow step: a lost race leaves it as ``ConcurrentModification``, the
    name the state machine retries. Lambda reports an exception by its own class name and
    Step Functions matches names exactly, so a store's subclass (a failed condition, a
    cancelled transaction) would otherwise skip the Retry and be compensated."""
    try:
        yield
    except ConcurrentModification as exc:
        if type(exc) is ConcurrentModification:
            raise
        raise ConcurrentModification(str(exc), field=exc.field) from exc


class ItemFull(Conflict):
    """A write would take a stored item past what the store holds in one item (DynamoDB's
    400 KB): the domain's limits keep every item well below it, and this says so should
    one not, instead of failing (probe 201: an order's returns, and a ticket's notes,
    filled their item and every later write of it was a 500)."""


class MovementRejected(OrquestaError):
    """The stock item's counts do not allow the movement."""


class InvalidCursor(NotFound):
    """A page cursor this API did not hand out names no page (its shape is opaque to the
    schema, so 404 like any unknown id). Not 422: the schema accepts any string there, and
    a 422 is a schema-valid request refused to a client that checks (probe 256 asked for
    422, and the suite's schemathesis run refused it)."""


class Unauthorized(OrquestaError):
    """No credentials, or credentials that are not valid."""

    status = 401
    title = "Unauthorized"


class Forbidden(OrquestaError):
    """Valid credentials whose role may not do this."""

    status = 403
    title = "Forbidden"


class PayloadTooLarge(OrquestaError):
    """The request body is over the size limit."""

    status = 413
    title = "Payload too large"


class UnsupportedMediaType(OrquestaError):
    """The request body is not JSON."""

    status = 415
    title = "Unsupported media type"


class InvalidRequest(OrquestaError):
    """The body does not match the request model; every offending field is named."""

    status = 422
    title = "Invalid request"

    def __init__(self, problems: list[tuple[str, str]], malformed: bool = False) -> None:
        super().__init__(
            f"{len(problems)} field(s) are invalid", problems[0][0] if problems else None
        )
        self.problems = problems
        if malformed:
            self.status = 400
            self.title = "Malformed JSON"
            self.detail = "the body is not valid JSON"

    @classmethod
    def from_validation(cls, exc: ValidationError, whole: str = "body") -> InvalidRequest:
        """Name every field pydantic refused (``whole`` for a rule of the whole input: the
        body, or the query); a body that is not JSON at all is a 400."""
        problems = [
            # A validator's ValueError reads as its own words: pydantic puts "Value error, "
            # before them (a probe read it in every such 422).
            (".".join(str(part) for part in err["loc"]) or whole, _worded(err))
            for err in exc.errors()
        ]
        malformed = any(err["type"] == "json_invalid" for err in exc.errors())
        return cls([("body", problems[0][1])] if malformed else problems, malformed)

    def field_errors(self) -> list[tuple[str, str]]:
        """Every offending field."""
        return list(self.problems)


def _worded(error: Any) -> str:
    """The refusal's words. A length on text that may be null is checked after the
    union, and pydantic counts its "items" (probe 215: "Value should have at least 1 item
    after validation, not 0" for an empty campaign): said as of any text."""
    bound, limit = _LENGTHS.get(error["type"], ("", ""))
    count = (error.get("ctx") or {}).get(limit)
    if isinstance(count, int) and isinstance(error.get("input"), str):
        return f"String should have {bound} {count} character{'' if count == 1 else 's'}"
    return str(error["msg"]).removeprefix("Value error, ")


_LENGTHS = {"too_short": ("at least", "min_length"), "too_long": ("at most", "max_length")}


# What a lockout says unless its caller says what its limit is.
LOCKED_DETAIL = "too many attempts; try again later"


class TooManyAttempts(OrquestaError):
    """Too many wrong codes were tried; the resource is locked against guessing."""

    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, field: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail, field)
        # Seconds until the lock ends: the problem's ``Retry-After`` header.
        self.retry_after = max(1, retry_after)


class TryAgainShortly(TooManyAttempts):
    """Too many requests changed the same thing at once and this one lost every race: a
    sender that backs off and sends it again gets it applied (a webhook sender takes 409
    as final, 429 with Retry-After as "later")."""

    title = "Too many requests at once"


class InvalidPostalCode(Unprocessable):
    """A Spanish postal code that is not five digits of a province (01 to 52)."""

    def __init__(self, detail: str, field: str | None = "postal_code") -> None:
        super().__init__(detail, field)


class InvalidCoupon(Unprocessable):
    """A coupon that is unknown, out of its validity window, or not valid for the channel,
    the customer or the basket."""

    def __init__(self, detail: str, field: str | None = "coupon") -> None:
        super().__init__(detail, field)


class CouponUsedUp(Conflict):
    """A coupon with no redemption left: ``max_redemptions`` reached, or already used by
    this customer when it is once per customer."""

    def __init__(self, detail: str, field: str | None = "coupon") -> None:
        super().__init__(detail, field)


class PromotionUsedUp(Conflict):
    """An automatic promotion's last redemption went to another order meanwhile: the
    basket is priced again without it, or, on a quote, a new quote is needed."""

    def __init__(self, detail: str, field: str | None = "quote_id") -> None:
        super().__init__(detail, field)


class QuotePriceTaken(Conflict):
    """A quote's promotional price is held by another live order placed on the quote: one
    quote prices one order (probe 250), so a new quote is needed."""

    def __init__(self, detail: str, field: str | None = "quote_id") -> None:
        super().__init__(detail, field)


class ActionNotAvailable(Conflict):
    """A customer's self-service action (cancel, return, pay again) that the order's state
    no longer, or not yet, allows."""


class SurveyAlreadyAnswered(Conflict):
    """The order's satisfaction survey has its one answer already; named by its link, as
    the survey's other refusals are."""

    def __init__(self, detail: str, field: str | None = "token") -> None:
        super().__init__(detail, field)


class InvalidOpportunityTransition(Conflict):
    """An opportunity or back-in-stock subscription change its lifecycle does not allow."""


class UnservableLines(_EachField, Conflict):
    """Lines that available-to-promise cannot cover when the request arrives: refused up
    front (409, problem type ``.../out-of-stock``) rather than accepted and rejected later."""

    title = "Out of stock"

    def __init__(
        self, problems: list[tuple[str, str]], short: dict[str, int] | None = None
    ) -> None:
        super().__init__(problems)
        # SKU → units asked for on the short lines the web cannot cover either, for
        # whoever follows the refusal up with a back-in-stock wish.
        self.short = short or {}


class SpreadTooThin(UnservableLines):
    """Lines in stock, but at more (SKU, location) places than one order can reserve and
    release in one transaction: a conflict of its own kind (``.../too-many-places``), not
    a shortage (probe 249: it read ``.../out-of-stock``), refused up front as one."""

    title = "Too many places"


def _told_once(problems: list[tuple[str, str]]) -> str:
    """The problems' messages, each once: one refusal may name two fields (a quote for
    another channel names ``channel`` and ``quote_id``) and say it once."""
    return "; ".join(dict.fromkeys(message for _, message in problems))
