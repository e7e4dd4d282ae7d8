"""Customer emails, sent by the subscriber of order events; each event mails once.

Which event sends which email is ``domain.email_policy``'s: by default only what matters
(confirmation, each shipment or pick-up, delivery, anything wrong), every status change
too for a profile that says ``notifications: "all"``. Each email is multipart, in the
order's language, with money, dates and times written by ``presentation.wording``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.catalog import Location
from chalicelib.domain.customer_actions import (
    PAYMENT_RETRY_WINDOW,
    facts_of,
    payment_retry_deadline,
    payment_tries_used,
)
from chalicelib.domain.email_policy import (
    DEFAULT_PREFERENCE,
    EmailKind,
    EventType,
    NotificationPreference,
    email_for,
    ended_the_order,
    overtaken,
    preference_of,
    told_elsewhere,
)
from chalicelib.domain.fulfillments import Fulfillment, FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.orders import Order
from chalicelib.domain.promises import late_estimate
from chalicelib.presentation.price_breakdown import (
    breakdown_rows,
    breakdown_text,
    settled_rows,
)
from chalicelib.presentation.track_forms import Reach, reach_of
from chalicelib.presentation.wording import Wording
from chalicelib.rendering import render
from chalicelib.services.customers import merge_chain, told_before_merge, vouched_contact
from chalicelib.services.emails import Email, compose, email_record, send_once, text_once
from chalicelib.services.event_reads import EventReads
from chalicelib.services.survey_links import survey_url
from chalicelib.services.tracking import tracking_url

if TYPE_CHECKING:
    from chalicelib.composition import Deps


def _money_of(value: Any) -> Money | None:
    """A ``Money`` or its JSON (as an event carries it), or None for nothing."""
    if not value:
        return None
    return value if isinstance(value, Money) else Money.model_validate(value)


def _money(wording: Wording, value: Any) -> str:
    """A ``Money`` or its JSON in the customer's notation; empty for nothing."""
    money = _money_of(value)
    return wording.money(money.amount, money.currency) if money else ""


def _is_zero(value: Any) -> bool:
    """Whether an event's ``Money`` (or its JSON) is there and 0.00."""
    money = _money_of(value)
    return money is not None and money.amount == 0


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


_UNDER_WAY = frozenset(
    {FulfillmentStatus.PENDING, FulfillmentStatus.SHIPPED, FulfillmentStatus.READY_FOR_PICKUP}
)
# The emails about one part of an order, which say what that part holds.
_ABOUT_ONE_PART = frozenset(
    {
        EmailKind.SHIPMENT_SENT,
        EmailKind.PICKUP_READY,
        EmailKind.PARCEL_DELIVERED,
        EmailKind.NOT_COLLECTED,
        EmailKind.FULFILLMENT_CANCELLED,
    }
)
# The emails about a part that ended without reaching the customer: the last of them may
# end the order (``ended_the_order``).
_ENDS_OF_A_PART = frozenset(
    {EmailKind.PARCEL_LOST, EmailKind.NOT_COLLECTED, EmailKind.FULFILLMENT_CANCELLED}
)


def _when(wording: Wording, at: datetime | None) -> str:
    return wording.when(at) if at else ""


def email_context(
    email: EmailKind, event: dict[str, Any], order: Order, deps: Deps
) -> dict[str, Any]:
    """What the templates of ``email`` read."""
    w = Wording.for_order(order)
    fulfillment = (
        order.fulfillment(str(event["fulfillment_id"])) if event.get("fulfillment_id") else None
    )
    shipment = fulfillment.shipment if fulfillment else None
    store = _pickup_store(fulfillment, deps)
    # A pick-up's times on the store's clock, named where the customer's own is another.
    at_store = w.at(store.postal_code if store else None)
    refunded = order.payment.refunded
    rows = breakdown_rows(order, w.language)
    settled = settled_rows(order, w.language)
    total = _money(w, order.total)
    lines = [
        {"name": line.name, "quantity": line.quantity, "price": _money(w, line.unit_price)}
        for line in order.lines
    ]
    rest_delivered = (
        email in _ENDS_OF_A_PART and fulfillment is not None and ended_the_order(fulfillment, order)
    )
    # Both links are of the order's current generation: read once for the two.
    generation = deps.access.tracking_generation(order.order_id)
    return {
        "email": email.value,
        "w": w,
        "locale": w.locale,
        "order": order,
        "name": order.contact.name or "",
        "total": total,
        # Subtotal, discount, shipping and tax before the total (API.md: the emails show
        # the breakdown): rows for the HTML table, lines for the text part.
        "breakdown": [row.model_dump() for row in rows],
        "breakdown_text": breakdown_text(
            rows,
            "Total",
            total,
            (f"{line['name']}: {line['quantity']} × {line['price']}" for line in lines),
            settled,
        ),
        # After the total, as on the tracking page: what was not charged or was refunded
        # (a re-probe: "not charged 15,00 €" above a total of 31,95 € alone misleads).
        "settled": [row.model_dump() for row in settled],
        "lines": lines,
        # What the confirmation promises to write about: a parcel leaving, a pick-up ready.
        "ships": any(line.fulfillment is FulfillmentType.SHIP for line in order.lines),
        "picks_up": any(line.fulfillment is FulfillmentType.PICKUP for line in order.lines),
        "status_word": w.status(event.get("status") or order.status.value),
        # Inside a sentence: "(sin existencias suficientes de ...)", not "(Sin ...)"; a
        # lack of stock names what ran out (probe 224).
        "reason": _lower_first(w.order_reason(order)) if order.status_reason else "",
        **_shortage_told(email, order, w),
        "refunded": _money(w, refunded) if refunded and refunded.amount > 0 else "",
        "event_amount": _money(w, event.get("amount") or event.get("refund")),
        # A return told at its receipt gives nothing back (its refund's event tells one
        # that does): "nothing to refund", not "refunded 0,00 €".
        "refunds_nothing": event.get("type") == EventType.RETURN_RECEIVED,
        # A part that cost nothing (a 100 % coupon) gives nothing back when it is lost
        # (probe 203: "we have refunded 0,00 €").
        "cost_nothing": _is_zero(event.get("amount") or event.get("refund")),
        # Likewise a part not collected or cancelled whose share was 0.00: nothing to
        # void, and "not charged (0,00 €)" says nothing (probe 206).
        "voids_nothing": _is_zero(event.get("voided")),
        "voided": _money(w, event.get("voided")),
        "tracking_url": tracking_url(order.order_id, deps, generation),
        "survey_url": survey_url(order.order_id, deps, generation)
        if email is EmailKind.DELIVERED or rest_delivered
        else "",
        # A loss or cancel that made the order DELIVERED (the rest had reached the
        # customer) tells what the delivered email would have: the return window and the
        # survey (a probe: the customer never heard either).
        "rest_delivered": rest_delivered,
        # Delivered with a part lost or cancelled before: "the rest of your order", not
        # "your order" (probe 234: a split order whose first parcel was lost read as whole).
        "only_the_rest": email is EmailKind.DELIVERED
        and any(f.status in _NEVER_REACHED for f in order.fulfillments),
        # Every part that reached the customer was picked up: "you have collected it",
        # not "it was delivered" (a probe).
        "collected": _all_collected(order),
        "return_days": deps.settings.return_window_days,
        "lost_days": deps.settings.lost_parcel_days,
        "location_name": store.name if store else "",
        "location_address": store.street_address() if store and store.address else "",
        "pickup_code": fulfillment.pickup_code if fulfillment else "",
        "pickup_deadline": _when(at_store, fulfillment.pickup_deadline if fulfillment else None),
        # The store was shut when the pick-up became ready: from when it opens.
        "collect_from": _when(at_store, fulfillment.collect_from if fulfillment else None),
        # A part cancelled while others are still on their way says so; not when nothing
        # else is left to happen (all cancelled, or already delivered).
        "rest_carries_on": fulfillment is not None
        and any(
            other.fulfillment_id != fulfillment.fulfillment_id and other.status in _UNDER_WAY
            for other in order.fulfillments
        ),
        # The carrier's name as people write it ("Rapido"), not its code (a probe).
        "carrier": shipment.carrier.title() if shipment else "",
        # What this part holds, when the order is in several: a parcel leaving, a pick-up
        # waiting or given up (probes: each parcel's email listed the whole order, and so
        # did a mixed order's pick-up emails, naming the shipped belt among what waited).
        "part_list": order.contents_of(fulfillment)
        if email in _ABOUT_ONE_PART and fulfillment is not None
        else "",
        "tracking_number": shipment.tracking_number if shipment else "",
        "carrier_url": shipment.tracking_url if shipment else "",
        "promised_by": _when(w, shipment.shown_promise if shipment else None),
        "new_estimate": w.date(late_estimate(shipment.shown_grace_end, order.destination()))
        if shipment
        else "",
        "return_id": event.get("return_id", ""),
        "send_to": _mail_return_address(email, event, order, deps),
        # What the return is for (probe 237: staff opened it on the phone, and the email
        # listed only the whole order; the customer could send all of it).
        "return_list": _return_list(email, event, order),
        # Units a 100 % coupon made free: their return will refund nothing (probe 26C: the
        # request said "we will refund you", the receipt "nothing to refund").
        "return_refunds_nothing": _return_refunds_nothing(email, event, order),
        # Until when a declined card's order may be paid again: from its first decline,
        # so a second decline's email says what is left, not "48 hours" again.
        "pay_until": _when(w, _pay_until(order, deps)) if email is EmailKind.REJECTED else "",
        # The last card the order may be paid with was declined too: the email must not
        # invite another (a re-probe: it did, and paying again was then 409).
        "pay_again_closed": email is EmailKind.REJECTED and payment_tries_used(order.history),
    }


def _shortage_told(email: EmailKind, order: Order, w: Wording) -> dict[str, Any]:
    """What a rejection for lack of stock tells beyond its reason (probe 224): the
    products that ran out, by name, for its subject; whether the rest of the order could
    still be had; and those the customer will be told of when they are back. That is the
    wish its event opens (``opportunities.follow_order_event``, right after this email),
    for the short SKUs the web lacked as the rejection recorded them, at the address this
    email goes to: never read from the stock apart (probe 231: a unit back between the
    two reads left the promise without a wish)."""
    names = order.out_of_stock_names() if email is EmailKind.REJECTED else []
    if not names:
        return {
            "short_products": "",
            "short_at_store": "",
            "rest_orderable": False,
            "back_in_stock_told": "",
        }
    short = set(order.out_of_stock_skus)
    at_store = order.short_at_pickup_names()
    wished = set(order.out_of_stock_wished)
    told = dict.fromkeys(line.name for line in order.lines if line.sku in wished)
    return {
        # The subject names those the web lacked, else those short at their pick-up store.
        "short_products": w.names(n for n in names if n not in at_store),
        "short_at_store": w.names(at_store),
        "rest_orderable": any(line.sku not in short for line in order.lines),
        "back_in_stock_told": w.names(told) if told else "",
    }


def _return_list(email: EmailKind, event: dict[str, Any], order: Order) -> str:
    """The units and names a requested return is for (``1 × Camiseta negra M``)."""
    if email is not EmailKind.RETURN_REQUESTED:
        return ""
    returned = order.find_return(event.get("return_id"))
    return order.units_named(returned.lines) if returned is not None else ""


def _return_refunds_nothing(email: EmailKind, event: dict[str, Any], order: Order) -> bool:
    if email is not EmailKind.RETURN_REQUESTED:
        return False
    returned = order.find_return(event.get("return_id"))
    return returned is not None and order.return_costs_nothing(returned)


def _mail_return_address(email: EmailKind, event: dict[str, Any], order: Order, deps: Deps) -> str:
    """Where a return by post goes, for its "return requested" email (read only then)."""
    if email is not EmailKind.RETURN_REQUESTED:
        return ""
    returned = order.find_return(event.get("return_id"))
    if returned is None:
        return ""
    destination = order.mail_return_address(returned, deps.store.locations())
    return destination.postal_address() if destination else ""


def _pay_until(order: Order, deps: Deps) -> datetime | None:
    facts = facts_of(order)
    window = deps.settings.waits.duration(PAYMENT_RETRY_WINDOW)
    return payment_retry_deadline(facts.status, facts.status_reason, facts.rejected_at, window)


_NEVER_REACHED = (FulfillmentStatus.LOST, FulfillmentStatus.CANCELLED)


def _all_collected(order: Order) -> bool:
    # Returned since counts as reached: the email may go out after a return in store
    # (probe 212: a pick-up collected and returned at once read "was delivered").
    reached = [
        f
        for f in order.fulfillments
        if f.status in (FulfillmentStatus.DELIVERED, FulfillmentStatus.RETURNED)
    ]
    return bool(reached) and all(f.type is FulfillmentType.PICKUP for f in reached)


def _pickup_store(fulfillment: Fulfillment | None, deps: Deps) -> Location | None:
    """The store a pick-up waits at; only the pick-up emails name a location, so the
    locations are read for a pick-up only."""
    if fulfillment is None or fulfillment.type is not FulfillmentType.PICKUP:
        return None
    return next(
        (loc for loc in deps.store.locations() if loc.location_id == fulfillment.location_id),
        None,
    )


# What a customer with a phone and no email is texted: the order confirmed (with the
# link to its page), a pick-up ready (its code), and whatever goes wrong or gives money
# back (API.md "Emails": a probe's phone-only customer never heard their parcel was lost
# and refunded). Shipped and delivered stay on the page: a text costs the retailer.
TEXTED = frozenset(
    {
        EmailKind.CONFIRMATION,
        EmailKind.PICKUP_READY,
        EmailKind.NOT_COLLECTED,
        EmailKind.REJECTED,
        EmailKind.CANCELLED,
        EmailKind.LATE_DELIVERY,
        EmailKind.PARCEL_LOST,
        EmailKind.FULFILLMENT_CANCELLED,
        EmailKind.RETURN_RECEIVED,
        EmailKind.REFUND,
        # Every link the customer held is dead: the new one is all they have.
        EmailKind.LINK_RENEWED,
    }
)


def _texted(email: EmailKind, event: dict[str, Any]) -> bool:
    """Whether ``email`` is texted to a customer with no email: ``TEXTED``, and a return by
    post, which they cannot send without knowing where (probe 233)."""
    by_post = email is EmailKind.RETURN_REQUESTED and event.get("channel") == "mail"
    return email in TEXTED or by_post


def render_text(email: EmailKind, event: dict[str, Any], order: Order, deps: Deps) -> str:
    """The text message standing for ``email``, in the customer's language."""
    context = email_context(email, event, order, deps)
    return render(f"texts/order.{context['locale']}.txt.j2", text=email.value, **context).strip()


def render_email(email: EmailKind, event: dict[str, Any], order: Order, deps: Deps) -> Email:
    """The email ``email`` about one event, in the customer's language."""
    context = email_context(email, event, order, deps)
    return compose("order_subject", "order", str(context["locale"]), context)


def _email_and_order(
    event: dict[str, Any], reads: EventReads
) -> tuple[EmailKind | None, Order | None, list[str] | None]:
    """The email an event sends its order's customer, if any, the order read to know it
    (read only for an event that could mail under ``all``), and the customer's
    ``merge_chain`` (read once: it gives the customer's choice, essential when unknown,
    and where the email is recorded)."""
    if email_for(event, NotificationPreference.ALL) is None:
        return None, None, None
    order = reads.order(str(event["order_id"]))
    known = reads.known_chain(order.customer_id)
    if known is None:
        return email_for(event, DEFAULT_PREFERENCE), order, None
    chain, profile = known
    return email_for(event, preference_of(profile)), order, chain


def email_kind_of(event: dict[str, Any], deps: Deps) -> EmailKind | None:
    """The email an event sends its order's customer, if any."""
    return _email_and_order(event, EventReads(deps))[0]


def addressee(order: Order, chain: list[str] | None, deps: Deps) -> tuple[str | None, str | None]:
    """Where to tell the customer about their order: the email or phone given with it;
    else (an order placed by the customer's id or loyalty card alone: a logged-in shopper,
    a kiosk) an email, or a phone, vouched for on their record (a probe: such customers
    heard nothing, not even the pick-up code). Never for an order that only identifiers
    merely attached to the record brought there: whoever attached an identifier would hear
    of someone else's order, pick-up code included. An order a merge moved is told where
    the record it was placed on told it, never at the survivor's addresses (a merge
    vouches for nothing). One read per identifier, only for such orders."""
    if order.contact.email or order.contact.phone:
        return order.contact.email, order.contact.phone
    if order.customer_unvouched or chain is None:
        return None, None
    if len(chain) == 1:
        email, phone = vouched_contact(chain[0], deps)
        if email or phone:
            return email, phone
        # Read as not merged, then its identifiers as a merge had moved them (probe 154):
        # worked out again, as an order the merge moved.
        chain = merge_chain(chain[0], deps)[0]
        if len(chain) == 1:
            return None, None
    return told_before_merge(chain[0], chain[-1], deps)


def order_reach(order: Order, deps: Deps) -> Reach:
    """How the customer hears of the order, as ``addressee`` finds them: the page promises
    a question's answer by that (probe 223: an order by the customer's id alone was told
    to ask at a store, then its answer was emailed to the record's vouched address). Read
    only for an order that names neither an email nor a phone."""
    if order.contact.email or order.contact.phone:
        return reach_of(order)
    chain = [order.customer_id] if order.customer_id else None
    email, phone = addressee(order, chain, deps)
    return Reach.EMAIL if email else Reach.PHONE if phone else Reach.NONE


def on_order_event(
    event: dict[str, Any], deps: Deps, reads: EventReads | None = None
) -> str | None:
    """Email the customer about an event, once however often it is delivered. Returns the
    message id, or None when nothing was sent. ``reads``: the delivery's shared reads
    (the order and its customer's chain, read by the first handler that needs them)."""
    email, order, chain = _email_and_order(event, reads or EventReads(deps))
    if email is None or order is None or told_elsewhere(email, event, order):
        return None
    if overtaken(email, order, event):
        return None
    address, phone = addressee(order, chain, deps)
    if not address:
        # A customer who left only a phone (at a kiosk, say) is texted what needs them:
        # above all the pick-up code, which otherwise only the tracking page shows.
        if not phone or not _texted(email, event):
            return None
        return text_once(
            str(event["event_id"]),
            phone,
            lambda: render_text(email, event, order, deps),
            deps,
            email_record(event, chain),
        )
    return send_once(
        str(event["event_id"]),
        address,
        lambda: render_email(email, event, order, deps),
        deps,
        email_record(event, chain),
    )
