"""Alerting ops once however often a retried step asks, and resolving the open alerts a
settled matter leaves: apart from ``alerts`` (which writes orders), so that any service
may do both without importing the order's writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.alerts import AlertStatus, OpsAlert, new_alert_id
from chalicelib.domain.status_reasons import GATEWAY_SILENT_DETAIL

if TYPE_CHECKING:
    from chalicelib.composition import Deps
    from chalicelib.domain.orders import Order


# How long an alert's once-only marker is kept: past any retry of the step raising it.
ALERT_MARKER_TTL_SECONDS = 90 * 86400


# The open alerts of one order and kind read at once when the matter settles: a gateway's
# (one per rejection), a stopped execution's (one per stop).
GATEWAY_ALERTS_READ = 10
STOPPED_ALERTS_READ = 50


def alert_once(marker: str, subject: str, message: dict[str, Any], deps: Deps) -> None:
    """Alert ops once for ``marker``, however often a retried step asks."""
    _once(marker, lambda: deps.events.alert_ops(subject, message), deps)


def record_alert_once(marker: str, subject: str, message: dict[str, Any], deps: Deps) -> None:
    """As ``alert_once``, into ops' alerts only: for a matter the workflow itself
    publishes to the ops topic."""
    at = deps.clock()
    alert = OpsAlert.from_message(new_alert_id(at), subject, message, at)
    _once(marker, lambda: deps.alerts.record(alert), deps)


def _once(marker: str, tell: Callable[[], None], deps: Deps) -> None:
    """``tell`` once for ``marker``; its marker forgotten if it fails, so that the step's
    retry tells instead."""
    if not deps.store.remember_once(f"alert:{marker}", ALERT_MARKER_TTL_SECONDS):
        return
    try:
        tell()
    except Exception:
        deps.store.forget(f"alert:{marker}")
        raise


def resolve_open(
    order_id: str | None,
    about: Callable[[OpsAlert], bool],
    by: str,
    note: str,
    deps: Deps,
    *,
    limit: int,
    kind: str | None = None,
) -> int:
    """Resolve, saying ``note``, the open alerts (one order's, or all; of ``kind`` if
    given) that ``about`` picks, read ``limit`` at a time to the last (a probe: a parcel's
    60 exception alerts, read 50 at once, left 10 open for good after its delivery).
    Returns how many were."""
    resolved, before = 0, None
    while True:
        page = deps.alerts.list(order_id, AlertStatus.OPEN, limit, kind=kind, before=before)
        for alert in page:
            if about(alert):
                deps.alerts.resolve(alert.alert_id, by, note, deps.clock())
                resolved += 1
        if len(page) < limit:
            return resolved
        before = page[-1].alert_id


def resolve_gateway_alerts(order: Order, by: str, note: str, deps: Deps) -> int:
    """An order rejected when the payment gateway did not answer, since paid again or
    cancelled: its ``payment_gateway_unavailable`` alerts have nothing left to deal with
    (probe 192, re-probe 193). Read only for an order with such a rejection."""
    if not any(entry.detail == GATEWAY_SILENT_DETAIL for entry in order.history):
        return 0
    return resolve_open(
        order.order_id,
        lambda _: True,
        by,
        note,
        deps,
        limit=GATEWAY_ALERTS_READ,
        kind="payment_gateway_unavailable",
    )


def resolve_stopped(order_id: str, by: str, note: str, deps: Deps) -> int:
    """The order's open ``workflow_stopped`` alerts, once nothing is left to retry."""
    return _resolve_every(order_id, "workflow_stopped", by, note, deps)


def resolve_compensated(order_id: str, by: str, note: str, deps: Deps) -> int:
    """The order's open ``workflow_compensated`` alerts, once a retry carries it on."""
    return _resolve_every(order_id, "workflow_compensated", by, note, deps)


def _resolve_every(order_id: str, kind: str, by: str, note: str, deps: Deps) -> int:
    return resolve_open(
        order_id, lambda _: True, by, note, deps, limit=STOPPED_ALERTS_READ, kind=kind
    )
