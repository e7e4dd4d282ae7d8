"""Stock counts on DynamoDB (moto) stay consistent whatever sequence of reservations,
releases, POS movements and collections hits them."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chalicelib.domain.catalog import LocationType
from chalicelib.domain.errors import MovementRejected, OutOfStock
from chalicelib.ports import StockChange
from tests.support.builders import stock

LOCATIONS = ("WH-GETAFE", "ST-MADRID")
SAFETY = {"WH-GETAFE": 0, "ST-MADRID": 1}


def make_machine(store: Any) -> type[RuleBasedStateMachine]:
    """A state machine bound to the running stack's store."""

    class StockMachine(RuleBasedStateMachine):
        """The store against a model: counts, reservations and the movement ledger."""

        def __init__(self) -> None:
            super().__init__()
            self.sku = f"INV-{uuid.uuid4().hex[:10]}"
            self.on_hand = {"WH-GETAFE": 5, "ST-MADRID": 3}
            self.initial = dict(self.on_hand)
            self.reserved = dict.fromkeys(LOCATIONS, 0)
            self.shipped = dict.fromkeys(LOCATIONS, 0)
            for location in LOCATIONS:
                store.put_stock(
                    stock(
                        self.sku,
                        location,
                        self.on_hand[location],
                        location_type=LocationType.WAREHOUSE
                        if location.startswith("WH")
                        else LocationType.STORE,
                        pickup=location.startswith("ST"),
                        safety_stock=SAFETY[location],
                    )
                )

        def available(self, location: str) -> int:
            return self.on_hand[location] - self.reserved[location] - SAFETY[location]

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 6))
        def reserve(self, location: str, quantity: int) -> None:
            change = StockChange(sku=self.sku, location_id=location, reserved=quantity)
            try:
                store.apply_stock([change])
            except OutOfStock:
                assert self.available(location) < quantity
                return
            assert self.available(location) >= quantity
            self.reserved[location] += quantity

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 6))
        def release(self, location: str, quantity: int) -> None:
            change = StockChange(sku=self.sku, location_id=location, reserved=-quantity)
            try:
                store.apply_stock([change])
            except OutOfStock:
                assert self.reserved[location] < quantity
                return
            self.reserved[location] -= quantity

        @rule(location=st.sampled_from(LOCATIONS), quantity=st.integers(1, 6))
        def collect_or_ship(self, location: str, quantity: int) -> None:
            # Reserved units leave the building: both counts drop together.
            change = StockChange(
                sku=self.sku, location_id=location, on_hand=-quantity, reserved=-quantity
            )
            try:
                store.apply_stock([change])
            except OutOfStock:
                assert self.reserved[location] < quantity
                return
            self.reserved[location] -= quantity
            self.on_hand[location] -= quantity
            self.shipped[location] += quantity

        @rule(
            location=st.sampled_from(LOCATIONS),
            kind=st.sampled_from(["sale", "receipt", "return", "adjustment"]),
            quantity=st.integers(-6, 6).filter(bool),
        )
        def pos_movement(self, location: str, kind: str, quantity: int) -> None:
            if kind != "adjustment":
                quantity = abs(quantity)
            delta = -quantity if kind == "sale" else quantity
            movement = {
                "movement_id": uuid.uuid4().hex,
                "type": kind,
                "quantity": quantity,
                "on_hand_delta": delta,
                "at": f"{uuid.uuid4().int}",
                "location_id": location,
            }
            try:
                store.record_movement(self.sku, location, delta, SAFETY[location], movement)
            except MovementRejected:
                # Refused only when it would take units on hand or promised to orders.
                assert delta < 0
                assert self.on_hand[location] - self.reserved[location] < -delta
                return
            assert delta > 0 or self.on_hand[location] - self.reserved[location] >= -delta
            self.on_hand[location] += delta

        @invariant()
        def counts_match_the_model_and_never_go_negative(self) -> None:
            levels = {lv.location_id: lv for lv in store.stock_levels(self.sku)}
            for location in LOCATIONS:
                level = levels[location]
                assert level.on_hand == self.on_hand[location] >= 0
                assert level.reserved == self.reserved[location] >= 0
                assert level.reserved <= level.on_hand

        @invariant()
        def on_hand_is_initial_plus_movements_minus_shipments(self) -> None:
            ledger: dict[str, int] = dict.fromkeys(LOCATIONS, 0)
            for item in store.movements(self.sku):
                ledger[str(item["location_id"])] += int(item["on_hand_delta"])
            levels = {lv.location_id: lv for lv in store.stock_levels(self.sku)}
            for location in LOCATIONS:
                expected = self.initial[location] + ledger[location] - self.shipped[location]
                assert levels[location].on_hand == expected

    return StockMachine


def test_stock_counts_stay_consistent_under_any_sequence_of_operations(deps: Any) -> None:
    run_state_machine_as_test(
        make_machine(deps.store),
        settings=settings(
            max_examples=10,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
