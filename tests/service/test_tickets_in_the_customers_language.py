"""Tickets we open for a customer speak the order's language: the complaint a low survey
score opens, the late-delivery ticket and the carrier-exception one, and the emails that
tell the customer about them (the late delivery's ticket is not mailed: its own email said
it at that moment)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.requests import CustomerRef
from chalicelib.domain.surveys import SurveyAnswer
from chalicelib.domain.tickets import Ticket, TicketStatus
from chalicelib.ports import CustomerRecord
from chalicelib.services import customers, sla, survey_links, surveys, tickets, tracking
from tests.fakes import RecordingEvents
from tests.service import flows

# Words an English order must never show its customer, and the other way round.
ENGLISH = ("Low satisfaction", "The customer left no comment", "Carrier exception", "Promised by")
SPANISH = ("Valoración de", "No dejaste", "Incidencia", "Prometida", "Hemos", "Sentimos")


def _customer(locale: str) -> dict[str, Any]:
    return flows.body()["customer"] | {"locale": locale}


def _tickets_of(deps: Deps, customer_id: str, kind: str) -> list[Ticket]:
    listed, _ = deps.customers.records(customer_id, CustomerRecord.TICKETS)
    found = [tickets.get_ticket(t["ticket_id"], deps) for t in listed if t["type"] == kind]
    return found


def _exception_ticket(deps: Deps, locale: str, *then: str) -> tuple[Any, Ticket]:
    """A shipped order whose carrier reported an exception (then ``then`` events), and the
    ticket we opened for it."""
    order = flows.shipped(deps, customer=_customer(locale))
    assert order.customer_id is not None
    shipment = order.fulfillments[0].shipment
    assert shipment is not None
    for kind in ("exception", *then):
        flows.carrier_event(deps, shipment.carrier, shipment.tracking_number, type=kind)
    (problem,) = _tickets_of(deps, order.customer_id, "delivery_problem")
    return order, problem


def _rate(deps: Deps, order_id: str, score: int, comment: str | None) -> None:
    token = survey_links.survey_url(order_id, deps).rsplit("/", 1)[1]
    order = surveys.order_of_token(token, deps)
    surveys.answer(order, SurveyAnswer(score=score, comment=comment), deps)


@pytest.mark.parametrize(
    ("locale", "subject", "no_comment", "email_subject", "other"),
    [
        (
            "es",
            "Valoración de 1/5 del pedido",
            "No dejaste ningún comentario.",
            "Sentimos que tu pedido",
            ENGLISH,
        ),
        (
            "en",
            "Rating of 1/5 for order",
            "You left no comment.",
            "We are sorry your order",
            SPANISH,
        ),
    ],
)
def test_a_low_score_s_complaint_and_its_email_speak_the_order_s_language(
    deps: Deps,
    locale: str,
    subject: str,
    no_comment: str,
    email_subject: str,
    other: tuple[str, ...],
) -> None:
    order = flows.delivered(deps, customer=_customer(locale))
    assert order.customer_id is not None
    _rate(deps, order.order_id, 1, None)

    (complaint,) = _tickets_of(deps, order.customer_id, "complaint")
    assert complaint.subject == f"{subject} {order.order_id}"
    assert complaint.description == no_comment
    (email,) = flows.mail_ticket_events(deps)
    assert email.startswith(f"{email_subject} {order.order_id}")
    assert complaint.ticket_id in email
    assert not [word for word in other if word in email]


def test_the_customer_s_own_comment_is_the_complaint_s_description(deps: Deps) -> None:
    order = flows.delivered(deps, customer=_customer("en"))
    assert order.customer_id is not None
    _rate(deps, order.order_id, 2, "It arrived broken")
    (complaint,) = _tickets_of(deps, order.customer_id, "complaint")
    assert complaint.description == "It arrived broken"


@pytest.mark.parametrize(
    ("locale", "subject", "description", "other"),
    [
        ("es", "Entrega con retraso: Rapido", "Prometida para el", ENGLISH),
        ("en", "Late delivery: Rapido", "Promised by", SPANISH),
    ],
)
def test_a_late_delivery_ticket_speaks_the_order_s_language_and_is_not_mailed_twice(
    deps: Deps, locale: str, subject: str, description: str, other: tuple[str, ...]
) -> None:
    order = flows.shipped(deps, customer=_customer(locale))
    assert order.customer_id is not None
    (fulfillment,) = order.fulfillments
    assert sla.record_breach(order.order_id, fulfillment.fulfillment_id, deps)

    (late,) = _tickets_of(deps, order.customer_id, "late_delivery")
    assert late.subject.startswith(subject), late.subject
    assert late.description.startswith(description), late.description
    assert "UTC" not in late.description and "+00:00" not in late.description
    # The late-delivery email told the customer; the ticket's opening adds no second one.
    assert flows.mail_ticket_events(deps) == []
    # Its resolution is news: mailed, in the order's language.
    tickets.update_ticket(late.ticket_id, TicketStatus.RESOLVED, "On its way", "ops", deps)
    (resolved,) = flows.mail_ticket_events(deps)
    assert late.subject in resolved
    assert not [word for word in other if word in resolved]


def test_a_carrier_exception_ticket_and_its_email_speak_the_order_s_language(deps: Deps) -> None:
    order, problem = _exception_ticket(deps, "es")

    shipment = order.fulfillments[0].shipment
    assert shipment is not None
    assert problem.subject == f"Incidencia con tu paquete: Rapido {shipment.tracking_number}"
    assert problem.description.startswith("El transportista nos avisó de un problema")
    (email,) = flows.mail_ticket_events(deps)
    # We opened it: the customer asked nothing (a probe read "we opened your request").
    assert email.startswith(f"Estamos siguiendo una incidencia con tu pedido {order.order_id}")
    assert problem.description in email and problem.ticket_id in email
    assert "tu consulta" not in email
    assert not [word for word in ENGLISH if word in email]


def test_a_parcel_has_one_exception_ticket_while_it_is_out_and_none_after(deps: Deps) -> None:
    """Found by a probe: each exception event opened a ticket and mailed the customer
    again, the last one after the delivered email. Ops still hear of each one."""
    order = flows.shipped(deps, customer=_customer("en"))
    assert order.customer_id is not None
    shipment = order.fulfillments[0].shipment
    assert shipment is not None
    carrier, tracking = shipment.carrier, shipment.tracking_number
    for event_id in ("exc-1", "exc-2"):
        flows.carrier_event(deps, carrier, tracking, type="exception", event_id=event_id)
    flows.carrier_event(deps, carrier, tracking, event_id="delivered-1")
    deps.clock.advance(minutes=5)  # type: ignore[attr-defined]  # dated after the delivery
    flows.carrier_event(deps, carrier, tracking, type="exception", event_id="exc-3")

    assert len(_tickets_of(deps, order.customer_id, "delivery_problem")) == 1
    assert len(flows.mail_ticket_events(deps)) == 1
    assert isinstance(deps.events, RecordingEvents)
    told = [m for _, m in deps.events.alerts if m.get("kind") == "carrier_exception"]
    assert [m["event_id"] for m in told] == ["exc-1", "exc-2", "exc-3"]


def test_the_late_email_s_new_estimate_is_a_business_day_at_the_destination(
    deps: Deps,
) -> None:
    # A probe: "new estimate: 8 Dec", a holiday. Promised Friday 4 December in Barcelona,
    # the apology is sent when the 72 h grace ends, Monday the 7th: the estimate is the 9th.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from chalicelib.domain.email_policy import EmailKind
    from chalicelib.services import notify

    address = flows.body()["shipping_address"] | {"city": "Barcelona", "postal_code": "08001"}
    order = flows.shipped(deps, shipping_address=address, customer=_customer("es"))
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    parcel.shipment.quoted_promise = datetime(2026, 12, 4, 20, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    event = {"fulfillment_id": parcel.fulfillment_id}

    context = notify.email_context(EmailKind.LATE_DELIVERY, event, order, deps)

    assert context["new_estimate"] == "9 dic 2026"


MADRID_PICKUP = {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup"} | {
    "location_id": "ST-MADRID"
}
ONE_SHIPPED = {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"}


def test_an_uncollected_pick_up_says_the_rest_carries_on_only_when_there_is_a_rest(
    deps: Deps,
) -> None:
    # A probe: a pick-up-only order, cancelled whole, was told "the rest carries on".
    from chalicelib.domain.email_policy import EmailKind
    from chalicelib.domain.fulfillments import FulfillmentType
    from chalicelib.services import fulfillment_steps, notify
    from chalicelib.services.step_models import FulfillmentStep

    told: dict[str, str] = {}
    cases = {
        "alone": [MADRID_PICKUP],
        "mixed": [MADRID_PICKUP, ONE_SHIPPED],
        "delivered": [MADRID_PICKUP, ONE_SHIPPED],
    }
    for name, lines in cases.items():
        address = flows.body()["shipping_address"] if name != "alone" else None
        order = flows.shipped(deps, lines=lines, shipping_address=address)
        if name == "delivered":  # the parcel arrived before the pick-up ran out
            parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
            assert parcel.shipment is not None
            flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
        waiting = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
        step = FulfillmentStep(order_id=order.order_id, fulfillment_id=waiting.fulfillment_id)
        fulfillment_steps.handle_fulfillment_timeout(step, deps)
        event = {"fulfillment_id": waiting.fulfillment_id}
        now = deps.store.get_order(order.order_id)
        told[name] = notify.render_email(EmailKind.NOT_COLLECTED, event, now, deps).text

    assert "sigue su curso" not in told["alone"]
    assert "sigue su curso" in told["mixed"]
    assert "sigue su curso" not in told["delivered"]  # a re-probe: nothing was left


def test_the_pick_up_email_gives_the_deadline_on_the_store_s_clock(deps: Deps) -> None:
    # A probe: a Canary address's Madrid pick-up was told its deadline in Canary time.
    from zoneinfo import ZoneInfo

    from chalicelib.domain.email_policy import EmailKind
    from chalicelib.domain.fulfillments import FulfillmentType
    from chalicelib.presentation.wording import Language, Wording
    from chalicelib.services import notify

    address = flows.body()["shipping_address"] | {"city": "Las Palmas", "postal_code": "35001"}
    order = flows.shipped(deps, lines=[MADRID_PICKUP, ONE_SHIPPED], shipping_address=address)
    waiting = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    assert waiting.pickup_deadline is not None

    context = notify.email_context(
        EmailKind.PICKUP_READY, {"fulfillment_id": waiting.fulfillment_id}, order, deps
    )

    madrid = Wording(Language.ES, ZoneInfo("Europe/Madrid")).when(waiting.pickup_deadline)
    canary = Wording(Language.ES, ZoneInfo("Atlantic/Canary")).when(waiting.pickup_deadline)
    assert madrid != canary
    # Named, as the customer's own times are on another clock (probe 202).
    assert context["pickup_deadline"] == f"{madrid} hora de España (Madrid)"


def test_the_resolution_email_carries_only_the_note_written_for_the_customer(
    deps: Deps,
) -> None:
    # A probe (2 of 2): resolving without a note mailed the ticket's last note, a staff
    # working note, or the carrier's system note in English with an ISO time.
    order, problem = _exception_ticket(deps, "es", "delivered")
    assert [note.by for note in problem.notes] == ["system:carrier"]  # the delivery's note
    flows.mail_ticket_events(deps)  # the opening's
    tickets.update_ticket(problem.ticket_id, None, "cliente difícil, no llamar", "ops", deps)

    tickets.update_ticket(problem.ticket_id, TicketStatus.RESOLVED, None, "ops", deps)

    (resolved,) = flows.mail_ticket_events(deps)
    # Ours, not a request of theirs, closed too.
    assert resolved.startswith(f"La incidencia con tu pedido {order.order_id} está resuelta")
    assert f"Hemos cerrado la incidencia «{problem.subject}»" in resolved
    assert "tu consulta" not in resolved
    assert "no llamar" not in resolved
    assert problem.notes[0].text not in resolved
    assert not [word for word in (*ENGLISH, "carrier", "+00:00") if word in resolved]


def test_a_note_given_with_the_resolution_is_the_customer_s_message(deps: Deps) -> None:
    _, problem = _exception_ticket(deps, "en")
    flows.mail_ticket_events(deps)
    tickets.update_ticket(problem.ticket_id, None, "working note", "ops", deps)

    message = "Your parcel was found and is on its way again."
    tickets.update_ticket(problem.ticket_id, TicketStatus.RESOLVED, message, "ops", deps)

    (resolved,) = flows.mail_ticket_events(deps)
    assert message in resolved and "working note" not in resolved


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_ticket_email_about_an_order_links_the_order_s_page(deps: Deps, locale: str) -> None:
    # A review: the customer read of their ticket and had no way to the order it was about.
    order = flows.shipped(deps, customer=_customer(locale))
    assert order.customer_id is not None
    tickets.open_ticket(
        order.customer_id, "complaint", "Roto", "Llegó roto", order.order_id, "phone", deps
    )
    tickets.open_ticket(order.customer_id, "question", "Horario", "¿Abrís?", None, "phone", deps)

    about_order, about_nothing = flows.mail_ticket_events(deps)

    link = tracking.tracking_url(order.order_id, deps)
    assert about_order.count(link) == 2  # the text's line and the HTML's button
    assert "/track/" not in about_nothing


def test_a_ticket_about_an_order_placed_by_customer_id_alone_links_it_too(deps: Deps) -> None:
    # A probe: such an order's own emails go to the record's vouched address with the
    # link, and its ticket emails went there without it.
    address = f"firmada-{uuid.uuid4().hex[:6]}@example.com"
    ref = CustomerRef.model_validate({"email": address})
    customer_id = customers.resolve_customer(ref, deps).customer_id
    order = flows.shipped(deps, customer={"customer_id": customer_id})
    assert not order.contact.email
    tickets.open_ticket(
        customer_id, "complaint", "Roto", "Llegó roto", order.order_id, "phone", deps
    )

    (about_order,) = flows.mail_ticket_events(deps)

    assert deps.mailer.sent[-1]["to"] == address  # type: ignore[attr-defined]
    assert about_order.count(tracking.tracking_url(order.order_id, deps)) == 2
