"""Fires the app's ``@app.schedule`` handlers, as EventBridge does on AWS.

``chalice local`` runs no schedules; the local stack runs them itself, each at its rate
divided by ``ORQUESTA_TIME_SCALE`` (at most every ``MIN_PERIOD_SECONDS``), on one daemon thread.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from infra.local.lambda_adaptations import LambdaContext, run_as_its_own_invocation

log = logging.getLogger("orquesta.local")

# However far time is scaled, a schedule runs at most every few seconds: the SLA check is
# a safety net, and moto answers index queries by reading the whole table.
MIN_PERIOD_SECONDS = 15.0

_UNIT_SECONDS = {
    "minute": 60,
    "minutes": 60,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
}


def rate_seconds(expression: Any) -> float:
    """Seconds between runs of a ``rate(...)`` expression (cron is not supported here)."""
    text = expression if isinstance(expression, str) else expression.to_string()
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", text.strip())
    if not match:
        raise ValueError(f"the local scheduler only runs rate() expressions, not {text}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Scheduler:
    """Runs each scheduled handler periodically until stopped."""

    def __init__(self, app: Any, time_scale: float) -> None:
        self.jobs: list[tuple[str, float, Callable[..., Any]]] = []
        for source in app.event_sources:
            expression = getattr(source, "schedule_expression", None)
            if expression is None:
                continue
            period = max(MIN_PERIOD_SECONDS, rate_seconds(expression) / time_scale)
            self.jobs.append((source.name, period, app.handler_map[source.name]))
        self.runs: dict[str, int] = {name: 0 for name, _, _ in self.jobs}
        self._stop = threading.Event()
        # Held while a handler runs, so that pausing waits for the run in flight.
        self._running = threading.Lock()
        self._paused = 0
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        """Start firing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run."""
        self._stop.set()
        self._thread.join(timeout=10)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No scheduled run starts inside this block, and none is in flight: for a test
        that drives the schedules itself and must not race them (a hypothesis property
        whose draws depend on what the sweeper did would be flaky)."""
        with self._running:
            self._paused += 1
        try:
            yield
        finally:
            with self._running:
                self._paused -= 1

    def _loop(self) -> None:
        due = {name: time.monotonic() + period for name, period, _ in self.jobs}
        while not self._stop.is_set():
            now = time.monotonic()
            for name, period, handler in self.jobs:
                if now >= due[name]:
                    due[name] = now + period
                    with self._running:
                        if not self._paused:
                            self._fire(name, handler)
            self._stop.wait(0.2)

    def fire(self, name: str, handler: Callable[..., Any]) -> None:
        """Run one handler now (a test's own run), as EventBridge would invoke it."""
        self._fire(name, handler)

    def _fire(self, name: str, handler: Callable[..., Any]) -> None:
        event = {
            "version": "0",
            "id": f"local-{time.monotonic_ns()}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "eu-west-1",
            "resources": [],
            "detail": {},
        }
        try:
            run_as_its_own_invocation(handler, event, LambdaContext(name))
        except Exception:
            log.exception("scheduled %s failed", name)
        self.runs[name] += 1
