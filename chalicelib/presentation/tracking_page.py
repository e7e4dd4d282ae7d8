"""The customer's tracking page as the template reads it: every word in the order's one
language, dates and times local to the destination, money with Babel, store names instead
of ids, the pick-up code as a QR code, and only what is the customer's (no ops notes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from chalicelib.domain.catalog import Location
from chalicelib.domain.customer_actions import CustomerAction, CustomerActions
from chalicelib.domain.fulfillments import FulfillmentStatus, SlaStatus
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.promises import late_estimate
from chalicelib.domain.regions import Destination
from chalicelib.domain.returns import OrderReturn, ReturnStatus
from chalicelib.domain.settlement import ENDED, return_refund_status
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.presentation.price_breakdown import breakdown_rows, settled_rows
from chalicelib.presentation.qr import pickup_qr_svg
from chalicelib.presentation.track_forms import (
    FormOutcome,
    Reach,
    problem_words,
    reach_of,
    written_enough,
)
from chalicelib.presentation.wording import (
    Language,
    TimelineEntry,
    Wording,
    action_word,
    carrier_event_word,
    fulfillment_type_word,
    return_channel_word,
    return_status_word,
    sla_status_word,
)

# The page's own words, per language; the codes' words are in ``wording``.
TEXT: dict[Language, dict[str, str]] = {
    Language.ES: {
        "title": "Tu pedido",
        "order": "Pedido",
        "placed": "Realizado el",
        "articles": "Artículos",
        "total": "Total",
        "price_breakdown": "Desglose del precio",
        "timeline": "Seguimiento",
        "deliveries": "Entregas",
        "none_yet": "Aún estamos preparando tu pedido.",
        "none_ever": "No se preparará ninguna entrega de este pedido.",
        "due_by": "Entrega prevista",
        "partly_delivered": "Entregado en parte: un envío se perdió",
        "partly_delivered_many": "Entregado en parte: se perdieron {count} envíos",
        "rate": "Valora tu pedido",
        "rated": "Gracias por tu valoración: {score} de 5.",
        "new_estimate": "Nueva estimación",
        "pickup_at": "Recógelo en",
        "pickup_code": "Código de recogida",
        "pickup_until": "Puedes recogerlo hasta el",
        "pickup_from": "Puedes recogerlo desde el {start}, cuando abre la tienda, hasta el {end}",
        "show_code": "Enseña este código en la tienda.",
        "returns": "Devoluciones",
        "unit": "unidad",
        "units": "unidades",
        "actions": "¿Necesitas algo?",
        "quantity": "Cantidad",
        "max": "máx.",
        "reason": "Motivo",
        "channel": "Cómo lo devuelves",
        "store": "Tienda",
        "subject": "Asunto",
        "description": "Cuéntanos",
        "ticket_type": "Tipo",
        "question": "Consulta",
        "complaint": "Reclamación",
        "card": "Nueva tarjeta (token)",
        "pay_until": "Puedes pagar hasta el",
        "pay_out_of_stock": "Ya no se puede pagar este pedido: algún artículo se ha agotado "
        "desde entonces. Puedes hacer un pedido nuevo.",
        "pay_price_gone": "Ya no se puede pagar este pedido a su precio: su cupón o su "
        "promoción ya no está disponible para él (se agotó, o ese precio se dio a otro "
        "pedido). Puedes hacer un pedido nuevo.",
        "pay_tries_used": "Ya no se puede pagar este pedido: se han rechazado varias "
        "tarjetas más. Puedes hacer un pedido nuevo.",
        "tickets_paused": "{written_enough} Podrás escribirnos de nuevo a partir del",
        "return_until": "Puedes devolverlo hasta el",
        "pay_ended": "El plazo para pagar de nuevo este pedido terminó el {when}. Para "
        "seguir, haz un pedido nuevo.",
        "return_ended": "El plazo para devolver este pedido terminó el {when}.",
        "returns_full": "Este pedido ya tiene todas las devoluciones que admite. Para "
        "devolver el resto, escríbenos.",
        "returns_full_at_store": "Este pedido ya tiene todas las devoluciones que admite. "
        "Para devolver el resto, pregúntanos en cualquiera de nuestras tiendas.",
        "send_to": "Envíalo a {address}, con el número de devolución {return_id} dentro.",
        "cancel_confirm": "Sí, cancelar el pedido",
        "send": "Enviar",
        "sent": "Hecho. Actualizando…",
        "failed": "No se pudo completar",
    },
    Language.EN: {
        "title": "Your order",
        "order": "Order",
        "placed": "Placed on",
        "articles": "Items",
        "total": "Total",
        "price_breakdown": "Price breakdown",
        "timeline": "Progress",
        "deliveries": "Deliveries",
        "none_yet": "We are still preparing your order.",
        "none_ever": "Nothing will be prepared for this order.",
        "due_by": "Expected by",
        "partly_delivered": "Partly delivered: a parcel was lost",
        "partly_delivered_many": "Partly delivered: {count} parcels were lost",
        "rate": "Rate your order",
        "rated": "Thank you for your rating: {score} out of 5.",
        "new_estimate": "New estimate",
        "pickup_at": "Collect it at",
        "pickup_code": "Pick-up code",
        "pickup_until": "You can collect it until",
        "pickup_from": "You can collect it from {start}, when the store opens, until {end}",
        "show_code": "Show this code at the store.",
        "returns": "Returns",
        "unit": "unit",
        "units": "units",
        "actions": "Need anything?",
        "quantity": "Quantity",
        "max": "max",
        "reason": "Reason",
        "channel": "How you send it back",
        "store": "Store",
        "subject": "Subject",
        "description": "Tell us",
        "ticket_type": "Type",
        "question": "Question",
        "complaint": "Complaint",
        "card": "New card (token)",
        "pay_until": "You can pay until",
        "pay_out_of_stock": "This order can no longer be paid: an item has sold out since. "
        "You can place a new order.",
        "pay_price_gone": "This order can no longer be paid at its price: its coupon or "
        "promotion is no longer available to it (used up, or that price was given to another "
        "order). You can place a new order.",
        "pay_tries_used": "This order can no longer be paid: several more cards were "
        "declined. You can place a new order.",
        "tickets_paused": "{written_enough} You can write again from",
        "return_until": "You can return it until",
        "pay_ended": "The time to pay again for this order ended on {when}. A new order "
        "is the way on.",
        "return_ended": "The return window for this order closed on {when}.",
        "returns_full": "This order holds as many returns as it can take. To return the "
        "rest, write to us.",
        "returns_full_at_store": "This order holds as many returns as it can take. To return "
        "the rest, ask us in any of our stores.",
        "send_to": "Send it to {address}, with the return number {return_id} inside.",
        "cancel_confirm": "Yes, cancel the order",
        "send": "Send",
        "sent": "Done. Refreshing…",
        "failed": "That did not work",
    },
}
# Where a customer with nothing to do on the page may ask: by replying to our emails, or,
# with no email given (a till receipt, an order by phone alone), in a store (probe 214:
# a customer who left only a phone read "reply to any of our emails").
NO_ACTIONS_WORDS: dict[Language, dict[Reach, str]] = {
    Language.ES: {
        Reach.EMAIL: "Si tienes dudas, escríbenos respondiendo a cualquiera de nuestros correos.",
        Reach.PHONE: "Si tienes dudas, pregúntanos en cualquiera de nuestras tiendas.",
        Reach.NONE: "Si tienes dudas, pregúntanos en cualquiera de nuestras tiendas.",
    },
    Language.EN: {
        Reach.EMAIL: "Any doubt? Reply to any of our emails.",
        Reach.PHONE: "Any doubt? Ask us in any of our stores.",
        Reach.NONE: "Any doubt? Ask us in any of our stores.",
    },
}


def _pickup_when(fulfillment: Any, at_store: Wording, now: datetime) -> str:
    """Until when the pick-up waits, and from when, while the store it waits in is shut."""
    until = at_store.when(fulfillment.pickup_deadline)
    start = fulfillment.collect_from
    if start is not None and start > now:
        return TEXT[at_store.language]["pickup_from"].format(start=at_store.when(start), end=until)
    return f"{TEXT[at_store.language]['pickup_until']} {until}"


def _sla_as_read(shipment: Any, status: str, out: bool, now: datetime) -> str:
    """The parcel's SLA ``status`` (the API's) as the customer reads it. The API says
    ``at_risk`` in the last fifth of the promised time, for ops to watch; the customer
    reads "on time" until the promise is missed (probe 234: every parcel read "may be
    late" all through its delivery day, with nothing wrong; a carrier's problem is said
    apart). Past its promise, in the grace before the breach, "may be late" beside a day
    already gone is not true either: the customer reads that it is late."""
    if out and status == SlaStatus.AT_RISK:
        return SlaStatus.BREACHED if now > shipment.promised_by else SlaStatus.ON_TIME
    return status


def _carrier_news(shipment: Any, w: Wording) -> tuple[str, str] | None:
    """``(event type, words)`` for what the carrier last reported on a parcel still on its
    way, when the customer should read it on the page: a problem (its ticket's email sends
    the customer here; a probe read "On time" there) or that it is out for delivery."""
    last = shipment.last_event()
    if last is None:
        return None
    moment = datetime.fromisoformat(last["occurred_at"])
    words = carrier_event_word(last.get("type", ""), w.language, w.when(moment))
    return (last["type"], words) if words else None


def _fulfillment(
    fulfillment: Any,
    contents: str,
    w: Wording,
    names: Mapping[str, str],
    now: datetime,
    postal_codes: Mapping[str, str],
    to: Destination | None,
    streets: Mapping[str, str],
    cancelled_whole: bool = False,
) -> dict[str, Any]:
    """One part as the page lists it; ``cancelled_whole``: the order was cancelled, which
    its headline says why (each part keeps the request's reason, not who made it)."""
    shipment = fulfillment.shipment
    out = shipment is not None and not shipment.delivered_at and not shipment.lost_at
    ready = fulfillment.status.value == "READY_FOR_PICKUP" and fulfillment.pickup_code
    code_label = f"{TEXT[w.language]['pickup_code']} {fulfillment.pickup_code}"
    sla_status = str(shipment.sla(now)["status"]) if shipment else None
    news = _carrier_news(shipment, w) if out else None
    # "On time" beside a problem or a parcel already out for delivery says less than the
    # carrier's news; "may be late" and "late" still say something of their own.
    sla_shown = None if news and sla_status == SlaStatus.ON_TIME else sla_status
    return {
        "type": fulfillment_type_word(fulfillment.type, w.language),
        "place": names.get(fulfillment.location_id, ""),
        # What this part holds, of an order in several (probe 234: the page never said
        # which items waited at the store or were in the parcel lost; the emails did).
        "contents": contents,
        "status_code": fulfillment.status.value,
        # A part cancelled alone says why beside its status ("Cancelado · No se recogió a
        # tiempo"; probe 221: "Cancelado" alone); one cancelled with its order, as the
        # headline says (probe 223: "A petición tuya" under "En la tienda").
        "status": " · ".join(
            word
            for word in (
                w.fulfillment_status(fulfillment.status, fulfillment.type),
                w.reason(fulfillment.status_reason)
                if fulfillment.status is FulfillmentStatus.CANCELLED and not cancelled_whole
                else "",
            )
            if word
        ),
        # Carrier ids are lower-case codes ("rapido"); customers read a name.
        "carrier": shipment.carrier.title() if shipment else None,
        "tracking_number": shipment.tracking_number if shipment else None,
        "tracking_url": shipment.tracking_url if shipment else None,
        # A parcel delivered or declared lost is due no more; its status says what happened.
        "due_by": w.day(shipment.shown_promise) if out else None,
        "sla": (
            sla_status_word(_sla_as_read(shipment, sla_shown, out, now), w.language)
            if shipment and sla_shown
            else None
        ),
        "carrier_event": news[0] if news else None,
        "carrier_news": news[1] if news else None,
        # Late: the estimate the apology email gave (a probe: the page kept only the
        # promise missed while the email named a new date).
        "new_estimate": (
            w.date(late_estimate(shipment.shown_grace_end, to))
            if out and sla_status == SlaStatus.BREACHED
            else None
        ),
        "pickup_code": fulfillment.pickup_code if ready else None,
        # Where the store is, beside its name (a customer going there needs the street).
        "pickup_address": streets.get(fulfillment.location_id) if ready else None,
        # segno's SVG, built from our own code: safe to put in the page as it is.
        "pickup_qr": Markup(pickup_qr_svg(fulfillment.pickup_code, code_label)) if ready else None,
        # On the store's clock: the customer goes there.
        "pickup_when": _pickup_when(
            fulfillment, w.at(postal_codes.get(fulfillment.location_id)), now
        )
        if ready and fulfillment.pickup_deadline
        else None,
    }


def _return_row(
    order: Order,
    returned: OrderReturn,
    w: Wording,
    location_names: Mapping[str, str],
    locations: Sequence[Location],
) -> dict[str, Any]:
    """One return as the page lists it: what went back, how, where, and its refund once
    the gateway made it (a refund still owed is said to be on its way, with no amount).
    One by post not yet received says where to send it (a probe: it said nothing)."""
    names = {line.sku: line.name for line in order.lines}
    refund_status = return_refund_status(order, returned.return_id)
    refunded = returned.refund
    send_to = order.mail_return_address(returned, locations)
    nothing_charged = returned.status is ReturnStatus.RECEIVED and not (
        refunded is not None and refunded.amount
    )
    return {
        "status": return_status_word(
            "RECEIVED_REFUND_PENDING"
            if refund_status == "pending"
            # A re-probe: "Received and refunded" for a return that refunded 0.00.
            else "RECEIVED_NOTHING_CHARGED"
            if nothing_charged
            else returned.status,
            w.language,
        ),
        "channel": return_channel_word(returned.channel, w.language),
        "units": sum(line.quantity for line in returned.lines),
        "articles": ", ".join(dict.fromkeys(names.get(x.sku, x.sku) for x in returned.lines)),
        "place": location_names.get(returned.location_id or "", ""),
        "refund": (
            w.money(refunded)
            if refunded is not None and refunded.amount and refund_status == "refunded"
            else None
        ),
        "send_to": (
            TEXT[w.language]["send_to"].format(
                address=send_to.postal_address(), return_id=returned.return_id
            )
            if send_to
            else None
        ),
    }


def _headline(order: Order, w: Wording) -> tuple[str, bool]:
    """The status at the top of the page, and whether it is a problem. API.md has no order
    status for a lost parcel: an order whose every part was lost keeps SHIPPED, and one
    whose other parts arrived is DELIVERED; the page says what happened (probes: "Shipped"
    for a parcel lost and refunded, "Delivered" when only the pick-up was)."""
    kept = [f for f in order.fulfillments if f.status is not FulfillmentStatus.CANCELLED]
    lost = [f for f in kept if f.status is FulfillmentStatus.LOST]
    if lost and len(lost) == len(kept):
        return w.fulfillment_status("LOST"), True
    if lost and order.status is OrderStatus.DELIVERED:
        # A probe: two parcels lost read "a parcel was lost".
        if len(lost) > 1:
            return TEXT[w.language]["partly_delivered_many"].format(count=len(lost)), True
        return TEXT[w.language]["partly_delivered"], True
    return w.status(order.status), order.status in ENDED


def _timeline(order: Order, w: Wording) -> list[TimelineEntry]:
    """The order's steps, and each parcel lost on its way (and each pick-up not collected
    beside parts that reached the customer) in its place: API.md has no order status for a
    loss, so the history of an order whose only parcel was lost ends at
    SHIPPED (a probe: the page's progress ended "Enviado" under "Perdido por el
    transportista" at the top)."""
    part_ends: list[TimelineEntry] = []
    for part in order.fulfillments:
        lost_at = part.shipment.lost_at if part.shipment is not None else None
        if part.status is FulfillmentStatus.LOST and lost_at is not None:
            label = w.fulfillment_status(FulfillmentStatus.LOST)
            part_ends.append(
                TimelineEntry(status="LOST", label=label, at=lost_at, when=w.when(lost_at))
            )
        # Likewise a pick-up not collected beside parts that reached the customer: its
        # lapse made the order DELIVERED, and the page read "Entregado" at that moment
        # with "not collected" nowhere (probe 221).
        ended = part.cancelled_at
        if (
            part.status is FulfillmentStatus.CANCELLED
            and part.status_reason is StatusReason.NOT_COLLECTED
            and order.status is not OrderStatus.CANCELLED
            and ended is not None
        ):
            label = w.reason(StatusReason.NOT_COLLECTED)
            part_ends.append(
                TimelineEntry(status="NOT_COLLECTED", label=label, at=ended, when=w.when(ended))
            )
    causes = order.step_causes()
    # A part's own entry keeps the order's status: the page shows each part apart.
    shown = [
        (e.status, e.at, cause)
        for e, cause in zip(order.history, causes, strict=True)
        if e.changes_status
    ]
    # A rejection for lack of stock names what ran out, as the top of the page does.
    steps = [
        step.model_copy(update={"reason": w.order_reason(order)})
        if cause == StatusReason.OUT_OF_STOCK.value
        else step
        for step, (_, _, cause) in zip(w.timeline(shown), shown, strict=True)
    ]
    # A part's end just before the order's DELIVERED of the same moment: the last parcel
    # lost makes a mixed order DELIVERED at that moment, and the page read "Entregado"
    # then "Perdido" (a probe); after the other steps of that moment (the hand-over a
    # lapse passes on the way).
    rank = {"DELIVERED": 2}
    ends = [(step.at, 1, step) for step in part_ends]
    ranked = ends + [(step.at, rank.get(step.status, 0), step) for step in steps]
    return [step for _, _, step in sorted(ranked, key=lambda item: item[:2])]


def tracking_page(
    order: Order,
    actions: CustomerActions,
    location_names: Mapping[str, str],
    now: datetime,
    pickup_stores: Mapping[str, str],
    postal_codes: Mapping[str, str] | None = None,
    locations: Sequence[Location] = (),
    reach: Reach | None = None,
) -> dict[str, Any]:
    """What ``tracking.html.j2`` shows, every string ready to print. ``postal_codes``: of
    the locations, for the time zone a pick-up waits in; ``locations``: their street
    addresses, where a pick-up waits and a return by post is sent; ``reach``: how the
    customer hears from us, when known beyond what the order says (``reach_of``)."""
    w = Wording.for_order(order)
    language = w.language
    destination = order.destination()
    headline, headline_bad = _headline(order, w)
    streets = {loc.location_id: loc.street_address() for loc in locations if loc.address}
    reach = reach or reach_of(order)
    text = TEXT[language] | {
        "tickets_paused": TEXT[language]["tickets_paused"].format(
            written_enough=written_enough(language, reach)
        ),
        "no_actions": NO_ACTIONS_WORDS[language][reach],
    }
    return {
        "locale": w.locale,
        "text": text,
        # What the page's script says when a post is refused, as the plain form's page
        # says it (``FormOutcome``).
        "refused": {
            outcome.value: problem_words(language, outcome, reach)
            for outcome in (
                FormOutcome.CONFLICT,
                FormOutcome.TOO_MANY,
                FormOutcome.LIMITED,
                FormOutcome.BUSY,
                FormOutcome.INVALID,
                FormOutcome.FAILED,
            )
        },
        "order_id": order.order_id,
        "status_code": order.status.value,
        "status": headline,
        "status_bad": headline_bad,
        "reason_code": order.status_reason.value if order.status_reason else None,
        "reason": w.order_reason(order),
        "placed": w.when(order.placed_at),
        "total": w.money(order.total),
        "price_breakdown": [row.model_dump() for row in breakdown_rows(order, language)],
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "price": w.money(line.line_total),
            }
            for line in order.lines
        ],
        "timeline": _timeline(order, w),
        "fulfillments": [
            _fulfillment(
                f,
                order.contents_of(f),
                w,
                location_names,
                now,
                postal_codes or {},
                destination,
                streets,
                cancelled_whole=order.status is OrderStatus.CANCELLED,
            )
            for f in order.fulfillments
        ],
        "returns": [_return_row(order, r, w, location_names, locations) for r in order.returns],
        # What the customer's card saw besides the total: parts never handed over were
        # released from the authorisation, returns and lost parcels refunded.
        "settled": [row.model_dump() for row in settled_rows(order, language)],
        "actions": {a.value: action_word(a, language) for a in actions.actions},
        "returnable": [line.model_dump() for line in actions.returnable],
        "return_until": w.when(actions.return_until) if actions.return_until else None,
        "pay_until": w.when(actions.pay_until) if actions.pay_until else None,
        "pay_withdrawn": (
            TEXT[language][f"pay_{actions.pay_withdrawn.value}"] if actions.pay_withdrawn else None
        ),
        # A window over: when, on the clock the page and the emails gave it.
        "pay_ended": (
            TEXT[language]["pay_ended"].format(when=w.when(actions.pay_ended))
            if actions.pay_ended
            else None
        ),
        # "Write to us" only beside the question form (probe 221: an unclaimed till
        # receipt, which has none, was told to).
        "returns_full": (
            TEXT[language][
                "returns_full"
                if CustomerAction.TICKET in actions.actions
                else "returns_full_at_store"
            ]
            if actions.returns_full
            else None
        ),
        "return_ended": (
            TEXT[language]["return_ended"].format(when=w.when(actions.return_ended))
            if actions.return_ended
            else None
        ),
        "tickets_paused_until": (
            w.when(actions.tickets_paused_until) if actions.tickets_paused_until else None
        ),
        "return_channels": {c: return_channel_word(c, language) for c in ("mail", "store")},
        "stores": dict(pickup_stores),
    }
