"""The money of a priced order follows its breakdown to the cent: authorised for the
total, each line captured all in at hand-over with the shipping fee (and its tax on top)
going with the first shipment, returns and lost parcels refunded for what was captured,
shipping given back only when nothing shipped is kept. How orders are priced is in
``test_pricing_orders.py``. On fakes."""

from __future__ import annotations

from chalicelib.api.models import OrderResponse
from chalicelib.deps import Deps
from chalicelib.domain import settlement as rules
from chalicelib.domain.fulfillments import FulfillmentStatus, FulfillmentType
from chalicelib.domain.money import Money
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.requests import RequestReturnRequest
from chalicelib.services import (
    fulfillment_steps,
    lost_parcels,
    ordering,
    pickups,
    returns,
    settlement,
)
from chalicelib.services.order_writes import Change, mutate
from chalicelib.services.step_models import FulfillmentStep
from tests.fakes import FakeGateway
from tests.service import flows
from tests.support.catalogue import fresh_sku
from tests.support.pricing_bodies import D, _address, _canaries, _pickup, _ship, _sku


def _gateway(deps: Deps) -> FakeGateway:
    assert isinstance(deps.payments, FakeGateway)
    return deps.payments


def test_a_delivered_canaries_order_captures_exactly_its_total(deps: Deps) -> None:
    order = flows.delivered(deps, **_canaries(deps))
    settled = deps.store.get_order(order.order_id)
    assert settled.payment.authorized is not None
    assert settled.payment.authorized.amount == D("28.33")
    # The line with its IGIC, then the fee with its IGIC, each captured once.
    assert sorted(a for kind, _, a in _gateway(deps).calls if kind == "capture") == [
        D("10.65"),
        D("17.68"),
    ]
    assert settled.payment.captured is not None
    assert settled.payment.captured.amount == D("28.33")
    assert rules.kept_value(settled).amount == D("28.33")


def _return(deps: Deps, order: Order, sku: str, quantity: int) -> Order:
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": sku, "quantity": quantity}],
            "reason": "too small",
            "channel": "store",
            "location_id": "ST-MADRID",
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    return returns.receive_return(opened.return_id, "ST-MADRID", deps)


def test_returning_the_whole_order_gives_back_the_goods_and_keeps_shipping(deps: Deps) -> None:
    order = flows.delivered(deps, **_canaries(deps))
    back = _return(deps, order, order.lines[0].sku, 2)
    assert back.payment.refunded is not None
    # The goods with their IGIC (17.68); the parcel was delivered, so the fee with its
    # IGIC (10.65) is kept (API.md: "plus shipping if any shipment was delivered").
    assert back.payment.refunded.amount == D("17.68")
    assert not any(op.key.endswith("shipping:refund") for op in back.payment.operations)
    assert back.payment.captured is not None
    assert (back.payment.captured - back.payment.refunded).amount == D("10.65")
    assert rules.kept_value(back).amount == D("10.65")


def test_a_partial_return_refunds_the_units_with_their_tax_and_keeps_shipping(
    deps: Deps,
) -> None:
    order = flows.delivered(deps, **_canaries(deps))
    back = _return(deps, order, order.lines[0].sku, 1)
    # One unit of 17.68: 8.84, its IGIC in; the delivery happened, the fee stays.
    assert back.payment.refunded is not None and back.payment.refunded.amount == D("8.84")
    assert not any(op.key.endswith("shipping:refund") for op in back.payment.operations)
    assert rules.kept_value(back).amount == D("19.49")


def test_units_of_a_line_split_in_cents_add_up_to_the_line(deps: Deps) -> None:
    # 3 x 8.26 = 24.78, IGIC 1.73: 26.51 for the line, 8.84 + 8.84 + 8.83 by unit.
    order = flows.delivered(deps, **_canaries(deps, quantity=3))
    sku = order.lines[0].sku
    refunds = []
    current = order
    for _ in range(3):
        before = current.payment.refunded.amount if current.payment.refunded else D(0)
        current = _return(deps, current, sku, 1)
        assert current.payment.refunded is not None
        refunds.append(current.payment.refunded.amount - before)
    # The last return brings the whole order back: its unit, not the delivered fee.
    shipping = current.total.amount - D("26.51")
    assert refunds == [D("8.84"), D("8.84"), D("8.83")]
    assert current.payment.refunded is not None and current.payment.captured is not None
    assert current.payment.captured == current.total
    assert (current.payment.captured - current.payment.refunded).amount == shipping


def test_an_uncollected_pick_up_is_voided_and_the_shipment_carries_the_fee(
    deps: Deps,
) -> None:
    sku = _sku(deps, "10.00")
    order = flows.shipped(
        deps, lines=[_ship(sku, 1), _pickup(sku, 1)], shipping_address=_address("35001")
    )
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    step = FulfillmentStep(order_id=order.order_id, fulfillment_id=pickup.fulfillment_id)
    fulfillment_steps.handle_fulfillment_timeout(step, deps)
    settled = deps.store.get_order(order.order_id)
    payment = settled.payment
    assert payment.authorized is not None and payment.authorized.amount == D("29.49")
    # 8.84 shipped all in and its 10.65 fee captured; the 10.00 pick-up voided.
    assert payment.captured is not None and payment.captured.amount == D("19.49")
    assert payment.voided is not None and payment.voided.amount == D("10.00")


def test_a_collected_pick_up_is_captured_at_its_stores_price(deps: Deps) -> None:
    sku = _sku(deps, "10.00")
    order = flows.shipped(
        deps, lines=[_ship(sku, 1), _pickup(sku, 1)], shipping_address=_address("35001")
    )
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    assert pickup.pickup_code is not None
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)
    settled = deps.store.get_order(order.order_id)
    assert settled.payment.captured is not None
    assert settled.payment.captured.amount == D("29.49")


def test_a_lost_parcel_gives_back_its_goods_and_the_shipping_fee(deps: Deps) -> None:
    order = flows.shipped(deps, **_canaries(deps))
    (parcel,) = order.fulfillments
    lost = lost_parcels.declare_lost(order.order_id, parcel.fulfillment_id, deps)
    assert lost.fulfillment(parcel.fulfillment_id).status is FulfillmentStatus.LOST
    assert lost.payment.refunded is not None and lost.payment.refunded.amount == D("28.33")
    assert rules.kept_value(lost).amount == D("0.00")


def test_cancelling_before_shipping_voids_the_whole_total(deps: Deps) -> None:
    order = flows.reserved(deps, **_canaries(deps))
    cancelled = ordering.cancel_order(order.order_id, deps)
    assert cancelled.payment.voided is not None
    assert cancelled.payment.voided.amount == D("28.33")
    assert _gateway(deps).total("capture") == 0


def test_a_delivered_parcel_keeps_the_fee_when_another_is_lost(deps: Deps) -> None:
    # Two warehouses: one T-shirt ships from each (the stock is split), one parcel lost.
    sku = fresh_sku(deps, {"WH-GETAFE": 1, "ST-MADRID": 1}, price="10.00")
    order = flows.shipped(deps, lines=[_ship(sku, 2)], shipping_address=_address("35001"))
    assert len(order.fulfillments) == 2
    first, second = order.fulfillments

    def deliver(current: Order) -> Change:
        return Change(entry=current.deliver(first.fulfillment_id, deps.clock()))

    mutate(deps, order.order_id, deliver)
    lost = lost_parcels.declare_lost(order.order_id, second.fulfillment_id, deps)
    settlement.settle(order.order_id, deps)
    # Units of 17.68 split 8.84 + 8.84: the lost one's 8.84 back, the fee kept.
    assert lost.payment.refunded is not None and lost.payment.refunded.amount == D("8.84")
    assert rules.kept_value(lost).amount == D("28.33") - D("8.84")


def _returned(deps: Deps, order: Order, sku: str, channel: str) -> Order:
    """One unit of ``sku`` sent back by post naming no place (it is sent where its parcel
    left from) or taken to the pick-up's store, received there."""
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    store = pickup.location_id if channel == "store" else None
    request = RequestReturnRequest.model_validate(
        {
            "lines": [{"sku": sku, "quantity": 1}],
            "reason": "too big",
            "channel": channel,
            "location_id": store,
        }
    )
    opened = returns.request_return(order.order_id, request, deps)
    assert opened.location_id is not None
    return returns.receive_return(opened.return_id, opened.location_id, deps)


def test_a_sku_collected_in_madrid_and_shipped_to_the_canaries_refunds_the_unit_back(
    deps: Deps,
) -> None:
    """A probe: one unit collected in Madrid (10.00, VAT in) and one shipped to the Canary
    Islands (8.84, IGIC on top); the shipped one posted back was refunded the pick-up's
    10.00, listed first, and the pick-up was marked RETURNED."""
    sku = _sku(deps, "10.00")
    order = flows.shipped(
        deps, lines=[_ship(sku, 1), _pickup(sku, 1)], shipping_address=_address("35001")
    )
    parcel = next(f for f in order.fulfillments if f.type is FulfillmentType.SHIP)
    pickup = next(f for f in order.fulfillments if f.type is FulfillmentType.PICKUP)
    assert pickup.pickup_code is not None
    pickups.collect(pickup.fulfillment_id, pickup.pickup_code, deps)

    def deliver(current: Order) -> Change:
        return Change(entry=current.deliver(parcel.fulfillment_id, deps.clock()))

    delivered = mutate(deps, order.order_id, deliver).order
    captured = {f.fulfillment_id: delivered.fulfillment_value(f) for f in delivered.fulfillments}
    assert captured == {
        parcel.fulfillment_id: Money.of("8.84"),
        pickup.fulfillment_id: Money.of("10.00"),
    }

    posted = _returned(deps, delivered, sku, "mail")

    assert _gateway(deps).total("refund") == D("8.84")
    assert posted.payment.refunded is not None and posted.payment.refunded.amount == D("8.84")
    assert posted.fulfillment(parcel.fulfillment_id).status is FulfillmentStatus.RETURNED
    assert posted.fulfillment(pickup.fulfillment_id).status is FulfillmentStatus.DELIVERED
    # Which fulfilment the unit came from is the order's own: not shown.
    shown = OrderResponse.from_order(posted, "/track/t").model_dump(mode="json")
    assert "taken" not in shown["returns"][0]

    taken_back = _returned(deps, posted, sku, "store")

    assert _gateway(deps).total("refund") == D("18.84")
    assert taken_back.status is OrderStatus.RETURNED
    assert taken_back.payment.captured is not None and taken_back.payment.refunded is not None
    # Every unit back: both units' captures given back, the delivered parcel's fee kept.
    fee = taken_back.payment.captured.amount - D("18.84")
    assert taken_back.payment.captured.amount - taken_back.payment.refunded.amount == fee
    assert rules.kept_value(taken_back).amount == fee
