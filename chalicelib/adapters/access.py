"""DynamoDB records that keep guessing out: attempt counters with their lockout, one-time
verification codes (hashed) and the generation of each order's tracking links (keys in
``adapters/dynamodb/keys.py``).

- attempts: ``ATTEMPTS#<scope>`` / ``ATTEMPTS``: ``failures`` (attempts reserved and not
  given back), ``locked_until`` (epoch seconds); TTL ``expires_at``.
- verification code: ``VERIFY#<type>#<digest>`` / ``CODE``: ``code_hash`` (keyed HMAC,
  never the code), ``kid``, ``valid_until`` (epoch seconds); TTL ``expires_at``. The
  digest is a keyed HMAC of the address (``services/verification.py``), and so is the
  address in a verification's attempt scopes: no address is stored here.
- tracking generation: ``TRACKING#<order id>`` / ``GENERATION``: ``generation``; links
  signed for an older generation are revoked.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import error_code, from_item, to_item
from chalicelib.domain.errors import LOCKED_DETAIL, TooManyAttempts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.adapters.dynamodb.keys import Key

_CONDITION_FAILED = "ConditionalCheckFailedException"
_RECORD_DAYS = 86400
# How long an attempt may be in flight (a request's lifetime behind API Gateway): attempts
# counted more recently than this may still be given back by a right code.
IN_FLIGHT_SECONDS = 30


def _failed_condition(exc: ClientError) -> bool:
    return error_code(exc) == _CONDITION_FAILED


class AccessStore:
    """Attempt counters, verification codes and tracking-link generations."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, key: Key) -> dict[str, Any]:
        return to_item(dict(key))

    def _get(self, key: Key) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=self._key(key), ConsistentRead=True
        )
        return from_item(response["Item"]) if "Item" in response else None

    def _update(self, key: Key, expression: str, condition: str | None, **values: Any) -> int:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(key),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": to_item({f":{name}": v for name, v in values.items()}),
            "ReturnValues": "ALL_NEW",
        }
        if condition:
            request["ConditionExpression"] = condition
        attributes = from_item(self._client.update_item(**request).get("Attributes", {}))
        return int(attributes.get("failures", attributes.get("generation", 0)))

    # Attempts -------------------------------------------------------------------------
    def begin_attempt(
        self,
        scope: str,
        now: datetime,
        limit: int,
        lock_seconds: int,
        field: str = "code",
        locked: str = LOCKED_DETAIL,
    ) -> int:
        """Reserve one attempt at a code, counted as a failure until ``attempt_succeeded``
        gives it back; returns the failures counted with it. ``TooManyAttempts`` (with the
        seconds left) once ``limit`` failures are counted or while the lock holds.

        The reservation is one conditional update, so concurrent guesses can never get more
        than ``limit`` codes checked between two lockouts."""
        key, at = keys.attempts(scope), int(now.timestamp())
        ttl = at + lock_seconds + _RECORD_DAYS
        for _ in range(5):
            try:
                return self._update(
                    key,
                    "SET failures = if_not_exists(failures, :zero) + :one, expires_at = :ttl,"
                    " reserved_at = :now",
                    "(attribute_not_exists(failures) OR failures < :limit) AND "
                    "(attribute_not_exists(locked_until) OR locked_until <= :now)",
                    zero=0,
                    one=1,
                    ttl=ttl,
                    limit=limit,
                    now=at,
                )
            except ClientError as exc:
                if not _failed_condition(exc):
                    raise
            item = self._get(key) or {}
            failures, locked_until = int(item.get("failures", 0)), item.get("locked_until")
            if locked_until is not None and int(locked_until) > at:
                raise TooManyAttempts(
                    locked,
                    field=field,
                    retry_after=math.ceil(int(locked_until) - now.timestamp()),
                )
            in_flight = at - int(item.get("reserved_at", 0)) < IN_FLIGHT_SECONDS
            if failures >= limit and locked_until is None and in_flight:
                # Attempts still in flight may be right and give theirs back: no lock for
                # them (probe 201: 20 copies of the right code at once locked the address
                # for 15 minutes), only "not now". A wrong one locks as it is checked.
                raise TooManyAttempts(
                    "too many attempts at once; try again",
                    field=field,
                    retry_after=IN_FLIGHT_SECONDS,
                )
            if failures >= limit and locked_until is None:
                # Counted long ago and never settled (a request that died): lock now, and
                # the next round answers with the time left.
                self.lock(scope, now, lock_seconds)
            elif failures >= limit and self._restart(key, int(str(locked_until)), ttl):
                return 1  # the lock ran out: counting starts again with this attempt
        raise TooManyAttempts("too many attempts at once; try again", field=field)

    def _restart(self, key: Key, seen_lock: int, ttl: int) -> bool:
        try:
            self._update(
                key,
                "SET failures = :one, expires_at = :ttl REMOVE locked_until",
                "locked_until = :seen",
                one=1,
                ttl=ttl,
                seen=seen_lock,
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
            return False
        return True

    def attempt_failed(
        self, scope: str, failures: int, now: datetime, limit: int, lock_seconds: int
    ) -> None:
        """The reserved attempt was wrong (it stays counted); the one that reaches the
        limit starts the lockout."""
        if failures >= limit:
            self.lock(scope, now, lock_seconds)

    def lock(self, scope: str, now: datetime, lock_seconds: int) -> None:
        """Lock the scope for ``lock_seconds`` from ``now`` unless a lock holds already."""
        at = int(now.timestamp())
        try:
            self._update(
                keys.attempts(scope),
                "SET locked_until = :until",
                "attribute_not_exists(locked_until) OR locked_until <= :now",
                until=at + lock_seconds,
                now=at,
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def attempt_succeeded(self, scope: str) -> None:
        """Give back the attempt reserved by ``begin_attempt``: the code was right."""
        try:
            self._update(
                keys.attempts(scope),
                "SET failures = failures - :one",
                "failures > :zero",
                one=1,
                zero=0,
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def attempts_cleared(self, scope: str, now: datetime) -> None:
        """Forget the scope's wrong guesses, unless a lock holds (one conditional update
        of a counter that exists)."""
        try:
            self._update(
                keys.attempts(scope),
                "SET failures = :zero",
                "attribute_exists(failures) AND "
                "(attribute_not_exists(locked_until) OR locked_until <= :now)",
                zero=0,
                now=int(now.timestamp()),
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise

    def lock_ends(self, scope: str, now: datetime) -> datetime | None:
        """When the scope's lock ends, while one holds at ``now``: one eventually
        consistent read, for a page that says so (a lock just set may show a moment late,
        and the attempt is refused all the same)."""
        response = self._client.get_item(
            TableName=self._table,
            Key=self._key(keys.attempts(scope)),
            ProjectionExpression="locked_until",
        )
        until = from_item(response.get("Item", {})).get("locked_until")
        if until is None or int(until) <= now.timestamp():
            return None
        return datetime.fromtimestamp(int(until), tz=UTC)

    # Verification codes -----------------------------------------------------------------
    def put_code(self, identifier: str, code_hash: str, kid: str, valid_until: int) -> None:
        """Store the hash of the code sent to ``identifier`` (replacing any earlier one)."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    **keys.verification_code(identifier),
                    "code_hash": code_hash,
                    "kid": kid,
                    "valid_until": valid_until,
                    "expires_at": valid_until + _RECORD_DAYS,
                }
            ),
        )

    def code(self, identifier: str) -> dict[str, Any] | None:
        """The stored code hash, its kid and ``valid_until``, or None."""
        return self._get(keys.verification_code(identifier))

    def use_code(self, identifier: str, code_hash: str) -> bool:
        """Mark the code used if it is still this one and unused: True once, for one caller
        only. The item stays until its TTL, so a reused code is told apart from none sent."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(keys.verification_code(identifier)),
                UpdateExpression="SET used = :yes",
                ConditionExpression="code_hash = :hash AND attribute_not_exists(used)",
                ExpressionAttributeValues=to_item({":hash": code_hash, ":yes": True}),
            )
        except ClientError as exc:
            if not _failed_condition(exc):
                raise
            return False
        return True

    # Tracking links ---------------------------------------------------------------------
    def tracking_generation(self, order_id: str) -> int:
        """The generation of the order's valid tracking links (0 until one is revoked)."""
        item = self._get(keys.tracking_generation(order_id))
        return int(item["generation"]) if item else 0

    def revoke_tracking(self, order_id: str) -> int:
        """Revoke every link issued so far; returns the new generation."""
        return self._update(
            keys.tracking_generation(order_id),
            "SET generation = if_not_exists(generation, :zero) + :one",
            None,
            zero=0,
            one=1,
        )
