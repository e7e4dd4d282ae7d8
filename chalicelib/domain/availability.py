"""Can the stock promise what a request asks for, right now? Checked when an order or a
quote arrives, the way sourcing will later take the units: pick-up lines from their own
store first, then ship lines from whatever every shipping location has left."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from chalicelib.domain.inventory import SourcingPlan, StockLevel, level_at, plan_sourcing


@dataclass(frozen=True)
class Demand:
    """One request line: ``location_id`` is the pick-up store, ``None`` for a ship line."""

    sku: str
    quantity: int
    location_id: str | None = None


def plan_for(demands: list[Demand], stock: dict[str, list[StockLevel]]) -> SourcingPlan:
    """``plan_sourcing`` for request or order lines: pick-up lines from their store, ship
    lines from wherever they ship, each merged by SKU (and store). ``OutOfStock`` if the
    stock cannot cover them."""
    ship_lines: dict[str, int] = defaultdict(int)
    pickup_lines: dict[tuple[str, str], int] = defaultdict(int)
    for demand in demands:
        if demand.location_id:
            pickup_lines[(demand.sku, demand.location_id)] += demand.quantity
        else:
            ship_lines[demand.sku] += demand.quantity
    return plan_sourcing(ship_lines, pickup_lines, stock)


def short_lines(demands: list[Demand], stock: dict[str, list[StockLevel]]) -> list[int]:
    """The indexes of the lines the stock cannot cover. Lines asking for the same SKU at
    the same place are judged together (the order merges them), so two lines of 3 against
    5 units are both short: neither can be promised without the other."""
    wanted: dict[tuple[str, str | None], int] = defaultdict(int)
    for demand in demands:
        wanted[(demand.sku, demand.location_id)] += demand.quantity
    taken: dict[tuple[str, str], int] = defaultdict(int)
    short: set[tuple[str, str | None]] = set()
    for (sku, location_id), quantity in wanted.items():
        if location_id is None:
            continue
        level = _level(stock, sku, location_id)
        if level is None or level.available < quantity:
            short.add((sku, location_id))
        else:
            taken[(sku, location_id)] += quantity
    for (sku, location_id), quantity in wanted.items():
        if location_id is not None:
            continue
        shippable = sum(
            max(0, level.available - taken[(sku, level.location_id)])
            for level in stock.get(sku, [])
            if level.ships
        )
        if shippable < quantity:
            short.add((sku, None))
    return [
        index for index, demand in enumerate(demands) if (demand.sku, demand.location_id) in short
    ]


def short_skus(demands: list[Demand], short: list[int]) -> list[str]:
    """The SKUs of the ``short`` lines (``short_lines``' indices), each once, in line
    order: what an order rejected for lack of stock tells it ran out of."""
    return list(dict.fromkeys(demands[index].sku for index in short))


def _level(stock: dict[str, list[StockLevel]], sku: str, location_id: str) -> StockLevel | None:
    return level_at(stock.get(sku, []), location_id)
