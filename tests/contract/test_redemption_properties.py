"""Redemptions under any sequence of placing, cancelling, rejecting and paying again, on
the fake and on DynamoDB: the counter never passes ``max_redemptions``, always equals the
live orders holding one, and a once-per-customer promotion is held by one live order per
customer at most."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.domain.customer_actions import reopen_for_payment
from chalicelib.domain.errors import CouponUsedUp
from chalicelib.domain.order_pricing import OrderPricing
from chalicelib.domain.order_status import OrderStatus
from chalicelib.domain.orders import Order
from chalicelib.domain.pricing import TaxBreakdown
from chalicelib.domain.promotions import Promotion, Redemption
from chalicelib.domain.regions import TaxName
from chalicelib.domain.status_reasons import StatusReason
from tests.support.builders import NOW, line, new_id, order

CUSTOMERS = ("cus_a", "cus_b", "cus_c", None)


def _order(taken: Redemption) -> Order:
    placed = order(line("TSHIRT-BLK-M", 1))
    placed.pricing = OrderPricing(
        subtotal=Decimal("19.95"),
        discount=Decimal("2.00"),
        shipping=Decimal("0.00"),
        tax=TaxBreakdown(
            name=TaxName.IVA, rate=Decimal("0.21"), amount=Decimal("3.12"), included=True
        ),
        total=Decimal("17.95"),
        redemptions=[taken],
    )
    return placed


def make_machine(store: Any) -> type[RuleBasedStateMachine]:
    """A machine bound to one backend."""

    class Redemptions(RuleBasedStateMachine):
        """The store against a model of which orders are live."""

        def __init__(self) -> None:
            super().__init__()
            self.limit = 3
            self.once = Promotion(
                promotion_id=new_id("pr"),
                name="Tres",
                code=new_id("C").upper().replace("_", ""),
                kind="amount",
                value=Decimal("2.00"),
                max_redemptions=self.limit,
                once_per_customer=True,
            )
            store.create_promotion(self.once)
            self.live: dict[str, str] = {}  # order id -> customer
            self.declined: dict[str, str] = {}  # rejected for a declined card
            self.ended: list[str] = []

        def _taken(self, customer: str) -> Redemption:
            return Redemption(
                promotion_id=self.once.promotion_id, customer_id=customer, code=self.once.code
            )

        @rule(customer=st.sampled_from(CUSTOMERS[:3]))
        def place(self, customer: str) -> None:
            placed = _order(self._taken(customer))
            placed.customer_id = customer
            try:
                store.create_order(placed)
            except CouponUsedUp:
                assert len(self.live) >= self.limit or customer in self.live.values()
                return
            assert len(self.live) < self.limit and customer not in self.live.values()
            self.live[placed.order_id] = customer

        def _end(self, order_id: str, how: str) -> None:
            current = store.get_order(order_id)
            if how == "cancel":
                entry = current.cancel(NOW, StatusReason.CUSTOMER_REQUEST, "on request")
            else:
                entry = current.reject(StatusReason.PAYMENT_DECLINED, NOW, "declined")
            store.save_order(current, entry)
            customer = self.live.pop(order_id)
            if how == "reject":
                self.declined[order_id] = customer
            else:
                self.ended.append(order_id)

        @precondition(lambda self: bool(self.live))
        @rule(data=st.data(), how=st.sampled_from(["cancel", "reject"]))
        def end(self, data: st.DataObject, how: str) -> None:
            # Insertion order, not the random ids' order: the same draws pick the same orders.
            self._end(data.draw(st.sampled_from(list(self.live))), how)

        @precondition(lambda self: bool(self.declined))
        @rule(data=st.data())
        def pay_again(self, data: st.DataObject) -> None:
            order_id = data.draw(st.sampled_from(list(self.declined)))
            current = store.get_order(order_id)
            entry = reopen_for_payment(current, "tok_visa", NOW, timedelta(days=365 * 100))
            customer = self.declined[order_id]
            try:
                store.save_order(current, entry)
            except CouponUsedUp:
                assert len(self.live) >= self.limit or customer in self.live.values()
                assert store.get_order(order_id).status is OrderStatus.REJECTED
                return
            del self.declined[order_id]
            self.live[order_id] = customer

        @precondition(lambda self: bool(self.ended or self.declined))
        @rule(data=st.data())
        def rewrite_an_ended_order(self, data: st.DataObject) -> None:
            order_id = data.draw(st.sampled_from([*self.ended, *self.declined]))
            current = store.get_order(order_id)
            store.save_order(current)  # any later write of it gives nothing back again

        @invariant()
        def the_count_is_the_live_orders_and_never_past_the_limit(self) -> None:
            counted = store.promotion(self.once.promotion_id).redemptions
            assert counted == len(self.live) <= self.limit
            assert sorted(store.redeeming_orders(self.once.promotion_id)) == sorted(self.live)
            for customer in CUSTOMERS[:3]:
                held = store.redeemed_by(customer, [self.once.promotion_id])
                assert bool(held) == (customer in self.live.values())

    return Redemptions


def test_redemptions_stay_within_the_limit_under_any_sequence(store: Any) -> None:
    machine = make_machine(store)
    machine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()
