"""The order's two items on moto (``adapters/dynamodb/order_items``): readable attributes,
updates of what changed, a status change as one plain conditional write, and orders
stored in older forms read and rewritten."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from bench.meters import item_size
from chalicelib.adapters.dynamodb.order_document import pack
from chalicelib.adapters.dynamodb.store import DynamoStore
from chalicelib.adapters.dynamodb.table import from_item, to_item
from chalicelib.domain.campaigns import Attribution
from chalicelib.domain.erasure import ERASED, redact_order
from chalicelib.domain.errors import ConcurrentModification
from chalicelib.domain.fulfillments import FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import HistoryEntry, OrderStatus
from chalicelib.domain.orders import Attention, AttentionKind, ExecutionRetry, Order
from chalicelib.domain.placement import CustomerContact, ShippingAddress
from chalicelib.domain.pricing import AppliedPromotion
from chalicelib.domain.promotions import Redemption
from chalicelib.domain.returns import OrderReturn, ReturnLine
from chalicelib.domain.status_reasons import StatusReason
from infra.local.demo_data import load_demo_data
from tests.fakes import fake_deps
from tests.service import flows
from tests.support.builders import NOW, mixed_order
from tests.support.builders import order as new_web_order
from tests.support.moto_probes import recording_client


def new_order() -> Order:
    """An ACCEPTED web order of two T-shirts, not stored yet."""
    placed = new_web_order()
    placed.history.append(HistoryEntry(status=OrderStatus.ACCEPTED, at=NOW, detail="test"))
    return placed


def raw_items(deps: Any, order_id: str) -> dict[str, dict[str, Any]]:
    """The order partition's items as DynamoDB holds them, by sort key."""
    response = boto3.client("dynamodb", region_name=deps.settings.region).query(
        TableName=deps.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues=to_item({":pk": f"ORDER#{order_id}"}),
        ConsistentRead=True,
    )
    return {item["sk"]["S"]: dict(item) for item in response["Items"]}


def recording(deps: Any) -> Any:
    """A store on its own client, and the DynamoDB calls it makes (name, request)."""
    client, calls = recording_client(deps.settings.region)
    return DynamoStore(client, deps.settings.table_name), calls


def shipped_order(lines: int = 1, step: Any = flows.shipped) -> Order:
    """A shipped web order (or as far as ``step`` takes it) as the services make it, on
    fakes, under an id of its own."""
    fake = fake_deps()
    load_demo_data(fake.store)
    shipped = step(
        fake,
        customer={"email": "pedro.gonzalez@correo.es", "name": "Pedro González Ruiz"},
        lines=[
            {"sku": sku, "quantity": 1, "fulfillment": "ship"}
            for sku in ("TSHIRT-BLK-M", "JEANS-32", "HOODIE-GRY-M")[:lines]
        ],
        shipping_address={
            "name": "Pedro González",
            "line1": "Avenida de la Constitución 45, 3º B",
            "city": "Sevilla",
            "postal_code": "41001",
            "country": "ES",
        },
    )
    order = shipped.model_copy(update={"order_id": f"ord_it_{uuid.uuid4().hex[:12]}"})
    order.version = 0
    return order


def test_a_new_order_is_one_readable_item_and_its_first_change_adds_the_state(
    deps: Any,
) -> None:
    order = shipped_order(lines=3)
    order.delivery_task_token = "T" * 600  # AWS task tokens run to hundreds of characters
    deps.store.create_order(order)

    items = raw_items(deps, order.order_id)
    assert set(items) == {"ORDER"}
    placed = from_item(items["ORDER"])
    # Plain attributes the console shows: maps, lists, strings; money as strings.
    assert placed["contact"]["email"] == "pedro.gonzalez@correo.es"
    skus = [line["sku"] for line in placed["lines"]]
    assert skus == ["TSHIRT-BLK-M", "JEANS-32", "HOODIE-GRY-M"]
    assert placed["total"] == str(order.total.amount)
    assert placed["placed_state"]["status"] == "SHIPPED"
    assert placed["placed_state"]["version"] == 1
    assert placed["placed_state"]["delivery_task_token"] == "T" * 600
    assert deps.store.get_order(order.order_id) == order.model_copy(update={"version": 1})

    current = deps.store.get_order(order.order_id)
    current.delivery_task_token = None
    current.deliver(current.fulfillments[0].fulfillment_id, datetime.now(UTC))
    deps.store.save_order(current)

    items = raw_items(deps, order.order_id)
    assert set(items) == {"ORDER", "ORDER#STATE"}
    details, state = from_item(items["ORDER"]), from_item(items["ORDER#STATE"])
    assert details["placed_state"] == placed["placed_state"]  # as placed, kept
    assert items["ORDER#STATE"]["status"] == {"S": "DELIVERED"}
    assert state["version"] == 2
    # Each history entry one readable line: status, time, detail.
    assert [entry.split(" ", 1)[0] for entry in state["history"]] == [
        "ACCEPTED",
        "PAID",
        "RESERVED",
        "SHIPPED",
        "DELIVERED",
    ]
    shipped = current.history[3]
    assert (
        state["history"][3]
        == f"SHIPPED {shipped.at.isoformat().replace('+00:00', 'Z')} {shipped.detail}"
    )
    assert state["fulfillments"][0]["shipment"]["carrier"] == "rapido"
    # Each field in one of the two, and what equals its default in neither.
    assert not (set(details) & set(state)) - {"pk", "sk"}
    assert "status_reason" not in state and "receipt_code" not in details
    assert "delivery_task_token" not in state
    assert deps.store.get_order(order.order_id) == current


def test_a_placed_web_order_and_its_state_until_it_ships_are_one_write_unit_each(
    deps: Any,
) -> None:
    for lines in (1, 2):
        order = shipped_order(lines=lines, step=flows.place)
        deps.store.create_order(order)
        assert item_size(raw_items(deps, order.order_id)["ORDER"]) < 1024

    order = shipped_order(lines=2, step=flows.reserved)
    assert order.status is OrderStatus.RESERVED
    deps.store.create_order(order)
    deps.store.save_order(order)  # its state item
    items = raw_items(deps, order.order_id)
    assert item_size(items["ORDER#STATE"]) < 1024


def test_a_status_change_alone_is_one_conditional_update_of_what_changed(deps: Any) -> None:
    order = new_order()
    deps.store.create_order(order)
    store, calls = recording(deps)
    current = store.get_order(order.order_id)
    store.save_order(current, current.record_payment("pay_one", datetime.now(UTC)))
    store.save_order(current, current.move_to(OrderStatus.RESERVED, datetime.now(UTC), "held"))

    assert [name for name, _ in calls] == ["Query", "UpdateItem", "UpdateItem"]
    (_, first), (_, second) = calls[1:]
    state_key = to_item({"pk": f"ORDER#{order.order_id}", "sk": "ORDER#STATE"})
    # The first change creates the state item, once: with every state attribute.
    assert first["Key"] == state_key
    assert first["ConditionExpression"] == "attribute_not_exists(pk)"
    assert set(first["ExpressionAttributeNames"].values()) == {
        "status",
        "payment",
        "history",
        "version",
    }
    # The next updates what changed, under the version it was read at; the history entry
    # is appended, not the history rewritten.
    assert second["Key"] == state_key
    # (With the sourcing reason, unset: stored as null, as a RESERVED entry's detail is
    # otherwise read as it.)
    assert set(second["ExpressionAttributeNames"].values()) == {
        "status",
        "history",
        "version",
        "sourcing_reason",
    }
    assert "list_append" in second["UpdateExpression"]
    assert from_item(second["ExpressionAttributeValues"])[":expected"] == 2
    stored = deps.store.get_order(order.order_id)
    assert [h.status for h in stored.history] == [
        OrderStatus.ACCEPTED,
        OrderStatus.PAID,
        OrderStatus.RESERVED,
    ]
    assert stored == current


def test_a_change_to_the_details_goes_with_the_state_in_one_transaction(deps: Any) -> None:
    order = new_order()
    order.shipping_address = ShippingAddress(
        name="Ana", line1="Calle Mayor 1", city="Madrid", postal_code="28013", country="ES"
    )
    deps.store.create_order(order)
    store, calls = recording(deps)
    current = store.get_order(order.order_id)
    assert redact_order(current)
    current.status_reason = StatusReason.CUSTOMER_REQUEST
    store.save_order(current)

    assert [name for name, _ in calls] == ["Query", "TransactWriteItems"]
    (state, details) = calls[1][1]["TransactItems"]
    assert set(state["Update"]["ExpressionAttributeNames"].values()) == {
        "status",
        "history",
        "status_reason",
        "version",
    }
    # The erased contact holds its defaults only (no email, name or phone; locale es):
    # they are removed from the item, not kept as nulls.
    raw = from_item(raw_items(deps, order.order_id)["ORDER"])
    assert raw["contact"] == {}
    assert raw["shipping_address"]["line1"] == ERASED
    assert deps.store.get_order(order.order_id) == current
    # The details' update needs no condition of its own: the state's version guards both.
    assert details["Update"]["Key"] == to_item({"pk": f"ORDER#{order.order_id}", "sk": "ORDER"})
    assert set(details["Update"]["ExpressionAttributeNames"].values()) == {
        "contact",
        "shipping_address",
    }
    assert "ConditionExpression" not in details["Update"]


def test_a_stale_save_that_changes_the_details_changes_neither_item(deps: Any) -> None:
    order = new_order()
    deps.store.create_order(order)
    first = deps.store.get_order(order.order_id)
    stale = deps.store.get_order(order.order_id)
    deps.store.save_order(first, first.record_payment("pay_first", datetime.now(UTC)))
    before = raw_items(deps, order.order_id)

    stale.contact = CustomerContact(email="someone.else@example.com")
    stale.status_reason = StatusReason.CUSTOMER_REQUEST
    with pytest.raises(ConcurrentModification):
        deps.store.save_order(stale)
    assert raw_items(deps, order.order_id) == before


def test_a_copy_of_a_read_order_saves_what_changed_too(deps: Any) -> None:
    # The store knows what the object it handed out was read as; a copy it compares
    # with the items read again.
    order = new_order()
    deps.store.create_order(order)
    copy = deps.store.get_order(order.order_id).model_copy(deep=True)
    copy.execution_arn = "arn:aws:states:eu-west-1:123456789012:execution:orders:again"
    copy.delivery_task_token = "token"
    deps.store.save_order(copy)
    copy.delivery_task_token = None
    deps.store.save_order(copy)

    stored = deps.store.get_order(order.order_id)
    assert stored == copy
    assert stored.version == 3
    assert "delivery_task_token" not in from_item(raw_items(deps, order.order_id)["ORDER#STATE"])


@pytest.mark.parametrize(
    "older",
    [
        pytest.param(lambda doc: {"doc_zd1": pack(doc)["doc_zd1"]}, id="dictionary"),
        pytest.param(lambda doc: {"doc_z": zlib.compress(doc, 6)}, id="plain-zlib"),
        pytest.param(lambda doc: {"doc": json.loads(doc)}, id="map"),
    ],
)
def test_an_order_stored_in_an_older_form_reads_and_is_rewritten_as_two_items(
    deps: Any, older: Any
) -> None:
    order = shipped_order()
    document = order.model_dump_json(exclude={"status", "version"}).encode()
    older_item = {"pk": f"ORDER#{order.order_id}", "sk": "ORDER", "status": "SHIPPED"}
    history = {"pk": f"ORDER#{order.order_id}", "sk": "HIST#001#ACCEPTED", "status": "ACCEPTED"}
    client = boto3.client("dynamodb", region_name=deps.settings.region)
    client.put_item(
        TableName=deps.settings.table_name,
        Item=to_item(older_item | {"version": 4} | older(document)),
    )
    client.put_item(TableName=deps.settings.table_name, Item=to_item(history))
    stored = deps.store.get_order(order.order_id)
    assert stored == order.model_copy(update={"version": 4})

    stale = deps.store.get_order(order.order_id)
    entry = stored.deliver(stored.fulfillments[0].fulfillment_id, datetime.now(UTC))
    stored.payment_token = "tok_mastercard"
    deps.store.save_order(stored, entry)
    with pytest.raises(ConcurrentModification):  # its version was the one item's
        deps.store.save_order(stale)

    items = raw_items(deps, order.order_id)
    assert set(items) == {"ORDER", "ORDER#STATE", "HIST#001#ACCEPTED"}
    assert not {"doc_zd1", "doc_z", "doc", "status", "version"} & set(items["ORDER"])
    assert from_item(items["ORDER#STATE"])["version"] == 5
    again = deps.store.get_order(order.order_id)
    assert again == stored
    assert (again.status, again.payment_token) == (OrderStatus.DELIVERED, "tok_mastercard")


def every_field_set() -> Order:
    """A shipped order with every field of the order away from its default."""
    order = shipped_order(lines=2)
    assert order.pricing is not None
    order.status_reason = StatusReason.CUSTOMER_REQUEST
    order.store_id = "ST-MADRID"
    order.receipt_code = "R-12345"
    order.request_digest = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    order.customer_unvouched = True
    order.contact_owned_by = {"phone": "cus_another", "email": "cus_a_third"}
    order.returns = [
        OrderReturn(
            return_id="ret_1",
            lines=[ReturnLine(sku="TSHIRT-BLK-M", quantity=1)],
            reason="too small",
            channel="web",
            requested_at=NOW,
            received_at=NOW,
            location_id="WH-GETAFE",
            refund=Money.of("19.95"),
        )
    ]
    order.retries = [
        ExecutionRetry(
            attempt=1,
            at=NOW,
            by="ops",
            execution_arn="arn:aws:states:eu-west-1:1:execution:o:2",
            previous_execution_arn="arn:aws:states:eu-west-1:1:execution:o:1",
            previous_status="FAILED",
            resumed_from=OrderStatus.RESERVED,
            reason="a step failed",
            idempotency_key="k-1",
        )
    ]
    order.attention = Attention(kind=AttentionKind.PAYMENT, detail="owed", at=NOW)
    order.delivery_task_token = "delivery-token"
    order.returns_task_token = "returns-token"
    order.returns_window_ends = NOW
    order.out_of_stock_skus = ["TSHIRT-BLK-M"]
    order.out_of_stock_wished = {"TSHIRT-BLK-M": 2}
    order.pricing = order.pricing.model_copy(
        update={
            "promotions": [AppliedPromotion(promotion_id="p1", name="Spring", amount="2.50")],
            "quote_id": "quo_1",
            "coupon": "SPRING",
            "attribution": Attribution(campaign="spring", source="mail", medium="email"),
            "promises": {"WH-GETAFE": NOW},
            "redemptions": [Redemption(promotion_id="p1", customer_id="cus_1", code="SPRING")],
            "redemptions_held": True,
        }
    )
    return order


def test_every_field_of_the_order_reads_back_as_written(deps: Any) -> None:
    order = every_field_set()
    left_at_default = [
        name
        for name, field in Order.model_fields.items()
        if not field.is_required()
        and name != "version"
        and getattr(order, name) == field.get_default(call_default_factory=True)
    ]
    assert left_at_default == []
    deps.store.create_order(order)  # takes its redemption: held already, nothing to take
    assert deps.store.get_order(order.order_id) == order

    # And back to the defaults: every optional field cleared is removed from the items.
    cleared = deps.store.get_order(order.order_id)
    for name in ("status_reason", "store_id", "receipt_code", "attention", "returns_task_token"):
        setattr(cleared, name, None)
    cleared.returns, cleared.retries = [], []
    deps.store.save_order(cleared)
    assert deps.store.get_order(order.order_id) == cleared
    items = raw_items(deps, order.order_id)
    stored_names = set(items["ORDER"]) | set(items["ORDER#STATE"])
    assert not {"status_reason", "store_id", "receipt_code", "attention", "returns"} & stored_names


def test_a_fulfillments_moments_read_back_to_the_microsecond(deps: Any) -> None:
    """A retried step announces a pick-up again at the moment it became ready, and a
    cancelled part at the moment it was cancelled; that moment keys the customer's email
    record: stored rounded, the same email would go twice."""
    ready_at = datetime(2026, 11, 30, 9, 15, 42, 123456, tzinfo=UTC)
    cancelled_at = datetime(2026, 11, 30, 9, 16, 1, 654321, tzinfo=UTC)
    order = mixed_order()
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    assert pickup.wait_in_store("004211", NOW, ready_at)
    parcel.cancel(StatusReason.PROCESSING_ERROR, cancelled_at)
    deps.store.create_order(order)
    stored = deps.store.get_order(order.order_id)
    assert stored.fulfillment(pickup.fulfillment_id).ready_at == ready_at
    assert stored.fulfillment(parcel.fulfillment_id).cancelled_at == cancelled_at
