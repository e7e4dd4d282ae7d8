"""The one table's plumbing: values to and from DynamoDB's types, single-item calls, one
query helper that pages, and one transaction helper that says which items failed."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb.attribute_values import TypeDeserializer, TypeSerializer
from chalicelib.domain.errors import ConcurrentModification, ItemFull

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.adapters.dynamodb.keys import Key

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# What a transaction may hold.
MAX_TRANSACTION_ITEMS = 100
# What one BatchGetItem may ask for, and how often keys left unprocessed are asked again.
MAX_BATCH_GET_KEYS = 100
BATCH_GET_ATTEMPTS = 5
# How often a write that met another transaction on its items is sent again. DynamoDB
# refuses it without applying anything (a single write as TransactionConflictException, a
# transaction as cancelled for TransactionConflict) and botocore does not retry either.
COLLISION_ATTEMPTS = 4
# A transaction's cancellation reasons that say nothing about its conditions: it met
# another writer or was throttled, and the same request may simply be sent again.
COLLISION_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values to DynamoDB attribute values (floats are not allowed; use Decimal)."""
    return {key: _serializer.serialize(value) for key, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values to plain values, whole numbers as ints."""
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def error_code(exc: ClientError) -> str:
    """The AWS error code of a client error."""
    return str(exc.response.get("Error", {}).get("Code", ""))


# How DynamoDB refuses a write that would make an item larger than 400 KB: a validation
# error (in a transaction, a cancellation reason) saying the item size exceeded the maximum.
_TOO_LARGE = "exceeded the maximum allowed size"


def _too_large(message: object) -> bool:
    return _TOO_LARGE in str(message or "").lower()


def item_full(exc: ClientError) -> ItemFull | None:
    """``ItemFull`` for a write DynamoDB refused as too large for one item, else None."""
    reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
    error = exc.response.get("Error", {})
    if (error_code(exc) == "ValidationException" and _too_large(error.get("Message"))) or any(
        reason.get("Code") == "ValidationError" and _too_large(reason.get("Message"))
        for reason in reasons
    ):
        return ItemFull("this holds as much as it can; nothing more can be added to it")
    return None


class ConditionFailed(ConcurrentModification):
    """A single-item write's condition failed."""

    def __init__(self) -> None:
        super().__init__("the item changed while we worked on it")


class WriteCollided(ConcurrentModification):
    """A single-item write kept meeting a transaction in progress on its item."""

    def __init__(self) -> None:
        super().__init__("the item was being changed by someone else; try again")


class TransactionCancelled(ConcurrentModification):
    """A transaction was cancelled. ``failed`` holds the keys of the items whose condition
    failed, as ``(pk, sk)``; empty when it collided with another transaction."""

    def __init__(self, failed: list[tuple[str, str]]) -> None:
        super().__init__("the item changed while we worked on it")
        self.failed = failed

    def failed_on(self, key: Key) -> bool:
        """Whether the condition of the write on ``key`` is one that failed."""
        return (key["pk"], key["sk"]) in self.failed


@dataclass
class Page:
    """What a query found: the items as plain values, the key to go on from (None at the
    end) and how many pages were read."""

    items: list[dict[str, Any]] = field(default_factory=list)
    last_key: Key | None = None
    pages: int = 0


# Its own generator: jitter must not move the process-wide random state others rely on
# (Hypothesis, drawing in the test process beside the local stack, saw it moved).
_JITTER = random.Random()


def _back_off(attempt: int) -> None:
    """Before sending a write again after a collision: nothing the first time, then up to
    25, 50, 100 ms at random (full jitter), so that two colliding writers part."""
    if attempt:
        time.sleep(_JITTER.uniform(0, 0.025 * 2 ** (attempt - 1)))


def _write_key(write: dict[str, Any]) -> tuple[str, str]:
    (body,) = write.values()
    key = from_item(body["Item"] if "Item" in body else body["Key"])
    return str(key["pk"]), str(key["sk"])


class Table:
    """One DynamoDB table, with the project's habits: consistent reads, plain values."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self._client = client
        self.name = name

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client (for tests and tools that look under the repositories)."""
        return self._client

    # Writes to put in a transaction ----------------------------------------------------
    def put(
        self,
        item: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A Put of ``item`` (plain values), under ``condition`` if given."""
        return {"Put": self._request({"Item": to_item(item)}, condition, values, names)}

    def delete(
        self,
        key: Key,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A Delete of the item at ``key``."""
        return {"Delete": self._request({"Key": to_item(dict(key))}, condition, values, names)}

    def update(
        self,
        key: Key,
        expression: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """An Update of the item at ``key``."""
        request = self._request({"Key": to_item(dict(key))}, condition, values, names)
        request["UpdateExpression"] = expression
        return {"Update": request}

    def check(
        self,
        key: Key,
        condition: str,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A ConditionCheck on the item at ``key``."""
        return {
            "ConditionCheck": self._request({"Key": to_item(dict(key))}, condition, values, names)
        }

    def _request(
        self,
        request: dict[str, Any],
        condition: str | None,
        values: dict[str, Any] | None,
        names: dict[str, str] | None,
    ) -> dict[str, Any]:
        request = {"TableName": self.name, **request}
        if condition:
            request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = to_item(values)
        if names:
            request["ExpressionAttributeNames"] = names
        return request

    # Running them ------------------------------------------------------------------------
    def transact(self, writes: list[dict[str, Any]]) -> None:
        """Run the writes as one transaction; ``TransactionCancelled`` naming the items whose
        condition failed (CancellationReasons come in the order of the writes).

        One write that changes an item runs as a plain conditional write: it is as atomic
        alone, and a transaction bills each of its items twice (two-phase commit). A failed
        condition is still ``TransactionCancelled`` naming the item, as callers expect."""
        if len(writes) == 1 and "ConditionCheck" not in writes[0]:
            try:
                self.write(writes[0])
            except ConditionFailed as exc:
                raise TransactionCancelled([_write_key(writes[0])]) from exc
            except WriteCollided as exc:
                raise TransactionCancelled([]) from exc
            return
        for attempt in range(COLLISION_ATTEMPTS):
            _back_off(attempt)
            try:
                self._client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
                return
            except ClientError as exc:
                if (full := item_full(exc)) is not None:
                    raise full from exc
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
                failed = [
                    _write_key(write)
                    for write, reason in zip(writes, reasons, strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                collided = any(reason.get("Code") in COLLISION_REASONS for reason in reasons)
                if failed or not collided or attempt == COLLISION_ATTEMPTS - 1:
                    raise TransactionCancelled(failed) from exc

    def transact_if(self, writes: list[dict[str, Any]]) -> bool:
        """``transact``, answering whether it was written: False when it was cancelled
        (a condition refused it), for writes that are meant to happen at most once."""
        try:
            self.transact(writes)
        except TransactionCancelled:
            return False
        return True

    def write(self, write: dict[str, Any]) -> dict[str, Any] | None:
        """Run one write made by ``put``, ``delete`` or ``update`` on its own;
        ``ConditionFailed`` if its condition fails, ``WriteCollided`` if it kept meeting
        another transaction on its item. An update answers with the item as it now is."""
        (kind, request) = next(iter(write.items()))
        collision: ClientError | None = None
        for attempt in range(COLLISION_ATTEMPTS):
            _back_off(attempt)
            try:
                return self._write_once(kind, request)
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise ConditionFailed from exc
                if (full := item_full(exc)) is not None:
                    raise full from exc
                if error_code(exc) != "TransactionConflictException":
                    raise
                collision = exc
        raise WriteCollided from collision

    def _write_once(self, kind: str, request: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "Put":
            self._client.put_item(**request)
            return None
        if kind == "Delete":
            self._client.delete_item(**request)
            return None
        response = self._client.update_item(**request, ReturnValues="ALL_NEW")
        return from_item(response["Attributes"])

    # Reads -------------------------------------------------------------------------------
    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        """The item at ``key`` as plain values, or None."""
        response = self._client.get_item(
            TableName=self.name, Key=to_item(dict(key)), ConsistentRead=consistent
        )
        return from_item(response["Item"]) if "Item" in response else None

    def get_many(self, keys: list[Key], consistent: bool = True) -> list[dict[str, Any]]:
        """The items at these keys that exist, in no particular order: one BatchGetItem per
        100 keys, asking again for any DynamoDB left unprocessed (throttled)."""
        unique = list({tuple(sorted(key.items())): key for key in keys}.values())
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), MAX_BATCH_GET_KEYS):
            chunk = [to_item(dict(key)) for key in unique[start : start + MAX_BATCH_GET_KEYS]]
            pending: Any = {self.name: {"Keys": chunk, "ConsistentRead": consistent}}
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys are throttling: back off
                response = self._client.batch_get_item(RequestItems=pending)
                found += [from_item(item) for item in response["Responses"].get(self.name, [])]
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise ConcurrentModification("the table kept throttling a batch read")
        return found

    def query(
        self,
        condition: str,
        values: dict[str, Any],
        *,
        index: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        start: Key | None = None,
    ) -> Page:
        """Items a key condition matches, page after page; with ``limit``, no more than
        that many, and the key to go on from if there may be more."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": not newest_first,
        }
        if index is None:
            request["ConsistentRead"] = True  # global secondary indexes cannot be
        else:
            request["IndexName"] = index
        if start is not None:
            request["ExclusiveStartKey"] = to_item(dict(start))
        found = Page()
        while True:
            if limit is not None:
                request["Limit"] = limit - len(found.items)
            response = self._client.query(**request)
            found.pages += 1
            found.items.extend(from_item(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if last is None:
                return found
            if limit is not None and len(found.items) >= limit:
                plain = from_item(last)
                found.last_key = {"pk": str(plain["pk"]), "sk": str(plain["sk"])}
                return found
            request["ExclusiveStartKey"] = last

    def partition(
        self,
        pk: str,
        prefix: str | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
        start: Key | None = None,
    ) -> Page:
        """The items of one partition, under a sort-key prefix if given."""
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": pk}
        if prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = prefix
        return self.query(condition, values, limit=limit, newest_first=newest_first, start=start)

    def due_by_day(
        self, index: str, condition: str, now: datetime, days_back: int
    ) -> tuple[list[dict[str, Any]], int]:
        """What a sparse index partitioned by day holds that is due by ``now``: one query per
        day (``:day``) from ``days_back`` days ago to today, ``:now`` bound to ``now``. Its
        cost follows the items due, not the table. Returns them and the pages read."""
        found: list[dict[str, Any]] = []
        pages = 0
        for offset in range(days_back, -1, -1):
            day = (now - timedelta(days=offset)).date().isoformat()
            page = self.query(condition, {":day": day, ":now": now.isoformat()}, index=index)
            found.extend(page.items)
            pages += page.pages
        return found, pages
