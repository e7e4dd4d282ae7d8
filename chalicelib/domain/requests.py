"""What clients send: validated commands, named by role. Unknown fields are refused."""

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from annotated_types import MaxLen
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from chalicelib.domain.countries import ISO_COUNTRIES, country_pattern
from chalicelib.domain.customers import (
    LOYALTY_ID_PATTERN,
    PHONE_PATTERN,
    PHONE_WORDS,
    normalise_email,
)
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.errors import InvalidFields, Unprocessable
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.placement import (
    Channel,
    Problems,
    fulfillment_problems,
    store_problems,
)

MAX_LINES = 100
MAX_QUANTITY = 999
# All of an order's reservations go in one DynamoDB transaction (100 items at most), and
# so do their release when it is cancelled, rejected or compensated, with what that write
# carries besides: the order's two items, the removal of its listing among orders owing
# money, and the give-back of its two redemptions (a coupon and an automatic promotion),
# four items each: the redemption, the counter, the customer's marker and the quote's
# (probe 245: 96 places and a welcome coupon made a cancel 500, and an erasure's
# compensation fail, the stock and the authorisation held).
MAX_TRANSACTION_ITEMS = 100
RELEASE_OVERHEAD = 2 + 1 + 2 * 4
MAX_RESERVED_LINES = MAX_TRANSACTION_ITEMS - RELEASE_OVERHEAD


# The characters pydantic's ``str_strip_whitespace`` trims (Unicode White_Space, as Rust
# reads it: not the separators U+001C-U+001F that Python's ``str.strip()`` also removes),
# as a character class Python, Rust and ECMA-262 (JSON Schema) read alike: a string with
# one character outside it is not blank.
_STRIPPED = "\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NON_BLANK = f"[^{_STRIPPED}]"
# Characters that show nothing on their own (soft hyphen, zero-width and direction marks,
# fillers, variation selectors, the braille blank, format controls, tags): text of only
# these is no visible text (probe 211: an email greeted "Hola \u200b:"; probe 213: the
# same with U+E0100). The schema's pattern reads them as code points, as JSON Schema's
# 2020-12 patterns and Python do (ECMA-262 with its ``u`` flag).
_INVISIBLE = (
    "\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064"
    "\u206a-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
)
# Line breaks and the other control characters (C0, DEL, C1, Unicode's line and paragraph
# separators) belong in no name, address line or subject: in an email's greeting or its
# Subject: header a line break starts text the sender never wrote (a probe planted a fake
# "payment failed" notice in a stranger's email through an order's customer name). Nor do
# the bidirectional overrides and isolates, which turn the rest of the line around.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# Free text of several lines (a description, a comment, a note): tabs and line breaks are
# its own, the other control characters and the direction overrides are not (a probe found
# them kept in survey comments and campaign names, which the console and emails show).
_CONTROL_IN_TEXT = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"


@dataclass(frozen=True)
class Refusing:
    """Text holding none of the ``refused`` characters (a regex class): checked as sent,
    before trimming, and refused in ``words``; the schema's pattern says the same, for
    possibly empty text or, ``visible``, text with a visible character."""

    refused: str
    words: str
    visible: bool = False

    def check(self, value: object) -> object:
        if isinstance(value, str) and re.search(f"[{self.refused}]", value):
            raise ValueError(self.words)
        # Blank text is the length's to refuse (it is trimmed first); text of invisible
        # characters alone is refused here.
        if (
            self.visible
            and isinstance(value, str)
            and re.search(NON_BLANK, value)
            and not re.search(self._visible(), value)
        ):
            raise ValueError("only characters that show nothing: write some visible text")
        return value

    def _visible(self) -> str:
        return f"[^{_STRIPPED}{_INVISIBLE}{self.refused}]"

    def pattern(self) -> str:
        allowed = f"[^{self.refused}]*"
        return f"^{allowed}{self._visible()}{allowed}$" if self.visible else f"^{allowed}$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(schema) | {"pattern": self.pattern()}


_ONE_LINE = "one line of text: no line breaks or other control characters"
_TEXT = "text: no control characters other than tabs and line breaks"
# One line, possibly empty, and one line with a visible character.
OneLine = Annotated[str, Refusing(_CONTROL, _ONE_LINE)]
OneLineText = Annotated[str, Refusing(_CONTROL, _ONE_LINE, visible=True)]
# Free text, possibly empty, and free text with a visible character.
Text = Annotated[str, Refusing(_CONTROL_IN_TEXT, _TEXT)]
WrittenText = Annotated[str, Refusing(_CONTROL_IN_TEXT, _TEXT, visible=True)]


def _email_address(value: str) -> str:
    """The address as sent, once it reads as one (the schema's ``format: email``): checked
    with the other fields, so that a bad address is named with every other mistake."""
    try:
        normalise_email(value)
    except Unprocessable as exc:
        raise PydanticCustomError("email", "{reason}", {"reason": exc.detail}) from exc
    return value


# What of ``normalise_email``'s refusals JSON Schema can say beside ``format: email``
# (probe 198: the schema took addresses the API refused): no "=?"; printable ASCII
# before the @, without quotes, brackets or backslash; no spaces; a domain with a dot
# (or the bare "test", taken for test environments), no IP literal and no special-use
# name (arpa, invalid, local, localhost, onion). Each is a refusal, so nothing the API
# takes fails it; the rest (dots, label lengths) is left to the format. Case-blind by
# classes: JSON Schema has no flags.
_SPECIAL_USE = "|".join(
    "".join(f"[{c.upper()}{c}]" for c in name)
    for name in ("arpa", "invalid", "local", "localhost", "onion")
)
EMAIL_PATTERN = (
    rf"^(?!.*=\?)(?!.*\.(?:{_SPECIAL_USE})\.?$)"
    r'[!#-?A-Z^-~]+@(?:[^\s"@\[\]]+\.[^\s"@\[\]]+|[Tt][Ee][Ss][Tt])$'
)

# Strings the schema describes exactly as given: no trimming before the pattern applies.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=1, max_length=254),
    AfterValidator(_email_address),
    Field(json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN}),
]


def worded(words: str) -> WrapValidator:
    """A pattern refused in ``words`` instead of pydantic's message, which quotes the
    regular expression (a probe: the 422 for a bad phone showed the whole pattern)."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if any(err["type"] == "string_pattern_mismatch" for err in exc.errors()):
                raise PydanticCustomError("string_pattern_mismatch", words) from exc
            raise

    return WrapValidator(check)


Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=False, max_length=32, pattern=PHONE_PATTERN),
    worded(PHONE_WORDS),
]
LoyaltyId = Annotated[
    str,
    StringConstraints(strip_whitespace=False, max_length=64, pattern=LOYALTY_ID_PATTERN),
    worded("not a loyalty card number: up to 32 letters and digits"),
]


def _iso_country(value: str) -> str:
    if value.upper() not in ISO_COUNTRIES:
        raise ValueError(f"{value} is not an ISO 3166-1 alpha-2 country code")
    return value


# ISO 3166-1 alpha-2, any case, as sent (no trimming: the schema's pattern reads it as
# sent too). The schema's pattern lists every code (domain/countries.py); the model checks
# the letters, then the code, so that its message names the rule, not a long pattern.
CountryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=2, max_length=2, pattern="^[A-Za-z]{2}$"),
    AfterValidator(_iso_country),
    Field(json_schema_extra={"pattern": country_pattern()}),
]


def _integral(value: object) -> object:
    """JSON Schema's integers include ``2.0``; strings and booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _blank_is_absent(value: object) -> object:
    return None if value == "" else value


# A query parameter given empty, read as absent (blank parameters are dropped by the local
# server, so the two must mean the same).
BlankIsAbsent = BeforeValidator(_blank_is_absent)

# A JSON integer, as JSON Schema counts them: 2 and 2.0, never "2" or true.
Integer = Annotated[int, BeforeValidator(_integral), Field(strict=True)]


def _non_blank_strings(schema: dict[str, Any]) -> None:
    """Strings are trimmed before their minimum length is checked, so a required string
    must hold a character that is not stripped: the schema says so with a pattern."""
    for prop in schema.get("properties", {}).values():
        for variant in [prop, *prop.get("anyOf", [])]:
            if (
                variant.get("type") == "string"
                and variant.get("minLength", 0) >= 1
                and "pattern" not in variant
                and "format" not in variant
            ):
                variant["pattern"] = NON_BLANK


def one_of_problems(data: dict[str, Any], names: tuple[str, ...], words: str) -> Problems:
    """Exactly one of ``names`` must be given: none is each of them named, several are
    those given named (API.md: every offending field, not the body)."""
    given = [name for name in names if data.get(name) is not None]
    if len(given) == 1:
        return []
    return [(name, words) for name in (given or names)]


def non_null(*names: str) -> list[dict[str, Any]]:
    """JSON Schema: one branch per field, each requiring that field with a value."""
    return [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in names]


def _loc(field: str) -> tuple[str | int, ...]:
    """``lines.0.location_id`` as pydantic locates it; ``""`` is the whole input."""
    return tuple(int(part) if part.isdigit() else part for part in field.split(".") if part)


def _refused(
    title: str, data: Any, fields: ValidationError | None, rules: Problems
) -> ValidationError:
    """One validation error naming the fields refused and the rules broken, as they came."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(error["type"], error["msg"]),
            loc=tuple(error["loc"]),
            input=error["input"],
        )
        for error in (fields.errors() if fields is not None else [])
    ]
    details += [
        InitErrorDetails(type=PydanticCustomError("rule", message), loc=_loc(field), input=data)
        for field, message in rules
    ]
    return ValidationError.from_exception_data(title, details)


class RuleChecked(DeferredModel):
    """A model whose rules spanning fields (``input_problems``) are checked on the input as
    sent, whether or not its fields are valid, and refused in the same validation error as
    they are: one answer names every offending field."""

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """``(field, message)`` for each rule spanning fields that ``data`` breaks, read as
        the JSON Schema's rules read it (``""`` names the whole input)."""
        return []

    @model_validator(mode="wrap")
    @classmethod
    def _fields_and_rules_together(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self]
    ) -> Self:
        rules = cls.input_problems(data) if isinstance(data, dict) else []
        try:
            model = handler(data)
        except ValidationError as exc:
            if not rules:
                raise
            raise _refused(exc.title, data, exc, rules) from None
        if rules:
            raise _refused(cls.__name__, data, None, rules)
        return model


class Strict(RuleChecked):
    """Base of request models: unknown fields are an error, strings are trimmed. Rules
    spanning fields are in ``json_schema_rules`` too, so the OpenAPI document has them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Merged into the model's JSON Schema (anyOf, allOf...); field validators or
    # ``input_problems`` enforce the same rules.
    json_schema_rules: ClassVar[dict[str, Any]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _max_length_as_sent(cls, value: object, info: ValidationInfo) -> object:
        """The schema's ``maxLength`` counts the string as sent: so does the API, before
        trimming (a 501-character reason is refused even if its last character is a space)."""
        if isinstance(value, str) and info.field_name is not None:
            for constraint in cls.model_fields[info.field_name].metadata:
                if isinstance(constraint, MaxLen) and len(value) > constraint.max_length:
                    raise ValueError(
                        f"String should have at most {constraint.max_length} characters"
                    )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        _non_blank_strings(resolved)
        resolved.update(copy.deepcopy(cls.json_schema_rules))
        return schema


# What identifies a customer in an order, and the channels whose orders need one.
IDS = ("customer_id", "email", "phone", "loyalty_id")
IDENTIFIED_CHANNELS = tuple(c for c in Channel if c is not Channel.STORE)


class CustomerRef(Strict):
    """Who orders: an existing id and/or identifiers to resolve."""

    customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    email: Email | None = None
    phone: Phone | None = Field(
        default=None, description="E.164 (+ and country code) or a Spanish national number"
    )
    loyalty_id: LoyaltyId | None = Field(
        default=None, description="Up to 32 letters and digits; spaces are ignored"
    )
    # Null for no name; a name given shows something (probe 211: "   " was kept as "").
    name: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=200),
            Refusing(_CONTROL, _ONE_LINE, visible=True),
        ]
        | None
    ) = None
    locale: Literal["es", "en"] = "es"

    def has_identifier(self) -> bool:
        """Whether anything identifies the customer."""
        return any((self.customer_id, self.email, self.phone, self.loyalty_id))


class OrderLineRequest(Strict):
    """One line as the storefront asks for it; the price comes from the catalogue."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        # A pick-up line names its store.
        "anyOf": [
            {"properties": {"fulfillment": {"const": FulfillmentType.SHIP.value}}},
            *non_null("location_id"),
        ]
    }

    sku: str = Field(min_length=1, max_length=64)
    quantity: Integer = Field(ge=1, le=MAX_QUANTITY)
    fulfillment: FulfillmentType = FulfillmentType.SHIP
    location_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description=(
            "The store to collect at, required for pickup (one doing pick-up). On a ship "
            "line it may be left out; a location named must exist (where the line ships "
            "from is chosen by sourcing)."
        ),
    )


# Five digits whose first two are a Spanish province, 01 to 52.
SPANISH_POSTAL_CODE = r"^(0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}$"
SPAIN = ["ES", "Es", "eS", "es"]


def is_spain(country: str) -> bool:
    """Whether an address's country is Spain (ISO 3166, any case)."""
    return country in SPAIN


class AddressRequest(Strict):
    """A delivery address; a Spanish one has a Spanish postal code, as sent (regions.py)."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"country": {"enum": SPAIN}}},
        "then": {"properties": {"postal_code": {"pattern": SPANISH_POSTAL_CODE}}},
    }

    name: OneLineText = Field(min_length=1, max_length=200)
    line1: OneLineText = Field(min_length=1, max_length=200)
    city: OneLineText = Field(min_length=1, max_length=100)
    # Before the postal code, so that its check knows the country.
    country: CountryCode
    postal_code: Annotated[
        str, StringConstraints(strip_whitespace=False, min_length=1, max_length=20)
    ]

    @field_validator("postal_code")
    @classmethod
    def _spanish_postal_code(cls, value: str, info: ValidationInfo) -> str:
        country = info.data.get("country")
        spanish = isinstance(country, str) and is_spain(country)
        if spanish and not re.fullmatch(SPANISH_POSTAL_CODE, value):
            raise ValueError("a Spanish postal code is five digits, from 01000 to 52999")
        return value


# What machines write (terms versions, card tokens): printable ASCII, so that nothing
# invisible tells two values apart that read the same (probe 202: direction marks and
# zero-width characters passed in them).
_MACHINE_TEXT = r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"


def _machine_text_as_sent(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # Checked as sent, before trimming, as the schema's pattern reads it.
    if isinstance(value, str) and not re.fullmatch(_MACHINE_TEXT, value):
        raise PydanticCustomError(
            "string_pattern_mismatch", "printable ASCII on one line, as a system writes it"
        )
    return handler(value)


MachineText = Annotated[
    str,
    StringConstraints(pattern=_MACHINE_TEXT),
    WrapValidator(_machine_text_as_sent),
]


class PaymentRequest(Strict):
    """A tokenised card."""

    method: Literal["card"]
    # The 360 and the export show what was given (probe 201: NUL, CR LF and direction
    # overrides were kept in consents and tokens).
    token: MachineText = Field(min_length=1, max_length=200)


class ConsentRequest(Strict):
    """The terms the customer accepted."""

    terms_version: MachineText = Field(min_length=1, max_length=40)
    privacy_version: MachineText = Field(min_length=1, max_length=40)
    accepted: Literal[True]

    @field_validator("accepted", mode="before")
    @classmethod
    def _json_true_itself(cls, value: object) -> object:
        """JSON's ``true`` only, as the schema says: ``1`` and ``1.0`` equal ``True`` in
        Python and were taken as consent (a probe)."""
        if value is not True:
            raise PydanticCustomError("literal_error", "Input should be true")
        return value


class AttributionTags(Strict):
    """Where the order or quote came from, as the storefront tags it (campaigns)."""

    campaign: OneLineText | None = Field(default=None, min_length=1, max_length=100)
    source: OneLineText | None = Field(default=None, min_length=1, max_length=100)
    medium: OneLineText | None = Field(default=None, min_length=1, max_length=100)


class PlaceOrderRequest(Strict):
    """``POST /orders``."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            # Store and kiosk orders name their store.
            {
                "anyOf": [
                    {
                        "properties": {
                            "channel": {
                                "enum": [
                                    c.value
                                    for c in Channel
                                    if c not in (Channel.STORE, Channel.KIOSK)
                                ]
                            }
                        }
                    },
                    *non_null("store_id"),
                ]
            },
            # At least one customer identifier, unless anonymous in store.
            {
                "anyOf": [
                    {"properties": {"channel": {"const": Channel.STORE.value}}},
                    {
                        "required": ["customer"],
                        "properties": {
                            "customer": {
                                "type": "object",
                                "anyOf": non_null("customer_id", "email", "phone", "loyalty_id"),
                            }
                        },
                    },
                ]
            },
            # A shipping address when a line ships.
            {
                "anyOf": [
                    {
                        "properties": {
                            "lines": {
                                "items": {
                                    "required": ["fulfillment"],
                                    "properties": {
                                        "fulfillment": {"const": FulfillmentType.PICKUP.value}
                                    },
                                }
                            }
                        }
                    },
                    *non_null("shipping_address"),
                ]
            },
        ]
    }

    channel: Channel
    store_id: str | None = Field(default=None, min_length=1, max_length=64)
    customer: CustomerRef | None = None
    # All of an order's reservations go in one transaction with the order itself.
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_RESERVED_LINES)
    shipping_address: AddressRequest | None = None
    payment: PaymentRequest
    consent: ConsentRequest
    # Charged exactly the quote's total, held to its promises (same lines, not expired).
    quote_id: str | None = Field(default=None, min_length=1, max_length=64)
    coupon: str | None = Field(default=None, min_length=1, max_length=64)
    attribution: AttributionTags | None = None

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """A store or kiosk order names its store; outside the store the customer is
        identified; pick-up lines name their store, and shipped ones have an address."""
        problems = store_problems(data)
        channel, customer = data.get("channel"), data.get("customer")
        if channel in IDENTIFIED_CHANNELS and (
            customer is None
            or (isinstance(customer, dict) and all(customer.get(name) is None for name in IDS))
        ):
            problems.append(("customer", "needs an email, phone, loyalty_id or customer_id"))
        return problems + fulfillment_problems(data)

    def check(self) -> None:
        """The rules of ``input_problems`` on this request (validation checked them already);
        raises ``InvalidFields`` naming each offending field."""
        problems = self.input_problems(self.model_dump(mode="json"))
        if problems:
            raise InvalidFields(problems)


class CancelOrderRequest(Strict):
    """``POST /orders/{id}/cancel``; the body is optional."""

    reason: Text | None = Field(default=None, max_length=500)


class ReturnLineRequest(Strict):
    """Units of one SKU to send back."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: Integer = Field(ge=1, le=MAX_QUANTITY)


def _store_unnamed(data: dict[str, Any]) -> Problems:
    if data.get("channel") == "store" and data.get("location_id") is None:
        return [("location_id", "required for a return in store")]
    return []


class ReturnAsked(Strict):
    """A return as the services take it: staff's request, or the customer's page's, whose
    return in store may name no store (it goes to the order's own)."""

    lines: list[ReturnLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    reason: WrittenText = Field(min_length=1, max_length=500)
    channel: Literal["store", "mail"]
    location_id: str | None = Field(default=None, min_length=1, max_length=64)

    def check(self) -> None:
        """A return in store names the store; ``InvalidFields`` naming it otherwise."""
        problems = _store_unnamed(self.model_dump(mode="json"))
        if problems:
            raise InvalidFields(problems)


class RequestReturnRequest(ReturnAsked):
    """``POST /orders/{id}/returns``."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        # A return in store names the store (that it is a store is for the API: 409).
        "if": {"properties": {"channel": {"const": "store"}}, "required": ["channel"]},
        "then": non_null("location_id")[0],
    }

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """A return in store names the store: said beside any other field's refusal (probe
        201: a blank reason hid it)."""
        return _store_unnamed(data)


class ReceiveReturnRequest(Strict):
    """``POST /returns/{id}/receive``."""

    location_id: str = Field(min_length=1, max_length=64)


# A carrier's timestamp: a date, then an optional time (minutes, seconds and a fraction
# optional; with colons or without) and zone, blanks around it: the shapes ``utc_moment``
# reads (a re-probe: .NET and Go write 7 and 9 fraction digits), each number within its
# range (a second re-probe: +24:00 matched and was refused). A blank before the zone only
# after whole seconds (Python reads no other). February 30 is the calendar's to refuse.
_YEAR = r"([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[12][0-9]|3[01])"
_HOUR = r"([01][0-9]|2[0-3])"
_MINUTE = r"[0-5][0-9]"
_SECOND = r"([0-5][0-9]|60)"
_WHOLE_CLOCK = rf"{_HOUR}(:{_MINUTE}(:{_SECOND})?)?|{_HOUR}({_MINUTE}({_SECOND})?)?"
_FRACTION_CLOCK = rf"{_HOUR}:{_MINUTE}:{_SECOND}[.,][0-9]+|{_HOUR}{_MINUTE}{_SECOND}[.,][0-9]+"
_ZONE = rf"([Zz]|[+-]{_HOUR}(:?{_MINUTE})?)"
_BLANKS = r"[ \t\r\n]*"
CARRIER_MOMENT = (
    rf"^{_BLANKS}({_YEAR}-{_MONTH}-{_DAY}|{_YEAR}{_MONTH}{_DAY})"
    rf"([Tt ](({_WHOLE_CLOCK})( ?{_ZONE})?|({_FRACTION_CLOCK}){_ZONE}?))?{_BLANKS}$"
)


class CarrierEventRequest(Strict):
    """A carrier's webhook body."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # One line each: they reach ops' alerts as sent (a re-probe's escape sequences did).
    event_id: OneLineText = Field(min_length=1, max_length=128)
    tracking_number: OneLineText = Field(min_length=1, max_length=64)
    type: Literal["in_transit", "out_for_delivery", "delivered", "exception"]
    # Kept as the carrier sent it (the stored event keeps it for audit); ``occurred_utc``
    # is the moment it names. The pattern is the shape the document declares (a probe: a
    # plain string said nothing of it); a date alone is midnight, no zone is UTC.
    # Not trimmed before the pattern, which says which blanks around it are read.
    # Refused in words: pydantic's message quoted the 558-character pattern (a probe).
    occurred_at: Annotated[
        str,
        StringConstraints(
            strip_whitespace=False, min_length=1, max_length=40, pattern=CARRIER_MOMENT
        ),
        worded("not an ISO 8601 date and time, as 2026-12-02T10:15:00Z"),
    ] = Field(
        description="ISO 8601 date-time (RFC 3339); without a zone, UTC",
        examples=["2026-12-02T10:15:00Z"],
    )

    @field_validator("occurred_at")
    @classmethod
    def _a_moment(cls, value: str) -> str:
        try:
            utc_moment(value)
        except ValueError as exc:  # February 30, say: in our words, not Python's
            raise ValueError("not a date and time of the calendar") from exc
        return value

    def occurred_utc(self) -> datetime:
        """When the carrier says the event happened, in UTC (a time without a zone is UTC)."""
        return utc_moment(self.occurred_at)


def utc_moment(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime; one without a zone is
    read as UTC. Raises ``ValueError`` for anything else."""
    normal = text.strip()
    # The date's separator from the time, as Python reads it (after a basic date too).
    normal = re.sub(r"^([0-9]{4}-?[0-9]{2}-?[0-9]{2})[tT]", r"\1T", normal)
    if normal[-1:] in ("z", "Z"):
        normal = f"{normal[:-1]}+00:00"
    # A leap second is a valid RFC 3339 time Python cannot hold: the second before it.
    normal = re.sub(r"([T ][0-9]{2}:?[0-9]{2}:?)60", r"\g<1>59", normal)
    moment = datetime.fromisoformat(normal)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: the edge of time
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


# The most units one stock movement moves, either way.
MAX_MOVED = 100_000


class RecordMovementRequest(Strict):
    """``POST /inventory/movements``: a store's POS or back office moving stock."""

    json_schema_rules: ClassVar[dict[str, Any]] = {
        # Adjustments are a non-zero signed delta; the others a positive quantity.
        "anyOf": [
            {
                "properties": {
                    "type": {"const": "adjustment"},
                    "quantity": {"anyOf": [{"maximum": -1}, {"minimum": 1}]},
                }
            },
            {
                "properties": {
                    "type": {"enum": ["receipt", "sale", "return"]},
                    "quantity": {"minimum": 1},
                }
            },
        ]
    }

    sku: str = Field(min_length=1, max_length=64)
    location_id: str = Field(min_length=1, max_length=64)
    type: Literal["receipt", "sale", "adjustment", "return"]
    quantity: Integer = Field(ge=-MAX_MOVED, le=MAX_MOVED)
    reference: OneLine | None = Field(default=None, max_length=200)

    @classmethod
    def input_problems(cls, data: dict[str, Any]) -> Problems:
        """The quantity its type allows, said beside any other field's refusal (probe 201:
        a bad ``location_id`` hid a sale of -1). A quantity out of every type's range is
        the field's own refusal."""
        kind, quantity = data.get("type"), data.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            return []
        if not -MAX_MOVED <= quantity <= MAX_MOVED:
            return []
        if kind == "adjustment" and quantity == 0:
            return [("quantity", "an adjustment is a non-zero signed delta")]
        if kind in ("receipt", "sale", "return") and quantity <= 0:
            return [("quantity", f"a {kind} takes a positive quantity")]
        return []

    def on_hand_delta(self) -> int:
        """The change to on_hand: receipts and returns add, sales take, adjustments are
        signed. Raises ``InvalidFields`` for a quantity the type does not allow (the rule
        validation read already)."""
        problems = self.input_problems(self.model_dump())
        if problems:
            raise InvalidFields(problems)
        return -self.quantity if self.type == "sale" else self.quantity
