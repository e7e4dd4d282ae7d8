"""In-memory ``Identities``, ``CustomerView``, ``Analytics`` and ``Tickets``, with the
semantics services rely on: identifiers owned once, versions on summaries, figures and
tickets, all-or-nothing writes, opaque cursors."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.customers import (
    AggregateDelta,
    AnalyticsState,
    CustomerMetrics,
    Identifier,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict, InvalidCursor
from chalicelib.domain.tickets import Ticket
from chalicelib.ports import CustomerRecord, FiguresChange
from tests.fakes.memory import Memory

MAX_TRANSACTION_ITEMS = 100


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
        return self._m.identifiers.get(_ident(identifier))

    def create_customer(
        self, customer_id: str, identifiers: list[Identifier], profile: dict[str, Any]
    ) -> None:
        taken = any(_ident(i) in self._m.identifiers for i in identifiers)
        if taken or self._profile(customer_id) is not None:
            raise Conflict("an identifier was claimed at the same time")
        self._m.kept(customer_id, CustomerRecord.PROFILE)[""] = {"state": "active"} | copy.deepcopy(
            profile
        )
        for identifier in identifiers:
            self._own(customer_id, identifier)

    def customer_exists(self, customer_id: str) -> bool:
        return self._profile(customer_id) is not None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self._profile(customer_id))

    def identifiers(self, customer_id: str) -> list[Identifier]:
        mirrors = self._m.kept(customer_id, CustomerRecord.IDENTIFIERS)
        return [Identifier.model_validate(mirrors[key]) for key in sorted(mirrors)]

    def set_notifications(self, customer_id: str, preference: str) -> bool:
        profile = self._profile(customer_id)
        if profile is None or profile.get("state", "active") != "active":
            return False
        profile["notifications"] = preference
        return True

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        if _ident(identifier) in self._m.identifiers:
            return False
        self._own(customer_id, identifier)
        return True

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        if self._m.identifiers.get(_ident(identifier)) == customer_id:
            del self._m.identifiers[_ident(identifier)]
        self._m.kept(customer_id, CustomerRecord.IDENTIFIERS).pop(
            f"{identifier.type.value}#{identifier.value}", None
        )

    def merge_profiles(
        self, survivor: str, merged: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        if 3 + 3 * len(identifiers) > MAX_TRANSACTION_ITEMS:
            raise Conflict("too many identifiers to merge at once", field="from_customer_id")
        profiles = [self._profile(merged), self._profile(survivor)]
        still_theirs = all(self._m.identifiers.get(_ident(i)) == merged for i in identifiers)
        active = all(p is not None and p.get("state", "active") == "active" for p in profiles)
        if not (active and still_theirs):
            raise Conflict("one of the customers changed; read both again")
        profile = self._profile(merged)
        assert profile is not None
        profile |= {"state": "merged", "merged_into": survivor, "merged_at": record["at"]}
        merges = self._m.kept(survivor, CustomerRecord.MERGES)
        merges[f"{record['at']}#{merged}"] = copy.deepcopy(record)
        for identifier in identifiers:
            self._m.kept(merged, CustomerRecord.IDENTIFIERS).pop(
                f"{identifier.type.value}#{identifier.value}", None
            )
            self._own(survivor, identifier)

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
        profile["state"] = "erased"
        profile.setdefault("erased_at", record["at"])
        profile.pop("name", None)
        erasures[""] = copy.deepcopy(record)
        for identifier in identifiers[: (MAX_TRANSACTION_ITEMS - 2) // 2]:
            self.forget_identifier(customer_id, identifier)

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        record = self._m.kept(customer_id, CustomerRecord.ERASURE).get("")
        if record is None:
            raise ConcurrentModification("the item changed while we worked on it")
        record["status"] = "completed"
        record.setdefault("completed_at", at)
        record.pop("pending_addresses", None)
        record.pop("pending_outbox", None)
        return copy.deepcopy(record)

    def _own(self, customer_id: str, identifier: Identifier) -> None:
        self._m.identifiers[_ident(identifier)] = customer_id
        self._m.kept(customer_id, CustomerRecord.IDENTIFIERS)[
            f"{identifier.type.value}#{identifier.value}"
        ] = {"type": identifier.type.value, "value": identifier.value}


def _cursor(customer_id: str, sort: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([customer_id, sort]).encode()).decode()


def _after(cursor: str, customer_id: str) -> str:
    try:
        owner, sort = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("not a cursor from this API", field="cursor") from exc
    if owner != customer_id or not isinstance(sort, str):
        raise InvalidCursor("not a cursor for this customer", field="cursor")
    return sort


class FakeAnalytics:
    """``Analytics`` in memory (one set of counters: the shards only spread load)."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def figures(self, customer_id: str) -> tuple[CustomerMetrics, AnalyticsState]:
        item = self._m.figures.get(customer_id)
        if item is None:
            return CustomerMetrics(), AnalyticsState()
        metrics = CustomerMetrics.model_validate(item["doc"] | {"version": item["version"]})
        return metrics, AnalyticsState.model_validate(item["analytics"])

    def metrics(self, customer_id: str) -> CustomerMetrics:
        return self.figures(customer_id)[0]

    def analytics_state(self, customer_id: str) -> AnalyticsState:
        return self.figures(customer_id)[1]

    def save_metrics(self, changes: list[FiguresChange]) -> None:
        self.check_figures(changes)
        self.write_figures(changes)

    def check_figures(self, changes: list[FiguresChange]) -> None:
        """``ConcurrentModification`` if any customer's figures moved since they were read."""
        for customer_id, metrics, _old, _new in changes:
            stored = self._m.figures.get(customer_id, {}).get("version", 0)
            if stored != metrics.version:
                raise ConcurrentModification("the item changed while we worked on it")

    def write_figures(self, changes: list[FiguresChange]) -> None:
        """Store checked figures and move the counters and the top customers."""
        delta = AggregateDelta()
        for customer_id, metrics, old_state, new_state in changes:
            self._m.figures[customer_id] = {
                "doc": metrics.model_dump(mode="json", exclude={"version"}),
                "analytics": new_state.model_dump(mode="json"),
                "version": metrics.version + 1,
            }
            delta.add(old_state, new_state)
            top = self._m.counters.setdefault("TOP", {})
            top.pop(customer_id, None)
            if new_state.segment:
                top[customer_id] = new_state.value
        for name, counters in (("SEGMENTS", delta.segments), ("CHANNELS", delta.channels)):
            total = self._m.counters.setdefault(name, {})
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value

    def segment_reviews_due(self, now: datetime, days_back: int) -> tuple[list[str], int]:
        earliest = now.date().toordinal() - days_back
        due = []
        for customer_id, item in sorted(self._m.figures.items()):
            at = AnalyticsState.model_validate(item["analytics"]).review_at
            if at is not None and at <= now and at.date().toordinal() >= earliest:
                due.append(customer_id)
        return due, days_back + 1

    def segment_counters(self) -> dict[str, Any]:
        return dict(self._m.counters.get("SEGMENTS", {}))

    def channel_counters(self) -> dict[str, Any]:
        return dict(self._m.counters.get("CHANNELS", {}))

    def top_customers(self, limit: int) -> list[dict[str, Any]]:
        top = self._m.counters.get("TOP", {})
        ranked = sorted(
            top.items(), key=lambda kv: (max(0, int(Decimal(kv[1]) * 100)), kv[0]), reverse=True
        )
        return [{"customer_id": cid, "value": value} for cid, value in ranked[:limit]]


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
    ) -> tuple[list[dict[str, Any]], str | None]:
        kept = self._m.kept(customer_id, kind)
        order = sorted(kept, reverse=newest_first)
        if cursor:
            after = _after(cursor, customer_id)
            order = [s for s in order if (s < after if newest_first else s > after)]
        page = order if limit is None else order[:limit]
        more = limit is not None and len(order) > limit
        next_cursor = _cursor(customer_id, page[-1]) if more and page else None
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

    def move_items(
        self, from_customer: str, to_customer: str, kinds: tuple[CustomerRecord, ...]
    ) -> int:
        moved = 0
        for kind in kinds:
            source = self._m.kept(from_customer, kind)
            target = self._m.kept(to_customer, kind)
            for sort in list(source):
                target[sort] = source.pop(sort)
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


class FakeTickets:
    """``Tickets`` in memory, with the customer's list kept as the table keeps it."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory

    def create_ticket(self, ticket: Ticket) -> None:
        if ticket.ticket_id in self._m.tickets:
            raise ConcurrentModification("the item changed while we worked on it")
        self._write(ticket)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        stored = self._m.tickets.get(ticket_id)
        return Ticket.model_validate(copy.deepcopy(stored)) if stored else None

    def save_ticket(self, ticket: Ticket) -> None:
        stored = self._m.tickets.get(ticket.ticket_id, {}).get("version", 0)
        if stored != ticket.version:
            raise ConcurrentModification("the item changed while we worked on it")
        self._write(ticket)

    def put_ticket_owner(self, ticket_id: str, customer_id: str) -> None:
        self._m.tickets[ticket_id]["customer_id"] = customer_id

    def _write(self, ticket: Ticket) -> None:
        ticket.version += 1
        self._m.tickets[ticket.ticket_id] = ticket.model_dump(mode="json")
        entry = {
            "ticket_id": ticket.ticket_id,
            "type": ticket.type.value,
            "status": ticket.status.value,
            "order_id": ticket.order_id,
            "subject": ticket.subject,
        }
        kept = self._m.kept(ticket.customer_id, CustomerRecord.TICKETS)
        kept[f"{ticket.opened_at.isoformat()}#{ticket.ticket_id}"] = entry


class FakeCustomerStore(FakeIdentities, FakeCustomerView, FakeAnalytics, FakeTickets):
    """``CustomerStore`` in memory."""

    def __init__(self, memory: Memory) -> None:
        self._m = memory
        self._analytics = self
