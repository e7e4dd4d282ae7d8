"""Alerting ops once however often a retried step asks: apart from ``alerts`` (which
writes orders), so that any service may alert without importing the order's writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.composition import Deps


# How long an alert's once-only marker is kept: past any retry of the step raising it.
ALERT_MARKER_TTL_SECONDS = 90 * 86400


def alert_once(marker: str, subject: str, message: dict[str, Any], deps: Deps) -> None:
    """Alert ops once for ``marker``, however often a retried step asks."""
    if not deps.store.remember_once(f"alert:{marker}", ALERT_MARKER_TTL_SECONDS):
        return
    try:
        deps.events.alert_ops(subject, message)
    except Exception:
        deps.store.forget(f"alert:{marker}")  # the step's retry alerts instead
        raise
