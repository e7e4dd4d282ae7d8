"""Changing who a record is: merging two records of one person, erasing a customer's
personal data, and claiming an anonymous store order."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from chalicelib.domain.customers import (
    LOCALE_CHOSEN,
    AnalyticsState,
    CustomerMetrics,
    Identifier,
    IdentifierType,
    ProfileState,
    analytics_state,
    language_after_merge,
)
from chalicelib.domain.email_policy import preference_after_merge
from chalicelib.domain.erasure import (
    contact_emails,
    forget_contact,
    forget_owned_contact,
    redact_interaction,
    redact_order,
    redact_profile,
    redact_ticket,
    redact_ticket_index,
)
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    NotFound,
    Unprocessable,
)
from chalicelib.domain.events import OrderClaimed
from chalicelib.domain.orders import Order
from chalicelib.domain.placement import Channel, CustomerContact
from chalicelib.domain.requests import CustomerRef
from chalicelib.ports import CustomerRecord
from chalicelib.services import campaign_projection, opportunities, ordering, tokens
from chalicelib.services.after_sale_records import (
    SPLIT_AWAY,
    erase_opportunities,
    erase_survey_comments,
    erasure_addresses,
    erasure_orders,
    not_someone_elses,
    orders_of,
    orders_split_away,
    split_away_from,
    stray_orders,
)
from chalicelib.services.customers import (
    Resolution,
    canonical_customer,
    contact_fields_owned_elsewhere,
    person_records,
    record_locale,
    resolve_customer,
    sorted_by_vouching,
)
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.retries import retried

if TYPE_CHECKING:
    from chalicelib.composition import Deps

MOVED_RECORDS = (
    CustomerRecord.ORDERS,
    CustomerRecord.INTERACTIONS,
    CustomerRecord.TICKETS,
    CustomerRecord.CONSENTS,
)
MAX_CLAIM_ATTEMPTS = 5
CLAIM_LOCKOUT_SECONDS = 15 * 60  # real time, not scaled
CLAIMING_SECONDS = 60  # a claim that died holding its lock frees it after this
# What the erase call answers with, of the erasure record (not the outbox's addresses).
ERASURE_FIELDS = ("at", "by_client_id", "by_role", "reason", "status", "completed_at")
MAX_ERASURE_ATTEMPTS = 5
MAX_MERGE_ATTEMPTS = 10


def _active_profile(customer_id: str, field: str, deps: Deps) -> dict[str, Any]:
    profile = deps.customers.profile(customer_id)
    if profile is None:
        raise NotFound(f"no customer {customer_id}", field=field)
    state = profile.get("state", ProfileState.ACTIVE)
    if state != ProfileState.ACTIVE:
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
    survivor = _active_profile(survivor_id, "customer_id", deps)
    merged = _active_profile(merged_id, "from_customer_id", deps)
    record = {
        "from_customer_id": merged_id,
        "into_customer_id": survivor_id,
        "at": deps.clock().isoformat(),
        "by_client_id": by_client,
        "by_role": by_role,
    }
    vouched, attached = sorted_by_vouching(merged_id, deps)
    store.merge_profiles(
        survivor_id,
        merged_id,
        vouched + attached,
        record,
        vouched,
        survivor_takes=_choices_kept(survivor, merged),
    )
    _move_history(survivor_id, merged_id, deps)
    return record


def _choices_kept(survivor: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """What the survivor's profile takes of the merged record's choices: the email
    preference (``preference_after_merge``) and the language (``language_after_merge``)."""
    kept: dict[str, Any] = {}
    preference = preference_after_merge(survivor, merged)
    if preference is not None:
        kept["notifications"] = preference.value
    language = language_after_merge(survivor, merged)
    if language is not None:
        kept |= {"locale": language, LOCALE_CHOSEN: True}
    return kept


def carry_over_after_merge(merged_id: str, deps: Deps) -> str | None:
    """Something was just written onto ``merged_id``'s partition as the record stood when
    read; if it is merged now, its history moves again to the customer it stands for
    (every step of the move is safe to run again): a write that landed after the merge's
    move would otherwise stay on the merged record, out of the survivor's 360. Returns
    the record's state as read after the write (None for an unknown record)."""
    profile = deps.customers.profile(merged_id)
    state = None if profile is None else str(profile.get("state", ProfileState.ACTIVE))
    if state != ProfileState.MERGED:
        return state
    survivor, _profile = canonical_customer(merged_id, deps)
    if survivor != merged_id:
        _move_history(survivor, merged_id, deps)
    return state


def _recorded_merge(survivor_id: str, merged_id: str, deps: Deps) -> dict[str, Any] | None:
    """The record of ``merged_id`` merged into ``survivor_id``, if that merge was made."""
    profile = deps.customers.profile(merged_id)
    if profile is None or profile.get("merged_into") != survivor_id:
        return None
    records, _ = deps.customers.records(survivor_id, CustomerRecord.MERGES)
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
    tickets, _ = store.records(merged_id, CustomerRecord.TICKETS)
    for ticket in tickets:
        store.put_ticket_owner(str(ticket["ticket_id"]), survivor_id)
    store.move_items(merged_id, survivor_id, MOVED_RECORDS)
    _merge_figures(survivor_id, merged_id, deps)
    # One person counted once per campaign (a probe: counted new twice after a merge),
    # and as what the history now together says (new only if nothing bought before).
    deps.store.merge_campaign_customers(survivor_id, merged_id)
    campaign_projection.recount_after_merge(survivor_id, deps)
    # A wish one record made and the other's order bought counts now (a failure here is
    # logged: the merge stands).
    converted = partial(opportunities.convert_after_merge, survivor_id, merged_id, deps)
    opportunities.told_safely(converted, f"merge of {merged_id}")
    state = (store.profile(survivor_id) or {}).get("state")
    if state == ProfileState.MERGED:
        # Merged in turn while this history moved (probe 154: C into B as B went into A):
        # what just landed on it moves on to the customer it stands for now.
        carry_over_after_merge(survivor_id, deps)
    elif state == ProfileState.ERASED:
        # The person was erased while their history moved: items read before the
        # erasure may have landed after its steps ran. Its steps run again over them.
        erase_customer(survivor_id, "", "", deps)


def _merge_figures(survivor_id: str, merged_id: str, deps: Deps) -> None:
    store = deps.customers

    def merge() -> None:
        (survivor, survivor_state), (merged, merged_state) = (
            store.figures(survivor_id),
            store.figures(merged_id),
        )
        combined = survivor.merged_with(merged)
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

    try:
        retried(merge, MAX_MERGE_ATTEMPTS)
    except ConcurrentModification as exc:
        raise ConcurrentModification(
            "the customers' figures kept changing; merge them again"
        ) from exc


def erase_customer(
    customer_id: str, by_client: str, by_role: str, deps: Deps, reason: str | None = None
) -> dict[str, Any]:
    """Erase the person's personal data (GDPR art. 17) and return the erasure record.

    The person is the record the id stands for now (an id merged into another one names
    the survivor: a merge said they are one person) with every record merged into it. A
    record split off one of those is not erased: it was founded by whoever proved an
    identifier merely attached to the person's record, who may be someone else (the
    person named their phone); the answer lists it (``split_records``) for ops to merge
    or erase if it is the person's. What that record's identifiers alone brought to the
    person's record is that record's too, and left alone. The erasure is recorded first,
    in the transaction that marks the record erased and releases its identifiers; then
    each step redacts one kind of item, each safe to run again. Asking again for an
    erasure answers with its record and finishes whatever an interrupted call left.
    Orders keep their amounts, statuses and stock movements."""
    owner, profile = canonical_customer(customer_id, deps)
    state = profile.get("state", ProfileState.ACTIVE)
    if state not in (ProfileState.ACTIVE, ProfileState.ERASED):
        raise Conflict(f"customer {customer_id} is {state}", field="customer_id")
    try:
        record = _record_erasure(owner, by_client, by_role, reason, deps)
    except Conflict:
        # A merge of this record into another may have landed meanwhile (probe 26G: the
        # erasure answered "kept changing; erase again"): the id now names the survivor,
        # the person to erase, as it would had the merge come first.
        if canonical_customer(customer_id, deps)[0] == owner:
            raise
        return erase_customer(customer_id, by_client, by_role, deps, reason)
    # Read again once recorded: a merge into an erased record is refused, so any merge
    # made while the erasure was being recorded is seen now, and with it the addresses
    # its record brought, which the recording may have read too early (a probe: a
    # merge racing the erasure left the merged record's bare-email wish open, and the
    # copies of what was sent to it).
    records = person_records(owner, deps)
    record = _with_late_addresses(owner, records, record, deps)
    # Which orders on these records a record split off them owns: read once for every step.
    steps_record = record | {SPLIT_AWAY: orders_split_away(records, deps)}
    for step in ERASURE_STEPS:
        step(records, steps_record, deps)
    done = deps.customers.finish_erasure(owner, deps.clock().isoformat())
    return {name: done.get(name) for name in ERASURE_FIELDS} | {
        "customer_id": owner,
        "erased_records": records,
        "split_records": [
            split
            for each in records
            for split in deps.customers.split_off(each)
            if split not in records
        ],
        "cancelled_orders": _cancelled_by_erasure(records, done, deps),
    }


def _cancelled_by_erasure(records: list[str], record: dict[str, Any], deps: Deps) -> list[str]:
    """The person's orders the erasure cancelled (read from the orders, so asking again
    answers the same)."""
    found = []
    for order_id in erasure_orders(records, record, deps):
        try:
            if ordering.cancelled_for_erasure(deps.store.get_order(order_id)):
                found.append(order_id)
        except NotFound:
            continue
    return found


def _still_theirs(customer_id: str, deps: Deps) -> list[Identifier]:
    """The identifiers a record lists that still lead to it (or to nobody): the ones its
    erasure releases; one taken by someone since is left to them."""
    listed = deps.customers.identifiers(customer_id)
    return [i for i in listed if deps.store.find_identifier(i) in (customer_id, None)]


def _email_and_phone(identifiers: list[Identifier]) -> set[str]:
    # Phones too: the codes texted to them are copies of what was sent to the person.
    return {i.value for i in identifiers if i.type in (IdentifierType.EMAIL, IdentifierType.PHONE)}


def _person_addresses(records: list[str], stray: list[str], deps: Deps) -> set[str]:
    """The addresses of the person as their records stand now: the email and phone
    identifiers each lists, and the emails their orders (and ``stray``, found elsewhere)
    were placed with that no one else claims."""
    addresses: set[str] = set()
    for each in records:
        addresses |= _email_and_phone(deps.customers.identifiers(each))
    named: set[str] = set()
    for order_id in erasure_orders(records, {"pending_orders": stray}, deps):
        try:
            named |= contact_emails(deps.store.get_order(order_id))
        except NotFound:
            continue
    return addresses | not_someone_elses(named, records, deps)


def _record_erasure(
    owner: str,
    by_client: str,
    by_role: str,
    reason: str | None,
    deps: Deps,
) -> dict[str, Any]:
    """The erasure record: the one already made, or a new one, written with the mark
    that makes the record erased and the release of its identifiers. The person's
    addresses (to find their subscriptions made with a bare email, and the copies of
    emails sent to them) are kept on the record until every step ran: the identifiers
    and the orders' contacts are gone by then."""
    store = deps.customers

    def record_once() -> dict[str, Any]:
        recorded = store.erasure(owner)
        if recorded is not None:
            return recorded
        # Read on each try: a merge may have landed since the last one.
        records = person_records(owner, deps)
        stray = stray_orders(records, deps)
        # The claims first, the listings after: the release is conditional on each claim
        # still being the owner's, so an identifier proven elsewhere (split off) after this
        # read fails the recording, which reads again. Read the other way round, a split
        # landing between the two reads left its identifier among the person's addresses,
        # unreleased, and the steps took it off the orders it brought and forgot the texts
        # sent to it (a probe: erasing a person as someone proved their attached phone
        # cancelled the prover's order, the answer naming their split record left alone).
        released = _still_theirs(owner, deps)
        addresses = _person_addresses(records, stray, deps)
        # What the recording releases is listed nowhere afterwards: its addresses are kept
        # whatever was read before (a merge landing between the two reads brings some).
        addresses |= _email_and_phone(released)
        record: dict[str, Any] = {
            "at": deps.clock().isoformat(),
            "by_client_id": by_client,
            "by_role": by_role,
            "reason": reason,
            "status": "in_progress",
        }
        if addresses:
            record["pending_addresses"] = sorted(addresses)
        if stray:
            record["pending_orders"] = stray
        store.begin_erasure(owner, released, record)
        return record

    try:
        return retried(record_once, MAX_ERASURE_ATTEMPTS)
    except ConcurrentModification as exc:
        raise Conflict(f"customer {owner} kept changing; erase again", field="customer_id") from exc


def _with_late_addresses(
    owner: str, records: list[str], record: dict[str, Any], deps: Deps
) -> dict[str, Any]:
    """``record`` with the person's addresses as read now added to those it kept.

    A merge that landed after the recording read the person's records, and before it
    was written, brought addresses the record does not hold; after it no merge can land
    (the record is erased), so this read holds every address of the person's records
    still listed. Kept on the record while the erasure is in progress, so that asking
    again after an interruption finds them once the identifiers are gone; each run
    (asking again, a merge's end) reads them afresh."""
    pending = [str(o) for o in record.get("pending_orders") or []]
    late = _person_addresses(records, pending, deps) - erasure_addresses(record)
    if not late:
        return record
    # Not kept once the erasure completed (a run after it): this run still uses them.
    deps.customers.keep_erasure_addresses(owner, late)
    kept_late = {str(a) for a in record.get("pending_late_addresses") or []}
    return record | {"pending_late_addresses": sorted(kept_late | late)}


def _cancel_what_needs_them(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """Orders that cannot be served without what the erasure takes (a parcel not booked
    yet needs the address, a pick-up not ready yet the email its code goes to) are
    cancelled first: stock released, authorisation voided, nothing charged for goods that
    could never reach them. What was handed over goes on; it needs nothing of theirs."""
    for order_id in erasure_orders(records, record, deps):
        ordering.cancel_for_erasure(order_id, deps)


def _erase_orders(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """Contact details, addresses and return reasons off every order of the person."""

    def redact(order: Order) -> Change | None:
        return Change() if redact_order(order) else None

    for order_id in erasure_orders(records, record, deps):
        try:
            mutate(deps, order_id, redact)
        except NotFound:
            continue


def _erase_tickets(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """Subjects, descriptions and notes of the person's tickets, and the list's subjects;
    not those about an order a record split off theirs owns (``orders_split_away``)."""
    store = deps.customers
    theirs = _not_about(split_away_from(records, record, deps), redact_ticket_index)
    for customer_id in records:
        index, _ = store.records(customer_id, CustomerRecord.TICKETS)
        for entry in index:
            if theirs(entry) is not entry:
                _redact_ticket_again(str(entry["ticket_id"]), deps)
        store.rewrite_items(customer_id, CustomerRecord.TICKETS, theirs)
    _erase_stray_tickets(record, deps)


def _not_about(
    orders: set[str], redact: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """``redact``, but for items about one of ``orders``, left as they are."""
    return lambda item: item if item.get("order_id") in orders else redact(item)


def _erase_stray_tickets(record: dict[str, Any], deps: Deps) -> None:
    """The tickets about the orders found on another record (``stray_orders``), in that
    record's list: the person wrote them."""
    pending = {str(o) for o in record.get("pending_orders") or []}
    holders: set[str] = set()
    for order_id in pending:
        try:
            holder = deps.store.get_order(order_id).customer_id
        except NotFound:
            continue
        if holder is not None:
            holders.add(canonical_customer(holder, deps)[0])

    def redacted_if_stray(entry: dict[str, Any]) -> dict[str, Any]:
        return redact_ticket_index(entry) if entry.get("order_id") in pending else entry

    for holder in sorted(holders):
        index, _ = deps.customers.records(holder, CustomerRecord.TICKETS)
        for entry in index:
            if entry.get("order_id") in pending:
                _redact_ticket_again(str(entry["ticket_id"]), deps)
        deps.customers.rewrite_items(holder, CustomerRecord.TICKETS, redacted_if_stray)


def _redact_ticket_again(ticket_id: str, deps: Deps) -> None:
    """``_redact_ticket``, read again while someone else changes the ticket."""
    try:
        retried(partial(_redact_ticket, ticket_id, deps), MAX_ERASURE_ATTEMPTS)
    except ConcurrentModification as exc:
        raise ConcurrentModification("a ticket kept changing; erase again") from exc


def _redact_ticket(ticket_id: str, deps: Deps) -> None:
    ticket = deps.customers.get_ticket(ticket_id)
    if ticket is not None and redact_ticket(ticket):
        deps.customers.save_ticket(ticket)


def _erase_interactions(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The text of every call, chat, visit and email recorded with the person (not about
    an order a record split off theirs owns)."""
    theirs = _not_about(split_away_from(records, record, deps), redact_interaction)
    for customer_id in records:
        deps.customers.rewrite_items(customer_id, CustomerRecord.INTERACTIONS, theirs)


def _erase_where_named(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The person's email and phone off the orders of other records that named them: the
    record theirs was split from (its founder named them next to their own), and the
    records they are a merge candidate with (an order that named one of their identifiers
    and another customer's found that other customer first). The orders are not the
    person's, but the email and the phone are (found by probes)."""
    addresses = erasure_addresses(record)
    if not addresses:
        return

    def forget(order: Order) -> Change | None:
        # The fields the order says were the person's go whatever their address.
        owned = forget_owned_contact(order, records)
        named = forget_contact(order, addresses)
        return Change() if owned or named else None

    elsewhere: list[str] = []
    for each in records:
        source = (deps.customers.profile(each) or {}).get("split_from")
        candidates, _ = deps.customers.records(each, CustomerRecord.CANDIDATES)
        for other in [source, *(c.get("customer_id") for c in candidates)]:
            if other and str(other) not in records and str(other) not in elsewhere:
                elsewhere.append(str(other))
    holders = []
    for other in elsewhere:
        with contextlib.suppress(NotFound):
            holders.append(canonical_customer(other, deps)[0])
    # And the orders on their own records that are another's, split off theirs: placed
    # with that one's email beside the person's phone, they keep the phone otherwise.
    away = sorted(split_away_from(records, record, deps))
    for order_id in [*orders_of(holders, deps), *away]:
        try:
            mutate(deps, order_id, forget)
        except NotFound:
            continue


def _erase_candidates(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """Merge candidates name identifiers: forgotten on both records."""
    for customer_id in records:
        deps.customers.drop_merge_candidates(customer_id)


def _erase_identifiers(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """Identifiers the first transaction did not release (a merged record's, or more than
    fit in it)."""
    for customer_id in records:
        for identifier in deps.customers.identifiers(customer_id):
            deps.customers.forget_identifier(customer_id, identifier)


def _erase_profiles(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The profiles keep their state (erased, or merged into the erased record) and no
    more."""
    at = str(record["at"])
    for customer_id in records:
        deps.customers.rewrite_items(
            customer_id, CustomerRecord.PROFILE, lambda i: redact_profile(i, at)
        )


def _erase_outbox(records: list[str], record: dict[str, Any], deps: Deps) -> None:
    """The copies of the emails sent to the person, where the environment keeps them (the
    local stack's outbox, shown by the ops console). After the orders lost their contact
    details, so that no email about them can land there afterwards."""
    if deps.outbox is not None:
        # And the emails about their orders that went to someone else's address.
        deps.outbox.forget(erasure_addresses(record), erasure_orders(records, record, deps))


ERASURE_STEPS = (
    _cancel_what_needs_them,
    _erase_orders,
    _erase_where_named,
    _erase_tickets,
    _erase_interactions,
    _erase_candidates,
    _erase_identifiers,
    _erase_profiles,
    erase_survey_comments,
    erase_opportunities,
    _erase_outbox,
)


def claim_order(
    order_id: str,
    receipt_code: str,
    ref: CustomerRef,
    deps: Deps,
    sees: Callable[[Order], bool] = lambda _order: True,
) -> Resolution:
    """Attach an anonymous store order to the customer the identifier names (created if
    new) when the receipt code matches; five wrong codes lock the order.

    Only the code tells anything about the order: one that is no store sale is unknown to
    a caller who may not read it (``sees``), exactly as an id nobody has; and whether a
    store sale was claimed already is told only for the right code, every wrong one
    counting towards the lock."""
    unknown = NotFound(f"no order {order_id}", field="order_id")
    try:
        order = deps.store.get_order(order_id)
    except NotFound as exc:
        raise unknown from exc
    if order.receipt_code is None or order.channel is not Channel.STORE:
        if not sees(order):
            raise unknown
        raise Conflict(f"order {order_id} is not an anonymous store order", field="order_id")
    scope = f"claim#{order_id}"
    failures = deps.access.begin_attempt(
        scope, deps.clock(), MAX_CLAIM_ATTEMPTS, CLAIM_LOCKOUT_SECONDS, "receipt_code"
    )
    if not tokens.same(receipt_code.strip().upper(), order.receipt_code):
        deps.access.attempt_failed(
            scope, failures, deps.clock(), MAX_CLAIM_ATTEMPTS, CLAIM_LOCKOUT_SECONDS
        )
        raise Unprocessable("wrong receipt code", field="receipt_code")
    deps.access.attempt_succeeded(scope)
    # One claim at a time: two right codes at once both found their claimant's record, and
    # the loser's stayed behind its 409 (a probe, 11 of 14 races). Given back either way.
    claiming = f"claiming#{order_id}"
    if not deps.store.remember_once(claiming, CLAIMING_SECONDS):
        raise Conflict(f"order {order_id} is being claimed", field="order_id")
    try:
        return _claim_for(order_id, ref, deps)
    finally:
        deps.store.forget(claiming)


def _claim_for(order_id: str, ref: CustomerRef, deps: Deps) -> Resolution:
    """The order attached to the customer ``ref`` names (found or created), the claim
    made; read again first, as a claim that ended just before this one began is seen
    only now."""
    if deps.store.get_order(order_id).customer_id is not None:
        raise Conflict(f"order {order_id} was already claimed", field="order_id")
    resolution = resolve_customer(ref, deps)
    # A claim that names no language speaks its customer's, as an order does (probe 230:
    # an English record's claimed receipt spoke Spanish, its page and its emails).
    locale: str = ref.locale
    if "locale" not in ref.model_fields_set and not resolution.created:
        locale = record_locale(resolution, deps)
    now = deps.clock()

    def attach(current: Order) -> Change | None:
        if current.customer_id == resolution.customer_id:
            return None
        if current.customer_id is not None:
            raise Conflict(f"order {order_id} was already claimed", field="order_id")
        current.customer_id = resolution.customer_id
        current.customer_unvouched = resolution.unvouched
        # Only what the claim gives the contact: a field the order held already stays its own.
        current.contact_owned_by = {
            field: owner
            for field, owner in contact_fields_owned_elsewhere(resolution).items()
            if getattr(current.contact, field) is None
        }
        current.contact = CustomerContact(
            email=current.contact.email or (ref.email.strip().lower() if ref.email else None),
            phone=current.contact.phone or ref.phone,
            name=current.contact.name or ref.name,
            locale=locale,
        )
        return Change(events=[OrderClaimed.of(current, now)])

    mutate(deps, order_id, attach)
    return resolution
