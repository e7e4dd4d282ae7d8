"""The customer 360: what one customer's partition holds besides who they are (order
summaries, consents, interactions, ticket list, merge candidates and records), read by
key and prefix, never by scan, a page at a time behind an opaque cursor."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.analytics import figures_writes, version_condition
from chalicelib.adapters.dynamodb.table import ConditionFailed, Table, TransactionCancelled
from chalicelib.domain.cursors import decode_cursor_parts, encode_cursor_parts
from chalicelib.domain.customers import UNVOUCHED
from chalicelib.domain.errors import ConcurrentModification, InvalidCursor
from chalicelib.ports import CustomerRecord, FiguresChange

MAX_MOVE_ROUNDS = 10
# The order summary's copy of the consent accepted with the order (listed as a consent).
SUMMARY_CONSENT = "consent"


# DynamoDB's limit on a sort key's value.
MAX_SORT_KEY_BYTES = 1024


def encode_cursor(key: keys.Key) -> str:
    """An opaque page cursor from the key a page ended on."""
    return encode_cursor_parts(key["pk"], key["sk"])


def decode_cursor(cursor: str, pk: str, prefix: str) -> keys.Key:
    """The key a cursor stands for; ``InvalidCursor`` for anything else. Its sort key
    must be one of the list's own (under ``prefix``): DynamoDB refuses to start a query
    from a key outside its key condition (a ValidationException, where moto answers)."""
    found_pk, sk = decode_cursor_parts(cursor, 2)
    if found_pk != pk or not isinstance(sk, str) or not sk.startswith(prefix) or sk == prefix:
        raise InvalidCursor("not a cursor for this customer's list", field="cursor")
    if not _a_sort_key(sk):
        raise InvalidCursor("not a cursor from this API", field="cursor")
    return {"pk": pk, "sk": sk}


def _a_sort_key(sk: str) -> bool:
    """Whether DynamoDB would take ``sk`` as a sort key: UTF-8 (no lone surrogate from a
    JSON escape) of at most 1,024 bytes (the re-probe: longer ones are refused)."""
    try:
        return len(sk.encode("utf-8")) <= MAX_SORT_KEY_BYTES
    except UnicodeEncodeError:
        return False


def _interaction_key(customer_id: str, interaction: dict[str, Any]) -> keys.Key:
    return keys.interaction(customer_id, str(interaction["at"]), str(interaction["interaction_id"]))


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}


class CustomerViewRepository:
    """The projection of orders into their customer's partition, and the records kept
    there."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def records(
        self,
        customer_id: str,
        kind: CustomerRecord,
        limit: int | None = None,
        newest_first: bool = False,
        cursor: str | None = None,
        leaving_out: AbstractSet[str] = frozenset(),
        leaving_unvouched: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The customer's records of one kind, oldest first unless ``newest_first``; one
        page when ``limit`` is given, with the cursor of the next (None at the end).
        Records about an order in ``leaving_out`` are skipped: the page is filled from the
        ones after, and its cursor names the last record kept."""
        pk = keys.customer_pk(customer_id)
        prefix = keys.RECORD_PREFIXES[kind]
        start = decode_cursor(cursor, pk, prefix) if cursor else None
        if kind is CustomerRecord.CONSENTS:
            return self._consents(pk, limit, newest_first, start, leaving_out)
        kept: list[dict[str, Any]] = []
        while True:
            # One more than the page: whether a kept record follows decides the cursor (a
            # probe: a list of exactly ``limit`` records handed out a cursor to an empty page).
            wanted = None if limit is None else limit + 1 - len(kept)
            page = self._table.partition(
                pk, prefix, limit=wanted, newest_first=newest_first, start=start
            )
            kept.extend(
                i
                for i in page.items
                if str(i.get("order_id")) not in leaving_out
                and not (leaving_unvouched and i.get(UNVOUCHED))
            )
            start = page.last_key
            if start is None or (limit is not None and len(kept) > limit):
                break
        if limit is None or len(kept) <= limit:
            return [_fields(item) for item in kept], None
        last = kept[limit - 1]
        return [_fields(item) for item in kept[:limit]], encode_cursor(
            {"pk": last["pk"], "sk": last["sk"]}
        )

    def _consents(
        self,
        pk: str,
        limit: int | None,
        newest_first: bool,
        start: keys.Key | None,
        leaving_out: AbstractSet[str] = frozenset(),
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The consents: each order summary's, and the consent items stored before the
        summaries held them (one per order, listed once), sorted and paged as the items'
        sort keys (``CONSENT#<accepted_at>#<order_id>``) would be."""
        prefix = keys.RECORD_PREFIXES[CustomerRecord.CONSENTS]
        found: dict[str, dict[str, Any]] = {}
        for item in self._table.partition(pk, keys.RECORD_PREFIXES[CustomerRecord.ORDERS]).items:
            if SUMMARY_CONSENT in item:
                consent = item[SUMMARY_CONSENT]
                found[f"{prefix}{consent['accepted_at']}#{consent['order_id']}"] = consent
        for item in self._table.partition(pk, prefix).items:
            found[str(item["sk"])] = _fields(item)
        order = sorted(
            (sk for sk in found if str(found[sk].get("order_id")) not in leaving_out),
            reverse=newest_first,
        )
        if start is not None:
            after = start["sk"]
            order = [sk for sk in order if (sk < after if newest_first else sk > after)]
        page = order if limit is None else order[:limit]
        more = limit is not None and len(order) > limit
        next_cursor = encode_cursor({"pk": pk, "sk": page[-1]}) if more and page else None
        return [found[sk] for sk in page], next_cursor

    def order_summary(
        self, customer_id: str, placed_at: str, order_id: str
    ) -> dict[str, Any] | None:
        """One order's summary in the customer's partition (with its ``version``)."""
        item = self._table.get(keys.customer_order(customer_id, placed_at, order_id))
        return _fields(item) if item is not None else None

    def project(
        self,
        customer_id: str,
        summary: dict[str, Any],
        summary_version: int,
        consent: dict[str, Any] | None,
        figures: tuple[Any, Any, Any] | None,
    ) -> None:
        """Apply an order's current state to its customer's 360: the order summary, guarded
        by its version (two projectors cannot both apply a change), holding the consent
        accepted with the order (given with every summary, as the summary is written whole:
        one item where a consent item of its own cost a write unit more per order); the
        figures and aggregates only when given (the order's contribution to them changed).
        One transaction when the figures go with the summary, otherwise one conditional
        put, which costs half the write units. ``ConcurrentModification`` if the summary or
        the figures changed since they were read."""
        key = keys.customer_order(customer_id, str(summary["placed_at"]), str(summary["order_id"]))
        held = {SUMMARY_CONSENT: consent} if consent is not None else {}
        writes = [
            self._table.put(
                key | summary | held | {"version": summary_version + 1},
                *version_condition(summary_version),
            )
        ]
        if figures is not None:
            change: FiguresChange = (customer_id, *figures)
            writes.extend(figures_writes(self._table, [change]))
        if len(writes) > 1:
            self._table.transact(writes)
        else:
            self._table.write(writes[0])

    def add_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        """Record a call, chat, store visit or email; the same interaction id twice is one."""
        self._table.write(self._table.put(_interaction_key(customer_id, interaction) | interaction))

    def add_requested_interaction(
        self, customer_id: str, interaction: dict[str, Any], once: str, keep_until: int
    ) -> dict[str, Any]:
        """The interaction and the claim of the request ``once`` that asked for it, all or
        nothing; the interaction that request recorded first when it is run again (the
        claim names it, and holds none of the customer's words)."""
        claim_key = keys.interaction_request(once)
        claim = claim_key | {
            "customer_id": customer_id,
            "at": interaction["at"],
            "interaction_id": interaction["interaction_id"],
            "expires_at": keep_until,
        }
        try:
            self._table.transact(
                [
                    self._table.put(claim, "attribute_not_exists(pk)"),
                    self._table.put(_interaction_key(customer_id, interaction) | interaction),
                ]
            )
        except TransactionCancelled as exc:
            first = self._table.get(claim_key) if exc.failed_on(claim_key) else None
            if first is None:
                raise
            # Read under the record it is about now: a merge since moved it there.
            recorded = self._table.get(_interaction_key(customer_id, first))
            if recorded is not None:
                return _fields(recorded)
            self.add_interaction(customer_id, interaction)
        return interaction

    def add_interaction_once(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        """Record an interaction unless it is recorded; True if this call recorded it."""
        key = _interaction_key(customer_id, interaction)
        try:
            self._table.write(self._table.put(key | interaction, "attribute_not_exists(pk)"))
        except ConditionFailed:
            return False
        return True

    def has_interaction(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        """Whether this interaction is recorded."""
        return self._table.get(_interaction_key(customer_id, interaction)) is not None

    def remove_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        """Drop this interaction, if recorded."""
        self._table.write(self._table.delete(_interaction_key(customer_id, interaction)))

    def record_merge_candidate(self, customer_ids: list[str], reason: dict[str, Any]) -> None:
        """Two records one order named: recorded on both, for a person to decide."""
        for customer_id in customer_ids:
            for other in customer_ids:
                if other != customer_id:
                    item = keys.merge_candidate(customer_id, other) | {"customer_id": other}
                    self._table.write(self._table.put(item | reason))

    def drop_merge_candidates(self, customer_id: str) -> int:
        """Forget every merge candidate the customer is part of, on both records (the
        other side's item names the customer and the identifiers the order gave)."""
        candidates, _ = self.records(customer_id, CustomerRecord.CANDIDATES)
        for item in candidates:
            other = str(item["customer_id"])
            self._table.transact(
                [
                    self._table.delete(keys.merge_candidate(other, customer_id)),
                    self._table.delete(keys.merge_candidate(customer_id, other)),
                ]
            )
        return len(candidates)

    def merged_into(self, customer_id: str) -> list[str]:
        """The records merged into this one (directly), from its merge records."""
        merges, _ = self.records(customer_id, CustomerRecord.MERGES)
        return [str(item["from_customer_id"]) for item in merges]

    def split_off(self, customer_id: str) -> list[str]:
        """The records founded by an identifier split off this one (directly)."""
        splits, _ = self.records(customer_id, CustomerRecord.SPLITS)
        return [str(item["customer_id"]) for item in splits]

    def move_items(
        self, from_customer: str, to_customer: str, kinds: tuple[CustomerRecord, ...]
    ) -> int:
        """Move a customer's records of these kinds to another customer (copy, then delete,
        one transaction each): used after a merge. A record that changed since it was read
        (the projector updating an order summary) is read again and moved as it is now, so
        no update is lost. Each is marked ``UNVOUCHED``: a merge proves nothing, so the
        survivor's token does not open what it brought. Returns how many moved."""
        moved = 0
        source, target = keys.customer_pk(from_customer), keys.customer_pk(to_customer)
        for kind in kinds:
            # A consent is shown only with its order (by the order's id): no mark of its own.
            mark = {} if kind is CustomerRecord.CONSENTS else {UNVOUCHED: True}
            for _ in range(MAX_MOVE_ROUNDS):
                items = self._table.partition(source, keys.RECORD_PREFIXES[kind]).items
                if not items:
                    break
                for item in items:
                    key = {"pk": source, "sk": str(item["sk"])}
                    if "version" in item:
                        delete = self._table.delete(
                            key, "version = :read", {":read": item["version"]}
                        )
                    else:
                        delete = self._table.delete(key)
                    copy = self._table.put(item | {"pk": target} | mark)
                    try:
                        self._table.transact([copy, delete])
                    except TransactionCancelled:
                        continue  # moved on the next round, as it is then
                    moved += 1
            else:
                raise ConcurrentModification(f"{kind.value} kept changing; merge again")
        return moved

    def rewrite_items(
        self,
        customer_id: str,
        kind: CustomerRecord,
        rewrite: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> int:
        """Replace each of the customer's records of one kind by what ``rewrite`` makes of
        it (None deletes it); only records that change are written. Returns how many did."""
        page = self._table.partition(keys.customer_pk(customer_id), keys.RECORD_PREFIXES[kind])
        changed = 0
        for item in page.items:
            key = {"pk": str(item["pk"]), "sk": str(item["sk"])}
            fields = _fields(item)
            new = rewrite(fields)
            if new == fields:
                continue
            if new is None:
                self._table.write(self._table.delete(key))
            else:
                self._table.write(self._table.put(_fields(new) | key))
            changed += 1
        return changed
