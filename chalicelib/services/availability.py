"""Refusing up front what the stock cannot serve, for orders and quotes alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.availability import Demand, short_lines
from chalicelib.domain.errors import UnservableLines
from chalicelib.domain.fulfillments import FulfillmentType

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.domain.requests import OrderLineRequest


def demands_of(lines: list[OrderLineRequest]) -> list[Demand]:
    """Request lines as stock demands (a pick-up line's store is where it must be)."""
    return [
        Demand(
            sku=line.sku,
            quantity=line.quantity,
            location_id=line.location_id if line.fulfillment is FulfillmentType.PICKUP else None,
        )
        for line in lines
    ]


def refuse_unservable(lines: list[OrderLineRequest], deps: Deps) -> None:
    """Raise ``UnservableLines`` (409 out-of-stock naming ``lines.<i>``) when
    available-to-promise cannot cover a line now. Stock is read, never held: a race lost
    after acceptance is still the workflow's ``out_of_stock`` rejection."""
    demands = demands_of(lines)
    stock = {sku: deps.store.stock_levels(sku) for sku in {d.sku for d in demands}}
    short = short_lines(demands, stock)
    if short:
        raise UnservableLines(
            [
                (
                    f"lines.{index}",
                    f"not enough {demands[index].sku} "
                    + (
                        f"at {demands[index].location_id}"
                        if demands[index].location_id
                        else "at any location that ships"
                    )
                    + f" for {demands[index].quantity}",
                )
                for index in short
            ]
        )
