"""The customer's order emails on fakes: which events mail under each preference, and what
each email says (multipart, the customer's language, Babel money and local times)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.deps import Deps
from chalicelib.domain.email_policy import EmailKind
from chalicelib.domain.errors import PaymentDeclined
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentType
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RequestReturnRequest, ReturnAsked
from chalicelib.ports import CustomerRecord
from chalicelib.presentation.wording import Wording
from chalicelib.rendering import render
from chalicelib.services import (
    fulfillment_steps,
    lost_parcels,
    notify,
    ordering,
    payment_steps,
    pickups,
    returns,
    self_service,
    sla,
    survey_links,
    tickets,
)
from chalicelib.services.compensation import CompensateInput, compensate
from chalicelib.services.step_models import FulfillmentStep, OrderStep, RejectOrderInput
from chalicelib.services.tracking import revoke_tracking_links, tracking_url
from tests.fakes import Clock, FakeGateway, Outgoing
from tests.service import flows


def _parcel_and_pickup(order: Order) -> tuple[Fulfillment, Fulfillment]:
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    return parcel, pickup


def _subject_lines(sent: list[dict[str, str]]) -> list[str]:
    return [mail["parts"].split("\n", 1)[0] for mail in sent]


def test_a_delivered_one_parcel_order_sends_confirmation_shipment_and_delivery(
    deps: Deps,
) -> None:
    order = flows.delivered(deps)
    sent = flows.mail_everything(deps)
    shipment = order.fulfillments[0].shipment
    assert shipment is not None
    assert _subject_lines(sent) == [
        f"Pedido {order.order_id} confirmado",
        f"Tu pedido {order.order_id} ha salido con {shipment.carrier.title()}",
        f"Tu pedido {order.order_id} ha sido entregado",
    ]
    assert shipment.tracking_number in _parts(sent[1])[2]


def test_every_event_delivered_again_sends_nothing_more(deps: Deps) -> None:
    flows.delivered(deps)
    first = len(flows.mail_everything(deps))
    assert len(flows.mail_everything(deps)) == first == 3


def test_a_customer_who_chose_all_hears_of_every_step(deps: Deps) -> None:
    customer = flows.body()["customer"]
    first = flows.place(deps, customer=customer)
    assert first.customer_id is not None
    assert deps.customers.set_notifications(first.customer_id, "all")
    order = flows.delivered(deps, customer=customer)
    assert order.customer_id == first.customer_id
    subjects = [s for s in _subject_lines(flows.mail_everything(deps)) if order.order_id in s]
    # Received and paid are told too; being prepared is the confirmation, shipped the
    # shipment's own email (one moment, one email).
    assert subjects == [
        f"Pedido {order.order_id}: Recibido",
        f"Pedido {order.order_id}: Pago autorizado",
        f"Pedido {order.order_id} confirmado",
        f"Tu pedido {order.order_id} ha salido con Rapido",
        f"Tu pedido {order.order_id} ha sido entregado",
    ]


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("mail", "Envíalos a Almacén Getafe, Calle de la Confianza 14, 28906 Getafe"),
        ("store", None),
    ],
)
def test_a_return_by_post_asked_for_says_where_to_send_it(
    deps: Deps, channel: str, says: str | None
) -> None:
    # A probe: a return by post was told nowhere where to go.
    customer = flows.body()["customer"]
    first = flows.place(deps, customer=customer)
    assert first.customer_id is not None
    assert deps.customers.set_notifications(first.customer_id, "all")
    order = flows.delivered(deps, customer=customer)
    asked = ReturnAsked(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="talla", channel=channel
    )
    opened = self_service.request_return(order, asked, deps)
    (mail,) = (m for m in flows.mail_everything(deps) if opened.return_id in _parts(m)[2])
    text = _parts(mail)[2]
    assert ("Envíalos a" in text) is (says is not None)
    if says:
        assert says in text


@pytest.mark.parametrize("channel", ["mail", "store"])
def test_a_return_staff_open_by_post_tells_an_essential_customer_where_to_send_it(
    deps: Deps, channel: str
) -> None:
    # Probe 233: staff opened a return by post on the phone; a customer on the default
    # "essential" emails was never told where to send the parcel (only the page said).
    order = flows.delivered(deps)
    at = {"location_id": "ST-MADRID"} if channel == "store" else {}
    asked = RequestReturnRequest(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="talla", channel=channel, **at
    )
    opened = returns.request_return(order.order_id, asked, deps)

    about = [m for m in flows.mail_everything(deps) if opened.return_id in _parts(m)[2]]

    if channel == "store":
        assert about == []  # brought to the till, received there: nothing to send
        return
    (mail,) = about
    assert _parts(mail)[0] == f"Devolución solicitada para el pedido {order.order_id}"
    assert "Envíalos a Almacén Getafe" in _parts(mail)[2]
    # Which units, of the two the order holds (probe 237: only the whole order was listed).
    said = f"Hemos registrado tu devolución {opened.return_id}: 1 × {order.lines[0].name}."
    assert said in _parts(mail)[2]


def test_a_return_by_post_received_before_its_request_is_told_is_told_received_only(
    deps: Deps,
) -> None:
    # Probe 238: received within seconds of being asked for, the return's request email
    # came after "we have received your return and refunded you", saying "we will refund
    # you once the items arrive". The receipt's email tells it all.
    order = flows.delivered(deps)
    before = len(flows.mail_everything(deps))
    asked = RequestReturnRequest(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="talla", channel="mail"
    )
    opened = returns.request_return(order.order_id, asked, deps)
    returns.receive_return(opened.return_id, "WH-GETAFE", deps)

    subjects = _subject_lines(flows.mail_everything(deps)[before:])

    assert subjects == [f"Hemos recibido tu devolución del pedido {order.order_id}"]


def test_a_return_by_post_is_texted_to_a_customer_who_left_only_a_phone(deps: Deps) -> None:
    phone = "+34 655 233 233"
    order = flows.delivered(deps, customer={"phone": phone, "name": "Ana"})
    asked = RequestReturnRequest(
        lines=[{"sku": order.lines[0].sku, "quantity": 1}], reason="talla", channel="mail"
    )
    opened = returns.request_return(order.order_id, asked, deps)

    flows.mail_everything(deps)

    assert isinstance(deps.texter, Outgoing)
    (text,) = [t["parts"] for t in deps.texter.sent if opened.return_id in t["parts"]]
    assert "Envía los artículos a Almacén Getafe" in text and order.order_id in text
    assert f"{order.order_id} (1 × {order.lines[0].name})." in text


def _parts(mail: dict[str, str]) -> tuple[str, str, str]:
    subject, rest = mail["parts"].split("\n", 1)
    html, _, text = rest.partition("</html>")
    return subject, html + "</html>", text


@pytest.mark.parametrize(
    ("locale", "money", "greeting"),
    [("es", "€", "Hola Ana:"), ("en", "€", "Hello Ana,")],
)
def test_emails_are_multipart_in_the_customers_language_with_local_money(
    deps: Deps, locale: str, money: str, greeting: str
) -> None:
    customer = flows.body()["customer"] | {"locale": locale}
    order = flows.delivered(deps, customer=customer)
    sent = flows.mail_everything(deps)
    link = tracking_url(order.order_id, deps)
    for mail in sent:
        _, html, text = _parts(mail)
        assert text.strip().startswith(greeting), text
        assert "UTC" not in text
        assert link in text
        assert f'href="{link}"' in html
        assert f'<html lang="{locale}">' in html
    confirmation = _parts(sent[0])[2]
    # Babel's notation ("12,50 €" / "€12.50"), not "12.50 EUR".
    amount = order.total.amount
    expected = f"{amount:.2f}".replace(".", ",") + "\xa0€" if locale == "es" else f"€{amount:.2f}"
    assert expected in confirmation, confirmation
    assert "EUR" not in confirmation


def test_the_delivered_email_carries_a_survey_link_for_that_order(deps: Deps) -> None:
    order = flows.delivered(deps)
    sent = flows.mail_everything(deps)
    _, html, text = _parts(sent[-1])
    url = survey_links.survey_url(order.order_id, deps)
    assert url in text
    assert f'href="{url}"' in html
    token = url.rsplit("/", 1)[1]
    assert survey_links.order_id_of(token, deps) == order.order_id


def test_a_declined_card_email_says_how_to_pay_again_from_the_tracking_page(
    deps: Deps,
) -> None:
    order = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    step = RejectOrderInput(order_id=order.order_id, error="PaymentDeclined")
    payment_steps.reject_order(step, deps)
    (rejection,) = flows.mail_everything(deps)
    subject, html, text = _parts(rejection)
    assert subject == f"No hemos podido completar tu pedido {order.order_id}"
    assert "rechazada" in text
    assert "pagar de nuevo" in text
    link = tracking_url(order.order_id, deps)
    assert link in text
    assert f'href="{link}"' in html
    # Until when, from this first decline (a second decline's email says what is left).
    window = deps.settings.waits.duration(self_service.PAYMENT_RETRY_WINDOW)
    deadline = deps.store.get_order(order.order_id).history[-1].at + window
    when = Wording.for_order(order).when(deadline)
    assert f"desde la página de tu pedido, hasta el {when}." in text


def test_email_kind_is_none_for_events_that_never_mail(deps: Deps) -> None:
    order = flows.place(deps)
    capture = {"type": "payment.capture", "event_id": f"{order.order_id}:x:DONE"}
    assert notify.email_kind_of(capture | {"order_id": order.order_id}, deps) is None
    shipped = {"type": "fulfillment.shipped", "event_id": "e", "order_id": order.order_id}
    assert notify.email_kind_of(shipped, deps) is EmailKind.SHIPMENT_SENT


def test_a_pickup_cancelled_while_its_parcel_travels_is_told_with_its_store_and_amount(
    deps: Deps,
) -> None:
    """Found by a probe: a failed (or stopped) workflow cancelled the pick-up of a mixed
    order whose parcel had left; the order stayed SHIPPED, so no status email went, and the
    customer still held the "ready at the store" email."""
    order = flows.reserved(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=parcel.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)
    before = len(flows.mail_everything(deps))

    compensate(CompensateInput(order_id=order.order_id, error={"Error": "States.Runtime"}), deps)

    sent = flows.mail_everything(deps)
    assert _subject_lines(sent[before:]) == [f"Parte de tu pedido {order.order_id} se ha cancelado"]
    text = _parts(sent[-1])[2]
    store = next(loc.name for loc in deps.store.locations() if loc.location_id == "ST-MADRID")
    assert f"tu recogida en {store}" in text
    voided = deps.store.get_order(order.order_id).fulfillment_value(pickup).amount
    assert f"{voided:.2f}".replace(".", ",") + "\xa0€" in text
    assert len(flows.mail_everything(deps)) == len(sent)  # delivered again: nothing more


def test_an_order_made_delivered_by_its_lost_parcel_is_not_told_it_was_delivered(
    deps: Deps,
) -> None:
    # A probe: the pick-up collected, the parcel never confirmed; its loss made the order
    # DELIVERED, and the customer read "your order was delivered", then "your parcel was
    # lost". Only the loss happened then.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    assert pickup.pickup_code is not None
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    before = len(flows.mail_everything(deps))

    lost = lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)

    assert lost.status.value == "DELIVERED"
    # What the delivered email would have said, the loss's tells (a probe: the customer
    # never heard of the return window nor got the survey link).
    _one_email_tells_the_end(deps, order.order_id, before, "Has recogido el resto de tu pedido")
    assert (
        notify.email_kind_of(
            next(e for e in deps.events.published if e.get("status") == "DELIVERED"), deps
        )
        is EmailKind.DELIVERED
    )  # the policy's kind; the loss tells it instead


def test_an_order_delivered_after_a_part_was_lost_is_told_only_the_rest_arrived(
    deps: Deps,
) -> None:
    # Probe 234: a parcel lost and refunded, then the rest delivered; the last email said
    # "your order was delivered", as if the lost part had come too.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    assert pickup.pickup_code is not None
    lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)
    before = len(flows.mail_everything(deps))
    deps.clock.advance(minutes=30)  # type: ignore[attr-defined]

    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)

    sent = flows.mail_everything(deps)[before:]
    assert _subject_lines(sent) == [f"Has recogido el resto de tu pedido {order.order_id}"]
    assert "Has recogido el resto de tu pedido." in _parts(sent[0])[2]


def _one_email_tells_the_end(deps: Deps, order_id: str, before: int, rest: str) -> str:
    """Since ``before``, one email (not "delivered"), telling what reached the customer
    (``rest``), the return window and the survey link, as the delivered email would
    have; its subject."""
    sent = flows.mail_everything(deps)
    subjects = _subject_lines(sent[before:])
    assert len(subjects) == 1 and "entregado" not in subjects[0], subjects
    text, html = _parts(sent[-1])[2], _parts(sent[-1])[1]
    assert rest in text
    assert f"tienes {deps.settings.return_window_days} días para devolverlo" in text
    link = survey_links.survey_url(order_id, deps)
    assert link in text and f'href="{link}"' in html
    return subjects[0]


PICKUP_ONLY = [
    {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "pickup", "location_id": "ST-MADRID"}
]


def _pickup_ready(deps: Deps, **overrides: Any) -> tuple[Order, Fulfillment, str]:
    """A pick-up order at Madrid made ready (its dispatch ran): the order as placed, its
    pick-up, and the pick-up code."""
    order = flows.reserved(deps, lines=PICKUP_ONLY, shipping_address=None, **overrides)
    (pickup,) = order.fulfillments
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.dispatch_fulfillment(step, deps)
    code = deps.store.get_order(order.order_id).fulfillment(pickup.fulfillment_id).pickup_code
    assert code is not None
    return order, pickup, code


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        (
            "es",
            "Puedes recogerlo desde el 9 mar 2026, 10:00, cuando abre la tienda, "
            "hasta el 12 mar 2026, 21:00.",
        ),
        (
            "en",
            "You can collect it from 9 Mar 2026, 10:00, when the store opens, "
            "until 12 Mar 2026, 21:00.",
        ),
    ],
)
def test_a_pick_up_ready_while_its_store_is_shut_says_from_when(
    deps: Deps, locale: str, says: str
) -> None:
    # Ready on a Saturday night (22:30 in Madrid): the store opens on Monday, and the
    # window's three days are counted from then, to closing time.
    deps.clock.now = datetime(2026, 3, 7, 21, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    customer = flows.body()["customer"] | {"locale": locale}
    _, _, code = _pickup_ready(deps, customer=customer)
    (ready,) = (m for m in flows.mail_everything(deps) if code in m["parts"])
    text, html = _parts(ready)[2], _parts(ready)[1]
    assert says in text
    assert says in html


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("es", "listo para recoger en Tienda Madrid Centro (Calle de Preciados 21, 28013 Madrid)."),
        ("en", "ready for pick-up at Tienda Madrid Centro (Calle de Preciados 21, 28013 Madrid)."),
    ],
)
def test_the_pick_up_email_says_the_store_s_street(deps: Deps, locale: str, says: str) -> None:
    # A customer going to the store is told where it is, not only its name.
    customer = flows.body()["customer"] | {"locale": locale}
    _, _, code = _pickup_ready(deps, customer=customer)
    (ready,) = (m for m in flows.mail_everything(deps) if code in m["parts"])
    assert says in _parts(ready)[2]


def test_a_customer_with_only_a_phone_is_texted_the_pick_up_code_once(deps: Deps) -> None:
    # Found by a probe: a kiosk customer who gave a phone heard nothing, not even the
    # pick-up code, and the pick-up lapsed with nobody told.
    order, _, code = _pickup_ready(
        deps, channel="kiosk", store_id="ST-MADRID", customer={"phone": "+34 655 123 123"}
    )

    assert flows.mail_everything(deps) == []
    assert isinstance(deps.texter, Outgoing)
    texts = [t for t in deps.texter.sent if t["to"] == "+34655123123"]
    assert [("confirmado" in t["parts"], code in t["parts"]) for t in texts] == [
        (True, False),
        (False, True),
    ]
    assert tracking_url(order.order_id, deps) in texts[1]["parts"]
    flows.mail_everything(deps)  # every event delivered again
    assert len([t for t in deps.texter.sent if t["to"] == "+34655123123"]) == 2
    assert order.customer_id is not None
    kinds = {
        i["type"] for i in deps.customers.records(order.customer_id, CustomerRecord.INTERACTIONS)[0]
    }
    assert kinds == {"sms"}


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        (PICKUP_ONLY, "no recogiste a tiempo tu pedido {order} en Tienda"),
        (flows.MIXED, "no recogiste a tiempo lo que te esperaba en Tienda"),
    ],
    ids=["pick-up-only", "mixed"],
)
def test_a_pick_up_not_collected_is_texted_with_its_order_and_what_waited(
    deps: Deps, lines: list[dict[str, Any]], says: str
) -> None:
    # Probe 221: "no recogiste a tiempo tu pedido en Tienda Valencia Ruzafa; no se te
    # cobrará (12,00 €)" named no order, and on a mixed order the parcel was charged.
    order = flows.shipped(deps, lines=lines, customer={"phone": "+34 655 123 124"})
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)

    fulfillment_steps.handle_fulfillment_timeout(step, deps)

    flows.mail_everything(deps)
    assert isinstance(deps.texter, Outgoing)
    (text,) = [t["parts"] for t in deps.texter.sent if "recogiste" in t["parts"]]
    assert says.format(order=order.order_id) in text
    assert order.order_id in text
    if lines is flows.MIXED:
        assert "1 × Camiseta negra M" in text, text


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("es", "Desde el 9 mar 2026, 10:00, cuando abre la tienda, hasta el 12 mar 2026, 21:00."),
        ("en", "From 9 Mar 2026, 10:00, when the store opens, until 12 Mar 2026, 21:00."),
    ],
)
def test_a_pick_up_ready_while_its_store_is_shut_is_texted_from_when(
    deps: Deps, locale: str, says: str
) -> None:
    # Probe 209: the email and the page said "when the store opens", the text did not.
    deps.clock.now = datetime(2026, 3, 7, 21, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    _, _, code = _pickup_ready(
        deps,
        channel="kiosk",
        store_id="ST-MADRID",
        customer={"phone": "+34 655 123 124", "locale": locale},
    )

    flows.mail_everything(deps)
    assert isinstance(deps.texter, Outgoing)
    (ready,) = [t["parts"] for t in deps.texter.sent if code in t["parts"]]
    assert says in ready


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        ("es", "Puedes pagar de nuevo desde la página de tu pedido hasta el "),
        ("en", "You can pay again from your order's page until "),
    ],
)
def test_a_declined_card_is_texted_with_the_way_to_pay_again(
    deps: Deps, locale: str, says: str
) -> None:
    # Probe 213: the text said the order could not be completed, not that it could still
    # be paid, nor until when; the email says both.
    order = flows.declined(deps, customer={"phone": "+34 655 123 126", "locale": locale})

    flows.mail_everything(deps)
    assert isinstance(deps.texter, Outgoing)
    (told,) = [t["parts"] for t in deps.texter.sent if t["to"] == "+34655123126"]
    assert says in told
    assert told.index(says) < told.index(tracking_url(order.order_id, deps))


def test_a_customer_with_only_a_phone_is_texted_a_late_parcel_and_its_loss_and_refund(
    deps: Deps,
) -> None:
    # Found by a probe: a web order with only a phone became LOST and was refunded, and the
    # customer's only text was the confirmation. What goes wrong is told, once.
    order = flows.shipped(deps, customer={"phone": "+34 655 123 125"})
    (parcel,) = order.fulfillments
    assert sla.record_breach(order.order_id, parcel.fulfillment_id, deps)
    lost = lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)

    assert flows.mail_everything(deps) == []
    assert isinstance(deps.texter, Outgoing)
    texts = [t["parts"] for t in deps.texter.sent if t["to"] == "+34655123125"]
    refunded = Wording.for_order(lost).money(lost.payment.refunded)
    assert [("confirmado" in t, "plazo prometido" in t, "perdido" in t) for t in texts] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert refunded in texts[2] and lost.payment.refunded.amount == lost.total.amount
    assert all(tracking_url(order.order_id, deps) in t for t in texts)
    flows.mail_everything(deps)  # every event delivered again: no second text
    assert len([t for t in deps.texter.sent if t["to"] == "+34655123125"]) == 3


def test_a_customer_with_an_email_is_not_texted(deps: Deps) -> None:
    flows.reserved(deps, customer={"email": "ana@example.com", "phone": "+34 655 123 124"})

    assert flows.mail_everything(deps) != []
    assert isinstance(deps.texter, Outgoing)
    assert [t for t in deps.texter.sent if t["to"] == "+34655123124"] == []


def test_a_pick_up_only_confirmation_promises_to_write_when_it_is_ready(deps: Deps) -> None:
    # Found by a probe: it promised to write "when it leaves".
    flows.reserved(deps, lines=PICKUP_ONLY, shipping_address=None)

    (confirmation,) = flows.mail_everything(deps)

    text = _parts(confirmation)[2]
    assert "cuando esté listo para recoger" in text and "cuando salga" not in text


def _subjects_to(sent: list[dict[str, str]], address: str) -> list[str]:
    return _subject_lines([mail for mail in sent if mail["to"] == address])


def test_an_order_placed_by_the_customers_id_alone_mails_their_vouched_address(
    deps: Deps,
) -> None:
    # Found by a probe: a logged-in shopper (or a kiosk's loyalty card) gave no address
    # with the order, and heard nothing of it, not even its confirmation.
    first = flows.place(deps, customer={"email": "lola@example.com"})  # founds the record
    assert first.customer_id is not None

    order = flows.reserved(deps, customer={"customer_id": first.customer_id})

    assert not order.customer_unvouched and order.contact.email is None
    assert f"Pedido {order.order_id} confirmado" in _subjects_to(
        flows.mail_everything(deps), "lola@example.com"
    )


def test_an_order_only_an_attached_identifier_brought_mails_nobody(deps: Deps) -> None:
    # Anyone may name a loyalty card next to someone's email: whoever then uses the card
    # must not have their order (its pick-up code) told to that email.
    first = flows.place(deps, customer={"email": "owner@example.com", "loyalty_id": "LL1"})

    order = flows.reserved(deps, customer={"loyalty_id": "LL1"})

    assert order.customer_id == first.customer_id and order.customer_unvouched
    sent = flows.mail_everything(deps)
    assert not [s for s in _subject_lines(sent) if order.order_id in s]


def test_a_parcel_of_an_order_in_several_parts_says_what_it_holds(deps: Deps) -> None:
    # Found by the emails probe: each parcel's email listed the whole order, the two
    # differing in their tracking numbers only.
    order = flows.shipped(deps, lines=flows.MIXED)

    shipped = [m for m in flows.mail_everything(deps) if "ha salido con" in _subject_lines([m])[0]]

    (text,) = [_parts(mail)[2] for mail in shipped]
    name = order.lines[0].name
    assert f"En este paquete: 1 × {name}. El resto de tu pedido va aparte." in text
    alone = flows.shipped(deps)
    alone_text = [
        _parts(m)[2]
        for m in flows.mail_everything(deps)
        if f"{alone.order_id} ha salido" in m["parts"]
    ]
    assert alone_text and "En este paquete" not in alone_text[0]


def test_a_mixed_orders_pickup_emails_say_what_waits_there(deps: Deps) -> None:
    # Probe 164: a mixed order's "ready at Barcelona" email showed the whole order's
    # lines (the cap waiting in Madrid, the belt shipped) and not which waited there; so
    # did its "not collected" email.
    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "fulfillment": "ship"},
        {"sku": "CAP-NAVY", "quantity": 2, "fulfillment": "pickup", "location_id": "ST-MADRID"},
    ]
    order = flows.shipped(deps, lines=lines)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)

    texts = {_subject_lines([m])[0]: _parts(m)[2] for m in flows.mail_everything(deps)}

    (ready,) = [text for subject, text in texts.items() if "te espera en" in subject]
    (gone,) = [text for subject, text in texts.items() if "se ha cancelado" in subject]
    (parcel,) = [text for subject, text in texts.items() if "ha salido con" in subject]
    assert "Te espera allí: 2 × Gorra azul marino. El resto de tu pedido va aparte." in ready
    assert "en Tienda Madrid Centro (2 × Gorra azul marino)." in gone
    assert "En este paquete: 1 × Camiseta negra M." in parcel


def test_the_late_delivery_email_names_its_parcel(deps: Deps) -> None:
    # Found by the emails probe: two parcels late, two identical emails naming neither.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, _ = _parcel_and_pickup(order)
    assert parcel.shipment is not None
    assert sla.record_breach(order.order_id, parcel.fulfillment_id, deps)

    late = [m for m in flows.mail_everything(deps) if "con retraso" in _subject_lines([m])[0]]

    (text,) = [_parts(mail)[2] for mail in late]
    assert f"(paquete Rapido {parcel.shipment.tracking_number})" in text


def test_a_collected_pick_up_is_told_as_collected_not_delivered(deps: Deps) -> None:
    # Found by the emails probe: "your order was delivered" for one picked up at a store.
    order, pickup, code = _pickup_ready(deps)
    pickups.collect(pickup.fulfillment_id, code, deps)

    last = flows.mail_everything(deps)[-1]

    assert _subject_lines([last]) == [f"Has recogido tu pedido {order.order_id}"]
    assert _parts(last)[2].count("Has recogido tu pedido.") == 1


def test_a_pick_up_returned_before_its_email_went_is_still_told_as_collected(
    deps: Deps,
) -> None:
    # Probe 212: collected and returned in store at once, on a busy stack, the email
    # (worked out when its event came) read "your order was delivered".
    order, pickup, code = _pickup_ready(deps)
    pickups.collect(pickup.fulfillment_id, code, deps)
    asked = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}],
            "reason": "Talla",
            "channel": "store",
            "location_id": "ST-MADRID",
        }
    )
    returns.receive_return(
        returns.request_return(order.order_id, asked, deps).return_id, "ST-MADRID", deps
    )

    subjects = _subject_lines(flows.mail_everything(deps))

    assert f"Has recogido tu pedido {order.order_id}" in subjects
    assert not [s for s in subjects if "entregado" in s], subjects


def test_an_email_the_order_has_moved_past_is_not_sent_when_its_event_comes_late(
    deps: Deps,
) -> None:
    # SNS keeps no order, and a failed delivery comes back minutes later (found by a
    # review): "confirmed" after "cancelled", or "your card was declined" after the
    # customer paid again, would contradict what they were told last.
    cancelled = flows.reserved(deps)
    ordering.cancel_order(cancelled.order_id, deps)
    declined = flows.place(deps, payment={"method": "card", "token": "tok_declined"})
    with pytest.raises(PaymentDeclined):
        payment_steps.authorize_payment(OrderStep(order_id=declined.order_id), deps)
    payment_steps.reject_order(
        RejectOrderInput(order_id=declined.order_id, error="PaymentDeclined"), deps
    )
    self_service.pay_again(declined.order_id, "tok_visa", deps)
    payment_steps.authorize_payment(OrderStep(order_id=declined.order_id), deps)

    sent = flows.mail_everything(deps)

    to_cancelled = [m for m in sent if cancelled.order_id in m["parts"]]
    assert _subject_lines(to_cancelled) == [f"Tu pedido {cancelled.order_id} ha sido cancelado"]
    assert not [m for m in sent if "rechazada" in m["parts"]]


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("kind", sorted(notify.TEXTED))
def test_every_kind_a_phone_is_texted_has_its_own_words(locale: str, kind: EmailKind) -> None:
    facts = dict.fromkeys(
        (
            "total",
            "location_name",
            "pickup_code",
            "pickup_deadline",
            "collect_from",
            "voided",
            "reason",
            "promised_by",
            "new_estimate",
            "carrier",
            "tracking_number",
            "part_list",
        ),
        "…",
    )
    text = render(
        f"texts/order.{locale}.txt.j2",
        text=kind.value,
        order={"order_id": "ord_1"},
        event_amount="12,00 €",
        refunds_nothing=False,
        cost_nothing=False,
        voids_nothing=False,
        pay_until="",
        pay_again_closed=False,
        tracking_url="https://orquesta.example/t/1",
        **facts,
    ).strip()
    assert text.startswith("Orquesta: ") and text.endswith(" https://orquesta.example/t/1")
    assert len(text) > len("Orquesta:  https://orquesta.example/t/1") + 20, text


def test_the_pick_up_ready_html_keeps_the_code_on_its_own_line(deps: Deps) -> None:
    # A probe: the HTML part ran "…Gràcia. Pick-up code: 811200 You can collect it…" into
    # one paragraph, as the text part's single line breaks collapsed.
    _, _, code = _pickup_ready(deps)

    ready = [m for m in flows.mail_everything(deps) if f"Código de recogida: {code}" in m["parts"]]

    (html,) = [_parts(mail)[1] for mail in ready]
    assert f"<br>Código de recogida: {code}<br>Puedes recogerlo hasta el " in html


def test_the_shipped_email_links_the_carrier_s_tracking_page_and_nothing_else(
    deps: Deps,
) -> None:
    # A probe: the carrier's tracking URL was plain text in the HTML part. Whoever places
    # an order writes its name: that stays text, never a link the retailer's email offers.
    name = "Ana https://refunds.evil.example www.evil.example"
    order = flows.shipped(deps, customer=flows.body()["customer"] | {"name": name})
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    url = parcel.shipment.tracking_url

    sent = [m for m in flows.mail_everything(deps) if parcel.shipment.tracking_number in m["parts"]]

    (html,) = [_parts(mail)[1] for mail in sent]
    assert f'<a href="{url}" rel="noopener">{url}</a>)' in html
    assert "https://refunds.evil.example www.evil.example" in html
    assert 'evil.example"' not in html and "evil.example</a>" not in html


def test_a_cancellation_before_the_card_was_authorised_says_nothing_was_held(
    deps: Deps,
) -> None:
    # Re-probe 171: an order cancelled while its authorisation was still being tried
    # (the gateway down) was told "we are releasing the amount held on your card".
    order = flows.place(deps, customer=flows.body()["customer"] | {"locale": "en"})
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.payment.status.value == "CANCELLED"

    (mail,) = [m for m in flows.mail_everything(deps) if "cancelled" in _parts(m)[0]]

    text = _parts(mail)[2]
    assert "Nothing was charged, and nothing was held on your card." in text
    assert "releasing" not in text


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("en", "Nothing was charged, and nothing was held on your card."),
        ("es", "No se te ha cobrado nada, ni se ha retenido nada en tu tarjeta."),
    ],
)
def test_a_declined_order_cancelled_by_staff_says_nothing_was_held(
    deps: Deps, locale: str, said: str
) -> None:
    # Re-probe 193: its card was declined, nothing authorised, and the cancellation said
    # "we are releasing the amount held on your card".
    order = flows.declined(deps, customer=flows.body()["customer"] | {"locale": locale})
    ordering.cancel_order(order.order_id, deps)

    sent = flows.mail_everything(deps)
    (mail,) = [m for m in sent if "cancel" in _parts(m)[0] and order.order_id in m["parts"]]

    text = _parts(mail)[2]
    assert said in text
    assert "releasing" not in text and "liberamos" not in text


def test_a_cancellation_whose_void_is_still_owed_says_what_will_not_be_charged(
    deps: Deps,
) -> None:
    # A probe (tok_void_flaky): the email said the hold "is released" while the void waited
    # for the sweeper, and had no "not charged" row; others have it.
    order = flows.place(deps, customer=flows.body()["customer"] | {"locale": "en"})
    payment_steps.authorize_payment(OrderStep(order_id=order.order_id), deps)
    gateway = deps.payments
    assert isinstance(gateway, FakeGateway)
    gateway.unavailable = 1
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert [op.type.value for op in cancelled.payment.owed()] == ["void"]

    (mail,) = [m for m in flows.mail_everything(deps) if "cancelled" in _parts(m)[0]]

    text = _parts(mail)[2]
    total = Wording.for_order(cancelled).money(cancelled.total)
    assert "we are releasing the amount held on your card" in text
    assert f"Not charged (not delivered): {total}" in text


@pytest.mark.parametrize("notifications", ["essential", "all"])
def test_a_parcel_delivered_while_the_pick_up_waits_is_told_once(
    deps: Deps, notifications: str
) -> None:
    # Probe 180: a mixed order's parcel arrived while its pick-up waited; the order went
    # READY_FOR_PICKUP and the customer heard nothing of the parcel, under either choice.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    assert parcel.shipment is not None and pickup.pickup_code is not None
    assert order.customer_id is not None
    assert deps.customers.set_notifications(order.customer_id, notifications)
    before = len(flows.mail_everything(deps))

    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)

    sent = list(flows.mail_everything(deps))
    assert _subject_lines(sent[before:]) == [
        f"Un paquete de tu pedido {order.order_id} ha sido entregado"
    ]
    text = _parts(sent[-1])[2]
    assert f"Tu paquete (Rapido {parcel.shipment.tracking_number}) ha sido entregado." in text
    assert "Contenía: 1 × Camiseta negra M." in text
    # The carrier's retry tells nothing more; collecting the pick-up is the order's delivery.
    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
    assert _subject_lines(flows.mail_everything(deps)[len(sent) :]) == []
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    last = flows.mail_everything(deps)[len(sent) :]
    assert _subject_lines(last) == [f"Tu pedido {order.order_id} ha sido entregado"]


def test_the_last_parcel_delivered_sends_only_the_delivered_email(deps: Deps) -> None:
    # The order's own delivery tells its last parcel: one email, not two.
    order = flows.shipped(deps)
    (parcel,) = order.fulfillments
    assert parcel.shipment is not None
    before = len(flows.mail_everything(deps))

    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)

    sent = flows.mail_everything(deps)[before:]
    assert _subject_lines(sent) == [f"Tu pedido {order.order_id} ha sido entregado"]


def test_an_order_made_delivered_by_its_uncollected_pick_up_is_not_told_it_was_delivered(
    deps: Deps,
) -> None:
    # Probe 185: the parcel delivered, the pick-up left to expire; "your order was
    # delivered" came in the same second as "your pick-up was cancelled". The cancel's
    # email tells the end: the return window and the survey.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    assert parcel.shipment is not None
    flows.carrier_event(deps, parcel.shipment.carrier, parcel.shipment.tracking_number)
    before = len(flows.mail_everything(deps))
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)

    fulfillment_steps.handle_fulfillment_timeout(step, deps)

    assert deps.store.get_order(order.order_id).status.value == "DELIVERED"
    subject = _one_email_tells_the_end(
        deps, order.order_id, before, "El resto de tu pedido ha sido entregado"
    )
    assert "se ha cancelado" in subject


def test_a_pick_up_not_collected_while_its_parcel_travels_says_nothing_of_an_end(
    deps: Deps,
) -> None:
    order = flows.shipped(deps, lines=flows.MIXED)
    _parcel, pickup = _parcel_and_pickup(order)
    before = len(flows.mail_everything(deps))
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)

    fulfillment_steps.handle_fulfillment_timeout(step, deps)

    sent = flows.mail_everything(deps)[before:]
    assert len(sent) == 1
    text = _parts(sent[-1])[2]
    assert "El resto de tu pedido sigue su curso" in text
    assert "días para devolverlo" not in text


def test_a_parcel_told_delivered_after_its_pick_up_lapsed_is_told_delivered(
    deps: Deps,
) -> None:
    # Probe 217: the pick-up lapsed ("the rest of your order is on its way"), then the
    # carrier told the parcel's delivery at a moment before the lapse; the order's
    # DELIVERED entry took the lapse's moment, read as made by it, and no email told
    # the delivery, the return window or the survey.
    order = flows.shipped(deps, lines=flows.MIXED)
    parcel, pickup = _parcel_and_pickup(order)
    assert parcel.shipment is not None
    delivered_at = deps.clock()
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(minutes=5)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)
    before = len(flows.mail_everything(deps))
    deps.clock.advance(minutes=5)

    flows.carrier_event(
        deps,
        parcel.shipment.carrier,
        parcel.shipment.tracking_number,
        occurred_at=delivered_at.isoformat(),
    )

    assert deps.store.get_order(order.order_id).status.value == "DELIVERED"
    sent = flows.mail_everything(deps)[before:]
    # The lapsed pick-up never reached the customer: "the rest of your order" (probe 234).
    assert _subject_lines(sent) == [f"El resto de tu pedido {order.order_id} ha sido entregado"]
    text = _parts(sent[-1])[2]
    assert f"{deps.settings.return_window_days} días" in text
    assert survey_links.survey_url(order.order_id, deps) in text


@pytest.mark.parametrize(
    ("locale", "subject"),
    [("es", "Nuevo enlace para seguir tu pedido"), ("en", "A new link to follow your order")],
)
def test_revoked_links_are_followed_by_an_email_with_the_new_one(
    deps: Deps, locale: str, subject: str
) -> None:
    # Probe 199: ops revoked a leaked link and the customer was told nothing; every link
    # they held was dead, and the dead link's page sent them back to their latest email.
    order = flows.delivered(deps, customer=flows.body()["customer"] | {"locale": locale})
    old = tracking_url(order.order_id, deps)
    before = len(flows.mail_everything(deps))

    new = revoke_tracking_links(order.order_id, deps)
    sent = flows.mail_everything(deps)[before:]

    assert new != old
    (told,) = sent
    title, html, text = _parts(told)
    assert title == f"{subject} {order.order_id}"
    assert new in text and new in html
    assert old not in told["parts"]
    # Each revoke is told once, however often its event is delivered; a second revoke
    # sends the link that replaced it.
    assert len(flows.mail_everything(deps)) == before + 1
    newer = revoke_tracking_links(order.order_id, deps)
    (again,) = flows.mail_everything(deps)[before + 1 :]
    assert newer in again["parts"] and new not in again["parts"]


def test_a_customer_with_only_a_phone_is_texted_the_renewed_link(deps: Deps) -> None:
    order, _, _ = _pickup_ready(
        deps, channel="kiosk", store_id="ST-MADRID", customer={"phone": "+34 655 123 126"}
    )

    new = revoke_tracking_links(order.order_id, deps)
    flows.mail_everything(deps)

    assert isinstance(deps.texter, Outgoing)
    (last,) = [t for t in deps.texter.sent if t["to"] == "+34655123126"][-1:]
    assert "ha cambiado" in last["parts"] and last["parts"].rstrip().endswith(new)


@pytest.mark.parametrize(
    ("locale", "says"),
    [("es", "no hay nada que reembolsar"), ("en", "there is nothing to refund")],
)
def test_a_lost_parcel_that_cost_nothing_is_texted_without_a_refund(locale: str, says: str) -> None:
    facts = {"carrier": "Rapido", "tracking_number": "RP1", "event_amount": "0,00 €"}
    text = render(
        f"texts/order.{locale}.txt.j2",
        text="parcel_lost",
        order={"order_id": "ord_1"},
        cost_nothing=True,
        tracking_url="https://orquesta.example/t/1",
        **facts,
    )
    assert says in text and "0,00" not in text


@pytest.mark.parametrize(
    ("locale", "footer"),
    [
        ("es", "Orquesta · Gracias por comprar con nosotros. ¿Dudas? Escríbenos desde la página"),
        ("en", "Orquesta · Thank you for shopping with us. Any doubt? Write to us from your order"),
    ],
)
def test_an_order_email_s_text_part_ends_with_the_footer_its_html_shows(
    deps: Deps, locale: str, footer: str
) -> None:
    # Probe 213: the HTML thanked the customer and said where to write; the text part
    # ended at "Orquesta".
    customer = flows.body()["customer"] | {"locale": locale}
    order = flows.shipped(deps, customer=customer)
    assert order.customer_id is not None
    tickets.open_ticket(order.customer_id, "question", "Talla", "¿M?", order.order_id, "web", deps)

    sent = [*flows.mail_everything(deps)]
    sent_tickets = flows.mail_ticket_events(deps)
    assert sent and sent_tickets
    for mail in sent:
        subject, html, text = _parts(mail)
        assert footer in html, subject
        assert text.rstrip().splitlines()[-1].startswith(footer), subject
    (ticket,) = sent_tickets
    assert ticket.rstrip().splitlines()[-1].startswith(footer)
