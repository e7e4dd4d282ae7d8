"""Sending a customer email: every sender (order events, tickets) renders with the same
templates and sends at most once per event, however often the event is delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.rendering import render

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


def send_once(event_id: str, to: str, email: Callable[[], Email], deps: Deps) -> str | None:
    """Send the email built by ``email`` unless one was sent for this event already. Returns
    the message id, or None when it had been sent."""
    marker = f"email:{event_id}"
    if not deps.store.remember_once(marker, EMAIL_MARKER_TTL_SECONDS):
        return None
    try:
        message = email()
        return deps.mailer.send(to, message.subject, message.html, message.text)
    except Exception:
        # SNS retries the delivery: let that retry send the email we could not.
        deps.store.forget(marker)
        raise
