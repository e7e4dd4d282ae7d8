"""DynamoDB: the only module that knows the key design.

One table, ``orquesta-<stage>``, keys ``pk`` (partition) and ``sk`` (sort), TTL on
``expires_at``. Every item type:

| item | pk | sk | notes |
| --- | --- | --- | --- |
| order | ``ORDER#<id>`` | ``ORDER`` | the whole order as zlib-compressed JSON (``doc_z``: a third of the write units of a map); ``version`` for optimistic locking, ``status`` top level |
| order history | ``ORDER#<id>`` | ``HIST#<nn>#<STATUS>`` | one per status change, written once (``attribute_not_exists``) in the same transaction as the order |
| stock | ``STOCK#<sku>`` | ``LOC#<location>`` | ``on_hand``, ``reserved``, ``safety_stock`` and ``available`` kept equal to ``on_hand - reserved - safety_stock`` so that conditions can test it |
| product | ``CATALOG`` | ``SKU#<sku>`` | name, price, low-stock threshold |
| location | ``LOCATION`` | ``LOC#<id>`` | store or warehouse, pickup/ships flags |
| pointer | ``RETURN#<id>`` | ``POINTER`` | the order the return belongs to |
| shipment record | ``SHIPMENT#<carrier>#<tracking>`` | ``POINTER`` | the order and fulfilment a tracking number belongs to, promise, delivery, breach; GSI ``open-shipments-by-due`` (``open_due_day``, ``open_due_at``) only while open and unbreached (sparse); GSI ``shipments-by-carrier`` (``carrier_key``, ``shipped_at``) for the scorecard |
| customer | ``CUSTOMER#<id>`` | ``PROFILE`` | name, locale, ``state`` (active, merged, erased), ``merged_into`` |
| customer's identifier | ``CUSTOMER#<id>`` | ``IDENT#<type>#<value>`` | mirror of the identifier item, so a customer's identifiers are one query |
| customer's order (360) | ``CUSTOMER#<id>`` | ``ORDER#<placed_at>#<order_id>`` | projected summary: channel, status, total, the contribution last applied to the figures (so a redelivered event finds its state projected and writes nothing); ``version`` |
| customer's consent | ``CUSTOMER#<id>`` | ``CONSENT#<accepted_at>#<order_id>`` | terms and privacy versions, channel, order |
| customer's interaction | ``CUSTOMER#<id>`` | ``INTERACTION#<at>#<id>`` | email sent, call, chat, store visit |
| customer's ticket (list) | ``CUSTOMER#<id>`` | ``TICKET#<opened_at>#<ticket_id>`` | type, status, order, subject |
| customer's figures | ``CUSTOMER#<id>`` | ``METRICS`` | running totals, where the customer is counted in the aggregates; ``version``; ``review_day``/``review_at`` (when the recency score next drops) put it in the sparse GSI ``segment-reviews-by-day`` (keys only) |
| merge candidate | ``CUSTOMER#<id>`` | ``CANDIDATE#<other id>`` | an order named both records; for a person to decide |
| merge record | ``CUSTOMER#<survivor>`` | ``MERGE#<at>#<merged id>`` | who (client id, role) and when |
| erasure record | ``CUSTOMER#<id>`` | ``ERASURE`` | who and when, ``status`` (``in_progress`` until every step ran, then ``completed``); ``pending_outbox`` (the addresses whose emails the local outbox must forget) only until that step ran |
| ticket | ``TICKET#<id>`` | ``TICKET`` | the whole ticket with notes; ``version`` |
| attempts, codes, link generations | ``ATTEMPTS#…``, ``VERIFY#…``, ``TRACKING#…`` | | see ``chalicelib/adapters/access.py`` |
| aggregates | ``ANALYTICS#<shard>`` (0-7, by customer id hash) | ``SEGMENTS`` / ``CHANNELS`` / ``TOP#<cents>#<customer>`` | counters kept by the projector, spread over 8 partitions and added up on read; top customers sorted by key in each shard, merged |
| identifier | ``IDENT#<type>#<value>`` | ``IDENT`` | owner customer id; unique by condition |
| once-only marker | ``ONCE#<key>`` | ``ONCE`` | webhook event ids, emails sent; ``expires_at`` TTL |
| idempotency record | ``IDEMPOTENCY#<function>`` | ``<hash>`` | Powertools Idempotency, ``expires_at`` TTL |
| ops alert | ``ALERT`` | ``<alert_id>`` | every alert (``adapters/alerts.py``); ids start with their UTC time, so newest first is a reverse Query |
| open ops alert | ``ALERT_OPEN`` | ``<alert_id>`` | a copy while the alert is open, deleted when it is resolved |
| order's ops alert | ``ORDER#<id>`` | ``ALERT#<alert_id>`` | a copy in the order's partition |
| payment ledger (sandbox gateway) | ``SANDBOXPAY#<payment id>`` | ``LEDGER`` | authorisation, captures, voids, refunds, idempotency keys, fault counters; ``version`` |
| sandbox authorisation claim | ``SANDBOXPAY#ORDER#<order>`` | ``AUTH`` | the one payment of an order |
| money owed | ``SETTLEMENT#OWED`` | ``ORDER#<order id>`` | present while the order has captures, voids or refunds owed; written in the order's transaction; what the settlement sweeper queries |
"""

from __future__ import annotations

import json
import time
import zlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.catalog import Location, Product
from chalicelib.domain.customers import Identifier
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound, OutOfStock
from chalicelib.domain.fulfillments import Fulfillment
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.order_status import HistoryEntry
from chalicelib.domain.orders import Order
from chalicelib.ports import StockChange

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Order fields kept outside the document so that conditions and projections can use them.
_ORDER_KEY_FIELDS = ("status", "version")
# The order document is zlib-compressed JSON: write units are billed per KB of item, and an
# order (lines, fulfilments, history, task tokens) is 2-3 KB as a map, under 1 KB compressed.
_DOC_COMPRESSION = 6


def _order_doc(values: dict[str, Any]) -> dict[str, Any]:
    """The order document of an item: compressed (``doc_z``) or, as first written, a map."""
    if "doc_z" in values:
        loaded: dict[str, Any] = json.loads(zlib.decompress(bytes(values["doc_z"])))
        return loaded
    return dict(values["doc"])


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


def query_all(client: DynamoDBClient, request: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Every item a Query matches, page after page, as plain values; and the pages read."""
    request = dict(request)
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = client.query(**request)
        pages += 1
        items.extend(from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items, pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_due_by_day(
    client: DynamoDBClient,
    table: str,
    index: str,
    key_condition: str,
    now: datetime,
    days_back: int,
) -> tuple[list[dict[str, Any]], int]:
    """What a sparse index partitioned by day holds that is due by ``now``: one query per
    day (``:day``) from ``days_back`` days ago to today, ``:now`` bound to ``now``. Its cost
    follows the items due, not the table. Returns them and the pages read."""
    found: list[dict[str, Any]] = []
    pages = 0
    for offset in range(days_back, -1, -1):
        day = (now - timedelta(days=offset)).date().isoformat()
        items, read = query_all(
            client,
            {
                "TableName": table,
                "IndexName": index,
                "KeyConditionExpression": key_condition,
                "ExpressionAttributeValues": to_item({":day": day, ":now": now.isoformat()}),
            },
        )
        found.extend(items)
        pages += read
    return found, pages


# Orders with money owed are listed in one partition (few at a time: an order leaves it as
# soon as its gateway calls succeed).
OWED_PARTITION = "SETTLEMENT#OWED"


def error_code(exc: ClientError) -> str:
    """The AWS error code of a client error."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def order_key(order_id: str) -> dict[str, Any]:
    """Key of an order item."""
    return to_item({"pk": f"ORDER#{order_id}", "sk": "ORDER"})


class MovementRejected(Exception):
    """The stock item's counts do not allow the movement."""


class DynamoStore:
    """``OrderStore`` on one DynamoDB table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # Orders ---------------------------------------------------------------------------
    def get_order(self, order_id: str) -> Order:
        """The order, or ``NotFound``."""
        response = self._client.get_item(
            TableName=self._table, Key=order_key(order_id), ConsistentRead=True
        )
        if "Item" not in response:
            raise NotFound(f"no order {order_id}", field="order_id")
        values = from_item(response["Item"])
        return Order.model_validate(_order_doc(values) | {k: values[k] for k in _ORDER_KEY_FIELDS})

    def _order_put(self, order: Order, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        doc = order.model_dump_json(exclude=set(_ORDER_KEY_FIELDS)).encode()
        item = {
            "pk": f"ORDER#{order.order_id}",
            "sk": "ORDER",
            "status": order.status.value,
            "version": order.version + 1,
            "doc_z": zlib.compress(doc, _DOC_COMPRESSION),
        }
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(item),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = to_item(values)
        return put

    def _history_put(self, order: Order, entry: HistoryEntry) -> dict[str, Any]:
        # The entry's position and status make its key: a status is written once, and two
        # writers racing for the same step cannot both add it.
        index = len(order.history)
        return {
            "TableName": self._table,
            "Item": to_item(
                {
                    "pk": f"ORDER#{order.order_id}",
                    "sk": f"HIST#{index:03d}#{entry.status.value}",
                    **entry.model_dump(mode="json"),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def create_order(self, order: Order) -> None:
        """Store a new order and its first history entry; ``Conflict`` if it exists."""
        items: list[TransactWriteItemTypeDef] = [
            {"Put": self._order_put(order, "attribute_not_exists(pk)", {})},  # type: ignore[typeddict-item]
        ]
        if order.history:
            items.append({"Put": self._history_put(order, order.history[-1])})  # type: ignore[typeddict-item]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise Conflict(f"order {order.order_id} exists", field="order_id") from exc
            raise
        order.version += 1

    def save_order(
        self,
        order: Order,
        entry: HistoryEntry | None = None,
        stock: list[StockChange] | None = None,
        pointers: list[tuple[str, str]] | None = None,
        shipments: list[Fulfillment] | None = None,
    ) -> None:
        """Write the order, its history entry, stock deltas, pointers and shipment records
        in one transaction."""
        marker = self._owed_marker(order)
        items: list[dict[str, Any]] = [
            {"Put": self._order_put(order, "version = :expected", {":expected": order.version})}
        ]
        if entry is not None:
            items.append({"Put": self._history_put(order, entry)})
        if marker is not None:
            items.append(marker)
        for change in stock or []:
            items.append({"Update": self._stock_update(change)})
        for pointer, _ in pointers or []:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {"pk": pointer, "sk": "POINTER", "order_id": order.order_id}
                        ),
                    }
                }
            )
        for fulfillment in shipments or []:
            items.append({"Put": self._shipment_put(order.order_id, fulfillment)})
        first_stock = 1 + (entry is not None) + (marker is not None)
        self._transact(items, first_stock_index=first_stock)
        order.version += 1

    def _owed_marker(self, order: Order) -> dict[str, Any] | None:
        """The write that lists (or unlists) the order among those owing money, so that
        the sweeper finds them with one query; None when the listing does not change."""
        key = to_item({"pk": OWED_PARTITION, "sk": f"ORDER#{order.order_id}"})
        owed = bool(order.payment.owed())
        if owed and not order.payment.listed_as_owed:
            order.payment.listed_as_owed = True
            return {
                "Put": {
                    "TableName": self._table,
                    "Item": key | to_item({"order_id": order.order_id}),
                }
            }
        if not owed and order.payment.listed_as_owed:
            order.payment.listed_as_owed = False
            return {"Delete": {"TableName": self._table, "Key": key}}
        return None

    def orders_owing(self, limit: int) -> list[str]:
        """Ids of orders with money owed (captures, voids, refunds not yet confirmed)."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": OWED_PARTITION}),
            Limit=limit,
        )
        return [str(from_item(item)["order_id"]) for item in response.get("Items", [])]

    def _shipment_put(self, order_id: str, fulfillment: Fulfillment) -> dict[str, Any]:
        # The shipment record doubles as the tracking-number pointer. While the parcel is
        # out and its promise not yet broken it carries open_due_day/open_due_at, which put
        # it in the sparse open-shipments-by-due index; every write replaces the whole
        # record, so closing a shipment drops it from that index.
        shipment = fulfillment.shipment
        assert shipment is not None
        record: dict[str, Any] = {
            "pk": f"SHIPMENT#{shipment.carrier}#{shipment.tracking_number}",
            "sk": "POINTER",
            "order_id": order_id,
            "fulfillment_id": fulfillment.fulfillment_id,
            "carrier": shipment.carrier,
            "service_level": shipment.service_level,
            "carrier_key": f"{shipment.carrier}#{shipment.service_level}",
            "tracking_number": shipment.tracking_number,
            "shipped_at": shipment.shipped_at.isoformat(),
            "promised_by": shipment.promised_by.isoformat(),
            "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
            "breached_at": shipment.breached_at.isoformat() if shipment.breached_at else None,
            "sla_status": shipment.sla_status,
        }
        if shipment.delivered_at is None and shipment.breached_at is None:
            record["open_due_day"] = shipment.promised_by.date().isoformat()
            record["open_due_at"] = shipment.promised_by.isoformat()
        return {"TableName": self._table, "Item": to_item(record)}

    def overdue_shipments(
        self, now: datetime, days_back: int = 2
    ) -> tuple[list[dict[str, Any]], int]:
        """Open shipments whose promise has passed, from the sparse index: one query per
        due day over the last ``days_back`` days. Returns them and the pages read."""
        return query_due_by_day(
            self._client,
            self._table,
            "open-shipments-by-due",
            "open_due_day = :day AND open_due_at < :now",
            now,
            days_back,
        )

    def shipments_between(
        self, carrier_key: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """Shipment records of one carrier and service level shipped in ``[start, end)``."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "shipments-by-carrier",
            "KeyConditionExpression": "carrier_key = :key AND shipped_at BETWEEN :start AND :end",
            "ExpressionAttributeValues": to_item(
                {":key": carrier_key, ":start": start.isoformat(), ":end": end.isoformat()}
            ),
        }
        return query_all(self._client, request)[0]

    def _transact(self, items: list[dict[str, Any]], first_stock_index: int) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])  # type: ignore[typeddict-item]
            short = [
                items[index]["Update"]["Key"]["pk"]["S"].removeprefix("STOCK#")
                for index, reason in enumerate(reasons)
                if index >= first_stock_index
                and reason.get("Code") == "ConditionalCheckFailed"
                and "Update" in items[index]
            ]
            if short:
                raise OutOfStock(
                    f"not enough stock for {', '.join(sorted(set(short)))}", field="lines"
                ) from exc
            raise ConcurrentModification("the item changed while we worked on it") from exc

    def order_id_for(self, pointer: str) -> str:
        """The order a pointer names, or ``NotFound``."""
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": pointer, "sk": "POINTER"})
        )
        if "Item" not in response:
            raise NotFound(f"nothing known as {pointer.split('#', 1)[-1]}")
        return str(from_item(response["Item"])["order_id"])

    # Catalogue and locations ---------------------------------------------------------------
    def _query_all(self, pk: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":pk": pk}
        condition = "pk = :pk"
        if sk_prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = sk_prefix
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ConsistentRead": True,
        }
        return query_all(self._client, request)[0]

    def products(self) -> list[Product]:
        """The whole catalogue."""
        return [Product.model_validate(item) for item in self._query_all("CATALOG")]

    def product(self, sku: str) -> Product | None:
        """One product, or None."""
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": "CATALOG", "sk": f"SKU#{sku}"})
        )
        return Product.model_validate(from_item(response["Item"])) if "Item" in response else None

    def put_product(self, product: Product) -> None:
        """Add or replace a catalogue entry."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
                {"pk": "CATALOG", "sk": f"SKU#{product.sku}", **product.model_dump(mode="json")}
            ),
        )

    def locations(self) -> list[Location]:
        """Every store and warehouse."""
        return [Location.model_validate(item) for item in self._query_all("LOCATION")]

    def put_location(self, location: Location) -> None:
        """Add or replace a location."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": "LOCATION",
                    "sk": f"LOC#{location.location_id}",
                    **location.model_dump(mode="json"),
                }
            ),
        )

    # Stock ------------------------------------------------------------------------------
    def stock_levels(self, sku: str) -> list[StockLevel]:
        """One SKU at every location that holds it."""
        return [
            StockLevel.model_validate(item)
            for item in self._query_all(f"STOCK#{sku}", sk_prefix="LOC#")
        ]

    def put_stock(self, level: StockLevel) -> None:
        """Set a stock item outright (provisioning and demo data only)."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": f"STOCK#{level.sku}",
                    "sk": f"LOC#{level.location_id}",
                    **level.model_dump(mode="json"),
                    "available": level.available,
                }
            ),
        )

    def ensure_stock_item(self, sku: str, location: Location) -> None:
        """Create an empty stock item for a SKU at a location that never held it (a return
        can bring goods anywhere)."""
        level = StockLevel(
            sku=sku,
            location_id=location.location_id,
            location_type=location.type,
            ships=location.ships,
            pickup=location.pickup,
            on_hand=0,
            reserved=0,
        )
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": f"STOCK#{sku}",
                        "sk": f"LOC#{location.location_id}",
                        **level.model_dump(mode="json"),
                        "available": 0,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def _stock_update(self, change: StockChange) -> dict[str, Any]:
        # ``available`` moves with on_hand and against reserved; conditions guard the counts
        # that the change lowers, so none can go below zero.
        conditions = ["attribute_exists(pk)"]
        if change.reserved > 0:
            conditions.append("available >= :reserve")
        if change.reserved < 0:
            conditions.append("reserved >= :release")
        if change.on_hand < 0:
            conditions.append("on_hand >= :take")
        values: dict[str, Any] = {
            ":on_hand": change.on_hand,
            ":reserved": change.reserved,
            ":available": change.on_hand - change.reserved,
        }
        if change.reserved > 0:
            values[":reserve"] = change.reserved
        if change.reserved < 0:
            values[":release"] = -change.reserved
        if change.on_hand < 0:
            values[":take"] = -change.on_hand
        return {
            "TableName": self._table,
            "Key": to_item({"pk": f"STOCK#{change.sku}", "sk": f"LOC#{change.location_id}"}),
            "UpdateExpression": (
                "SET on_hand = on_hand + :on_hand, reserved = reserved + :reserved, "
                "available = available + :available"
            ),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": to_item(values),
        }

    def apply_stock(self, changes: list[StockChange]) -> None:
        """Apply stock deltas atomically, or raise ``OutOfStock``."""
        self._transact([{"Update": self._stock_update(c)} for c in changes], first_stock_index=0)

    # Once-only markers --------------------------------------------------------------------
    def remember_once(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key``; True the first time, False if it was already there."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": f"ONCE#{key}",
                        "sk": "ONCE",
                        "expires_at": int(time.time()) + ttl_seconds,
                    }
                ),
                # An expired marker that TTL has not swept yet counts as gone.
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues=to_item({":now": int(time.time())}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def has_marker(self, key: str) -> bool:
        """Whether a once-only marker is set."""
        response = self._client.get_item(
            TableName=self._table, Key=to_item({"pk": f"ONCE#{key}", "sk": "ONCE"})
        )
        return "Item" in response

    def forget(self, key: str) -> None:
        """Drop a once-only marker (when the work it guarded failed and must be redone)."""
        self._client.delete_item(
            TableName=self._table, Key=to_item({"pk": f"ONCE#{key}", "sk": "ONCE"})
        )

    def record_movement(
        self,
        sku: str,
        location_id: str,
        on_hand_delta: int,
        safety_stock: int,
        movement: dict[str, Any],
    ) -> None:
        """Apply a stock movement and append it to the SKU's ledger in one transaction.

        A decrease must leave on_hand at zero or more and must not take units promised to
        orders: ``on_hand - reserved >= |delta|``, i.e. ``available >= |delta| - safety``,
        checked against the safety stock read just before (which must not have changed).
        Raises ``MovementRejected`` otherwise.
        """
        values: dict[str, Any] = {":delta": on_hand_delta}
        condition = "attribute_exists(pk)"
        if on_hand_delta < 0:
            condition += " AND on_hand >= :take AND safety_stock = :safety AND available >= :need"
            values |= {
                ":take": -on_hand_delta,
                ":safety": safety_stock,
                ":need": -on_hand_delta - safety_stock,
            }
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"pk": f"STOCK#{sku}", "sk": f"LOC#{location_id}"}),
                    "UpdateExpression": (
                        "SET on_hand = on_hand + :delta, available = available + :delta"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": to_item(values),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            "pk": f"STOCK#{sku}",
                            "sk": f"MOVE#{movement['at']}#{movement['movement_id']}",
                            **movement,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise MovementRejected(f"{sku} at {location_id}") from exc
            raise

    def movements(self, sku: str) -> list[dict[str, Any]]:
        """The SKU's movement ledger, oldest first."""
        return self._query_all(f"STOCK#{sku}", sk_prefix="MOVE#")

    # Customers -----------------------------------------------------------------------------
    def find_identifier(self, identifier: Identifier) -> str | None:
        """The customer an identifier belongs to."""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"IDENT#{identifier.type.value}#{identifier.value}", "sk": "IDENT"}),
            ConsistentRead=True,
        )
        return str(from_item(response["Item"])["customer_id"]) if "Item" in response else None

    def create_customer(
        self, customer_id: str, identifiers: list[Identifier], profile: dict[str, Any]
    ) -> None:
        """Store a customer and claim its identifiers, or ``Conflict`` if one is taken."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {"pk": f"CUSTOMER#{customer_id}", "sk": "PROFILE", "state": "active"}
                        | profile
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for identifier in identifiers:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                "pk": f"IDENT#{identifier.type.value}#{identifier.value}",
                                "sk": "IDENT",
                                "customer_id": customer_id,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            mirror = {"type": identifier.type.value, "value": identifier.value}
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {
                                "pk": f"CUSTOMER#{customer_id}",
                                "sk": f"IDENT#{identifier.type.value}#{identifier.value}",
                                **mirror,
                            }
                        ),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise Conflict("an identifier was claimed at the same time") from exc
            raise

    def customer_exists(self, customer_id: str) -> bool:
        """Whether this customer id is known."""
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"CUSTOMER#{customer_id}", "sk": "PROFILE"}),
        )
        return "Item" in response

    def history_items(self, order_id: str) -> list[dict[str, Any]]:
        """The order's history items, oldest first."""
        return self._query_all(f"ORDER#{order_id}", sk_prefix="HIST#")
