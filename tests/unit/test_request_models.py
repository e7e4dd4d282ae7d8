"""Request models: what a client may send, and every offending field named."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.api.customer_models import IdentifiedCustomer, UpdateTicketRequest
from chalicelib.domain.errors import ConflictingFields, InvalidFields, Unprocessable
from chalicelib.domain.promotion_requests import CreatePromotionRequest
from chalicelib.domain.quote_requests import QuoteRequest
from chalicelib.domain.requests import (
    MAX_LINES,
    MAX_RESERVED_LINES,
    CarrierEventRequest,
    CustomerRef,
    PlaceOrderRequest,
    ReceiveReturnRequest,
    RequestReturnRequest,
    ReturnAsked,
)
from tests.support import order_body


def body(**overrides: Any) -> dict[str, Any]:
    """A valid web order (the tests' shared one) from Ana, whose email stays the same."""
    document = order_body(
        customer={"email": "ana@example.com", "name": "Ana García", "locale": "es"}
    )
    document.update(copy.deepcopy(overrides))
    return document


def error_locs(document: dict[str, Any]) -> set[tuple[str | int, ...]]:
    """The ``loc`` of every validation error ``document`` raises."""
    with pytest.raises(ValidationError) as raised:
        PlaceOrderRequest.model_validate(document)
    return {tuple(error["loc"]) for error in raised.value.errors()}


def check_fields(document: dict[str, Any]) -> list[str]:
    """The fields validation names, in order, for a ``document`` whose fields are each
    valid but that breaks rules spanning fields (checked with the fields, not after)."""
    with pytest.raises(ValidationError) as raised:
        PlaceOrderRequest.model_validate(document)
    return [".".join(str(part) for part in error["loc"]) for error in raised.value.errors()]


# --- structure -----------------------------------------------------------------------------


def test_valid_order_passes_validation_and_check() -> None:
    request = PlaceOrderRequest.model_validate(body())
    request.check()
    assert request.lines[0].quantity == 2
    assert request.customer is not None and request.customer.email == "ana@example.com"


def test_strings_are_trimmed() -> None:
    request = PlaceOrderRequest.model_validate(body(lines=[{"sku": "  MUG-WHT ", "quantity": 1}]))
    assert request.lines[0].sku == "MUG-WHT"


def test_unknown_top_level_field_is_refused() -> None:
    assert error_locs(body(discount_code="FREE")) == {("discount_code",)}


def test_price_in_a_line_is_refused_because_prices_come_from_the_catalogue() -> None:
    line = {"sku": "MUG-WHT", "quantity": 1, "unit_price": {"amount": "0.01", "currency": "EUR"}}
    assert error_locs(body(lines=[line])) == {("lines", 0, "unit_price")}


def test_unknown_customer_field_is_refused() -> None:
    assert error_locs(body(customer={"email": "a@b.es", "vip": True})) == {("customer", "vip")}


@pytest.mark.parametrize("quantity", [0, -1, 1000, "2", 2.5, True])
def test_quantity_must_be_a_whole_number_from_1_to_999(quantity: object) -> None:
    lines = [
        {"sku": "MUG-WHT", "quantity": 1},
        {"sku": "TSHIRT-BLK-M", "quantity": quantity},
    ]
    assert error_locs(body(lines=lines)) == {("lines", 1, "quantity")}


@pytest.mark.parametrize("quantity", [1, 999])
def test_quantity_bounds_are_accepted(quantity: int) -> None:
    request = PlaceOrderRequest.model_validate(
        body(lines=[{"sku": "MUG-WHT", "quantity": quantity}])
    )
    assert request.lines[0].quantity == quantity


def test_more_than_a_hundred_lines_is_refused() -> None:
    lines = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(MAX_LINES + 1)]
    assert MAX_LINES == 100
    assert error_locs(body(lines=lines)) == {("lines",)}


def test_as_many_lines_as_one_transaction_holds_are_accepted() -> None:
    lines = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(MAX_RESERVED_LINES)]
    assert len(PlaceOrderRequest.model_validate(body(lines=lines)).lines) == MAX_RESERVED_LINES


def test_empty_lines_are_refused() -> None:
    assert error_locs(body(lines=[])) == {("lines",)}


@pytest.mark.parametrize("missing", ["channel", "lines", "payment", "consent"])
def test_missing_required_field_is_named(missing: str) -> None:
    document = body()
    del document[missing]
    assert error_locs(document) == {(missing,)}


def test_every_missing_field_is_named_at_once() -> None:
    document = body()
    del document["payment"]
    del document["consent"]
    document["lines"] = [{"quantity": 1}]
    assert error_locs(document) == {("payment",), ("consent",), ("lines", 0, "sku")}


def test_consent_not_accepted_is_refused() -> None:
    consent = {"terms_version": "2026-01", "privacy_version": "2026-01", "accepted": False}
    assert error_locs(body(consent=consent)) == {("consent", "accepted")}


@pytest.mark.parametrize("channel", ["fax", "WEB", "", "email"])
def test_unknown_channel_is_refused(channel: str) -> None:
    assert error_locs(body(channel=channel)) == {("channel",)}


def test_payment_method_other_than_card_is_refused() -> None:
    assert error_locs(body(payment={"method": "cash", "token": "x"})) == {("payment", "method")}


def test_bad_country_code_is_refused() -> None:
    address = {"name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "E1"}
    assert error_locs(body(shipping_address=address)) == {("shipping_address", "country")}


def test_unknown_fulfillment_is_refused() -> None:
    lines = [{"sku": "MUG-WHT", "quantity": 1, "fulfillment": "drone"}]
    assert error_locs(body(lines=lines)) == {("lines", 0, "fulfillment")}


def test_unknown_locale_is_refused() -> None:
    assert error_locs(body(customer={"email": "a@b.es", "locale": "fr"})) == {
        ("customer", "locale")
    }


# --- rules across fields ----------------------------------------------------------------


@pytest.mark.parametrize("channel", ["store", "kiosk"])
def test_store_and_kiosk_orders_need_a_store_id(channel: str) -> None:
    assert check_fields(body(channel=channel)) == ["store_id"]


def test_store_order_with_a_store_id_passes() -> None:
    PlaceOrderRequest.model_validate(body(channel="store", store_id="ST-SOL")).check()


@pytest.mark.parametrize("channel", ["web", "app", "kiosk", "phone"])
def test_customer_identifier_is_required_outside_the_store(channel: str) -> None:
    document = body(channel=channel, store_id="ST-SOL", customer={"name": "Ana", "locale": "en"})
    assert check_fields(document) == ["customer"]
    del document["customer"]
    assert check_fields(document) == ["customer"]


def test_anonymous_in_store_order_is_accepted() -> None:
    document = body(channel="store", store_id="ST-SOL")
    del document["customer"]
    PlaceOrderRequest.model_validate(document).check()


@pytest.mark.parametrize(
    ("identifier", "value"),
    [
        ("customer_id", "x1"),
        ("email", "x1@example.com"),
        ("phone", "612345678"),
        ("loyalty_id", "x1"),
    ],
)
def test_any_one_identifier_is_enough(identifier: str, value: str) -> None:
    PlaceOrderRequest.model_validate(body(customer={identifier: value})).check()


def test_pickup_line_without_location_names_the_line() -> None:
    lines = [
        {"sku": "MUG-WHT", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-SOL"},
        {"sku": "CAP-RED", "quantity": 1, "fulfillment": "pickup"},
    ]
    document = body(lines=lines)
    del document["shipping_address"]
    assert check_fields(document) == ["lines.1.location_id"]


def test_pickup_only_order_needs_no_shipping_address() -> None:
    lines = [{"sku": "MUG-WHT", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-SOL"}]
    document = body(lines=lines)
    del document["shipping_address"]
    PlaceOrderRequest.model_validate(document).check()


def test_shipping_address_is_required_when_a_line_ships() -> None:
    document = body()
    del document["shipping_address"]
    assert check_fields(document) == ["shipping_address"]


def test_check_names_every_offending_field_at_once() -> None:
    lines = [
        {"sku": "MUG-WHT", "quantity": 1},
        {"sku": "CAP-RED", "quantity": 1, "fulfillment": "pickup"},
    ]
    document = body(channel="kiosk", customer={"name": "Ana"}, lines=lines)
    del document["shipping_address"]
    assert check_fields(document) == [
        "store_id",
        "customer",
        "lines.1.location_id",
        "shipping_address",
    ]


def test_invalid_fields_is_a_422() -> None:
    error = InvalidFields([("store_id", "required"), ("customer", "needed")])
    assert isinstance(error, Unprocessable)
    assert error.status == 422
    assert error.field_errors() == [("store_id", "required"), ("customer", "needed")]


# --- other requests ------------------------------------------------------------------------


def test_return_in_store_names_the_store() -> None:
    asked = {"lines": [{"sku": "MUG-WHT", "quantity": 1}], "reason": "broken", "channel": "store"}
    with pytest.raises(ValidationError) as refused:
        RequestReturnRequest.model_validate(asked)
    assert [error["loc"] for error in refused.value.errors()] == [("location_id",)]
    # Beside another field's refusal too (probe 201: a blank reason hid it).
    with pytest.raises(ValidationError) as refused:
        RequestReturnRequest.model_validate(asked | {"reason": ""})
    assert {error["loc"] for error in refused.value.errors()} == {("reason",), ("location_id",)}
    # The customer's page may leave the store out: the services check it where it counts.
    with pytest.raises(InvalidFields) as raised:
        ReturnAsked.model_validate(asked).check()
    assert raised.value.field_errors()[0][0] == "location_id"


def test_return_by_mail_needs_no_store() -> None:
    RequestReturnRequest.model_validate(
        {"lines": [{"sku": "MUG-WHT", "quantity": 1}], "reason": "broken", "channel": "mail"}
    ).check()


def test_return_request_refuses_zero_quantity_and_unknown_channel() -> None:
    with pytest.raises(ValidationError) as raised:
        RequestReturnRequest.model_validate(
            {"lines": [{"sku": "MUG-WHT", "quantity": 0}], "reason": "x", "channel": "courier"}
        )
    assert {tuple(e["loc"]) for e in raised.value.errors()} == {
        ("lines", 0, "quantity"),
        ("channel",),
    }


def test_receive_return_needs_a_location() -> None:
    with pytest.raises(ValidationError) as raised:
        ReceiveReturnRequest.model_validate({})
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [("location_id",)]


def test_carrier_event_ignores_extra_fields_but_refuses_unknown_types() -> None:
    event = {
        "event_id": "ev1",
        "tracking_number": "RP1",
        "type": "delivered",
        "occurred_at": "2026-03-02T10:00:00Z",
        "carrier_internal": {"depot": 7},
    }
    assert CarrierEventRequest.model_validate(event).type == "delivered"
    with pytest.raises(ValidationError) as raised:
        CarrierEventRequest.model_validate(event | {"type": "teleported"})
    assert [tuple(e["loc"]) for e in raised.value.errors()] == [("type",)]


def test_lines_beyond_one_transaction_are_refused_by_the_schema_naming_lines() -> None:
    too_many = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(MAX_RESERVED_LINES + 1)]
    assert error_locs(body(lines=too_many)) == {("lines",)}
    assert PlaceOrderRequest.model_json_schema()["properties"]["lines"]["maxItems"] == (
        MAX_RESERVED_LINES
    )
    just_fits = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(MAX_RESERVED_LINES)]
    PlaceOrderRequest.model_validate(body(lines=just_fits)).check()


# --- every mistake in one validation error -------------------------------------------------


def test_an_address_email_validator_refuses_is_refused_by_the_model_naming_it() -> None:
    with pytest.raises(ValidationError) as raised:
        PlaceOrderRequest.model_validate(body(customer={"email": "notanemail"}))
    [error] = raised.value.errors()
    assert error["loc"] == ("customer", "email")
    assert error["msg"].startswith("not a valid email address: ")


def test_a_valid_address_is_kept_as_sent() -> None:
    request = PlaceOrderRequest.model_validate(body(customer={"email": "Ana@Example.COM"}))
    assert request.customer is not None and request.customer.email == "Ana@Example.COM"


def test_field_errors_and_broken_rules_are_named_together() -> None:
    document = body(
        channel="kiosk",
        customer={"email": "notanemail", "phone": "12"},
        lines=[
            {"sku": "MUG-WHT", "quantity": 0},
            {"sku": "CAP-RED", "quantity": 1, "fulfillment": "pickup"},
        ],
    )
    del document["shipping_address"]
    assert error_locs(document) == {
        ("customer", "email"),
        ("customer", "phone"),
        ("lines", 0, "quantity"),
        ("store_id",),
        ("lines", 1, "location_id"),
        ("shipping_address",),
    }


def test_rules_leave_out_what_they_cannot_read() -> None:
    # A channel that is no channel and lines that are no lines are their own fields' errors:
    # the rules about the store, the customer and the address do not guess.
    document = body(channel="fax", customer={"name": "Ana"}, lines=["MUG-WHT"])
    del document["shipping_address"]
    assert error_locs(document) == {("channel",), ("lines", 0)}
    document = body(lines=[{"sku": "MUG-WHT", "quantity": 1, "fulfillment": None}])
    del document["shipping_address"]
    assert error_locs(document) == {("lines", 0, "fulfillment")}


def test_a_line_that_does_not_say_how_it_is_fulfilled_ships() -> None:
    document = body(lines=[{"sku": "MUG-WHT", "quantity": 1}])
    del document["shipping_address"]
    assert check_fields(document) == ["shipping_address"]


def test_check_names_the_rules_of_a_request_built_without_validation() -> None:
    valid = PlaceOrderRequest.model_validate(body())
    request = valid.model_copy(update={"shipping_address": None, "customer": None})
    with pytest.raises(InvalidFields) as raised:
        request.check()
    assert [field for field, _ in raised.value.field_errors()] == ["customer", "shipping_address"]


def test_a_quote_names_its_rules_with_its_fields() -> None:
    document = {"channel": "store", "lines": [{"sku": "MUG-WHT", "quantity": 0}]}
    with pytest.raises(ValidationError) as raised:
        QuoteRequest.model_validate(document)
    assert {tuple(e["loc"]) for e in raised.value.errors()} == {
        ("lines", 0, "quantity"),
        ("store_id",),
        ("shipping_address",),
    }


@pytest.mark.parametrize(
    ("document", "locs"),
    [
        ({"email": "notanemail", "locale": "fr"}, {("email",), ("locale",)}),
        ({"locale": "fr"}, {("email",), ("phone",), ("loyalty_id",), ("locale",)}),
        ({"name": "Nadie"}, {("email",), ("phone",), ("loyalty_id",)}),
    ],
)
def test_identified_customer_names_its_fields_and_the_identifier_rule(
    document: dict[str, Any], locs: set[tuple[str | int, ...]]
) -> None:
    with pytest.raises(ValidationError) as raised:
        IdentifiedCustomer.model_validate(document)
    assert {tuple(e["loc"]) for e in raised.value.errors()} == locs


def test_ticket_update_names_an_unknown_field_and_the_missing_change() -> None:
    with pytest.raises(ValidationError) as raised:
        UpdateTicketRequest.model_validate({"colour": "red"})
    assert {tuple(e["loc"]) for e in raised.value.errors()} == {("status",), ("note",), ("colour",)}


def test_a_carrier_time_with_an_offset_or_without_a_zone_is_read_in_utc() -> None:
    event = {"event_id": "evt_1", "tracking_number": "TRK1", "type": "delivered"}
    with_offset = CarrierEventRequest.model_validate(
        event | {"occurred_at": "2026-03-02T11:37:41+02:00"}
    )
    without_zone = CarrierEventRequest.model_validate(
        event | {"occurred_at": "2026-03-02T09:37:41"}
    )
    expected = datetime(2026, 3, 2, 9, 37, 41, tzinfo=UTC)
    assert with_offset.occurred_utc() == expected
    assert with_offset.occurred_utc().utcoffset() == timedelta(0)
    assert without_zone.occurred_utc() == expected
    # As sent, for audit.
    assert with_offset.occurred_at == "2026-03-02T11:37:41+02:00"


def test_a_promotion_window_given_with_an_offset_is_kept_in_utc() -> None:
    request = CreatePromotionRequest.model_validate(
        {
            "name": "Spring",
            "kind": "free_shipping",
            "starts_at": "2026-03-02T10:00:00+01:00",
            "ends_at": "2026-03-09T10:00:00+01:00",
        }
    )
    terms = request.terms()
    assert terms.starts_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert terms.starts_at is not None and terms.starts_at.utcoffset() == timedelta(0)
    assert terms.ends_at is not None and terms.ends_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "character",
    [
        *("\t", "\n", "\r", " ", "\x85", "\xa0", "\u2000", "\u3000", "\x1c", "\x1d", "\x1f"),
        # Characters that show nothing (probe 211: an email greeted "Hola \u200b:").
        *("\u200b", "\ufeff", "\u2800", "\xad", "\u200e", "\u2060", "\u3164", "\ufe0f"),
        # And beyond the Basic Multilingual Plane (probe 213).
        *("\U000e0100", "\U000e0020", "\U0001d173", "\U0001bca0"),
        *("a", "ñ", "😀", "\u0301"),
    ],
)
def test_the_schema_and_the_model_agree_on_what_is_blank(character: str) -> None:
    # The schema's pattern for required text says which strings are not blank (nor hold a
    # control character other than a tab or a line break); the model
    # trims as pydantic does (Unicode White_Space, which leaves U+001C-U+001F alone). Where
    # they disagree a client is refused what the schema allows, or accepted what it refuses.
    import re

    from chalicelib.api.customer_models import AddInteractionRequest

    pattern = AddInteractionRequest.model_json_schema()["properties"]["summary"]["pattern"]
    text = character * 2
    schema_says_blank = re.search(pattern, text) is None
    try:
        AddInteractionRequest.model_validate({"type": "call", "channel": "app", "summary": text})
        model_says_blank = False
    except ValidationError:
        model_says_blank = True
    assert schema_says_blank == model_says_blank


@pytest.mark.parametrize(
    "name",
    ["   ", "", "\u200b", "\ufeff\u2800", "\u200e \u200b", "\U000e0100", "\U000e0020\U000e0001"],
)
def test_a_customer_s_name_given_shows_something(name: str) -> None:
    # Probe 211: "   " was kept as "" by POST /customers, and "\u200b" greeted in emails.
    with pytest.raises(ValidationError) as refused:
        CustomerRef.model_validate({"email": "ana@example.com", "name": name})
    assert [error["loc"] for error in refused.value.errors()] == [("name",)]


def test_a_customer_s_name_may_be_left_out_or_hold_invisible_marks_between_letters() -> None:
    assert CustomerRef.model_validate({"email": "ana@example.com", "name": None}).name is None
    assert CustomerRef.model_validate({"email": "ana@example.com"}).name is None
    joined = "Ana\u200bMaría 👩\u200d💻"
    assert CustomerRef.model_validate({"email": "a@example.com", "name": joined}).name == joined


def test_a_refusal_naming_two_fields_for_one_reason_says_it_once() -> None:
    """Found by a probe: a quote for another channel read "quote q was for phone orders;
    quote q was for phone orders"."""
    said = "quote qt_1 was for phone orders"
    refused = ConflictingFields([("channel", said), ("quote_id", said)])
    assert refused.detail == said
    assert refused.field_errors() == [("channel", said), ("quote_id", said)]
    assert InvalidFields([("a", "x"), ("b", "y")]).detail == "x; y"
