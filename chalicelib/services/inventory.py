"""Stock movements from the shop floor and the back office, and low-stock alerts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib.domain.catalog import Product
from chalicelib.domain.errors import Conflict, MovementRejected, UnknownReferences
from chalicelib.domain.inventory import available_to_promise, level_at
from chalicelib.domain.requests import RecordMovementRequest
from chalicelib.services.alert_once import resolve_open
from chalicelib.services.opportunities import (
    on_availability,
    tell_those_waiting_at,
    told_safely,
)

if TYPE_CHECKING:
    from chalicelib.composition import Deps

LOW_STOCK_MARKER_TTL_SECONDS = 365 * 86400
# Open low-stock alerts read at once when a SKU recovers (several, if raised before this).
LOW_STOCK_ALERTS_READ = 50


def record_movement(
    request: RecordMovementRequest, deps: Deps, once: str | None = None
) -> dict[str, Any]:
    """Apply a POS sale, a receipt, an adjustment or a return at one location; web
    availability moves at once because both read the same stock item. ``once``: the
    request's Idempotency-Key in its scope, from which the movement's id is made, so that
    the request asked again is applied once, even after a first run that died between the
    stock's write and the stored answer (found by a review: Powertools runs a key again
    once its record's in-progress time has passed, and a till's sale counted twice)."""
    delta = request.on_hand_delta()
    problems: list[tuple[str, str]] = []
    if deps.store.product(request.sku) is None:
        problems.append(("sku", f"unknown SKU {request.sku}"))
    location = next(
        (loc for loc in deps.store.locations() if loc.location_id == request.location_id), None
    )
    if location is None:
        problems.append(("location_id", f"no location {request.location_id}"))
    if problems:
        raise UnknownReferences(problems)
    assert location is not None
    if delta > 0:
        deps.store.ensure_stock_item(request.sku, location)
    before = deps.store.stock_levels(request.sku)
    level = level_at(before, location.location_id)
    if level is None:
        raise Conflict(
            f"{location.location_id} holds no {request.sku}; nothing to take", field="quantity"
        )
    now = deps.clock()
    movement = {
        "movement_id": _movement_id(once),
        "sku": request.sku,
        "location_id": request.location_id,
        "type": request.type,
        "quantity": request.quantity,
        "on_hand_delta": delta,
        "reference": request.reference,
        "at": now.isoformat(),
    }
    try:
        recorded = deps.store.record_movement(
            request.sku, request.location_id, delta, level.safety_stock, movement
        )
    except MovementRejected as exc:
        # Said from the stock as it is now: the reading above may predate the sale that
        # took the units (a probe read "has 1 on hand of which 0 are promised … cannot
        # give 1").
        now_there = level_at(deps.store.stock_levels(request.sku), request.location_id) or level
        # A count finding promised units missing says what to do first (probe 191: the
        # store was told only that it could not).
        then = (
            "; cancel the order they are promised to first, then count them out"
            if request.type == "adjustment" and now_there.reserved
            else ""
        )
        raise Conflict(
            f"{request.location_id} has {now_there.on_hand} on hand of which "
            f"{now_there.reserved} are promised to orders: it cannot give {-delta}{then}",
            field="quantity",
        ) from exc
    read_at = deps.clock()
    levels = deps.store.stock_levels(request.sku)
    check_low_stock(request.sku, deps, levels, read_at)
    if recorded != movement:
        # Recorded by a first run under this key: ``before`` is read after it, so what it
        # was due to tell its subscribers is told from its moment.
        if delta > 0:
            moment = datetime.fromisoformat(str(recorded["at"]))
            told = partial(tell_those_waiting_at, request.sku, moment, deps)
            told_safely(told, str(recorded["movement_id"]))
    else:
        # Back on the web after none: the SKU's subscribers get their one email.
        was, is_now = available_to_promise(before), available_to_promise(levels)
        told = partial(on_availability, request.sku, was, is_now, deps)
        told_safely(told, str(movement["movement_id"]))
    movement = recorded
    after = level_at(levels, request.location_id)
    assert after is not None  # the movement was recorded there
    return movement | {
        "on_hand": after.on_hand,
        "reserved": after.reserved,
        "available": max(0, after.available),
        "available_to_promise": available_to_promise(levels),
    }


def _movement_id(once: str | None) -> str:
    """A new movement's id: made from its Idempotency-Key when it has one (the same key in
    the same scope, the same id), random otherwise."""
    if once is None:
        return f"mov_{uuid.uuid4().hex[:16]}"
    return f"mov_{hashlib.sha256(once.encode('utf-8', 'surrogatepass')).hexdigest()[:24]}"


def check_low_stock(
    sku: str, deps: Deps, levels: list[Any] | None = None, read_at: datetime | None = None
) -> bool:
    """Alert ops once when web availability falls below the SKU's threshold; re-arm when it
    recovers. Returns True when an alert was published. ``levels``: the SKU's stock levels
    if the caller has just read them, at ``read_at``."""
    given = None if levels is None else {sku: levels}
    return sku in check_low_stock_of([sku], deps, given, read_at)


def check_low_stock_of(
    skus: list[str],
    deps: Deps,
    levels: dict[str, list[Any]] | None = None,
    read_at: datetime | None = None,
) -> list[str]:
    """``check_low_stock`` for several SKUs (those a reservation took), with their products
    read in one request and the markers of those above their threshold in another (instead
    of one each per SKU); each SKU's levels, unless given (read at ``read_at``), are read
    now (after the reservation). Returns the SKUs alerted.

    A SKU above its threshold re-arms its alert only if the alert was raised before its
    levels were read: a request whose reading came before another's sale took the SKU
    below would otherwise drop that sale's marker, and the next sale alert again (a probe:
    3 alerts for one crossing under 18 concurrent sales)."""
    read_at = read_at if levels is not None and read_at is not None else deps.clock()
    known = levels or {}
    products = deps.store.products_of(skus)
    alerted: list[str] = []
    recovered: list[str] = []
    for sku in sorted(set(skus) & products.keys()):
        product = products[sku]
        atp = available_to_promise(known[sku] if sku in known else deps.store.stock_levels(sku))
        if atp < product.low_stock_threshold:
            if _alert_once(product, atp, deps):
                alerted.append(sku)
        else:
            recovered.append(_low_stock_marker(sku))
    for marker in sorted(deps.store.markers_held(recovered) if recovered else ()):
        if deps.store.forget_set_before(marker, read_at):
            _resolve_low_stock(marker.removeprefix(_low_stock_marker("")), deps)
    return alerted


def low_stock_checked(
    skus: list[str],
    deps: Deps,
    levels: dict[str, list[Any]] | None = None,
    read_at: datetime | None = None,
) -> int:
    """``check_low_stock_of`` after a write that gave units of ``skus`` back (a cancel, a
    pick-up not collected, a return received): how many SKUs it alerted."""
    return len(check_low_stock_of(skus, deps, levels, read_at))


def _resolve_low_stock(sku: str, deps: Deps) -> None:
    """The SKU is above its threshold again: its open low-stock alerts are dealt with
    (probe 192: two stayed open after two restocks, each saying 1 left). Only a SKU that
    alerted holds the marker, so this runs once per recovery."""
    resolve_open(
        None,
        lambda alert: alert.facts.get("sku") == sku,
        "system:stock",
        "back above its low-stock threshold",
        deps,
        limit=LOW_STOCK_ALERTS_READ,
        kind="low_stock",
    )


def _low_stock_marker(sku: str) -> str:
    return f"lowstock:{sku}"


def _alert_once(product: Product, atp: int, deps: Deps) -> bool:
    """The one alert of a crossing below the threshold (the marker says it was sent)."""
    if not deps.store.remember_once(_low_stock_marker(product.sku), LOW_STOCK_MARKER_TTL_SECONDS):
        return False
    # What ops act on, said in the alert itself: the console lists it with no order to
    # open (probe 224 read only "low stock COAT-WOOL" there); what the web had when it
    # fell, since the alert stays as written while stock moves on (probe 231).
    deps.events.alert_ops(
        f"low stock {product.sku} ({product.name}): fell to {atp} for the web, "
        f"below its threshold of {product.low_stock_threshold}",
        {
            "kind": "low_stock",
            "sku": product.sku,
            "available_to_promise": atp,
            "threshold": product.low_stock_threshold,
        },
    )
    return True
