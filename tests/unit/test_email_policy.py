"""Emails that matter: which order events mail the customer, under each preference."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.email_policy import (
    EmailKind,
    NotificationPreference,
    OrderEvent,
    RefundCause,
    email_for,
    preference_after_merge,
    preference_of,
    should_mail,
    told_elsewhere,
)
from chalicelib.domain.orders import (
    FulfillmentStatus,
    FulfillmentType,
    HistoryEntry,
    Order,
    OrderStatus,
    StatusReason,
)
from tests.support.builders import (
    NOW,
    PRICES,
    WAREHOUSE,
    allocate,
    delivered,
    fulfillment_id,
    line,
    order,
    pickup,
    reserved,
    shipment,
)

ESSENTIAL, ALL = NotificationPreference.ESSENTIAL, NotificationPreference.ALL


def status_changed(status: str, reason: str | None = None, n: int = 1) -> dict[str, Any]:
    return {
        "type": "order.status_changed",
        "event_id": f"ord_1:{n:03d}:{status}",
        "order_id": "ord_1",
        "status": status,
        "status_reason": reason,
        "detail": "…",
        "channel": "web",
    }


def event(kind: str, event_id: str = "ord_1:ord_1-F1:X") -> dict[str, Any]:
    return {"type": kind, "event_id": event_id, "order_id": "ord_1", "fulfillment_id": "ord_1-F1"}


def events_of(placed: Order) -> list[dict[str, Any]]:
    """What the services publish for this order's life: one event per status change (as
    ``OrderStatusChanged`` builds it), one per shipment leaving, the captures."""
    published = []
    history = list(placed.history)
    if not history or history[0].status is not OrderStatus.ACCEPTED:
        # Placing the order records ACCEPTED (the builders start after it).
        history.insert(0, HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail="placed"))
    for index, entry in enumerate(history, 1):
        ended = entry.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
        published.append(
            status_changed(
                entry.status.value,
                placed.status_reason.value if ended and placed.status_reason else None,
                index,
            )
            | {"order_id": placed.order_id}
        )
    for f in placed.fulfillments:
        if f.shipment is not None:
            published.append(
                {
                    "type": "fulfillment.shipped",
                    "event_id": f"{placed.order_id}:{f.fulfillment_id}:SHIPPED",
                    "order_id": placed.order_id,
                    "fulfillment_id": f.fulfillment_id,
                }
            )
            published.append(
                {
                    "type": "payment.capture",
                    "event_id": f"{placed.order_id}:{f.fulfillment_id}:capture:DONE",
                    "order_id": placed.order_id,
                }
            )
    return published


def mailed(published: list[dict[str, Any]], preference: NotificationPreference) -> list[str]:
    """The emails sent: once per event id, however often an event is delivered."""
    sent: dict[str, EmailKind] = {}
    for item in published:
        kind = email_for(item, preference)
        if kind is not None:
            sent.setdefault(item["event_id"], kind)
    return [kind.value for kind in sent.values()]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("ACCEPTED", None),
        ("PAID", None),  # confirmed once the stock is reserved too
        ("RESERVED", EmailKind.CONFIRMATION),
        ("SHIPPED", None),  # the shipment's own email says it
        ("READY_FOR_PICKUP", None),  # the pick-up's own email says it
        ("DELIVERED", EmailKind.DELIVERED),
        ("RETURNED", None),  # the return-received email said it
        ("REJECTED", EmailKind.REJECTED),
        ("CANCELLED", EmailKind.CANCELLED),
    ],
)
def test_essential_status_changes(status: str, kind: EmailKind | None) -> None:
    assert email_for(status_changed(status), ESSENTIAL) is kind


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("ACCEPTED", EmailKind.STATUS_UPDATE),
        ("PAID", EmailKind.STATUS_UPDATE),
        ("RESERVED", EmailKind.CONFIRMATION),
        ("SHIPPED", None),
        ("READY_FOR_PICKUP", None),
        ("DELIVERED", EmailKind.DELIVERED),
        ("RETURNED", EmailKind.STATUS_UPDATE),
        ("REJECTED", EmailKind.REJECTED),
        ("CANCELLED", EmailKind.CANCELLED),
    ],
)
def test_all_adds_every_other_status_change(status: str, kind: EmailKind | None) -> None:
    assert email_for(status_changed(status), ALL) is kind


def test_a_pickup_not_collected_mails_once_not_again_for_the_cancellation() -> None:
    assert email_for(event("fulfillment.not_collected")) is EmailKind.NOT_COLLECTED
    ended = status_changed("CANCELLED", StatusReason.NOT_COLLECTED.value)
    assert email_for(ended, ESSENTIAL) is None
    assert email_for(ended, ALL) is None
    asked = status_changed("CANCELLED", StatusReason.CUSTOMER_REQUEST.value)
    assert email_for(asked) is EmailKind.CANCELLED


@pytest.mark.parametrize(
    ("kind", "email"),
    [
        ("fulfillment.shipped", EmailKind.SHIPMENT_SENT),
        ("fulfillment.ready_for_pickup", EmailKind.PICKUP_READY),
        ("fulfillment.lost", EmailKind.PARCEL_LOST),
        ("fulfillment.cancelled", EmailKind.FULFILLMENT_CANCELLED),
        ("shipment.sla_breached", EmailKind.LATE_DELIVERY),
    ],
)
def test_each_shipment_pickup_and_problem_mails_under_both(kind: str, email: EmailKind) -> None:
    assert email_for(event(kind), ESSENTIAL) is email
    assert email_for(event(kind), ALL) is email


def test_a_return_in_store_requested_mails_only_those_who_want_every_step() -> None:
    asked = event("return.requested", "ord_1:ret_ab12:REQUESTED") | {"channel": "store"}
    assert email_for(asked, ESSENTIAL) is None
    assert email_for(asked, ALL) is EmailKind.RETURN_REQUESTED


@pytest.mark.parametrize("preference", [ESSENTIAL, ALL])
def test_a_return_by_post_requested_mails_everyone_where_to_send_it(
    preference: NotificationPreference,
) -> None:
    # Probe 233: staff opened a return by post on the phone; an "essential" customer was
    # never told where to send the parcel, which only the tracking page said.
    asked = event("return.requested", "ord_1:ret_ab12:REQUESTED") | {"channel": "mail"}
    assert email_for(asked, preference) is EmailKind.RETURN_REQUESTED


@pytest.mark.parametrize(
    ("refund", "kind"),
    [
        ({"amount": "0.00", "currency": "EUR"}, EmailKind.RETURN_RECEIVED),
        # Told by the refund's own event once the money is back, not twice.
        ({"amount": "0.01", "currency": "EUR"}, None),
        ({"amount": "20.00", "currency": "EUR"}, None),
    ],
)
def test_a_receipt_mails_only_a_return_that_gives_nothing_back(
    refund: dict[str, str], kind: EmailKind | None
) -> None:
    # Probe 160: lines made free by a discount were refunded nothing, so no refund event
    # told the customer their return had arrived.
    received = event("return.received", "ord_1:ret_ab12:RECEIVED") | {"refund": refund}
    assert email_for(received, ESSENTIAL) is kind
    assert email_for(received, ALL) is kind


@pytest.mark.parametrize(
    ("event_id", "cause", "kind"),
    [
        ("ord_1:ret_ab12:refund:DONE", RefundCause.RETURN, EmailKind.RETURN_RECEIVED),
        ("ord_1:ord_1-F2:refund:DONE", RefundCause.LOST_PARCEL, None),
        ("ord_1:shipping:refund:DONE", RefundCause.SHIPPING, EmailKind.REFUND),
        ("something-else", None, EmailKind.REFUND),  # unknown: better told than not
    ],
)
def test_refunds_mail_by_what_they_give_back(
    event_id: str, cause: RefundCause | None, kind: EmailKind | None
) -> None:
    refund = event("payment.refund", event_id)
    assert OrderEvent.model_validate(refund).refund_cause() is cause
    assert email_for(refund, ESSENTIAL) is kind
    assert email_for(refund, ALL) is kind


def test_the_fee_given_back_with_a_lost_parcel_is_told_by_the_lost_parcel_email_only() -> None:
    placed = delivered(line("TSHIRT-BLK-M", 1))
    fee_back = event("payment.refund", f"{placed.order_id}:shipping:refund:DONE")
    goods_back = event("payment.refund", f"{placed.order_id}:ret_ab12:refund:DONE")
    # Given back with a whole return, the fee's refund has its own email.
    assert not told_elsewhere(EmailKind.REFUND, fee_back, placed)
    # With a lost parcel, the lost-parcel email's amount included it.
    placed.fulfillments[0].status = FulfillmentStatus.LOST
    assert told_elsewhere(EmailKind.REFUND, fee_back, placed)
    # Only the fee's refund: other emails about the same order go out.
    assert not told_elsewhere(EmailKind.RETURN_RECEIVED, goods_back, placed)
    assert not told_elsewhere(EmailKind.PARCEL_LOST, event("fulfillment.lost"), placed)


@pytest.mark.parametrize(
    "kind", ["payment.capture", "payment.void", "order.claimed", "ticket.opened", "x.y"]
)
def test_money_movements_and_other_events_mail_nobody(kind: str) -> None:
    assert not should_mail(event(kind), ESSENTIAL)
    assert not should_mail(event(kind), ALL)
    assert not should_mail({"type": kind, "ticket_id": "tkt_1", "order_id": None}, ALL)


@pytest.mark.parametrize(
    ("profile", "preference"),
    [
        (None, ESSENTIAL),
        ({}, ESSENTIAL),
        ({"notifications": "all"}, ALL),
        ({"notifications": " ALL "}, ALL),
        ({"notifications": "essential"}, ESSENTIAL),
        ({"notifications": "sometimes"}, ESSENTIAL),
        ({"notifications": None}, ESSENTIAL),
    ],
)
def test_the_profile_s_preference_defaults_to_essential(
    profile: dict[str, Any] | None, preference: NotificationPreference
) -> None:
    assert preference_of(profile) is preference


def test_a_delivered_one_shipment_web_order_sends_three() -> None:
    published = events_of(delivered())
    assert mailed(published, ESSENTIAL) == ["confirmation", "delivered", "shipment_sent"]
    # Every status change, for those who asked for every step.
    assert mailed(published, ALL) == [
        "status_update",
        "status_update",
        "confirmation",
        "delivered",
        "shipment_sent",
    ]


def test_each_shipment_and_each_pickup_has_its_own_email() -> None:
    lines = [line("TSHIRT-BLK-M", 1), line("MUG-WHT", 1), pickup("CAP-RED", 1)]
    placed = reserved(
        lines,
        [
            allocate("TSHIRT-BLK-M", WAREHOUSE, 1),
            allocate("MUG-WHT", "ST-BCN", 1),
            allocate("CAP-RED", "ST-SOL", 1),
        ],
    )
    for location in (WAREHOUSE, "ST-BCN"):
        fid = fulfillment_id(placed, FulfillmentType.SHIP, location)
        placed.dispatch_shipment(fid, shipment(), NOW)
    published = [*events_of(placed), event("fulfillment.ready_for_pickup", "ord_1:F3:READY")]
    assert sorted(mailed(published, ESSENTIAL)) == [
        "confirmation",
        "pickup_ready",
        "shipment_sent",
        "shipment_sent",
    ]


def test_a_declined_card_paid_again_is_told_the_rejection_then_confirmed() -> None:
    placed = order()
    placed.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
    published = events_of(placed)
    published.append(status_changed("ACCEPTED", None, 4) | {"order_id": placed.order_id})
    published.append(status_changed("PAID", None, 5) | {"order_id": placed.order_id})
    published.append(status_changed("RESERVED", None, 6) | {"order_id": placed.order_id})
    assert mailed(published, ESSENTIAL) == ["rejected", "confirmation"]


def test_an_order_that_loses_the_last_units_after_paying_is_told_only_its_rejection() -> None:
    placed = order(status=OrderStatus.PAID)
    placed.history.append(HistoryEntry(status=OrderStatus.PAID, at=NOW, detail="authorised"))
    placed.reject(StatusReason.OUT_OF_STOCK, NOW, "short")
    assert mailed(events_of(placed), ESSENTIAL) == ["rejected"]
    assert mailed(events_of(placed), ALL) == ["status_update", "status_update", "rejected"]


skus = st.lists(st.sampled_from(sorted(PRICES)), min_size=1, max_size=4, unique=True)


@given(
    skus=skus,
    quantities=st.lists(st.integers(1, 5), min_size=4, max_size=4),
    late_promise=st.booleans(),
    redelivered=st.lists(st.integers(0, 50), max_size=10),
)
def test_property_a_delivered_one_shipment_order_sends_at_most_three(
    skus: list[str],
    quantities: list[int],
    late_promise: bool,
    redelivered: list[int],
) -> None:
    """Whatever the lines, whether the parcel arrives before its promise or after it (within
    the grace, so no breach is declared), and however often the bus delivers each event, a
    delivered one-shipment order with nothing gone wrong mails 3 under "essential"; "all"
    mails 2 more (received, being prepared)."""
    lines = [line(sku, qty) for sku, qty in zip(skus, quantities, strict=False)]
    placed = reserved(lines, [allocate(item.sku, WAREHOUSE, item.quantity) for item in lines])
    (only,) = placed.fulfillments
    promise = NOW + (timedelta(hours=1) if late_promise else timedelta(days=3))
    placed.dispatch_shipment(only.fulfillment_id, shipment(promise), NOW)
    placed.deliver(only.fulfillment_id, NOW + timedelta(days=1))
    assert placed.status is OrderStatus.DELIVERED
    published = events_of(placed)
    published += [published[i % len(published)] for i in redelivered]
    essential = mailed(published, ESSENTIAL)
    assert len(essential) <= 3
    assert sorted(essential) == ["confirmation", "delivered", "shipment_sent"]
    everything = mailed(published, ALL)
    assert set(essential) <= set(everything) and len(everything) == 5


@pytest.mark.parametrize(
    ("survivor", "merged", "kept"),
    [
        (None, None, None),
        ("all", None, None),
        (None, "all", "all"),
        (None, "essential", "essential"),
        ("all", "all", None),
        ("essential", "all", None),
        ("all", "essential", "essential"),
    ],
)
def test_a_merge_keeps_a_choice_either_record_made_and_the_fewer_emails_when_they_differ(
    survivor: str | None, merged: str | None, kept: str | None
) -> None:
    # Probe 184: a record that chose "essential", merged into one that chose "all", got
    # every status at its own address; the other way, "all" was dropped for nothing.
    def profile(choice: str | None) -> dict[str, str]:
        return {"state": "active"} | ({"notifications": choice} if choice else {})

    after = preference_after_merge(profile(survivor), profile(merged))

    assert (after.value if after is not None else None) == kept
