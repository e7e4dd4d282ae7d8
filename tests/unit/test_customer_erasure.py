"""Erasure's rules, item by item: whatever a customer wrote or gave is gone afterwards,
what the books need stays, and applying a rule twice changes nothing the second time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.customers import UNVOUCHED
from chalicelib.domain.erasure import (
    ERASED,
    redact_interaction,
    redact_order,
    redact_profile,
    redact_ticket,
    redact_ticket_index,
)
from chalicelib.domain.placement import CustomerContact, ShippingAddress
from chalicelib.domain.returns import OrderReturn, ReturnLine
from chalicelib.domain.tickets import Ticket, TicketNote, TicketType
from tests.support.builders import order

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# Any text, marked so that it cannot occur by chance in ids, dates or amounts.
personal = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))).map(
    lambda text: f"\u00a7{text}"
)


def _holds(value: Any, secret: str) -> bool:
    """Whether any string anywhere in ``value`` contains ``secret``."""
    if isinstance(value, str):
        return secret in value
    if isinstance(value, dict):
        return any(_holds(v, secret) for v in value.values()) or any(
            _holds(k, secret) for k in value
        )
    if isinstance(value, list):
        return any(_holds(v, secret) for v in value)
    return False


@settings(deadline=None)  # no wall-clock limit: the machine is shared
@given(name=personal, email=personal, phone=personal, line1=personal, city=personal, why=personal)
def test_an_erased_order_holds_none_of_the_customers_text_and_keeps_its_books(
    name: str, email: str, phone: str, line1: str, city: str, why: str
) -> None:
    placed = order()
    placed.contact = CustomerContact(email=email, phone=phone, name=name, locale="en")
    placed.shipping_address = ShippingAddress(
        name=name, line1=line1, city=city, postal_code="28013", country="ES"
    )
    placed.returns.append(
        OrderReturn(
            return_id="ret_1",
            lines=[ReturnLine(sku="TSHIRT-BLK-M", quantity=1)],
            reason=why,
            channel="mail",
            requested_at=NOW,
        )
    )
    books = (placed.total, placed.status, placed.lines, placed.payment, placed.history)

    assert redact_order(placed) is True

    dumped = json.loads(placed.model_dump_json())
    for secret in (name, email, phone, line1, city, why):
        assert not _holds(dumped, secret)
    assert placed.shipping_address is not None
    assert placed.shipping_address.postal_code == ERASED
    assert placed.shipping_address.country == "ES"
    assert placed.contact.locale == "en"
    assert (placed.total, placed.status, placed.lines, placed.payment, placed.history) == books
    assert redact_order(placed) is False


def test_an_order_without_personal_data_is_left_alone() -> None:
    anonymous = order()
    anonymous.contact = CustomerContact()

    assert redact_order(anonymous) is False


@settings(deadline=None)
@given(
    subject=personal,
    description=personal,
    notes=st.lists(personal, max_size=4),
    shipment=st.none() | personal,
)
def test_an_erased_ticket_keeps_its_case_but_none_of_its_text(
    subject: str, description: str, notes: list[str], shipment: str | None
) -> None:
    ticket = Ticket(
        ticket_id="tkt_1",
        customer_id="cus_1",
        type=TicketType.COMPLAINT,
        subject=subject,
        description=description,
        order_id="ord_1",
        shipment=shipment,
        channel="phone",
        opened_at=NOW,
        notes=[TicketNote(at=NOW, by="ops:abc", text=text) for text in notes],
    )

    assert redact_ticket(ticket) is True

    dumped = json.loads(ticket.model_dump_json())
    # The shipment is free text (a probe: "leave with neighbour Ana Perez").
    for secret in (subject, description, *notes, *([shipment] if shipment else [])):
        assert not _holds(dumped, secret)
    assert (ticket.type, ticket.order_id, ticket.opened_at) == (
        TicketType.COMPLAINT,
        "ord_1",
        NOW,
    )
    assert [note.by for note in ticket.notes] == ["ops:abc"] * len(notes)
    assert redact_ticket(ticket) is False


@pytest.mark.parametrize(
    ("rule", "item", "kept", "gone"),
    [
        (
            redact_interaction,
            {
                "pk": "CUSTOMER#c",
                "sk": "INTERACTION#t#i",
                "interaction_id": "i",
                "type": "call",
                "channel": "phone",
                "at": "2026-06-01T00:00:00+00:00",
                "summary": "Eva Ruiz called about her sofa",
                "recorded_by": "store-key",
                "order_id": "ord_1",
                UNVOUCHED: True,
            },
            # The mark stays: the record's token still does not show it.
            {"type": "call", "order_id": "ord_1", "summary": ERASED, UNVOUCHED: True},
            ("Eva Ruiz called about her sofa",),
        ),
        (
            redact_interaction,
            {
                "pk": "CUSTOMER#c",
                "sk": "INTERACTION#t#e",
                "interaction_id": "email-1",
                "type": "email",
                "channel": "email",
                "at": "2026-06-01T00:00:00+00:00",
                "summary": "email sent: SHIPPED",
                "subject": "Your order, Eva",
                "to": "eva@example.com",
            },
            {"type": "email", "summary": ERASED},
            ("Your order, Eva", "eva@example.com", "subject", "to"),
        ),
        (
            redact_ticket_index,
            {
                "pk": "CUSTOMER#c",
                "sk": "TICKET#t#k",
                "ticket_id": "k",
                "type": "complaint",
                "status": "open",
                "order_id": None,
                "subject": "Eva's broken sofa",
                UNVOUCHED: True,
            },
            {"ticket_id": "k", "status": "open", "subject": ERASED, UNVOUCHED: True},
            ("Eva's broken sofa",),
        ),
        (
            lambda item: redact_profile(item, "2026-06-01T00:00:00+00:00"),
            {
                "pk": "CUSTOMER#c",
                "sk": "PROFILE",
                "state": "merged",
                "merged_into": "cus_2",
                "name": "Eva Ruiz",
                "nickname": "Evita",
                "locale": "es",
            },
            {"state": "merged", "merged_into": "cus_2", "erased_at": "2026-06-01T00:00:00+00:00"},
            ("Eva Ruiz", "Evita", "name", "nickname"),
        ),
    ],
    ids=["call", "email-with-a-field-added-later", "ticket-list-entry", "merged-profile"],
)
def test_items_keep_only_what_their_allow_list_names(
    rule: Any, item: dict[str, Any], kept: dict[str, Any], gone: tuple[str, ...]
) -> None:
    redacted = rule(dict(item))

    assert redacted.items() >= kept.items()
    assert (redacted["pk"], redacted["sk"]) == (item["pk"], item["sk"])
    for secret in gone:
        assert not _holds(redacted, secret)
    assert rule(dict(redacted)) == redacted
