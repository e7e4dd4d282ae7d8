"""Ops alerts recorded in DynamoDB as well as published to the ops SNS topic.

Three items per alert, keyed as the table of ``adapters/dynamodb/keys.py`` lists: every alert
under ``ALERT`` (ids start with their UTC time, so newest first is a reverse Query), a copy
under ``ALERT_OPEN`` while it is open (what "needs attention" reads), and a copy in its
order's partition (an order's alerts are one Query).

Alerts are few (a handful per problem order), so one partition for all of them is far
from DynamoDB's per-partition limits; a hotter source would shard ``ALERT`` by month.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.table import error_code, from_item, to_item
from chalicelib.domain.alerts import AlertStatus, OpsAlert, new_alert_id
from chalicelib.domain.errors import ConcurrentModification, NotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from chalicelib.ports import EventPublisher

ALL_PK = keys.ALERTS_PK
OPEN_PK = keys.OPEN_ALERTS_PK
ORDER_SK_PREFIX = keys.ORDER_ALERT_PREFIX
_RESOLVE_ATTEMPTS = 5


def _order_pk(order_id: str) -> str:
    return keys.order_pk(order_id)


class DynamoAlertLog:
    """Records, lists and resolves ops alerts."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _item(self, pk: str, sk: str, alert: OpsAlert) -> dict[str, Any]:
        values: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "at": alert.at.isoformat(),
            "detail": alert.detail,
            "status": alert.status.value,
            # JSON text: the facts may hold floats, which DynamoDB numbers refuse.
            "facts": json.dumps(alert.facts, sort_keys=True, default=str),
        }
        if alert.order_id:
            values["order_id"] = alert.order_id
        if alert.resolved_at is not None:
            values["resolved_at"] = alert.resolved_at.isoformat()
            values["resolved_by"] = alert.resolved_by
            if alert.resolution_note:
                values["resolution_note"] = alert.resolution_note
        return to_item(values)

    def _copies(self, alert: OpsAlert) -> list[tuple[str, str]]:
        copies = [(ALL_PK, alert.alert_id)]
        if alert.status is AlertStatus.OPEN:
            copies.append((OPEN_PK, alert.alert_id))
        if alert.order_id:
            copies.append((_order_pk(alert.order_id), ORDER_SK_PREFIX + alert.alert_id))
        return copies

    def record(self, alert: OpsAlert) -> None:
        """Store a new alert and its copies in one transaction."""
        self._client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self._table, "Item": self._item(pk, sk, alert)}}
                for pk, sk in self._copies(alert)
            ]
        )

    def get(self, alert_id: str) -> OpsAlert:
        """One alert, or ``NotFound``."""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": ALL_PK, "sk": alert_id}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        return _alert(from_item(response["Item"]))

    def list(
        self,
        order_id: str | None,
        status: AlertStatus | None,
        limit: int,
        kind: str | None = None,
        before: str | None = None,
    ) -> list[OpsAlert]:
        """Newest first: one order's alerts, the open ones, or all; ``status`` and ``kind``
        narrow, as filters read page after page until ``limit`` match. ``before`` starts
        the read after that alert's key (alert ids sort by time), whether or not it is
        still in the partition read (an open alert resolved since, say)."""
        request: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": False}
        values: dict[str, Any]
        if order_id is not None:
            pk, sk_prefix = _order_pk(order_id), ORDER_SK_PREFIX
            condition = "pk = :pk AND begins_with(sk, :prefix)"
            values = {":pk": pk, ":prefix": ORDER_SK_PREFIX}
        else:
            pk, sk_prefix = (OPEN_PK if status is AlertStatus.OPEN else ALL_PK), ""
            condition, values = "pk = :pk", {":pk": pk}
        if before is not None:
            request["ExclusiveStartKey"] = to_item({"pk": pk, "sk": sk_prefix + before})
        filters: list[str] = []
        names: dict[str, str] = {}
        if status is not None:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = status.value
        if kind is not None:
            filters.append("#kind = :kind")
            names["#kind"] = "kind"
            values[":kind"] = kind
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
            request["ExpressionAttributeNames"] = names
        request["KeyConditionExpression"] = condition
        request["ExpressionAttributeValues"] = to_item(values)
        found: list[OpsAlert] = []
        while len(found) < limit:
            page = self._client.query(**request, Limit=max(limit - len(found), 25))
            found.extend(_alert(from_item(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

    def resolve(self, alert_id: str, by: str, note: str | None, at: datetime) -> OpsAlert:
        """Mark an alert resolved (once: a second call answers with the first
        resolution); ``NotFound`` for an unknown id."""
        for _ in range(_RESOLVE_ATTEMPTS):
            alert = self.get(alert_id)
            if not alert.resolve(by, note, at):
                return alert
            items: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._item(ALL_PK, alert_id, alert),
                        # Only over the open alert we read: two resolutions, one wins.
                        "ConditionExpression": "#status = :open",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_item({":open": AlertStatus.OPEN.value}),
                    }
                },
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": to_item({"pk": OPEN_PK, "sk": alert_id}),
                    }
                },
            ]
            if alert.order_id:
                order_sk = ORDER_SK_PREFIX + alert_id
                items.append(
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._item(_order_pk(alert.order_id), order_sk, alert),
                        }
                    }
                )
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                continue  # resolved by someone else meanwhile: read it again
            return alert
        raise ConcurrentModification(f"alert {alert_id} kept changing")


def _alert(values: dict[str, Any]) -> OpsAlert:
    facts = values.get("facts")
    return OpsAlert.model_validate(
        {key: values.get(key) for key in ("alert_id", "kind", "order_id", "at", "detail", "status")}
        | {
            "facts": json.loads(facts) if isinstance(facts, str) else {},
            "resolved_at": values.get("resolved_at"),
            "resolved_by": values.get("resolved_by"),
            "resolution_note": values.get("resolution_note"),
        }
    )


class AlertRecordingPublisher:
    """An ``EventPublisher`` that records every ops alert (DynamoDB) before it publishes
    it (SNS), with the alert id in the message so ops can resolve it."""

    def __init__(
        self, inner: EventPublisher, log: DynamoAlertLog, clock: Callable[[], datetime]
    ) -> None:
        self._inner = inner
        self._log = log
        self._clock = clock

    def publish(self, event: dict[str, Any]) -> None:
        """Order events pass straight through."""
        self._inner.publish(event)

    def alert_ops(self, subject: str, message: dict[str, Any]) -> None:
        """Record, then publish: a failed publish leaves the alert on record, and the
        caller's retry records and publishes it again."""
        at = self._clock()
        alert = OpsAlert.from_message(new_alert_id(at), subject, message, at)
        self._log.record(alert)
        self._inner.alert_ops(subject, {**message, "alert_id": alert.alert_id})
