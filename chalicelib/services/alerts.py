"""Ops alerts: the list ops work through, and marking one dealt with."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.domain.alerts import AlertStatus, OpsAlert
from chalicelib.domain.errors import NotFound
from chalicelib.domain.order_status import AT_REST
from chalicelib.domain.orders import AttentionKind, Order
from chalicelib.domain.tickets import BY_CARRIER, BY_LOST_PARCELS
from chalicelib.services.alert_once import resolve_open
from chalicelib.services.order_writes import Change, mutate

if TYPE_CHECKING:
    from chalicelib.composition import Deps

# An order has a handful of alerts; this many covers any parcel's.
LATE_ALERTS_READ = 50
# What ``new_alert_id`` makes. ASCII digits: the pattern is in the OpenAPI document too
# (the alerts' cursor), where ``\d`` is [0-9] only.
ALERT_ID_FORMAT = "alr_[0-9]{8}T[0-9]{12}_[0-9a-f]{8}"
ALERT_ID = re.compile(f"^{ALERT_ID_FORMAT}$")
# The attention an alert's kind stands for on its order, where the attention only tells
# ops what the alert tells them.
TOLD_BY_ALERT = {
    "workflow_stopped": AttentionKind.WORKFLOW_STOPPED,
    "workflow_compensated": AttentionKind.COMPENSATED,
}


def list_alerts(
    order_id: str | None,
    status: AlertStatus | None,
    limit: int,
    deps: Deps,
    cursor: str | None = None,
) -> tuple[list[OpsAlert], str | None]:
    """A page, newest first; one order's, or every order's; open, resolved or both. The
    cursor of the next page is the id of this page's last alert, handed out only when an
    alert follows it (one more is read to know), so no cursor leads to an empty page."""
    found = deps.alerts.list(order_id, status, limit + 1, before=cursor)
    page = found[:limit]
    return page, page[-1].alert_id if len(found) > limit else None


def resolve_alert(alert_id: str, by: str, note: str | None, deps: Deps) -> OpsAlert:
    """Mark an alert dealt with (once; repeating it answers the same). ``NotFound`` for
    an id that is not an alert's."""
    if not ALERT_ID.match(alert_id):
        raise NotFound(f"no alert {alert_id}", field="alert_id")
    resolved = deps.alerts.resolve(alert_id, by, note, deps.clock())
    _seen_to(resolved, deps)
    return resolved


# What ops are told about a parcel that is late: dealt with once the carrier delivers it.
# ``delivery_unconfirmed`` is no longer raised (the breach now comes at the end of the grace,
# when it was); open ones raised before are still resolved.
LATE_PARCEL_KINDS = frozenset({"sla_breached", "delivery_unconfirmed"})


def late_parcel_delivered(order_id: str, fulfillment_id: str, delivered_at: str, deps: Deps) -> int:
    """A late parcel was delivered after all: its open breach and unconfirmed-delivery
    alerts are resolved, saying so (a probe found every late parcel left in ops' queue
    for good). Returns how many were."""
    note = f"the carrier delivered the parcel at {delivered_at}"
    return _settle_late_parcel(order_id, fulfillment_id, BY_CARRIER, note, deps)


def late_parcel_lost(order_id: str, fulfillment_id: str, deps: Deps) -> int:
    """A late parcel was declared lost: its parcel_lost alert is what is left to deal with,
    so its breach and unconfirmed-delivery alerts are resolved, pointing there (a probe
    found three open alerts for each lost parcel). Returns how many were."""
    note = "the parcel was declared lost and refunded: see its parcel_lost alert"
    return _settle_late_parcel(order_id, fulfillment_id, BY_LOST_PARCELS, note, deps)


def parcel_problems_settled(
    order_id: str, carrier: str, tracking_number: str, by: str, note: str, deps: Deps
) -> int:
    """A parcel the carrier reported a problem with reached its end (delivered, or
    declared lost): its open ``carrier_exception`` alerts are resolved, saying how (a
    probe found a delivered parcel's eight exceptions still in ops' queue, its re-probe a
    lost one's). Returns how many were."""
    return _settle(
        order_id,
        lambda alert: (
            alert.kind == "carrier_exception"
            and alert.facts.get("carrier") == carrier
            and alert.facts.get("tracking_number") == tracking_number
        ),
        by,
        note,
        deps,
    )


def _settle_late_parcel(order_id: str, fulfillment_id: str, by: str, note: str, deps: Deps) -> int:
    return _settle(
        order_id,
        lambda alert: (
            alert.kind in LATE_PARCEL_KINDS and alert.facts.get("fulfillment_id") == fulfillment_id
        ),
        by,
        note,
        deps,
    )


def _settle(
    order_id: str, about: Callable[[OpsAlert], bool], by: str, note: str, deps: Deps
) -> int:
    return resolve_open(order_id, about, by, note, deps, limit=LATE_ALERTS_READ)


def _seen_to(alert: OpsAlert, deps: Deps) -> None:
    """An order at rest stops showing ``attention`` once ops resolved the alert it stands
    for: a compensated or stopped order has nothing left to carry on (a retry is 409), so
    nothing else would ever clear it (found by a probe). An order still under way keeps
    it until a retry; money still owed keeps it until the sweeper settles it."""
    kind = TOLD_BY_ALERT.get(alert.kind)
    if kind is None or alert.order_id is None:
        return

    def decide(order: Order) -> Change | None:
        attention = order.attention
        if attention is None or attention.kind is not kind or order.status not in AT_REST:
            return None
        if order.payment.owed():
            return None
        order.attention = None
        return Change()

    try:
        mutate(deps, alert.order_id, decide)
    except NotFound:
        return
