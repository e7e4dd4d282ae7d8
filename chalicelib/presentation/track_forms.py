"""What the tracking page says after one of its plain HTML forms was posted (the page
without JavaScript): how it went, in the order's language, naming the fields to check."""

from collections.abc import Iterable, Sequence
from enum import StrEnum

from chalicelib.domain.customer_actions import lines_left_to_return, payment_tries_used
from chalicelib.domain.deferred import DeferredModel
from chalicelib.domain.order_status import AT_REST, OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentFailure
from chalicelib.domain.returns import ReturnStatus
from chalicelib.domain.status_reasons import StatusReason
from chalicelib.presentation.wording import Language, language_of


class FormAction(StrEnum):
    """The page's forms; each posts to ``/track/{token}/forms/<value>``."""

    CANCEL = "cancel"
    RETURNS = "returns"
    TICKETS = "tickets"
    PAYMENT = "payment"


class FormOutcome(StrEnum):
    """How a posted form went, carried back to the page in its address."""

    DONE = "done"
    INVALID = "invalid"  # a field to fix (named in ``fields``)
    CONFLICT = "conflict"  # no longer possible for this order
    # More units asked back than are left to return (some went back from another tab or
    # the store meanwhile): the return form is still there, with fewer units.
    TOO_MANY = "too_many"
    LIMITED = "limited"  # done often enough for now (429): tickets, five a day per order
    # Many changes to the order at once, and this one lost every race (429 ``Too many
    # requests at once``): nothing was done, send it again now (probe 206: it read as the
    # tickets' daily limit, "write again tomorrow").
    BUSY = "busy"
    # The rendered form was sent before with other values (the browser's Back, the form
    # changed, sent again): what it asked first was done; another needs the page afresh
    # (probe 221: it read "no longer possible for this order" beside the form).
    RESENT = "resent"
    FAILED = "failed"  # our side or a service we use: try again later


DONE_WORDS: dict[Language, dict[FormAction, str]] = {
    Language.ES: {
        FormAction.CANCEL: "Hemos cancelado tu pedido. No se te cobrará nada.",
        FormAction.RETURNS: "Hemos registrado tu devolución. Te reembolsaremos al recibirla.",
        FormAction.TICKETS: "Hemos recibido tu mensaje.",
        # Authorised, not charged: each part is charged as it is handed over (probe 26E).
        FormAction.PAYMENT: (
            "Gracias: tu nueva tarjeta está autorizada y el pedido sigue; cada parte se "
            "cobra al entregártela."
        ),
    },
    Language.EN: {
        FormAction.CANCEL: "We have cancelled your order. You will not be charged.",
        FormAction.RETURNS: "We have registered your return. We will refund you once it arrives.",
        FormAction.TICKETS: "We have received your message.",
        FormAction.PAYMENT: (
            "Thank you: your new card is authorised and the order goes on; each part is "
            "charged as it is handed over."
        ),
    },
}
# After the returns form, for units a discount made free (probe 26C: "we will refund you"
# for a return that refunds nothing).
FREE_RETURN_WORDS: dict[Language, str] = {
    Language.ES: (
        "Hemos registrado tu devolución. Esos artículos no se te cobraron, así que no habrá "
        "nada que reembolsar."
    ),
    Language.EN: (
        "We have registered your return. Those items were not charged to you, so there will "
        "be nothing to refund."
    ),
}
# After the pay-again form: the new card was declined as well (the order is rejected
# again; a probe saw "thank you, the order goes on" above the "declined" badge).
DECLINED_AGAIN_WORDS: dict[Language, str] = {
    Language.ES: "Tu nueva tarjeta también ha sido rechazada. Puedes probar con otra.",
    Language.EN: "Your new card was declined as well. You can try another one.",
}
# The same two, for the last card the order may be paid with (``MAX_PAYMENT_RETRIES``):
# no "try another" (the page says a new order is the way on).
DECLINED_FOR_GOOD_WORDS: dict[Language, str] = {
    Language.ES: "Tu nueva tarjeta también ha sido rechazada.",
    Language.EN: "Your new card was declined as well.",
}
BANK_UNREACHED_FOR_GOOD_WORDS: dict[Language, str] = {
    Language.ES: "No pudimos contactar con el banco: no se te ha cobrado nada.",
    Language.EN: "We could not reach the bank: nothing was charged.",
}
# After the pay-again form, when the bank could not be reached this time: nothing was
# charged, and the customer may try again (a re-probe: "declined as well" was said).
BANK_UNREACHED_WORDS: dict[Language, str] = {
    Language.ES: "No pudimos contactar con el banco: no se te ha cobrado nada. Inténtalo de nuevo.",
    Language.EN: "We could not reach the bank: nothing was charged. Please try again.",
}
# After the pay-again form, while the new card is still being authorised: the page reads
# itself again shortly (without JavaScript too), to say how it went (a re-probe: the 303
# landed before the decline and thanked the customer).
CHECKING_CARD_WORDS: dict[Language, str] = {
    Language.ES: (
        "Estamos comprobando tu nueva tarjeta. Esta página se actualizará en unos segundos."
    ),
    Language.EN: "We are checking your new card. This page will refresh in a few seconds.",
}


class Reach(StrEnum):
    """How the order's customer hears from us, as the order itself says: by the email it
    gave; by the phone it gave (a text, or an address vouched for on their record); or
    neither (a loyalty card, a till receipt claimed by one, an id alone): nothing on the
    order says how to reach them, and a store is where to ask."""

    EMAIL = "email"
    PHONE = "phone"
    NONE = "none"


# How the answer to a question reaches the customer: by email when the order gave one;
# with a phone, said without a channel (a text, or an address on their record); with
# neither, at a store (probe 214: a customer who left only a phone read "we will answer by
# email"; probe 221: one known by a loyalty card alone read "we will send you our
# answer", which nothing could send).
ANSWER_WORDS: dict[Language, dict[Reach, str]] = {
    Language.ES: {
        Reach.EMAIL: "te responderemos por correo",
        Reach.PHONE: "te enviaremos la respuesta",
        Reach.NONE: "pregunta por la respuesta en cualquiera de nuestras tiendas",
    },
    Language.EN: {
        Reach.EMAIL: "we will answer by email",
        Reach.PHONE: "we will send you our answer",
        Reach.NONE: "ask for our answer in any of our stores",
    },
}
# What the page says once an order's questions for a day were sent: after a refused post
# ("tomorrow") and beside the form it no longer offers (the time, ``tracking_page``).
WRITTEN_ENOUGH: dict[Language, str] = {
    Language.ES: "Ya nos has escrito varias veces sobre este pedido: {answer}.",
    Language.EN: "You have already written to us several times about this order: {answer}.",
}
PROBLEM_WORDS: dict[Language, dict[FormOutcome, str]] = {
    Language.ES: {
        FormOutcome.INVALID: "Revisa estos campos",
        FormOutcome.CONFLICT: "Eso ya no se puede hacer con este pedido.",
        FormOutcome.TOO_MANY: "No quedan tantas unidades por devolver.",
        FormOutcome.FAILED: "No hemos podido hacerlo ahora. Inténtalo de nuevo en unos minutos.",
        FormOutcome.LIMITED: "{written_enough} Podrás escribirnos de nuevo mañana.",
        FormOutcome.BUSY: "Tu pedido está recibiendo otros cambios ahora mismo y no hemos hecho "
        "nada. Inténtalo de nuevo en unos segundos.",
        FormOutcome.RESENT: "Ya habías enviado este formulario y lo hicimos. Para enviar otro, "
        "vuelve a cargar la página.",
    },
    Language.EN: {
        FormOutcome.INVALID: "Please check these fields",
        FormOutcome.CONFLICT: "That is no longer possible for this order.",
        FormOutcome.TOO_MANY: "Not that many units are left to return.",
        FormOutcome.FAILED: "We could not do it just now. Please try again in a few minutes.",
        FormOutcome.LIMITED: "{written_enough} You can write again tomorrow.",
        FormOutcome.BUSY: "Your order is taking other changes just now and nothing was done. "
        "Please try again in a few seconds.",
        FormOutcome.RESENT: "You had already sent this form, and it was done. To send another, "
        "reload the page.",
    },
}


def written_enough(language: Language, reach: Reach) -> str:
    """``WRITTEN_ENOUGH`` for a customer ``reach`` says how to answer."""
    return WRITTEN_ENOUGH[language].format(answer=ANSWER_WORDS[language][reach])


def problem_words(language: Language, outcome: FormOutcome, reach: Reach = Reach.EMAIL) -> str:
    """What the page says of a refused form (``PROBLEM_WORDS``), for a customer ``reach``
    says how to answer."""
    return PROBLEM_WORDS[language][outcome].format(written_enough=written_enough(language, reach))


def done_words(language: Language, action: FormAction, reach: Reach = Reach.EMAIL) -> str:
    """What the page says of a form that went through; a question's says how the answer
    will come."""
    text = DONE_WORDS[language][action]
    if action is FormAction.TICKETS:
        answer = ANSWER_WORDS[language][reach]
        text = f"{text} {answer[0].upper()}{answer[1:]}."
    return text


# After ``TOO_MANY``: what is left to return now, each as ``STILL_RETURNABLE_ITEM``.
STILL_RETURNABLE_WORDS: dict[Language, str] = {
    Language.ES: "Aún puedes devolver {items}.",
    Language.EN: "You can still return {items}.",
}
STILL_RETURNABLE_ITEM: dict[Language, str] = {
    Language.ES: "{quantity} de {name}",
    Language.EN: "{quantity} of {name}",
}
# The form fields a problem may name, as the page labels them.
FIELD_WORDS: dict[str, tuple[str, str]] = {
    "lines": ("Cantidad", "Quantity"),
    "reason": ("Motivo", "Reason"),
    "channel": ("Cómo lo devuelves", "How you send it back"),
    "location_id": ("Tienda", "Store"),
    "subject": ("Asunto", "Subject"),
    "description": ("Cuéntanos", "Tell us"),
    "type": ("Tipo", "Type"),
    "token": ("Nueva tarjeta", "New card"),
}
# Every field name the page's address may carry back (``fields=reason,lines``).
FIELD_PATTERN = r"^(?:" + "|".join(FIELD_WORDS) + r")(?:,(?:" + "|".join(FIELD_WORDS) + r")){0,7}$"


class FormNotice(DeferredModel):
    """The notice at the top of the page after a form was posted."""

    action: FormAction
    outcome: FormOutcome
    text: str
    error: bool
    # Still being decided (a new card being authorised): the page reads itself again.
    pending: bool = False


def field_labels(language: Language) -> dict[str, str]:
    """Each form field's label in ``language`` (the page's script names fields with them)."""
    index = 0 if language is Language.ES else 1
    return {name: words[index] for name, words in FIELD_WORDS.items()}


def form_field(problem_field: str) -> str | None:
    """The form field a request problem's field names (``lines.0.quantity`` and
    ``quantity.0`` → ``lines``, ``payment.token`` → ``token``), or None for one the page
    has no field for."""
    head = problem_field.split(".", 1)[0]
    if head == "payment":
        return "token"
    if head in ("sku", "quantity"):  # the return form's line fields
        return "lines"
    return head if head in FIELD_WORDS else None


def form_notice(
    language: Language,
    action: FormAction,
    outcome: FormOutcome,
    fields: Iterable[str] = (),
    declined_again: bool = False,
    checking_card: bool = False,
    bank_unreached: bool = False,
    last_try: bool = False,
    still_returnable: Sequence[tuple[str, int]] = (),
    reach: Reach = Reach.EMAIL,
    returns_nothing: bool = False,
) -> FormNotice:
    """What the page says about a posted form, in ``language``; ``declined_again``: the
    order was paid again and the new card declined too (``bank_unreached``: because the
    bank did not answer; ``last_try``: no other card may be tried); ``checking_card``:
    the new card is still being authorised; ``still_returnable``: ``(name, units)`` left
    to return, said after a return asking more (``TOO_MANY``); ``reach``: how the
    customer hears from us, which a question's answer is promised by; ``returns_nothing``:
    the return asked for gives nothing back (its units cost nothing)."""
    if action is FormAction.PAYMENT and outcome is FormOutcome.DONE and declined_again:
        words = {
            (False, False): DECLINED_AGAIN_WORDS,
            (True, False): BANK_UNREACHED_WORDS,
            (False, True): DECLINED_FOR_GOOD_WORDS,
            (True, True): BANK_UNREACHED_FOR_GOOD_WORDS,
        }[(bank_unreached, last_try)]
        return FormNotice(action=action, outcome=outcome, text=words[language], error=True)
    if action is FormAction.PAYMENT and outcome is FormOutcome.DONE and checking_card:
        text = CHECKING_CARD_WORDS[language]
        return FormNotice(action=action, outcome=outcome, text=text, error=False, pending=True)
    if action is FormAction.RETURNS and outcome is FormOutcome.DONE and returns_nothing:
        text = FREE_RETURN_WORDS[language]
    elif outcome is FormOutcome.DONE:
        text = done_words(language, action, reach)
    else:
        text = problem_words(language, outcome, reach)
        index = 0 if language is Language.ES else 1
        labels = [FIELD_WORDS[f][index] for f in fields if f in FIELD_WORDS]
        if outcome is FormOutcome.INVALID:
            text = f"{text}: {', '.join(labels)}." if labels else f"{text}."
        if outcome is FormOutcome.TOO_MANY and still_returnable:
            items = ", ".join(
                STILL_RETURNABLE_ITEM[language].format(quantity=units, name=name)
                for name, units in still_returnable
            )
            text = f"{text} {STILL_RETURNABLE_WORDS[language].format(items=items)}"
    return FormNotice(
        action=action, outcome=outcome, text=text, error=outcome is not FormOutcome.DONE
    )


def order_form_notice(
    order: Order,
    action: FormAction,
    outcome: FormOutcome,
    fields: Iterable[str] = (),
    reach: Reach | None = None,
) -> FormNotice | None:
    """What the order's page says about a posted form, in its language; None for a form
    "done" that the order's state says was not (the page's address says how the form
    went, and a reloaded or made-up one said "we have cancelled your order" above a
    shipped one: probe 26E). Paid again, the new card is authorised after the redirect: a
    page read while it is checked says so, and once it was declined as well (or the bank
    did not answer) says that rather than thanking for a payment that failed."""
    # By the customer: a pay-again resumes a REJECTED order, which no ops retry does (a
    # probe: an ops retry of a stopped order read as a new card to thank for).
    paid_again = any(retry.resumed_from is OrderStatus.REJECTED for retry in order.retries)
    if outcome is FormOutcome.DONE and not _done_shows(order, action, paid_again):
        return None
    declined_again = (
        paid_again
        and order.status is OrderStatus.REJECTED
        and order.status_reason is StatusReason.PAYMENT_DECLINED
    )
    return form_notice(
        language_of(order.contact.locale),
        action,
        outcome,
        fields,
        declined_again=declined_again,
        checking_card=paid_again and order.status is OrderStatus.ACCEPTED,
        bank_unreached=order.reason_cause() == PaymentFailure.GATEWAY_UNAVAILABLE.value,
        last_try=payment_tries_used(order.history),
        still_returnable=_still_returnable(order) if outcome is FormOutcome.TOO_MANY else (),
        reach=reach or reach_of(order),
        # The customer's last return, which the form just asked for.
        returns_nothing=action is FormAction.RETURNS
        and bool(order.returns)
        and order.return_costs_nothing(order.returns[-1]),
    )


def _done_shows(order: Order, action: FormAction, paid_again: bool) -> bool:
    """Whether the order shows what a form "done" says: cancelled, paid again, a return
    asked for (a question leaves nothing on the order to tell)."""
    if action is FormAction.CANCEL:
        return order.status is OrderStatus.CANCELLED
    if action is FormAction.PAYMENT:
        # "The order goes on": not once it ended, or has nothing left to go on with (probe
        # 26H: the thanks stood over an order cancelled, or stopped, after paying again).
        # Declined again, it is said apart (``declined_again``).
        if not paid_again or order.nothing_left_to_carry_on():
            return False
        if order.status is OrderStatus.REJECTED:
            return order.status_reason is StatusReason.PAYMENT_DECLINED
        # Nor once it is at rest (probe 26J: the thanks stood over a RETURNED order).
        return order.status not in AT_REST
    if action is FormAction.RETURNS:
        # "We will refund you once it arrives": not once it arrived (probe 26J read it
        # over a return received and refunded).
        return bool(order.returns) and order.returns[-1].status is ReturnStatus.REQUESTED
    return True


def reach_of(order: Order) -> Reach:
    """How the order says its customer hears from us (``Reach``); an order by the
    customer's id alone may reach an address vouched for on their record, which only a
    read of it tells (``notify.order_reach``)."""
    if order.contact.email:
        return Reach.EMAIL
    return Reach.PHONE if order.contact.phone else Reach.NONE


def _still_returnable(order: Order) -> list[tuple[str, int]]:
    """``(name, units)`` of each product the order can still send back, read now."""
    return [(line.name, line.quantity) for line in lines_left_to_return(order)]
