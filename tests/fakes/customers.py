"""In-memory ``Identities`` and ``CustomerView``, and the ``CustomerStore`` that joins them
with ``Analytics`` (``tests/fakes/analytics.py``) and ``Tickets`` (``tests/fakes/tickets.py``),
with the semantics services rely on: identifiers owned once, versions on summaries, figures
and tickets, all-or-nothing writes, opaque cursors."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Callable, Collection, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from chalicelib.domain.customers import (
    LOCALE_CHOSEN,
    MAX_ATTACHED_IDENTIFIERS,
    UNVOUCHED,
    AnalyticsState,
    CustomerMetrics,
    Identifier,
    IdentifierClaim,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict, InvalidCursor
from chalicelib.ports import CustomerRecord, FiguresChange
from tests.fakes.analytics import FakeAnalytics
from tests.fakes.memory import Memory
from tests.fakes.tickets import FakeTickets

MAX_TRANSACTION_ITEMS = 100
# Claims are checked and taken as one step, as DynamoDB's conditions make them: two
# threads creating customers with one identifier at once get one customer.
_CLAIMS = threading.Lock()


def _ident(identifier: Identifier) -> tuple[str, str]:
    return identifier.type.value, identifier.value


# Customers ---------------------------------------------------------------------------------
def _sort_value(kind: CustomerRecord, record: dict[str, Any]) -> str:
    """Where a projected record sorts among its kind, as its DynamoDB sort key does (the
    records the fakes write themselves are keyed where they are written)."""
    if kind is CustomerRecord.ORDERS:
        return f"{record['placed_at']}#{record['order_id']}"
    if kind is CustomerRecord.CONSENTS:
        return f"{record['accepted_at']}#{record['order_id']}"
    if kind is CustomerRecord.INTERACTIONS:
        return f"{record['at']}#{record['interaction_id']}"
    raise ValueError(f"{kind} records are keyed where they are written")


class FakeIdentities:
    """``Identities`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def _profile(self, customer_id: str) -> dict[str, Any] | None:
        return self._m.kept(customer_id, CustomerRecord.PROFILE).get("")

    def find_identifier(self, identifier: Identifier) -> str | None:
        self._m.reads["identifier"] += 1
        return self._m.identifiers.get(_ident(identifier))

    def identifier_claim(self, identifier: Identifier) -> IdentifierClaim | None:
        self._m.reads["identifier"] += 1  # the same item read as ``find_identifier``
        owner = self._m.identifiers.get(_ident(identifier))
        if owner is None:
            return None
        return IdentifierClaim(
            owner,
            _ident(identifier) not in self._m.unvouched,
            self._m.proven_on.get(_ident(identifier)),
        )

    def create_customer(
        self,
        customer_id: str,
        identifiers: list[Identifier],
        profile: dict[str, Any],
        vouched: Identifier | None = None,
    ) -> None:
        with _CLAIMS:
            taken = any(_ident(i) in self._m.identifiers for i in identifiers)
            if taken or self._profile(customer_id) is not None:
                raise Conflict("an identifier was claimed at the same time")
            profiles = self._m.kept(customer_id, CustomerRecord.PROFILE)
            profiles[""] = {"state": "active"} | copy.deepcopy(profile)
            for identifier in identifiers:
                self._own(customer_id, identifier, vouched=identifier == vouched)

    def customer_exists(self, customer_id: str) -> bool:
        return self._profile(customer_id) is not None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        self._m.reads["profile"] += 1
        return copy.deepcopy(self._profile(customer_id))

    def identifiers(self, customer_id: str) -> list[Identifier]:
        mirrors = self._m.kept(customer_id, CustomerRecord.IDENTIFIERS)
        return [Identifier.model_validate(mirrors[key]) for key in sorted(mirrors)]

    def set_notifications(self, customer_id: str, preference: str) -> bool:
        return self._set_on_active_profile(customer_id, {"notifications": preference})

    def set_locale(self, customer_id: str, locale: str) -> bool:
        return self._set_on_active_profile(customer_id, {"locale": locale, LOCALE_CHOSEN: True})

    def _set_on_active_profile(self, customer_id: str, attributes: Mapping[str, Any]) -> bool:
        profile = self._profile(customer_id)
        if profile is None or profile.get("state", "active") != "active":
            return False
        profile.update(attributes)
        return True

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        with _CLAIMS:
            profile = self._profile(customer_id)
            if _ident(identifier) in self._m.identifiers or profile is None:
                return False
            if profile.get("state", "active") != "active":
                return False
            if (
                len(self._m.kept(customer_id, CustomerRecord.IDENTIFIERS))
                >= MAX_ATTACHED_IDENTIFIERS
            ):
                return False
            self._own(customer_id, identifier, vouched=False)
            return True

    def split_off_identifier(
        self, from_customer: str, identifier: Identifier, customer_id: str, profile: dict[str, Any]
    ) -> None:
        with _CLAIMS:
            owner = self._m.identifiers.get(_ident(identifier))
            unvouched = _ident(identifier) in self._m.unvouched
            if owner != from_customer or not unvouched or self._profile(customer_id) is not None:
                raise Conflict("the identifier's claim changed meanwhile")
            self._m.kept(from_customer, CustomerRecord.IDENTIFIERS).pop(
                f"{identifier.type.value}#{identifier.value}", None
            )
            profiles = self._m.kept(customer_id, CustomerRecord.PROFILE)
            profiles[""] = {"state": "active"} | copy.deepcopy(profile)
            profiles[""]["split_from"] = from_customer
            self._m.kept(from_customer, CustomerRecord.SPLITS)[customer_id] = {
                "customer_id": customer_id
            }
            self._own(customer_id, identifier, vouched=True)

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        if self._m.identifiers.get(_ident(identifier)) == customer_id:
            del self._m.identifiers[_ident(identifier)]
            self._m.unvouched.discard(_ident(identifier))
            self._m.proven_on.pop(_ident(identifier), None)
        self._m.kept(customer_id, CustomerRecord.IDENTIFIERS).pop(
            f"{identifier.type.value}#{identifier.value}", None
        )

    def merge_profiles(
        self,
        survivor: str,
        merged: str,
        identifiers: list[Identifier],
        record: dict[str, Any],
        vouched: Collection[Identifier] = (),
        survivor_takes: Mapping[str, Any] | None = None,
    ) -> None:
        # The profiles, the record, and one claim each (the profile lists them).
        if 3 + len(identifiers) > MAX_TRANSACTION_ITEMS:
            raise Conflict("too many identifiers to merge at once", field="from_customer_id")
        profiles = [self._profile(merged), self._profile(survivor)]
        still_theirs = all(self._m.identifiers.get(_ident(i)) == merged for i in identifiers)
        listed = set(self._m.kept(merged, CustomerRecord.IDENTIFIERS))
        still_theirs &= listed <= {f"{i.type.value}#{i.value}" for i in identifiers}
        active = all(p is not None and p.get("state", "active") == "active" for p in profiles)
        if not (active and still_theirs):
            raise Conflict(
                "one of the customers changed; read both again", field="from_customer_id"
            )
        profile = self._profile(merged)
        assert profile is not None
        profile |= {"state": "merged", "merged_into": survivor, "merged_at": record["at"]}
        if survivor_takes:
            kept = self._profile(survivor)
            assert kept is not None
            kept.update(survivor_takes)
        merges = self._m.kept(survivor, CustomerRecord.MERGES)
        merges[f"{record['at']}#{merged}"] = copy.deepcopy(record)
        for identifier in identifiers:
            self._m.kept(merged, CustomerRecord.IDENTIFIERS).pop(
                f"{identifier.type.value}#{identifier.value}", None
            )
            remembered = (
                merged if identifier in vouched else self._m.proven_on.get(_ident(identifier))
            )
            self._own(survivor, identifier, vouched=False)
            if remembered is not None:
                self._m.proven_on[_ident(identifier)] = remembered

    def erasure(self, customer_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self._m.kept(customer_id, CustomerRecord.ERASURE).get(""))

    def begin_erasure(
        self, customer_id: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        profile = self._profile(customer_id)
        erasures = self._m.kept(customer_id, CustomerRecord.ERASURE)
        if profile is None or profile.get("state", "active") not in ("active", "erased"):
            raise ConcurrentModification("the item changed while we worked on it")
        if "" in erasures:
            raise ConcurrentModification("the item changed while we worked on it")
        # Each release is conditional, as on DynamoDB: a claim taken by another record
        # since it was read (a split, a merge) cancels the whole write.
        for identifier in identifiers[: MAX_TRANSACTION_ITEMS - 2]:
            if self._m.identifiers.get(_ident(identifier)) not in (None, customer_id):
                raise ConcurrentModification("the item changed while we worked on it")
        profile["state"] = "erased"
        profile.setdefault("erased_at", record["at"])
        profile.pop("name", None)
        erasures[""] = copy.deepcopy(record)
        for identifier in identifiers[: MAX_TRANSACTION_ITEMS - 2]:
            self.forget_identifier(customer_id, identifier)

    def keep_erasure_addresses(self, customer_id: str, addresses: Collection[str]) -> bool:
        if not addresses:
            return True
        record = self._m.kept(customer_id, CustomerRecord.ERASURE).get("")
        if record is None or record.get("status") != "in_progress":
            return False
        record["pending_late_addresses"] = set(record.get("pending_late_addresses", ())) | set(
            addresses
        )
        return True

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        record = self._m.kept(customer_id, CustomerRecord.ERASURE).get("")
        if record is None:
            raise ConcurrentModification("the item changed while we worked on it")
        record["status"] = "completed"
        record.setdefault("completed_at", at)
        record.pop("pending_addresses", None)
        record.pop("pending_late_addresses", None)
        record.pop("pending_outbox", None)
        return copy.deepcopy(record)

    def _own(self, customer_id: str, identifier: Identifier, vouched: bool) -> None:
        self._m.identifiers[_ident(identifier)] = customer_id
        self._m.proven_on.pop(_ident(identifier), None)  # a claim put afresh
        if vouched:
            self._m.unvouched.discard(_ident(identifier))
        else:
            self._m.unvouched.add(_ident(identifier))
        self._m.kept(customer_id, CustomerRecord.IDENTIFIERS)[
            f"{identifier.type.value}#{identifier.value}"
        ] = {"type": identifier.type.value, "value": identifier.value}


def _cursor(customer_id: str, kind: CustomerRecord, sort: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([customer_id, kind.value, sort]).encode()).decode()


def _after(cursor: str, customer_id: str, kind: CustomerRecord) -> str:
    try:
        owner, listed, sort = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("not a cursor from this API", field="cursor") from exc
    if owner != customer_id or listed != kind.value or not isinstance(sort, str):
        raise InvalidCursor("not a cursor for this customer's list", field="cursor")
    return sort


class FakeCustomerView:
    """``CustomerView`` in memory."""

    def __init__(self, memory: Memory, analytics: FakeAnalytics) -> None:
        self._m = memory
        self._analytics = analytics

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
        kept = self._m.kept(customer_id, kind)
        order = sorted(
            (
                s
                for s in kept
                if str(kept[s].get("order_id")) not in leaving_out
                and not (leaving_unvouched and kept[s].get(UNVOUCHED))
            ),
            reverse=newest_first,
        )
        if cursor:
            after = _after(cursor, customer_id, kind)
            order = [s for s in order if (s < after if newest_first else s > after)]
        page = order if limit is None else order[:limit]
        more = limit is not None and len(order) > limit
        next_cursor = _cursor(customer_id, kind, page[-1]) if more and page else None
        return [copy.deepcopy(kept[s]) for s in page], next_cursor

    def order_summary(
        self, customer_id: str, placed_at: str, order_id: str
    ) -> dict[str, Any] | None:
        found = self._m.kept(customer_id, CustomerRecord.ORDERS).get(f"{placed_at}#{order_id}")
        return copy.deepcopy(found)

    def project(
        self,
        customer_id: str,
        summary: dict[str, Any],
        summary_version: int,
        consent: dict[str, Any] | None,
        figures: tuple[CustomerMetrics, AnalyticsState, AnalyticsState] | None,
    ) -> None:
        summaries = self._m.kept(customer_id, CustomerRecord.ORDERS)
        sort = _sort_value(CustomerRecord.ORDERS, summary)
        if summaries.get(sort, {}).get("version", 0) != summary_version:
            raise ConcurrentModification("the item changed while we worked on it")
        changes: list[FiguresChange] = [(customer_id, *figures)] if figures else []
        self._analytics.check_figures(changes)
        summaries[sort] = copy.deepcopy(summary) | {"version": summary_version + 1}
        if consent is not None:
            consents = self._m.kept(customer_id, CustomerRecord.CONSENTS)
            consents[_sort_value(CustomerRecord.CONSENTS, consent)] = copy.deepcopy(consent)
        self._analytics.write_figures(changes)

    def add_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        kept = self._m.kept(customer_id, CustomerRecord.INTERACTIONS)
        kept[_sort_value(CustomerRecord.INTERACTIONS, interaction)] = copy.deepcopy(interaction)

    def add_requested_interaction(
        self, customer_id: str, interaction: dict[str, Any], once: str, keep_until: int
    ) -> dict[str, Any]:
        first = self._m.interaction_requests.get(once)
        if first is not None:
            kept = self._m.kept(customer_id, CustomerRecord.INTERACTIONS)
            recorded = kept.get(_sort_value(CustomerRecord.INTERACTIONS, first))
            if recorded is not None:
                return copy.deepcopy(recorded)
        self._m.interaction_requests[once] = {
            "at": interaction["at"],
            "interaction_id": interaction["interaction_id"],
        }
        self.add_interaction(customer_id, interaction)
        return copy.deepcopy(interaction)

    def add_interaction_once(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        kept = self._m.kept(customer_id, CustomerRecord.INTERACTIONS)
        key = _sort_value(CustomerRecord.INTERACTIONS, interaction)
        if key in kept:
            return False
        kept[key] = copy.deepcopy(interaction)
        return True

    def has_interaction(self, customer_id: str, interaction: dict[str, Any]) -> bool:
        kept = self._m.kept(customer_id, CustomerRecord.INTERACTIONS)
        return _sort_value(CustomerRecord.INTERACTIONS, interaction) in kept

    def remove_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        kept = self._m.kept(customer_id, CustomerRecord.INTERACTIONS)
        kept.pop(_sort_value(CustomerRecord.INTERACTIONS, interaction), None)

    def record_merge_candidate(self, customer_ids: list[str], reason: dict[str, Any]) -> None:
        for customer_id in customer_ids:
            for other in customer_ids:
                if other != customer_id:
                    kept = self._m.kept(customer_id, CustomerRecord.CANDIDATES)
                    kept[other] = {"customer_id": other} | copy.deepcopy(reason)

    def drop_merge_candidates(self, customer_id: str) -> int:
        mine = self._m.kept(customer_id, CustomerRecord.CANDIDATES)
        count = len(mine)
        for other in list(mine):
            self._m.kept(other, CustomerRecord.CANDIDATES).pop(customer_id, None)
            del mine[other]
        return count

    def merged_into(self, customer_id: str) -> list[str]:
        merges = self._m.kept(customer_id, CustomerRecord.MERGES)
        return [str(merges[s]["from_customer_id"]) for s in sorted(merges)]

    def split_off(self, customer_id: str) -> list[str]:
        splits = self._m.kept(customer_id, CustomerRecord.SPLITS)
        return [str(splits[s]["customer_id"]) for s in sorted(splits)]

    def move_items(
        self, from_customer: str, to_customer: str, kinds: tuple[CustomerRecord, ...]
    ) -> int:
        moved = 0
        for kind in kinds:
            source = self._m.kept(from_customer, kind)
            target = self._m.kept(to_customer, kind)
            # A consent is shown only with its order (by the order's id): no mark of its own.
            mark = {} if kind is CustomerRecord.CONSENTS else {UNVOUCHED: True}
            for sort in list(source):
                target[sort] = source.pop(sort) | mark
                moved += 1
        return moved

    def rewrite_items(
        self,
        customer_id: str,
        kind: CustomerRecord,
        rewrite: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> int:
        kept = self._m.kept(customer_id, kind)
        changed = 0
        for sort in list(kept):
            new = rewrite(copy.deepcopy(kept[sort]))
            if new == kept[sort]:
                continue
            if new is None:
                del kept[sort]
            else:
                kept[sort] = {k: v for k, v in new.items() if k not in ("pk", "sk")}
            changed += 1
        return changed


class FakeCustomerStore(FakeIdentities, FakeCustomerView, FakeAnalytics, FakeTickets):
    """``CustomerStore`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory
        self._analytics = self
