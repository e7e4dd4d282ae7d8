"""What the tracking page says after a plain form was posted: every action and outcome has
its words in Spanish and in English, and a problem's fields are named with the page's own
labels, never with the API's field paths."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import ExecutionRetry
from chalicelib.presentation.track_forms import (
    FIELD_PATTERN,
    FIELD_WORDS,
    FormAction,
    FormOutcome,
    field_labels,
    form_field,
    form_notice,
)
from chalicelib.presentation.wording import Language


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("action", list(FormAction))
@pytest.mark.parametrize("outcome", list(FormOutcome))
def test_every_action_and_outcome_has_words_in_each_language(
    language: Language, action: FormAction, outcome: FormOutcome
) -> None:
    notice = form_notice(language, action, outcome)
    assert notice.text.strip()
    assert notice.error is (outcome is not FormOutcome.DONE)
    other = Language.EN if language is Language.ES else Language.ES
    assert notice.text != form_notice(other, action, outcome).text


@pytest.mark.parametrize(
    ("problem_field", "form_field_name"),
    [
        ("lines", "lines"),
        ("lines.0.quantity", "lines"),
        ("quantity.1", "lines"),
        ("sku.0", "lines"),
        ("payment.token", "token"),
        ("reason", "reason"),
        ("location_id", "location_id"),
        ("csrf", None),
        ("Idempotency-Key", None),
        ("body", None),
    ],
)
def test_a_problem_s_field_is_the_form_field_the_customer_sees(
    problem_field: str, form_field_name: str | None
) -> None:
    assert form_field(problem_field) == form_field_name


def test_invalid_fields_are_named_with_the_page_s_labels() -> None:
    spanish = form_notice(Language.ES, FormAction.RETURNS, FormOutcome.INVALID, ["reason", "lines"])
    assert spanish.text == "Revisa estos campos: Motivo, Cantidad."
    english = form_notice(Language.EN, FormAction.PAYMENT, FormOutcome.INVALID, ["token", "x"])
    assert english.text == "Please check these fields: New card."
    assert field_labels(Language.EN)["subject"] == "Subject"


def test_the_page_address_takes_only_known_field_lists() -> None:
    assert re.fullmatch(FIELD_PATTERN, ",".join(FIELD_WORDS))
    assert re.fullmatch(FIELD_PATTERN, "reason")
    for tampered in ("", "reason,", "<b>", "reason;subject", "reasons"):
        assert not re.fullmatch(FIELD_PATTERN, tampered), tampered


def test_a_page_read_while_the_new_card_is_checked_says_so_and_reads_itself_again() -> None:
    # A re-probe: the pay form's 303 landed before the new card was declined, and the page
    # thanked the customer until a manual reload.
    from chalicelib.domain.payments import PaymentFailure
    from chalicelib.domain.status_reasons import StatusReason
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, line, order
    from tests.support.pages import tracking_html

    paid_again = order(line("TSHIRT-BLK-M", 1))
    paid_again.contact.locale = "en"
    paid_again.status = OrderStatus.ACCEPTED
    paid_again.retries = [_paid_again_by_the_customer()]
    pay, done = FormAction.PAYMENT, FormOutcome.DONE

    checking = order_form_notice(paid_again, pay, done)
    assert checking.pending and not checking.error
    assert checking.text.startswith("We are checking your new card")
    page = tracking_html(paid_again, NOW, notice=checking)
    assert '<meta http-equiv="refresh" content="3">' in page and "checking your new card" in page
    paid_again.status = OrderStatus.PAID
    thanked = order_form_notice(paid_again, pay, done)
    assert not thanked.pending and thanked.text.startswith("Thank you")
    paid_again.status = OrderStatus.REJECTED
    paid_again.status_reason = StatusReason.PAYMENT_DECLINED
    declined = order_form_notice(paid_again, pay, done)
    assert declined.error and "declined as well" in declined.text
    assert "http-equiv" not in tracking_html(paid_again, NOW, notice=declined)
    # The bank did not answer this time: said so, not "declined" (a re-probe).
    paid_again.payment.failure = PaymentFailure.GATEWAY_UNAVAILABLE
    unreached = order_form_notice(paid_again, pay, done)
    assert unreached.error
    assert unreached.text == "We could not reach the bank: nothing was charged. Please try again."


def test_the_last_card_declined_is_not_told_to_try_another() -> None:
    # Probe 165: paying again is capped (card testing through a forwarded link); the
    # page must not invite a try it would refuse.
    from chalicelib.domain.customer_actions import (
        CARD_DECLINED_DETAIL,
        MAX_PAYMENT_RETRIES,
        PAID_AGAIN_DETAIL,
    )
    from chalicelib.domain.order_status import HistoryEntry
    from chalicelib.domain.payments import PaymentFailure
    from chalicelib.domain.status_reasons import StatusReason
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, line, order
    from tests.support.pages import tracking_html

    declined = order(line("TSHIRT-BLK-M", 1))
    declined.contact.locale = "en"
    declined.status = OrderStatus.REJECTED
    declined.status_reason = StatusReason.PAYMENT_DECLINED
    rejected = HistoryEntry(status=OrderStatus.REJECTED, at=NOW, detail=CARD_DECLINED_DETAIL)
    reopened = HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail=PAID_AGAIN_DETAIL)
    declined.history = [rejected] + [reopened, rejected] * (MAX_PAYMENT_RETRIES - 1)
    declined.retries = [_paid_again_by_the_customer()]
    pay, done = FormAction.PAYMENT, FormOutcome.DONE

    assert order_form_notice(declined, pay, done).text.endswith("You can try another one.")
    assert 'id="form-pay"' in tracking_html(declined, NOW)
    declined.history += [reopened, rejected]
    last = order_form_notice(declined, pay, done)
    page = tracking_html(declined, NOW, notice=last)

    assert last.error and last.text == "Your new card was declined as well."
    assert 'id="form-pay"' not in page
    assert "This order can no longer be paid: several more cards were declined." in page
    declined.payment.failure = PaymentFailure.GATEWAY_UNAVAILABLE
    unreached = order_form_notice(declined, pay, done)
    assert unreached.text == "We could not reach the bank: nothing was charged."


def _paid_again_by_the_customer() -> ExecutionRetry:
    """The restart an order paid again from its page records."""
    from tests.support.builders import NOW

    return ExecutionRetry(
        attempt=1,
        at=NOW,
        by="customer",
        execution_arn="arn:new",
        previous_execution_arn="arn:old",
        previous_status="SUCCEEDED",
        resumed_from=OrderStatus.REJECTED,
    )


def test_more_units_than_are_left_names_each_product_left_and_how_many() -> None:
    left = [("Black T-shirt M", 1), ("Mug", 2)]

    english = form_notice(
        Language.EN, FormAction.RETURNS, FormOutcome.TOO_MANY, still_returnable=left
    )
    spanish = form_notice(Language.ES, FormAction.RETURNS, FormOutcome.TOO_MANY)

    assert english.text == (
        "Not that many units are left to return. You can still return 1 of Black T-shirt M, "
        "2 of Mug."
    )
    assert english.error
    # Nothing known to be left: the problem alone.
    assert spanish.text == "No quedan tantas unidades por devolver."


@pytest.mark.parametrize(
    ("action", "state_that_shows_it"),
    [
        (FormAction.CANCEL, "cancelled"),
        (FormAction.PAYMENT, "paid again"),
        (FormAction.RETURNS, "a return asked for"),
    ],
)
def test_a_form_done_is_said_only_when_the_order_shows_it(
    action: FormAction, state_that_shows_it: str
) -> None:
    # Probe 26E: the page's address says how a form went, and "?form=cancel&outcome=done"
    # put "We have cancelled your order. You will not be charged." above a shipped order.
    from chalicelib.domain.returns import OrderReturn, ReturnLine
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, line, order

    shipped = order(line("TSHIRT-BLK-M", 1))
    shipped.contact.locale = "en"
    shipped.status = OrderStatus.SHIPPED
    assert order_form_notice(shipped, action, FormOutcome.DONE) is None

    if state_that_shows_it == "cancelled":
        shipped.status = OrderStatus.CANCELLED
    elif state_that_shows_it == "paid again":
        shipped.retries = [_paid_again_by_the_customer()]
    else:
        back = ReturnLine(sku="TSHIRT-BLK-M", quantity=1)
        shipped.returns = [
            OrderReturn(
                return_id="ret_1", lines=[back], reason="x", channel="mail", requested_at=NOW
            )
        ]
    shown = order_form_notice(shipped, action, FormOutcome.DONE)
    assert shown is not None and not shown.error


def test_a_card_paid_again_is_said_authorised_not_charged() -> None:
    # Probe 26E: "we are charging your new card", beside an email saying each part is
    # charged when it is handed over (nothing is taken at PAID).
    for language in Language:
        words = form_notice(language, FormAction.PAYMENT, FormOutcome.DONE).text
        assert ("autorizada" if language is Language.ES else "authorised") in words
        assert "cobrando" not in words and "charging" not in words


@pytest.mark.parametrize(("charged", "promised"), [("0.00", False), ("19.95", True)])
def test_a_return_of_units_that_cost_nothing_promises_no_refund(
    charged: str, promised: bool
) -> None:
    # Probe 26C: "we will refund you once it arrives" for units a 100 % coupon made free.
    from datetime import timedelta

    from chalicelib.domain.money import Money
    from chalicelib.domain.returns import ReturnLine
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, WAREHOUSE, allocate, line, reserved, shipment

    shirt = line("TSHIRT-BLK-M", 1).model_copy(update={"charged": Money.of(charged)})
    placed = reserved([shirt], [allocate("TSHIRT-BLK-M", WAREHOUSE, 1)])
    (parcel,) = placed.fulfillments
    placed.dispatch_shipment(parcel.fulfillment_id, shipment(), NOW)
    placed.deliver(parcel.fulfillment_id, NOW + timedelta(hours=20))
    placed.returns_window_ends = NOW + timedelta(days=30)
    placed.contact.locale = "en"
    back = [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)]
    placed.request_return("ret_1", back, "x", "mail", None, NOW + timedelta(days=1))

    notice = order_form_notice(placed, FormAction.RETURNS, FormOutcome.DONE)

    assert notice is not None
    assert ("We will refund you" in notice.text) is promised
    assert ("nothing to refund" in notice.text) is not promised


@pytest.mark.parametrize(
    "after",
    [
        "cancelled",
        "rejected for stock",
        "retried by ops only",
        "every part lost",
        "returned",
        "goes on",
    ],
)
def test_the_pay_again_thanks_stands_only_over_an_order_paid_again_that_goes_on(
    after: str,
) -> None:
    # Probe 26H: "your new card is authorised and the order goes on" over an order cancelled
    # after paying again, one stopped then lost, and one an ops retry (not the customer)
    # had restarted.
    from chalicelib.domain.fulfillments import FulfillmentStatus
    from chalicelib.domain.status_reasons import StatusReason
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, WAREHOUSE, allocate, line, reserved, shipment

    placed = reserved([line("TSHIRT-BLK-M", 1)], [allocate("TSHIRT-BLK-M", WAREHOUSE, 1)])
    placed.contact.locale = "en"
    placed.retries = [_paid_again_by_the_customer()]
    (parcel,) = placed.fulfillments
    placed.dispatch_shipment(parcel.fulfillment_id, shipment(), NOW)
    if after == "cancelled":
        placed.status = OrderStatus.CANCELLED
    elif after == "rejected for stock":
        placed.status, placed.status_reason = OrderStatus.REJECTED, StatusReason.OUT_OF_STOCK
    elif after == "retried by ops only":
        ops_retry = placed.retries[0].model_copy(
            update={"by": "ops:console", "resumed_from": OrderStatus.SHIPPED}
        )
        placed.retries = [ops_retry]
    elif after == "every part lost":
        placed.fulfillment(parcel.fulfillment_id).status = FulfillmentStatus.LOST
    elif after == "returned":  # probe 26J: at rest, it no longer goes on
        placed.status = OrderStatus.RETURNED

    notice = order_form_notice(placed, FormAction.PAYMENT, FormOutcome.DONE)

    if after == "goes on":
        assert notice is not None and notice.text.startswith("Thank you")
    else:
        assert notice is None


def test_a_return_notice_promises_a_refund_only_while_the_return_is_on_its_way() -> None:
    # Probe 26J: "We will refund you once it arrives" over a return received and refunded.
    from datetime import timedelta

    from chalicelib.domain.returns import ReturnLine
    from chalicelib.presentation.track_forms import order_form_notice
    from tests.support.builders import NOW, WAREHOUSE, allocate, line, reserved, shipment

    placed = reserved([line("TSHIRT-BLK-M", 1)], [allocate("TSHIRT-BLK-M", WAREHOUSE, 1)])
    (parcel,) = placed.fulfillments
    placed.dispatch_shipment(parcel.fulfillment_id, shipment(), NOW)
    placed.deliver(parcel.fulfillment_id, NOW + timedelta(hours=20))
    placed.returns_window_ends = NOW + timedelta(days=30)
    back = [ReturnLine(sku="TSHIRT-BLK-M", quantity=1)]
    placed.request_return("ret_1", back, "x", "mail", None, NOW + timedelta(days=1))
    assert order_form_notice(placed, FormAction.RETURNS, FormOutcome.DONE) is not None

    placed.receive_return("ret_1", WAREHOUSE, NOW + timedelta(days=2))

    assert order_form_notice(placed, FormAction.RETURNS, FormOutcome.DONE) is None
