"""Changing who a record is: merging two records of one person, erasing a customer's
personal data, and claiming an anonymous store order."""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.customers import customer_pk
from chalicelib.domain.customers import AnalyticsState, CustomerMetrics, analytics_state
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    NotFound,
    TooManyAttempts,
    Unprocessable,
)
from chalicelib.domain.orders import Channel, CustomerContact, Order, ShippingAddress
from chalicelib.domain.requests import CustomerRef
from chalicelib.services.customers import Resolution, resolve_customer
from chalicelib.services.unit_of_work import Change, jittered_pause, mutate

if TYPE_CHECKING:
    from chalicelib.composition import Deps

MOVED_PREFIXES = ("ORDER#", "INTERACTION#", "TICKET#", "CONSENT#")
MAX_CLAIM_ATTEMPTS = 5
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
ERASED = "[erased]"


def _active_profile(customer_id: str, field: str, deps: Deps) -> dict[str, Any]:
    profile = deps.customers.profile(customer_id)
    if profile is None:
        raise NotFound(f"no customer {customer_id}", field=field)
    state = profile.get("state", "active")
    if state != "active":
        raise Conflict(f"customer {customer_id} is {state}", field=field)
    return profile


def merge_customers(
    survivor_id: str, merged_id: str, by_client: str, by_role: str, deps: Deps
) -> dict[str, Any]:
    """Merge ``merged_id`` into ``survivor_id``: identifiers, orders, interactions, tickets
    and consents move; the merged id points at the survivor; the figures add up; the merge
    is recorded with who and when. Refused (nothing changed) for itself, unknown, merged
    or erased records.

    The first transaction makes the merge (pointer, identifiers, record); moving the
    history follows in steps that are each idempotent. Asking again for the same merge
    answers with the recorded one and finishes whatever an interrupted call left."""
    if survivor_id == merged_id:
        raise Conflict("a customer cannot be merged into itself", field="from_customer_id")
    store = deps.customers
    recorded = _recorded_merge(survivor_id, merged_id, deps)
    if recorded is not None:
        _active_profile(survivor_id, "customer_id", deps)
        _move_history(survivor_id, merged_id, deps)
        return recorded
    _active_profile(survivor_id, "customer_id", deps)
    _active_profile(merged_id, "from_customer_id", deps)
    record = {
        "from_customer_id": merged_id,
        "into_customer_id": survivor_id,
        "at": deps.clock().isoformat(),
        "by_client_id": by_client,
        "by_role": by_role,
    }
    store.merge_profiles(survivor_id, merged_id, store.identifiers(merged_id), record)
    _move_history(survivor_id, merged_id, deps)
    return record


def _recorded_merge(survivor_id: str, merged_id: str, deps: Deps) -> dict[str, Any] | None:
    """The record of ``merged_id`` merged into ``survivor_id``, if that merge was made."""
    profile = deps.customers.profile(merged_id)
    if profile is None or profile.get("merged_into") != survivor_id:
        return None
    records, _ = deps.customers.query(customer_pk(survivor_id), "MERGE#")
    fields = ("from_customer_id", "into_customer_id", "at", "by_client_id", "by_role")
    for item in records:
        if item.get("from_customer_id") == merged_id:
            return {name: item[name] for name in fields}
    return None


def _move_history(survivor_id: str, merged_id: str, deps: Deps) -> None:
    """Tickets, orders, interactions and consents to the survivor, then the figures: each
    step safe to run again (what moved is gone from the merged record, and its figures
    are zeroed in the transaction that adds them to the survivor's)."""
    store = deps.customers
    tickets, _ = store.query(customer_pk(merged_id), "TICKET#")
    for ticket in tickets:
        store.put_ticket_owner(str(ticket["ticket_id"]), survivor_id)
    store.move_items(merged_id, survivor_id, MOVED_PREFIXES)
    _merge_figures(survivor_id, merged_id, deps)


def _merge_figures(survivor_id: str, merged_id: str, deps: Deps) -> None:
    store = deps.customers
    for _ in range(10):
        (survivor, survivor_state), (merged, merged_state) = (
            store.figures(survivor_id),
            store.figures(merged_id),
        )
        combined = survivor.merged_with(merged)
        try:
            store.save_metrics(
                [
                    (
                        survivor_id,
                        combined,
                        survivor_state,
                        analytics_state(combined, deps.clock()),
                    ),
                    (
                        merged_id,
                        CustomerMetrics(version=merged.version),
                        merged_state,
                        AnalyticsState(),
                    ),
                ]
            )
        except ConcurrentModification:
            jittered_pause()
            continue
        return
    raise ConcurrentModification("the customers' figures kept changing; merge them again")


def erase_customer(
    customer_id: str, by_client: str, by_role: str, deps: Deps, reason: str | None = None
) -> dict[str, Any]:
    """Remove the customer's personal data (name, identifiers, contact details and
    addresses on their orders) while keeping the orders and amounts for the accounts; the
    erasure is recorded."""
    _active_profile(customer_id, "customer_id", deps)
    record = {
        "at": deps.clock().isoformat(),
        "by_client_id": by_client,
        "by_role": by_role,
        "reason": reason,
    }
    store = deps.customers
    store.erase_profile(customer_id, store.identifiers(customer_id), record)
    orders, _ = store.query(customer_pk(customer_id), "ORDER#")

    def redact(order: Order) -> Change | None:
        order.contact = CustomerContact(locale=order.contact.locale)
        if order.shipping_address is not None:
            order.shipping_address = ShippingAddress(
                name=ERASED,
                line1=ERASED,
                city=ERASED,
                postal_code=ERASED,
                country=order.shipping_address.country,
            )
        return Change()

    for summary in orders:
        mutate(deps, str(summary["order_id"]), redact)
    return record


def new_receipt_code() -> str:
    """Eight characters printed on an anonymous store receipt."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))


def claim_order(order_id: str, receipt_code: str, ref: CustomerRef, deps: Deps) -> Resolution:
    """Attach an anonymous store order to the customer the identifier names (created if
    new) when the receipt code matches; five wrong codes lock the order."""
    try:
        order = deps.store.get_order(order_id)
    except NotFound as exc:
        raise NotFound(f"no order {order_id}", field="order_id") from exc
    if order.receipt_code is None or order.channel is not Channel.STORE:
        raise Conflict(f"order {order_id} is not an anonymous store order", field="order_id")
    if order.customer_id is not None:
        raise Conflict(f"order {order_id} was already claimed", field="order_id")
    if deps.customers.claim_attempts(order_id) >= MAX_CLAIM_ATTEMPTS:
        raise TooManyAttempts(f"order {order_id} is locked after too many wrong codes")
    expected = order.receipt_code
    if not hmac.compare_digest(receipt_code.strip().upper().encode(), expected.encode()):
        if deps.customers.count_claim_attempt(order_id) >= MAX_CLAIM_ATTEMPTS:
            raise TooManyAttempts(f"order {order_id} is locked after too many wrong codes")
        raise Unprocessable("wrong receipt code", field="receipt_code")
    resolution = resolve_customer(ref, deps)
    now = deps.clock()

    def attach(current: Order) -> Change | None:
        if current.customer_id == resolution.customer_id:
            return None
        if current.customer_id is not None:
            raise Conflict(f"order {order_id} was already claimed", field="order_id")
        current.customer_id = resolution.customer_id
        current.contact = CustomerContact(
            email=current.contact.email or (ref.email.strip().lower() if ref.email else None),
            phone=current.contact.phone or ref.phone,
            name=current.contact.name or ref.name,
            locale=ref.locale,
        )
        claimed = {
            "type": "order.claimed",
            "event_id": f"{order_id}:claimed",
            "order_id": order_id,
            "customer_id": resolution.customer_id,
            "channel": current.channel.value,
            "total": current.total.model_dump(mode="json"),
            "at": now.isoformat(),
        }
        return Change(events=[claimed])

    mutate(deps, order_id, attach)
    return resolution
