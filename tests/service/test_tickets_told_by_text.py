"""A customer who left only a phone is texted what a ticket's email tells others: that
their question was registered and answered (with the answer), and that we are following
a problem with their parcel (probe 213: they heard nothing, and the page shows no ticket)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.tickets import TicketStatus
from chalicelib.services import tickets, tracking
from tests.fakes import Outgoing
from tests.service import flows

PHONE = "+34655123130"


def _texts(deps: Deps) -> list[str]:
    assert isinstance(deps.texter, Outgoing)
    return [t["parts"] for t in deps.texter.sent if t["to"] == PHONE]


@pytest.mark.parametrize(
    ("locale", "kind", "registered", "resolved"),
    [
        (
            "es",
            "question",
            "hemos registrado tu consulta «Talla»",
            "hemos resuelto tu consulta «Talla»",
        ),
        (
            "en",
            "question",
            'we have registered your request "Talla"',
            'we have resolved your request "Talla"',
        ),
        # Probe 221: a complaint was called a question ("consulta").
        (
            "es",
            "complaint",
            "hemos registrado tu reclamación «Talla»",
            "hemos resuelto tu reclamación «Talla»",
        ),
        (
            "en",
            "complaint",
            'we have registered your complaint "Talla"',
            'we have resolved your complaint "Talla"',
        ),
    ],
)
def test_a_question_and_its_answer_are_texted_once_to_a_phone_only_customer(
    deps: Deps, locale: str, kind: str, registered: str, resolved: str
) -> None:
    order = flows.shipped(deps, customer={"phone": "+34 655 123 130", "locale": locale})
    assert order.customer_id is not None
    asked = tickets.open_ticket(
        order.customer_id, kind, "Talla", "¿La M?", order.order_id, "web", deps
    )
    tickets.update_ticket(asked.ticket_id, TicketStatus.RESOLVED, "Es entallada.", "ops", deps)
    before = len(_texts(deps))

    assert flows.mail_ticket_events(deps) == []  # no email: there is no address
    told = _texts(deps)[before:]
    assert [(registered in t, resolved in t, "Es entallada." in t) for t in told] == [
        (True, False, False),
        (False, True, True),
    ]
    assert all(tracking.tracking_url(order.order_id, deps) in t for t in told)
    flows.mail_ticket_events(deps)  # every event delivered again: no second text
    assert len(_texts(deps)) == before + 2


def test_a_parcel_s_problem_is_texted_to_a_phone_only_customer(deps: Deps) -> None:
    order = flows.shipped(deps, customer={"phone": "+34 655 123 130"})
    shipment = order.fulfillments[0].shipment
    assert shipment is not None
    flows.carrier_event(deps, shipment.carrier, shipment.tracking_number, type="exception")
    before = len(_texts(deps))

    flows.mail_ticket_events(deps)

    (told,) = _texts(deps)[before:]
    assert "Lo estamos siguiendo" in told and order.order_id in told


def test_an_email_customer_s_ticket_is_still_emailed_not_texted(deps: Deps) -> None:
    customer: dict[str, Any] = flows.body()["customer"] | {"phone": "+34 655 123 130"}
    order = flows.shipped(deps, customer=customer)
    assert order.customer_id is not None
    tickets.open_ticket(order.customer_id, "question", "Talla", "¿M?", order.order_id, "web", deps)

    (emailed,) = flows.mail_ticket_events(deps)
    assert "Talla" in emailed
    assert not [t for t in _texts(deps) if "Talla" in t]


def test_a_complaint_s_email_calls_it_a_complaint(deps: Deps) -> None:
    # Probe 221: its subject and text said "consulta" (a question).
    order = flows.shipped(deps)
    assert order.customer_id is not None
    tickets.open_ticket(
        order.customer_id, "complaint", "Caja rota", "Llegó aplastada", order.order_id, "web", deps
    )

    (emailed,) = flows.mail_ticket_events(deps)

    assert "Hemos abierto tu reclamación" in emailed
    assert "tu reclamación «Caja rota»" in emailed and "consulta" not in emailed
