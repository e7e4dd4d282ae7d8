"""The one path every capture, void and refund takes.

``settle(order_id, deps)`` records, as owed, whatever the order's state calls for and is
not recorded yet (``domain.settlement``), then attempts every owed operation with its
key, and records each outcome on the order. Callers change the order (the owed
operations are recorded in that same write, see ``order_writes.mutate``) and then call
``settle``; the workflow retries a step whose settlement failed, and ``sweep`` (a
schedule) retries what the API paths left owed. Ops are alerted when an operation keeps
failing, and the order shows it (``attention``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.domain import settlement as rules
from chalicelib.domain.errors import (
    ConcurrentModification,
    PaymentGatewayUnavailable,
    PaymentRefused,
)
from chalicelib.domain.events import Event, PaymentConfirmed
from chalicelib.domain.orders import Order
from chalicelib.domain.payments import PaymentOperation, PaymentOperationType
from chalicelib.services.order_writes import (
    MAX_ATTEMPTS,
    Change,
    Mutation,
    R,
    Unchanged,
    mutate,
    publish,
)

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from chalicelib.composition import Deps


@dataclass
class Settlement:
    """What one ``settle`` call did."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    order: Order | None = None

    @property
    def settled(self) -> bool:
        """Whether nothing is owed any more."""
        return not self.failed and self.order is not None and not self.order.payment.owed()


def record_owed(order_id: str, deps: Deps, start: Order | None = None) -> Order:
    """Record what the order's state calls for and is not recorded yet (one write).
    ``start``: the order as the caller just read or saved it (``mutate``'s)."""
    now = deps.clock()

    def decide(order: Order) -> Change | None:
        return Change() if rules.record_owed(order, now) else None

    return mutate(deps, order_id, decide, start=start).order


def settle(
    order_id: str,
    deps: Deps,
    raise_if_owed: bool = False,
    start: Order | None = None,
    retry_told_every: timedelta | None = None,
) -> Settlement:
    """Attempt every operation the order owes; with ``raise_if_owed`` a failure raises
    ``PaymentGatewayUnavailable`` once everything was tried (the workflow retries it).
    With ``retry_told_every`` (the sweep), an operation ops were told keeps failing is
    tried only once that long has passed since its last failure (``PaymentOperation.due``);
    until then it counts as failed, untried.

    ``start``: the order as the caller just read or saved it; without it the order is
    read. The round's outcomes are recorded in one write from the order the owed
    operations were recorded on (``mutate``'s ``start``: refused and read again if anybody
    wrote in between), and the settlement's ``order`` is the last one written or read,
    not a read of its own."""
    order = record_owed(order_id, deps, start)
    outcome = Settlement(order=order)
    payment_id = order.payment.payment_id
    if payment_id is None:
        return outcome
    # What it owes, taken before the writes below start from (and change) ``order``.
    owed = list(rules.owed_in_order(order))
    captures = [o.key for o in order.payment.owed() if o.type is PaymentOperationType.CAPTURE]
    tried: list[tuple[PaymentOperation, str | None]] = []  # each with its error, if any
    now = deps.clock()
    try:
        for op in owed:
            if retry_told_every is not None and not op.due(now, retry_told_every):
                outcome.failed.append(op.key)
                continue
            if op.type is PaymentOperationType.REFUND and _captures_owed(outcome, captures):
                # A refund gives back captured money: not before the capture went through.
                outcome.failed.append(op.key)
                continue
            try:
                _call(deps, payment_id, op)
            except (PaymentGatewayUnavailable, PaymentRefused) as exc:
                outcome.failed.append(op.key)
                tried.append((op, f"{type(exc).__name__}: {exc}"))
                continue
            outcome.done.append(op.key)
            tried.append((op, None))
    finally:
        # The round's outcomes in one write (even when a call raised something else):
        # every operation was recorded as owed before it was attempted, and each call
        # carries its key, so a round repeated after a crash here moves no money twice.
        if tried:
            outcome.order = _record_round(order_id, tried, deps, order)
    if raise_if_owed and outcome.failed:
        raise PaymentGatewayUnavailable(
            f"order {order_id} still owes {', '.join(outcome.failed)}; retried"
        )
    return outcome


def _captures_owed(outcome: Settlement, captures: list[str]) -> bool:
    return any(key not in outcome.done for key in captures)


def _call(deps: Deps, payment_id: str, op: PaymentOperation) -> None:
    gateway = deps.payments
    call = {
        PaymentOperationType.CAPTURE: gateway.capture,
        PaymentOperationType.VOID: gateway.void,
        PaymentOperationType.REFUND: gateway.refund,
    }[op.type]
    call(payment_id, op.amount, op.key)


def _record_round(
    order_id: str, tried: list[tuple[PaymentOperation, str | None]], deps: Deps, start: Order
) -> Order:
    """Record one gateway round's outcomes in one write: each operation confirmed, or its
    failed attempt counted (ops alerted, once, when one keeps failing)."""
    now = deps.clock()
    done = [op for op, error in tried if error is None]
    failed = [(op, error) for op, error in tried if error is not None]

    def decide(order: Order) -> Change[list[PaymentOperation]] | None:
        events: list[Event] = [
            PaymentConfirmed.of(order_id, op, now)
            for op in done
            if rules.confirm(order, op.key, now)
        ]
        alerts = [op for op, error in failed if rules.record_failure(order, op.key, error, now)]
        if not events and not failed:
            return None  # confirmed already (a repeated round)
        return Change(events=events, result=alerts)

    written = mutate(deps, order_id, decide, start=start)
    order = written.order
    errors = {op.key: error for op, error in tried}
    for op in written.result or []:
        # Its amount in the subject: an order owing two (the goods, the shipping fee) read
        # as two identical rows in "Needs attention" (probe 255).
        deps.events.alert_ops(
            f"payment {op.type.value} of {op.amount.amount} {op.amount.currency} owed {order_id}",
            {
                "kind": "payment_owed",
                "order_id": order_id,
                "operation": op.key,
                "type": op.type.value,
                "amount": op.amount.model_dump(mode="json"),
                "attempts": next(
                    (o.attempts for o in order.payment.operations if o.key == op.key), 0
                ),
                "error": errors[op.key],
            },
        )
    return order


def sweep(deps: Deps, limit: int = 100) -> dict[str, int]:
    """Settle every order the store lists as owing money (a marker, never a scan). One
    order that cannot be settled (anything but the gateway's refusal, which is counted on
    the order) is logged and counted in ``errors``, and the others still get their try: it
    stopped the whole sweep before, for every order listed behind it (found by a test run
    whose listed orders named a payment the sandbox did not know)."""
    order_ids = deps.store.orders_owing(limit)
    settled = errors = 0
    retry_told_every = deps.settings.waits.duration(rules.RETRY_TOLD_EVERY)  # scaled, as sweeps
    for order_id in order_ids:
        try:
            if settle(order_id, deps, retry_told_every=retry_told_every).settled:
                settled += 1
        except Exception:  # noqa: BLE001 - see above; the next sweep tries it again
            errors += 1
            _log.exception("settling %s failed", order_id)
    return {"orders": len(order_ids), "settled": settled, "errors": errors}


def write_then_settle(
    deps: Deps,
    order_id: str,
    decide: Callable[[Order], Change[R] | Unchanged[R] | None],
    raise_if_owed: bool = False,
    attempts: int = MAX_ATTEMPTS,
) -> tuple[Mutation[R], Order]:
    """Write a change that leaves money owed (a void, a refund), attempt it, then announce
    the change: its events go out once the gateway was tried, so that the customer's email
    can say what was given back. What the gateway refused stays owed (the sweeper, or the
    workflow's retry with ``raise_if_owed``, tries again) and the change is announced all
    the same. Returns the write and the order as last read."""
    written = mutate(deps, order_id, decide, announce=False, attempts=attempts)
    order = written.order
    try:
        settled = settle(order_id, deps, raise_if_owed=raise_if_owed, start=written.order)
        order = settled.order or order
    except ConcurrentModification:
        if raise_if_owed:
            raise  # the workflow's step runs again and settles
        # Written, and what it owes recorded with it and listed for the sweeper; other
        # writers of the order settle it too. Not the caller's to send again (probe 203: a
        # receipt done was answered 429, and sent again was "already received").
        _log.info("settlement of %s left to the sweeper", order_id)
    finally:
        if written.change is not None:
            publish(deps, order, written.change)
    return written, order
