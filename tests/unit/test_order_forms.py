"""The order's items in their stored form (``adapters/dynamodb/order_forms``): shorter
than the model's JSON, readable, read back exactly, and the longer form stored before
read as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.dynamodb.order_forms import compact, expand, expand_details
from chalicelib.adapters.dynamodb.order_items import StoredOrder, order_of, values_of
from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import OperationStatus, PaymentOperation, PaymentOperationType
from chalicelib.domain.placement import Consent
from chalicelib.domain.settlement import record_owed
from tests.support.builders import NOW, delivered, line


def _settled_delivery() -> Order:
    """A delivered order whose capture was recorded and confirmed."""
    order = delivered(line("TSHIRT-BLK-M", 1), line("MUG-WHT", 2))
    record_owed(order, NOW)
    for operation in order.payment.operations:
        operation.status, operation.done_at = OperationStatus.DONE, NOW + timedelta(minutes=1)
    order.fulfillments[0].shipment.events.append(  # type: ignore[union-attr]
        {"type": "delivered", "occurred_at": NOW.isoformat(), "event_id": "evt 1"}
    )
    return order


def _through_dynamodb(order: Order) -> Order:
    details, state = values_of(order)
    stored = StoredOrder(from_item(to_item(details)), from_item(to_item(state)), order.version)
    return order_of(order.order_id, stored)


def test_a_delivered_order_reads_back_exactly_from_its_stored_form() -> None:
    order = _settled_delivery()
    assert _through_dynamodb(order) == order


def test_the_stored_form_is_lines_a_reader_reads_without_the_order_id_repeated() -> None:
    order = _settled_delivery()
    _, state = values_of(order)
    oid = order.order_id
    first = order.history[0]
    at = NOW.isoformat().replace("+00:00", "Z")
    assert state["history"][0] == f"{first.status.value} {at} {first.detail}"
    assert "sourcing_reason" not in state  # the RESERVED entry's detail
    (fulfillment,) = state["fulfillments"]
    assert order.fulfillments[0].fulfillment_id == f"{oid}-F1"
    assert fulfillment["fulfillment_id"] == "-F1"
    assert sorted(fulfillment["lines"]) == ["1 TSHIRT-BLK-M", "2 MUG-WHT"]
    assert fulfillment["shipment"]["events"] == [f"delivered {NOW.isoformat()} evt 1"]
    operations = state["payment"]["operations"]
    assert all(isinstance(operation, str) for operation in operations)
    assert operations[0].startswith("-F1:capture ")
    assert oid not in str(state)
    assert state["payment"]["authorized"] == str(order.payment.authorized.amount)  # type: ignore[union-attr]


def test_what_does_not_fit_the_short_form_is_stored_as_the_model_dumps_it() -> None:
    order = _settled_delivery()
    capture = order.payment.operations[0]
    capture.attempts, capture.last_error, capture.alerted = 2, "gateway down", True
    foreign = PaymentOperation(
        key="elsewhere:thing:refund",
        type=PaymentOperationType.REFUND,
        amount=Money.of("1.00", "USD"),
        recorded_at=NOW,
    )
    order.payment.operations.append(foreign)
    order.fulfillments[0].shipment.events.append({"type": "odd", "extra": "x"})  # type: ignore[union-attr]
    _, state = values_of(order)
    first, *_, last = state["payment"]["operations"]
    assert first["key"] == "-F1:capture" and first["attempts"] == 2
    assert last["key"] == "elsewhere:thing:refund" and last["amount"]["currency"] == "USD"
    assert _through_dynamodb(order) == order


def test_a_sourcing_reason_other_than_the_reservations_or_none_reads_back() -> None:
    order = _settled_delivery()
    order.sourcing_reason = "changed by ops"
    assert _through_dynamodb(order) == order
    order.sourcing_reason = None
    _, state = values_of(order)
    assert state["sourcing_reason"] is None
    assert _through_dynamodb(order) == order


def test_the_longer_form_stored_before_reads_as_it_was() -> None:
    order = _settled_delivery()
    model_json = order.model_dump(mode="json", exclude={"order_id", "version"})
    assert expand(order.order_id, model_json) == model_json
    assert compact(order.order_id, model_json) != model_json


def test_the_details_keep_amounts_as_text_and_say_the_order_id_and_time_once() -> None:
    order = _settled_delivery()
    arn = "arn:aws:states:eu-west-1:123456789012:execution:orquesta-prod-order"
    order.execution_arn = f"{arn}:{order.order_id}"
    order.consent = Consent(
        terms_version="2026-01",
        privacy_version="2026-01",
        accepted_at=order.placed_at,
        channel="web",
    )
    details, _ = values_of(order)
    assert details["execution_arn"] == f"{arn}:"
    assert "accepted_at" not in details["consent"]
    assert details["total"] == str(order.total.amount)
    assert details["lines"][0]["unit_price"] == str(order.lines[0].unit_price.amount)
    assert _through_dynamodb(order) == order


def test_a_lines_discount_is_kept_as_text_and_reads_back() -> None:
    order = _settled_delivery()
    order.lines[0] = order.lines[0].model_copy(
        update={"charged": Money.of("17.96"), "discount": Money.of("1.99")}
    )
    details, _ = values_of(order)
    assert details["lines"][0]["discount"] == "1.99"
    assert "discount" not in details["lines"][1]
    assert _through_dynamodb(order) == order


def test_details_that_do_not_repeat_the_order_read_back_and_the_longer_form_too() -> None:
    order = _settled_delivery()
    order.execution_arn = "arn:aws:states:eu-west-1:1:execution:orquesta-prod-order:other"
    order.consent = Consent(
        terms_version="2026-01",
        privacy_version="2026-01",
        accepted_at=order.placed_at + timedelta(seconds=1),
        channel="web",
    )
    order.lines[0] = order.lines[0].model_copy(update={"unit_price": Money.of("1.00", "USD")})
    details, _ = values_of(order)
    assert details["execution_arn"] == order.execution_arn
    assert "accepted_at" in details["consent"]
    assert _through_dynamodb(order) == order
    model_json = order.model_dump(mode="json", exclude={"order_id", "version"})
    assert expand_details(order.order_id, model_json) == model_json


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(
    detail=_text,
    sku=_text.filter(bool),
    event_id=_text,
    quantity=st.integers(-5, 50),
    cause=_text,
)
def test_any_text_reads_back_exactly(
    detail: str, sku: str, event_id: str, quantity: int, cause: str
) -> None:
    order = _settled_delivery()
    order.history[-1].detail = detail
    order.fulfillments[0].lines[0].sku = sku
    order.fulfillments[0].lines[0].quantity = quantity
    order.fulfillments[0].shipment.events[0]["event_id"] = event_id  # type: ignore[union-attr]
    order.payment.operations[0].key = f"{order.order_id}:{cause}:capture"
    stored: dict[str, Any] = values_of(order)[1]
    assert expand(order.order_id, stored) == expand(order.order_id, from_item(to_item(stored)))
    assert _through_dynamodb(order) == order


def test_a_history_entry_with_a_note_reads_back_and_the_others_stay_lines() -> None:
    """A cancel's reason is the caller's words (erasure redacts them), kept beside our
    detail: its entry stays a map; entries without a note are still one line each."""
    order = _settled_delivery()
    order.history[-1].note = "wrong size, call me on +34 600 000 000"
    _, state = values_of(order)
    assert all(isinstance(entry, str) for entry in state["history"][:-1])
    assert state["history"][-1]["note"] == "wrong size, call me on +34 600 000 000"
    assert _through_dynamodb(order) == order
