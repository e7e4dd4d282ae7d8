"""Sending a customer email: every sender (order events, tickets) renders with the same
templates and sends at most once per event, however often the event is delivered.

An email to a known customer is recorded in their 360 as an interaction keyed by the
event (its time and id), written before the email is sent and only if absent: that write
is the send-once claim, so no marker is written besides it (one write per email instead
of two). An email to no known customer claims a once-only marker instead."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import ProfileState, normalise_phone
from chalicelib.domain.errors import NotFound
from chalicelib.rendering import render
from chalicelib.services.after_sale_records import order_erased
from chalicelib.services.customers import canonical_customer

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.composition import Deps

EMAIL_MARKER_TTL_SECONDS = 30 * 86400


@dataclass(frozen=True)
class Email:
    """What is sent: the subject, the HTML part and the plain-text part."""

    subject: str
    html: str
    text: str


def compose(subject_template: str, body: str, locale: str, context: dict[str, Any]) -> Email:
    """Render ``emails/<subject_template>.<locale>.txt.j2`` and ``emails/<body>.<locale>.txt.j2``;
    the HTML part (``emails/<body>.html.j2``) shows the text's paragraphs."""
    subject = render(f"emails/{subject_template}.{locale}.txt.j2", **context).strip()
    text = render(f"emails/{body}.{locale}.txt.j2", **context).strip() + "\n"
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    html = render(
        f"emails/{body}.html.j2", **(context | {"subject": subject, "paragraphs": paragraphs})
    )
    return Email(subject=subject, html=html, text=text)


@dataclass(frozen=True)
class EmailRecord:
    """An email's interaction in its customer's 360, which doubles as its send-once claim."""

    customer_id: str  # the customer the email's customer id stands for now
    # Records merged on the way there: a delivery before the merge recorded the email in
    # one of them, and the merge may not have moved it yet.
    merged: tuple[str, ...]
    interaction: dict[str, Any]


def email_record(event: dict[str, Any], chain: list[str] | None) -> EmailRecord | None:
    """Where the email about ``event`` is recorded, given its customer's ``merge_chain``,
    or None when there is no known customer or the event carries no time (its key must be
    the same at every delivery)."""
    if not chain or not event.get("at") or not event.get("event_id"):
        return None
    order_id = event.get("order_id")
    label = str(event.get("status") or event.get("type", ""))
    about = f" about order {order_id}" if order_id else ""
    interaction = {
        "interaction_id": f"email-{event['event_id']}",
        "type": "email",
        "channel": "email",
        "at": str(event["at"]),
        "summary": f"email sent: {label}{about}",
        "order_id": order_id,
    }
    return EmailRecord(chain[-1], tuple(chain[:-1]), interaction)


def _claim(record: EmailRecord, deps: Deps) -> bool:
    # Moves go from a merged record to its survivor, one item at a time and atomically, so
    # an interaction recorded before a merge is, at any moment, in one of the chain's
    # records: looked for in the merged ones first, then put only if absent in the last.
    if any(deps.customers.has_interaction(m, record.interaction) for m in record.merged):
        return False
    return deps.customers.add_interaction_once(record.customer_id, record.interaction)


def send_once(
    event_id: str,
    to: str,
    email: Callable[[], Email],
    deps: Deps,
    record: EmailRecord | None = None,
) -> str | None:
    """Send the email built by ``email`` unless one was sent for this event already; with
    a ``record``, its interaction is the claim, else a once-only marker. Returns the
    message id, or None when it had been sent."""

    def send() -> str:
        message = email()
        return deps.mailer.send(to, message.subject, message.html, message.text)

    return _once(f"email:{event_id}", record, send, deps, to)


def text_once(
    event_id: str, to: str, text: Callable[[], str], deps: Deps, record: EmailRecord | None
) -> str | None:
    """``send_once`` for a text message (to a customer who gave a phone and no email), sent
    to the phone in E.164, as SNS takes it."""
    to = normalise_phone(to)
    if record is not None:
        interaction = record.interaction | {
            "interaction_id": f"sms-{event_id}",
            "type": "sms",
            "channel": "sms",
            "summary": str(record.interaction["summary"]).replace("email sent", "text sent", 1),
        }
        record = EmailRecord(record.customer_id, record.merged, interaction)
    return _once(f"sms:{event_id}", record, lambda: deps.texter.send(to, text()), deps, to)


def _once(
    marker: str, record: EmailRecord | None, send: Callable[[], str], deps: Deps, to: str
) -> str | None:
    """Claim the message (its interaction, or a once-only ``marker``), then ``send``;
    the claim is given back if sending fails, so that the event's next delivery sends."""
    if record is None:
        claimed = deps.store.remember_once(marker, EMAIL_MARKER_TTL_SECONDS)
    else:
        claimed = _claim(record, deps)
    if not claimed:
        return None
    try:
        sent = send()
    except Exception:
        # SNS retries the delivery: let that retry send the message we could not.
        if record is None:
            deps.store.forget(marker)
        else:
            deps.customers.remove_interaction(record.customer_id, record.interaction)
        raise
    if record is not None and deps.outbox is not None:
        _no_copy_if_customer_erased_meanwhile(record, sent, deps)
    return sent


def _no_copy_if_customer_erased_meanwhile(record: EmailRecord, sent: str, deps: Deps) -> None:
    """An erasure that ran between the claim and the send purged the copies kept before
    this one was written (found as a rare failure of the erasure tests): this copy goes
    too, and only this one: the address may be someone else's, named on the person's
    order, and their own emails stay (CI caught the whole address being purged). The
    erasure marks the record erased before it purges, so a send that reads the record not
    yet erased left its copy for that purge."""
    assert deps.outbox is not None
    if canonical_customer(record.customer_id, deps)[1].get("state") != ProfileState.ERASED:
        return
    order_id = record.interaction.get("order_id")
    if order_id:
        # An order on the erased record that a record split off it owns is that one's
        # person's: their email stays (a re-probe saw it purged at once).
        with contextlib.suppress(NotFound):
            if not order_erased(deps.store.get_order(str(order_id)), deps):
                return
    deps.outbox.forget(set(), messages=[sent])
