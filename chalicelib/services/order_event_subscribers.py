"""Everything that follows an event on the topic of order events, in one subscriber.

One Lambda invocation per event runs every handler in turn, instead of one function per
handler each invoked for every event (three invocations per event, most of them doing
nothing). Each handler is idempotent per event on its own: the email is sent once per
event id (``emails.send_once``'s claim: its interaction, keyed by the event);
the customer 360 projection is state-based and writes nothing for a state it already
projected; the opportunities' moves are checked against their current status; the campaign
figures record each event id they applied in the same transaction. So when
one handler fails the others still run, and then the invocation fails: SNS retries it
(and its dead-letter queue keeps it after the retries), the handlers that succeeded
do nothing the second time, and the failed one gets its retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.services import (
    campaign_projection,
    customer_projection,
    notify,
    opportunities,
    surveys,
    tickets,
)
from chalicelib.services.event_reads import EventReads

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# A handler gets the event, the deps and the delivery's shared reads (event_reads.py).
Handler = Callable[[dict[str, Any], "Deps", EventReads], object]

# Event types on the topic that no handler acts on: a capture tells the books, not the
# customer (the email, the 360 and the opportunities follow the status changes and
# refunds). The subscription filters them out, so they cost no invocation; other
# subscribers of the topic still get them. tests/service/test_order_event_subscriber.py
# proves every handler does nothing with them. A void is not among them: one the gateway
# refused at first is done by the sweeper after the order's events, and the customer's
# figures must then leave the voided amount out (customer_projection).
IGNORED_TYPES = ("payment.capture",)


def subscription_filter() -> tuple[str, dict[str, Any]]:
    """The SNS subscription's filter (scope, policy): every event but ``IGNORED_TYPES``."""
    return "MessageBody", {"type": [{"anything-but": list(IGNORED_TYPES)}]}


class SubscriberFailed(Exception):
    """One or more handlers of an order event failed; the others ran. Raised so the
    delivery is retried (SNS) and, after its retries, kept in the dead-letter queue."""

    def __init__(self, event_id: str, failed: dict[str, Exception]) -> None:
        names = ", ".join(f"{name} ({type(exc).__name__}: {exc})" for name, exc in failed.items())
        super().__init__(f"event {event_id}: {names} failed; the other handlers ran")
        self.event_id = event_id
        self.failed = failed


def email_customer(message: dict[str, Any], deps: Deps, reads: EventReads) -> str | None:
    """Email the customer about an order or ticket event (once per event); the email's
    interaction in their 360 is written as its send-once claim. Returns the message id,
    or None when nothing was sent."""
    if tickets.is_ticket_event(message):
        return tickets.mail_ticket_event(message, deps)
    return notify.on_order_event(message, deps, reads)


# Run in this order for every event. The order and its customer's chain are read once per
# delivery, by whichever handler needs them first (``EventReads``), so none depends on
# another having run.
HANDLERS: dict[str, Handler] = {
    "email_customer": email_customer,
    "project_customer_view": customer_projection.project_order_event,
    "follow_up_opportunities": opportunities.follow_order_event,
    "project_campaigns": campaign_projection.project_campaign_event,
    "carry_survey_to_claimant": surveys.carry_to_claimant,
}


def handle_order_event(
    message: dict[str, Any], deps: Deps, handlers: dict[str, Handler] | None = None
) -> dict[str, object]:
    """Run every handler on one event; returns each one's outcome by name. Raises
    ``SubscriberFailed`` (chained from the first failure) after running all of them if
    any failed."""
    outcomes: dict[str, object] = {}
    failed: dict[str, Exception] = {}
    reads = EventReads(deps)
    for name, handler in (HANDLERS if handlers is None else handlers).items():
        try:
            outcomes[name] = handler(message, deps, reads)
        except Exception as exc:  # noqa: BLE001 - the others still run; re-raised below
            failed[name] = exc
    if failed:
        raise SubscriberFailed(str(message.get("event_id")), failed) from next(
            iter(failed.values())
        )
    return outcomes
