"""Alerting ops once however often a retried step asks, and resolving the open alerts a
settled matter leaves: apart from ``alerts`` (which writes orders), so that any service
may do both without importing the order's writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.alerts import AlertStatus, OpsAlert

if TYPE_CHECKING:
    from chalicelib.composition import Deps


# How long an alert's once-only marker is kept: past any retry of the step raising it.
ALERT_MARKER_TTL_SECONDS = 90 * 86400


# An order's gateway alerts read at once when it is paid again or cancelled (one per
# rejection).
GATEWAY_ALERTS_READ = 10


def alert_once(marker: str, subject: str, message: dict[str, Any], deps: Deps) -> None:
    """Alert ops once for ``marker``, however often a retried step asks."""
    if not deps.store.remember_once(f"alert:{marker}", ALERT_MARKER_TTL_SECONDS):
        return
    try:
        deps.events.alert_ops(subject, message)
    except Exception:
        deps.store.forget(f"alert:{marker}")  # the step's retry alerts instead
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
