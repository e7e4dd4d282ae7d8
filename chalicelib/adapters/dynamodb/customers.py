"""DynamoDB persistence of the customer 360: everything one customer owns lives in the
``CUSTOMER#<id>`` partition and is read by key and prefix, never by scan. The item types are
listed in ``chalicelib/adapters/dynamodb.py``'s key-design table."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb.store import error_code, from_item, query_due_by_day, to_item
from chalicelib.domain.customers import (
    AggregateDelta,
    AnalyticsState,
    CustomerMetrics,
    Identifier,
    IdentifierType,
)
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound
from chalicelib.domain.tickets import Ticket

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb.client import DynamoDBClient

TOP_PREFIX = "TOP#"
MAX_TRANSACTION_ITEMS = 100
MAX_MOVE_ROUNDS = 10
ANALYTICS_SHARDS = 8
SEGMENT_REVIEW_INDEX = "segment-reviews-by-day"


class ItemChanged(ConcurrentModification):
    """A condition of a transaction failed; ``index`` is the first failing item (-1 when
    the transaction collided with another one)."""

    def __init__(self, index: int) -> None:
        super().__init__("the item changed while we worked on it")
        self.index = index


class InvalidCursor(NotFound):
    """A page cursor this API did not hand out names no page (its shape is opaque to the
    schema, so 404 like any unknown id)."""


def customer_pk(customer_id: str) -> str:
    """The partition of everything one customer owns."""
    return f"CUSTOMER#{customer_id}"


def analytics_pk(customer_id: str) -> str:
    """The aggregates shard a customer is counted in. The counters are spread over
    ``ANALYTICS_SHARDS`` partitions so that projections do not all write one key (DynamoDB
    takes about 1,000 writes/s per partition); readers add the shards up."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return f"ANALYTICS#{int.from_bytes(digest[:4], 'big') % ANALYTICS_SHARDS}"


def _top_sk(value: Decimal, customer_id: str) -> str:
    # Cents zero-padded so that the sort key orders customers by value.
    cents = max(0, int(value * 100))
    return f"{TOP_PREFIX}{cents:015d}#{customer_id}"


def _review_keys(state: AnalyticsState) -> dict[str, str]:
    """The keys that put a customer's figures in the sparse ``segment-reviews-by-day``
    index until their segment is due to be looked at again."""
    if state.review_at is None:
        return {}
    at = state.review_at
    return {"review_day": at.date().isoformat(), "review_at": at.isoformat()}


def encode_cursor(key: dict[str, Any]) -> str:
    """An opaque page cursor from DynamoDB's LastEvaluatedKey."""
    plain = from_item(key)
    return base64.urlsafe_b64encode(json.dumps([plain["pk"], plain["sk"]]).encode()).decode()


def decode_cursor(cursor: str, pk: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; 422 for anything else."""
    try:
        found_pk, sk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("not a cursor from this API", field="cursor") from exc
    if found_pk != pk or not isinstance(sk, str):
        raise InvalidCursor("not a cursor for this customer", field="cursor")
    return to_item({"pk": pk, "sk": sk})


class CustomerStore:
    """Profiles, identifiers, the 360 projection, tickets, merges and the aggregates."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # Reading ---------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None

    def query(
        self,
        pk: str,
        prefix: str,
        limit: int | None = None,
        newest_first: bool = False,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items of a partition under a sort-key prefix; one page when ``limit`` is given."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": prefix}),
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, pk)
        items: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - len(items)
            page = self._client.query(**kwargs)
            items.extend(from_item(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if last is None:
                return items, None
            if limit is not None and len(items) >= limit:
                return items, encode_cursor(last)
            kwargs["ExclusiveStartKey"] = last

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The profile item: name, locale, state (active, merged, erased), merged_into."""
        return self._get(customer_pk(customer_id), "PROFILE")

    def identifiers(self, customer_id: str) -> list[Identifier]:
        """The identifiers the customer owns."""
        items, _ = self.query(customer_pk(customer_id), "IDENT#")
        return [Identifier(type=IdentifierType(i["type"]), value=i["value"]) for i in items]

    def order_summary(self, customer_id: str, order_sk: str) -> dict[str, Any] | None:
        """One order summary of the projection."""
        return self._get(customer_pk(customer_id), order_sk)

    def metrics(self, customer_id: str) -> CustomerMetrics:
        """The customer's running figures (all zero before the first projected order)."""
        return self.figures(customer_id)[0]

    def analytics_state(self, customer_id: str) -> AnalyticsState:
        """Where the customer was last counted in the aggregates."""
        return self.figures(customer_id)[1]

    def figures(self, customer_id: str) -> tuple[CustomerMetrics, AnalyticsState]:
        """The running figures and where they were last counted, from one read of the
        item that holds both (what a writer of the figures needs)."""
        item = self._get(customer_pk(customer_id), "METRICS")
        if item is None:
            return CustomerMetrics(), AnalyticsState()
        metrics = CustomerMetrics.model_validate(item["doc"] | {"version": item["version"]})
        return metrics, AnalyticsState.model_validate(item["analytics"])

    # The projection -------------------------------------------------------------------
    def project(
        self,
        customer_id: str,
        summary: dict[str, Any],
        summary_version: int,
        consent: dict[str, Any] | None,
        figures: tuple[CustomerMetrics, AnalyticsState, AnalyticsState] | None,
    ) -> None:
        """Apply an order's current state to its customer's 360: the order summary, guarded
        by its version (two projectors cannot both apply a change); the consent, the first
        time; the figures and aggregates only when given (the order's contribution to them
        changed). One transaction when there is more than the summary, otherwise one
        conditional put, which costs half the write units. ``ConcurrentModification`` if
        the summary or the figures changed since they were read."""
        pk = customer_pk(customer_id)
        items: list[dict[str, Any]] = [
            self._put(
                {"pk": pk, **summary, "version": summary_version + 1},
                *self._version_condition(summary_version),
            )
        ]
        if consent is not None:
            items.append(self._put({"pk": pk, **consent}))
        if figures is not None:
            items.extend(self._metrics_writes([(customer_id, *figures)]))
        if len(items) > 1:
            self._transact(items)
            return
        try:
            self._client.put_item(**items[0]["Put"])
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            raise ItemChanged(0) from exc

    def save_metrics(
        self, changes: list[tuple[str, CustomerMetrics, AnalyticsState, AnalyticsState]]
    ) -> None:
        """Write several customers' figures and their aggregate deltas atomically."""
        self._transact(self._metrics_writes(changes))

    def _metrics_writes(
        self, changes: list[tuple[str, CustomerMetrics, AnalyticsState, AnalyticsState]]
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        # One counter update per shard: a transaction may not touch an item twice.
        deltas: dict[str, AggregateDelta] = {}
        for customer_id, metrics, old_state, new_state in changes:
            doc = metrics.model_dump(mode="json", exclude={"version"})
            items.append(
                self._put(
                    {
                        "pk": customer_pk(customer_id),
                        "sk": "METRICS",
                        "doc": doc,
                        "analytics": new_state.model_dump(mode="json"),
                        "version": metrics.version + 1,
                        **_review_keys(new_state),
                    },
                    *self._version_condition(metrics.version),
                )
            )
            shard = analytics_pk(customer_id)
            deltas.setdefault(shard, AggregateDelta()).add(old_state, new_state)
            old_top = _top_sk(old_state.value, customer_id) if old_state.segment else None
            new_top = _top_sk(new_state.value, customer_id) if new_state.segment else None
            if old_top != new_top:
                if old_top is not None:
                    items.append(self._delete(shard, old_top))
                if new_top is not None:
                    items.append(
                        self._put(
                            {
                                "pk": shard,
                                "sk": new_top,
                                "customer_id": customer_id,
                                "value": new_state.value,
                            }
                        )
                    )
        for shard, delta in sorted(deltas.items()):
            for sk, counters in (("SEGMENTS", delta.segments), ("CHANNELS", delta.channels)):
                if counters:
                    items.append(self._counters_update(shard, sk, counters))
        return items

    def _counters_update(self, pk: str, sk: str, counters: dict[str, Any]) -> dict[str, Any]:
        names = {f"#a{i}": name for i, name in enumerate(counters)}
        values = {f":v{i}": Decimal(str(value)) for i, value in enumerate(counters.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": pk, "sk": sk}),
                "UpdateExpression": "ADD "
                + ", ".join(f"#a{i} :v{i}" for i in range(len(counters))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def segment_reviews_due(self, now: datetime, days_back: int) -> tuple[list[str], int]:
        """Customers whose segment review is due by ``now``, from the sparse index: one
        query per day over the last ``days_back`` days. Returns them and the pages read."""
        due, pages = query_due_by_day(
            self._client,
            self._table,
            SEGMENT_REVIEW_INDEX,
            "review_day = :day AND review_at <= :now",
            now,
            days_back,
        )
        return [str(item["pk"]).removeprefix("CUSTOMER#") for item in due], pages

    # Interactions, consents, merge candidates ------------------------------------------
    def add_interaction(self, customer_id: str, interaction: dict[str, Any]) -> None:
        """Record a call, chat, store visit or email; the same interaction id twice is one."""
        sk = f"INTERACTION#{interaction['at']}#{interaction['interaction_id']}"
        self._client.put_item(
            TableName=self._table,
            Item=to_item({"pk": customer_pk(customer_id), "sk": sk, **interaction}),
        )

    def record_merge_candidate(self, customer_ids: list[str], reason: dict[str, Any]) -> None:
        """Two records one order named: recorded on both, for a person to decide."""
        for customer_id in customer_ids:
            for other in customer_ids:
                if other != customer_id:
                    self._client.put_item(
                        TableName=self._table,
                        Item=to_item(
                            {
                                "pk": customer_pk(customer_id),
                                "sk": f"CANDIDATE#{other}",
                                "customer_id": other,
                                **reason,
                            }
                        ),
                    )

    def claim_identifier(self, customer_id: str, identifier: Identifier) -> bool:
        """Give an unowned identifier to a customer; False if someone owns it."""
        try:
            self._transact(
                [
                    self._put(
                        {
                            "pk": f"IDENT#{identifier.type.value}#{identifier.value}",
                            "sk": "IDENT",
                            "customer_id": customer_id,
                        },
                        "attribute_not_exists(pk)",
                    ),
                    self._put(self._ident_mirror(customer_id, identifier)),
                ]
            )
        except ConcurrentModification:
            return False
        return True

    # Tickets ---------------------------------------------------------------------------
    def create_ticket(self, ticket: Ticket) -> None:
        """Store a new ticket and its entry in the customer's list."""
        self._transact(
            [
                self._put(self._ticket_item(ticket), "attribute_not_exists(pk)"),
                self._put(self._ticket_index(ticket)),
            ]
        )
        ticket.version += 1

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        """A ticket, or None."""
        item = self._get(f"TICKET#{ticket_id}", "TICKET")
        if item is None:
            return None
        return Ticket.model_validate(item["doc"] | {"version": item["version"]})

    def save_ticket(self, ticket: Ticket) -> None:
        """Write a changed ticket if nobody changed it since it was read."""
        self._transact(
            [
                self._put(self._ticket_item(ticket), *self._version_condition(ticket.version)),
                self._put(self._ticket_index(ticket)),
            ]
        )
        ticket.version += 1

    def _ticket_item(self, ticket: Ticket) -> dict[str, Any]:
        return {
            "pk": f"TICKET#{ticket.ticket_id}",
            "sk": "TICKET",
            "doc": ticket.model_dump(mode="json", exclude={"version"}),
            "version": ticket.version + 1,
        }

    @staticmethod
    def _ticket_index(ticket: Ticket) -> dict[str, Any]:
        return {
            "pk": customer_pk(ticket.customer_id),
            "sk": f"TICKET#{ticket.opened_at.isoformat()}#{ticket.ticket_id}",
            "ticket_id": ticket.ticket_id,
            "type": ticket.type.value,
            "status": ticket.status.value,
            "order_id": ticket.order_id,
            "subject": ticket.subject,
        }

    # Merge and erasure -----------------------------------------------------------------
    def merge_profiles(
        self,
        survivor: str,
        merged: str,
        identifiers: list[Identifier],
        record: dict[str, Any],
    ) -> None:
        """Point the merged record and its identifiers at the survivor and record who did it,
        atomically; ``Conflict`` if either record stopped being active meanwhile."""
        active = "attribute_not_exists(#state) OR #state = :active"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"pk": customer_pk(merged), "sk": "PROFILE"}),
                    "UpdateExpression": "SET #state = :merged, merged_into = :to, merged_at = :at",
                    "ConditionExpression": f"attribute_exists(pk) AND ({active})",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": to_item(
                        {
                            ":merged": "merged",
                            ":active": "active",
                            ":to": survivor,
                            ":at": record["at"],
                        }
                    ),
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": to_item({"pk": customer_pk(survivor), "sk": "PROFILE"}),
                    "ConditionExpression": f"attribute_exists(pk) AND ({active})",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": to_item({":active": "active"}),
                }
            },
            self._put(
                {"pk": customer_pk(survivor), "sk": f"MERGE#{record['at']}#{merged}", **record}
            ),
        ]
        for identifier in identifiers:
            items.append(
                self._put(
                    {
                        "pk": f"IDENT#{identifier.type.value}#{identifier.value}",
                        "sk": "IDENT",
                        "customer_id": survivor,
                    },
                    "customer_id = :from",
                    {":from": merged},
                )
            )
            items.append(self._put(self._ident_mirror(survivor, identifier)))
            items.append(self._delete(customer_pk(merged), self._ident_sk(identifier)))
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise Conflict("too many identifiers to merge at once", field="from_customer_id")
        try:
            self._transact(items)
        except ConcurrentModification as exc:
            raise Conflict("one of the customers changed; read both again") from exc

    def move_items(self, from_customer: str, to_customer: str, prefixes: tuple[str, ...]) -> int:
        """Move a customer's items under these prefixes to another customer (copy, then
        delete, one transaction each): used after a merge. An item that changed since it
        was read (the projector updating an order summary) is read again and moved as it
        is now, so no update is lost. Returns how many moved."""
        moved = 0
        for prefix in prefixes:
            for _ in range(MAX_MOVE_ROUNDS):
                items, _cursor = self.query(customer_pk(from_customer), prefix)
                if not items:
                    break
                for item in items:
                    delete = self._delete(customer_pk(from_customer), str(item["sk"]))
                    if "version" in item:
                        delete["Delete"]["ConditionExpression"] = "version = :read"
                        delete["Delete"]["ExpressionAttributeValues"] = to_item(
                            {":read": item["version"]}
                        )
                    copy = self._put({**item, "pk": customer_pk(to_customer)})
                    try:
                        self._transact([copy, delete])
                    except ItemChanged:
                        continue  # moved on the next round, as it is then
                    moved += 1
            else:
                raise ConcurrentModification(f"{prefix} items kept changing; merge again")
        return moved

    def put_ticket_owner(self, ticket_id: str, customer_id: str) -> None:
        """Re-point a ticket at the customer it now belongs to (after a merge)."""
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": f"TICKET#{ticket_id}", "sk": "TICKET"}),
            UpdateExpression="SET doc.customer_id = :c",
            ExpressionAttributeValues=to_item({":c": customer_id}),
        )

    # Erasure ---------------------------------------------------------------------------
    def erasure(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's erasure record, if an erasure was begun."""
        return self._get(customer_pk(customer_id), "ERASURE")

    def begin_erasure(
        self, customer_id: str, identifiers: list[Identifier], record: dict[str, Any]
    ) -> None:
        """Record the erasure and mark the record erased (its name dropped), and release
        these identifiers, atomically: from then on the record is erased whatever happens
        to the steps that follow. ``ConcurrentModification`` if the record is neither
        active nor erased, or an erasure was recorded meanwhile."""
        pk = customer_pk(customer_id)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"pk": pk, "sk": "PROFILE"}),
                    "UpdateExpression": (
                        "SET #state = :erased, erased_at = if_not_exists(erased_at, :at) "
                        "REMOVE #name"
                    ),
                    # Erased without a record only by an erasure that predates the records.
                    "ConditionExpression": (
                        "attribute_exists(pk) AND (attribute_not_exists(#state) OR "
                        "#state IN (:active, :erased))"
                    ),
                    "ExpressionAttributeNames": {"#state": "state", "#name": "name"},
                    "ExpressionAttributeValues": to_item(
                        {":erased": "erased", ":active": "active", ":at": record["at"]}
                    ),
                }
            },
            self._put({"pk": pk, "sk": "ERASURE", **record}, "attribute_not_exists(pk)"),
        ]
        for identifier in identifiers[: (MAX_TRANSACTION_ITEMS - len(items)) // 2]:
            items.append(self._release_identifier(customer_id, identifier))
            items.append(self._delete(pk, self._ident_sk(identifier)))
        self._transact(items)

    def forget_identifier(self, customer_id: str, identifier: Identifier) -> None:
        """Release an identifier the customer owns and drop their copy of it; safe to repeat
        (an identifier someone else owns now is left to them)."""
        mirror = self._delete(customer_pk(customer_id), self._ident_sk(identifier))
        try:
            self._transact([self._release_identifier(customer_id, identifier), mirror])
        except ItemChanged as exc:
            if exc.index != 0:
                raise
            self._transact([mirror])

    def _release_identifier(self, customer_id: str, identifier: Identifier) -> dict[str, Any]:
        key = {"pk": f"IDENT#{identifier.type.value}#{identifier.value}", "sk": "IDENT"}
        return {
            "Delete": {
                "TableName": self._table,
                "Key": to_item(key),
                "ConditionExpression": "attribute_not_exists(pk) OR customer_id = :me",
                "ExpressionAttributeValues": to_item({":me": customer_id}),
            }
        }

    def rewrite_items(
        self,
        customer_id: str,
        prefix: str,
        rewrite: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> int:
        """Replace each of the customer's items under ``prefix`` by what ``rewrite`` makes of
        it (None deletes it); only items that change are written. Returns how many did."""
        items, _ = self.query(customer_pk(customer_id), prefix)
        changed = 0
        for item in items:
            new = rewrite(item)
            if new == item:
                continue
            if new is None:
                self._client.delete_item(
                    TableName=self._table,
                    Key=to_item({"pk": item["pk"], "sk": item["sk"]}),
                )
            else:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(new | {"pk": item["pk"], "sk": item["sk"]}),
                )
            changed += 1
        return changed

    def drop_merge_candidates(self, customer_id: str) -> int:
        """Forget every merge candidate the customer is part of, on both records (the
        other side's item names the customer and the identifiers the order gave)."""
        items, _ = self.query(customer_pk(customer_id), "CANDIDATE#")
        for item in items:
            other = str(item["customer_id"])
            self._transact(
                [
                    self._delete(customer_pk(other), f"CANDIDATE#{customer_id}"),
                    self._delete(customer_pk(customer_id), str(item["sk"])),
                ]
            )
        return len(items)

    def merged_into(self, customer_id: str) -> list[str]:
        """The records merged into this one (directly), from its merge records."""
        records, _ = self.query(customer_pk(customer_id), "MERGE#")
        return [str(item["from_customer_id"]) for item in records]

    def finish_erasure(self, customer_id: str, at: str) -> dict[str, Any]:
        """Mark the erasure complete and drop what it kept only to finish its work."""
        response = self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": customer_pk(customer_id), "sk": "ERASURE"}),
            UpdateExpression=(
                "SET #status = :done, completed_at = if_not_exists(completed_at, :at) "
                "REMOVE pending_outbox"
            ),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item({":done": "completed", ":at": at}),
            ReturnValues="ALL_NEW",
        )
        return from_item(response["Attributes"])

    # Aggregates ------------------------------------------------------------------------
    def aggregate(self, name: str) -> dict[str, Any]:
        """The ``SEGMENTS`` or ``CHANNELS`` counters, every shard added up."""
        total: dict[str, Any] = {}
        for shard in range(ANALYTICS_SHARDS):
            item = self._get(f"ANALYTICS#{shard}", name) or {}
            for key, value in item.items():
                if key not in ("pk", "sk"):
                    total[key] = total.get(key, 0) + value
        return total

    def top_customers(self, limit: int) -> list[dict[str, Any]]:
        """The most valuable customers, most valuable first: each shard's top page, by
        key, merged."""
        found: list[dict[str, Any]] = []
        for shard in range(ANALYTICS_SHARDS):
            items, _ = self.query(f"ANALYTICS#{shard}", TOP_PREFIX, limit=limit, newest_first=True)
            found.extend(items)
        found.sort(key=lambda item: str(item["sk"]), reverse=True)
        return found[:limit]

    # Plumbing --------------------------------------------------------------------------
    @staticmethod
    def _ident_sk(identifier: Identifier) -> str:
        return f"IDENT#{identifier.type.value}#{identifier.value}"

    def _ident_mirror(self, customer_id: str, identifier: Identifier) -> dict[str, Any]:
        return {
            "pk": customer_pk(customer_id),
            "sk": self._ident_sk(identifier),
            "type": identifier.type.value,
            "value": identifier.value,
        }

    @staticmethod
    def _version_condition(version: int) -> tuple[str, dict[str, Any]]:
        if version == 0:
            return "attribute_not_exists(pk)", {}
        return "version = :expected", {":expected": version}

    def _put(
        self,
        item: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(item)}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = to_item(values)
        return {"Put": put}

    def _delete(self, pk: str, sk: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self._table, "Key": to_item({"pk": pk, "sk": sk})}}

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """One transaction; ``ConcurrentModification(index)`` naming the first item whose
        condition failed (or -1 for a conflict with another transaction)."""
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
            failed = next(
                (
                    index
                    for index, reason in enumerate(reasons)
                    if reason.get("Code") == "ConditionalCheckFailed"
                ),
                -1,
            )
            raise ItemChanged(failed) from exc
