"""Ops alerts: the list ops work through, and marking one dealt with."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.domain.alerts import AlertStatus, OpsAlert
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:
    from chalicelib.composition import Deps

ALERT_ID = re.compile(r"^alr_\d{8}T\d{12}_[0-9a-f]{8}$")


def list_alerts(
    order_id: str | None, status: AlertStatus | None, limit: int, deps: Deps
) -> list[OpsAlert]:
    """Newest first; one order's, or every order's; open, resolved or both."""
    return deps.alerts.list(order_id, status, limit)


def resolve_alert(alert_id: str, by: str, note: str | None, deps: Deps) -> OpsAlert:
    """Mark an alert dealt with (once; repeating it answers the same). ``NotFound`` for
    an id that is not an alert's."""
    if not ALERT_ID.match(alert_id):
        raise NotFound(f"no alert {alert_id}", field="alert_id")
    return deps.alerts.resolve(alert_id, by, note, deps.clock())
