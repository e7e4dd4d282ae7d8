"""Idempotency-Key handling on Powertools Idempotency, stored in the orders table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import keys
from chalicelib.domain.errors import Conflict, IdempotencyKeyReused

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb.client import DynamoDBClient

# API Gateway gives up on a request after 29 s: a record still in progress after that
# belongs to a request that died, and may be taken over.
IN_PROGRESS_MILLIS = 29_000
WAIT_FOR_FIRST_SECONDS = 25.0


class _RequestClock:
    """Stands in for the Lambda context Powertools reads the in-progress expiry from."""

    def get_remaining_time_in_millis(self) -> int:
        return IN_PROGRESS_MILLIS


class IdempotentRequests:
    """Runs a request once per (scope, key): the same key and body replay the first
    response; the same key with another body is refused."""

    def __init__(self, client: DynamoDBClient, table_name: str, ttl_seconds: int) -> None:
        self._client = client
        self._table_name = table_name
        self._ttl_seconds = ttl_seconds

    def _persistence(self) -> DynamoDBPersistenceLayer:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        # One per request: Powertools configures its persistence layer per call (function
        # name, config) without a lock, so a shared one is not safe across threads.
        return DynamoDBPersistenceLayer(
            table_name=self._table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=keys.IDEMPOTENCY_PK,
            expiry_attr="expires_at",
            boto3_client=self._client,
        )

    def run(
        self, scope: str, key: str, body: Any, compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """The stored response for this key, or ``compute()``'s, stored."""
        # Imported at the first keyed request: Powertools' idempotency imports boto3 (and
        # with it s3transfer), which the functions that take no Idempotency-Key never need.
        from aws_lambda_powertools.utilities.idempotency import (
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._ttl_seconds,
        )
        config.register_lambda_context(_RequestClock())  # type: ignore[arg-type]

        def request(data: dict[str, Any]) -> dict[str, Any]:
            # Keys in the order Powertools stores them (sorted), so that the first answer
            # and its replays are the same bytes, not just the same JSON.
            return json.loads(json.dumps(compute(), sort_keys=True))  # type: ignore[no-any-return]

        request.__name__ = scope
        request.__qualname__ = scope
        once = idempotent_function(
            data_keyword_argument="data", persistence_store=self._persistence(), config=config
        )(request)
        deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
        delay = 0.02
        while True:
            try:
                return once(data={"key": f"{scope}:{key}", "body": body})  # type: ignore[no-any-return]
            except IdempotencyValidationError as exc:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different body", field="Idempotency-Key"
                ) from exc
            except IdempotencyAlreadyInProgressError as exc:
                # A concurrent request with the same key is working: wait for its answer.
                if time.monotonic() > deadline:
                    raise Conflict(
                        "a request with this Idempotency-Key is still in progress",
                        field="Idempotency-Key",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)
