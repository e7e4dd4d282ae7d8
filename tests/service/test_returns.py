"""Returns, on fakes."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.export_models import ExportResponse
from chalicelib.api.models import OrderResponse
from chalicelib.deps import Deps
from chalicelib.domain.errors import Conflict, NotFound, OrquestaError
from chalicelib.domain.events import OrderStatusChanged
from chalicelib.domain.orders import OrderStatus
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.domain.settlement import extra_value
from chalicelib.services import customer_export, customer_projection, returns, settlement
from tests.fakes import Clock, FakeGateway
from tests.service import flows
from tests.support.races import lose_races


def _request(location_id: str, quantity: int = 2) -> RequestReturnRequest:
    return RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": quantity}],
            "reason": "too small",
            "channel": "store",
            "location_id": location_id,
        }
    )


def _store(deps: Deps) -> str:
    return next(loc.location_id for loc in deps.store.locations() if loc.type.value == "store")


def test_a_requested_return_is_found_by_its_id(deps: Deps) -> None:
    order = flows.delivered(deps)
    opened = returns.request_return(order.order_id, _request(_store(deps)), deps)
    assert deps.store.order_for_return(opened.return_id) == order.order_id


def test_a_return_before_delivery_is_refused(deps: Deps) -> None:
    order = flows.shipped(deps)
    with pytest.raises(Conflict):
        returns.request_return(order.order_id, _request(_store(deps)), deps)


def test_a_return_after_the_window_closed_is_refused(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(days=deps.settings.return_window_days + 1)
    with pytest.raises(OrquestaError):
        returns.request_return(order.order_id, _request(_store(deps)), deps)


def test_receiving_every_unit_restocks_refunds_and_ends_returned(deps: Deps) -> None:
    order = flows.delivered(deps)
    store = _store(deps)
    on_hand = {lv.location_id: lv.on_hand for lv in deps.store.stock_levels("TSHIRT-BLK-M")}
    opened = returns.request_return(order.order_id, _request(store), deps)
    received = returns.receive_return(opened.return_id, store, deps)
    assert received.status is OrderStatus.RETURNED
    after = {lv.location_id: lv.on_hand for lv in deps.store.stock_levels("TSHIRT-BLK-M")}
    assert after[store] == on_hand.get(store, 0) + 2
    assert isinstance(deps.payments, FakeGateway)
    # The goods come back; the parcel was delivered, so its shipping fee is kept (API.md).
    fee = extra_value(order).amount
    assert fee > 0
    assert deps.payments.total("refund") == order.total.amount - fee


def test_receiving_part_of_the_order_refunds_that_part(deps: Deps) -> None:
    order = flows.delivered(deps)
    store = _store(deps)
    opened = returns.request_return(order.order_id, _request(store, quantity=1), deps)
    received = returns.receive_return(opened.return_id, store, deps)
    assert received.status is OrderStatus.DELIVERED
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.total("refund") == order.lines[0].unit_price.amount


def test_an_unknown_return_is_not_found(deps: Deps) -> None:
    with pytest.raises(NotFound):
        returns.receive_return("ret_missing", _store(deps), deps)


def test_a_caller_who_may_not_read_the_order_cannot_receive_its_return_by_post(
    deps: Deps,
) -> None:
    """A store key bound to another store must not refund an order it cannot read by
    receiving a return sent by post (found by a probe): unknown to it, nothing moved."""
    order = flows.delivered(deps)
    store = _store(deps)
    by_post = _request(store).model_copy(update={"channel": "mail", "location_id": None})
    opened = returns.request_return(order.order_id, by_post, deps)
    before = {lv.location_id: lv.on_hand for lv in deps.store.stock_levels("TSHIRT-BLK-M")}
    with pytest.raises(NotFound):
        returns.receive_return(opened.return_id, store, deps, sees=lambda _order: False)
    assert deps.store.get_order(order.order_id).returns[0].status.value == "REQUESTED"
    after = {lv.location_id: lv.on_hand for lv in deps.store.stock_levels("TSHIRT-BLK-M")}
    assert after == before
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.total("refund") == 0


@pytest.mark.parametrize("named", [False, True], ids=["whichever store", "another store"])
def test_a_return_taken_to_a_store_is_received_by_the_store_it_is_taken_to(
    deps: Deps, named: bool
) -> None:
    # Any order may be returned through any channel: the customer who named another
    # store, or none, is served where they walk in.
    order = flows.delivered(deps)
    store = _store(deps)
    other = next(loc.location_id for loc in deps.store.locations() if loc.location_id != store)
    request = _request(store).model_copy(update={"location_id": other if named else None})
    opened = returns.request_return(order.order_id, request, deps, True)
    received = returns.receive_return(opened.return_id, store, deps, sees=lambda _order: False)
    assert received.status is OrderStatus.RETURNED
    assert received.returns[0].location_id == store


def test_a_return_is_received_and_refunded_once(deps: Deps) -> None:
    order = flows.delivered(deps)
    store = _store(deps)
    opened = returns.request_return(order.order_id, _request(store), deps)
    returns.receive_return(opened.return_id, store, deps)
    with pytest.raises(Conflict):
        returns.receive_return(opened.return_id, store, deps)
    assert isinstance(deps.payments, FakeGateway)
    assert deps.payments.total("refund") == order.total.amount - extra_value(order).amount


def test_the_return_window_runs_from_the_delivery(deps: Deps) -> None:
    order = flows.delivered(deps)
    assert isinstance(deps.clock, Clock)
    deps.clock.advance(days=deps.settings.return_window_days - 1)
    opened = returns.request_return(order.order_id, _request(_store(deps)), deps)
    assert deps.store.order_for_return(opened.return_id) == order.order_id


def test_each_return_of_the_order_view_says_whether_its_refund_went_through(deps: Deps) -> None:
    """``GET /orders/{id}`` shows ``refund_status`` per return, as the receive reply does:
    an integrator reading the order later must see a refund still owed (found by a probe:
    only the receive reply said so)."""
    order = flows.delivered(deps)
    store = _store(deps)
    asked = returns.request_return(order.order_id, _request(store, quantity=1), deps)
    assert isinstance(deps.payments, FakeGateway)
    deps.payments.unavailable = 10

    def shown() -> list[Any]:
        view = OrderResponse.from_order(deps.store.get_order(order.order_id), "/track/t")
        seen = view.model_dump(mode="json")["returns"]
        return [(r["return_id"], r["status"], r["refund_status"]) for r in seen]

    assert shown() == [(asked.return_id, "REQUESTED", None)]
    returns.receive_return(asked.return_id, store, deps)
    assert shown() == [(asked.return_id, "RECEIVED", "pending")]
    deps.payments.unavailable = 0
    settlement.sweep(deps)
    assert shown() == [(asked.return_id, "RECEIVED", "refunded")]


def test_the_customers_export_keeps_the_store_named_and_the_one_that_received(
    deps: Deps,
) -> None:
    order = flows.delivered(deps)
    assert order.customer_id is not None
    store = _store(deps)
    other = next(loc.location_id for loc in deps.store.locations() if loc.location_id != store)
    opened = returns.request_return(order.order_id, _request(other, 1), deps)
    returned = returns.receive_return(opened.return_id, store, deps)
    event = OrderStatusChanged.of(returned, returned.history[-1]).message()
    assert customer_projection.project_order_event(event, deps)  # the 360 lists the order

    exported = ExportResponse.model_validate(
        customer_export.export_customer(order.customer_id, deps)
    )

    (listed,) = [o for o in exported.orders if o.order_id == order.order_id]
    assert [(r.requested_location_id, r.location_id) for r in listed.returns] == [(other, store)]


def test_a_return_by_post_goes_where_its_parcel_left_from(deps: Deps) -> None:
    # A probe: a two-parcel order's return by post was sent to the first parcel's origin,
    # whatever it sent back.
    from chalicelib.services.order_writes import Change, mutate
    from tests.support.catalogue import fresh_sku

    from_warehouse = fresh_sku(deps, {"WH-GETAFE": 1})
    from_madrid = fresh_sku(deps, {"ST-MADRID": 1})
    lines = [
        {"sku": sku, "quantity": 1, "fulfillment": "ship"} for sku in (from_warehouse, from_madrid)
    ]
    order = flows.shipped(deps, lines=lines)
    origins = {f.lines[0].sku: f.location_id for f in order.fulfillments}
    assert origins == {from_warehouse: "WH-GETAFE", from_madrid: "ST-MADRID"}

    def deliver_all(current: Any) -> Change[None]:
        entries = [current.deliver(f.fulfillment_id, deps.clock()) for f in current.fulfillments]
        return Change(entry=next((e for e in entries if e is not None), None))

    mutate(deps, order.order_id, deliver_all)

    for sku, origin in origins.items():
        asked = RequestReturnRequest.model_validate(
            {"lines": [{"sku": sku, "quantity": 1}], "reason": "talla", "channel": "mail"}
        )
        opened = returns.request_return(order.order_id, asked, deps)
        assert opened.requested_location_id == origin, sku
        stored = deps.store.get_order(order.order_id)
        sent_to = stored.mail_return_address(opened, deps.store.locations())
        assert sent_to is not None and sent_to.location_id == origin


@pytest.mark.parametrize(("lost", "answered"), [(8, "received"), (99, "try again")])
def test_a_receipt_that_loses_races_to_other_receipts_is_applied_or_asked_again(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, lost: int, answered: str
) -> None:
    """Probe 202: 20 tills receiving returns of one order at once got 4 bare 409s ("the
    item changed"), which a till reads as "cannot be received". A receipt now tries as a
    carrier's event does, and one that loses every race is 429: send it again."""
    from chalicelib.domain.errors import TryAgainShortly

    order = flows.delivered(deps)
    opened = returns.request_return(order.order_id, _request(_store(deps), 1), deps)
    lose_races(monkeypatch, deps.store, "save_order", lost)  # other receipts wrote first

    if answered == "received":
        received = returns.receive_return(opened.return_id, _store(deps), deps)
        assert received.returns[0].status.value == "RECEIVED"
    else:
        with pytest.raises(TryAgainShortly) as asked:
            returns.receive_return(opened.return_id, _store(deps), deps)
        assert (asked.value.status, asked.value.field) == (429, "return_id")
        monkeypatch.undo()
        assert deps.store.get_order(order.order_id).returns[0].status.value == "REQUESTED"


def test_a_receipt_written_whose_settlement_loses_races_is_done_and_its_refund_settled_later(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe 203: a receipt written, whose settlement then lost every race to the other
    receipts' settlements, was answered 429 "send this one again", and sent again was 409
    "already received". It is done: the refund it owes is recorded and listed, and the
    sweeper (or the next writer's settlement) gives it back."""
    order = flows.delivered(deps)
    opened = returns.request_return(order.order_id, _request(_store(deps), 1), deps)
    # The receipt's write goes through; every later one loses.
    lose_races(monkeypatch, deps.store, "save_order", lost=99, first_won=1)
    received = returns.receive_return(opened.return_id, _store(deps), deps)
    monkeypatch.undo()

    assert received.returns[0].status.value == "RECEIVED"
    stored = deps.store.get_order(order.order_id)
    assert stored.returns[0].status.value == "RECEIVED"
    assert [op.type.value for op in stored.payment.owed()] == ["refund"]
    assert stored.payment.listed_as_owed
    assert settlement.settle(order.order_id, deps).settled
    assert deps.store.get_order(order.order_id).payment.refunded.amount > 0


@pytest.mark.parametrize(("lost", "answered"), [(8, "opened"), (99, "try again")])
def test_a_return_asked_while_others_are_asked_is_opened_or_asked_again(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, lost: int, answered: str
) -> None:
    """Probe 203: 20 returns of one order asked at once got one or two bare 409s ("the
    item changed"), read as "cannot be returned". A request tries as a receipt does, and
    one that loses every race is 429 naming its lines: send it again."""
    from chalicelib.domain.errors import TryAgainShortly

    order = flows.delivered(deps)
    lose_races(monkeypatch, deps.store, "save_order", lost)  # other requests wrote first
    if answered == "opened":
        opened = returns.request_return(order.order_id, _request(_store(deps), 1), deps)
        assert deps.store.order_for_return(opened.return_id) == order.order_id
    else:
        with pytest.raises(TryAgainShortly) as asked:
            returns.request_return(order.order_id, _request(_store(deps), 1), deps)
        assert (asked.value.status, asked.value.field) == (429, "lines")
        monkeypatch.undo()
        assert deps.store.get_order(order.order_id).returns == []
